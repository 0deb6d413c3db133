package train

import (
	"math"
	"time"
)

// Running accumulates the loss and accuracy of a stream of batches,
// weighting each batch's mean loss by its size.
type Running struct {
	LossSum float64 // Σ batch mean loss × batch size
	Correct int
	Count   int
}

// Add records a batch of n examples with mean loss and correct predictions.
func (r *Running) Add(loss float64, correct, n int) {
	r.LossSum += loss * float64(n)
	r.Correct += correct
	r.Count += n
}

// Loss returns the mean loss per example, NaN before any example.
func (r *Running) Loss() float64 {
	if r.Count == 0 {
		return math.NaN()
	}
	return r.LossSum / float64(r.Count)
}

// Accuracy returns the fraction of correct predictions, NaN before any example.
func (r *Running) Accuracy() float64 {
	if r.Count == 0 {
		return math.NaN()
	}
	return float64(r.Correct) / float64(r.Count)
}

// Reset forgets every batch.
func (r *Running) Reset() { *r = Running{} }

// Confusion counts predictions by true class (row) and predicted class
// (column).
type Confusion struct {
	Classes int
	Counts  []int // Counts[true*Classes+predicted]
}

// NewConfusion returns an empty matrix for k classes.
func NewConfusion(k int) *Confusion {
	if k <= 0 {
		panic("train: NewConfusion: no classes")
	}
	return &Confusion{Classes: k, Counts: make([]int, k*k)}
}

// Add records the predictions (argmax of each row of logits, which may
// equally be probabilities) of n examples and returns how many were right.
func (c *Confusion) Add(logits []float32, labels []int32, n int) (correct int) {
	k := c.Classes
	for i := range n {
		y := int(labels[i])
		p := Argmax(logits[i*k : (i+1)*k])
		c.Counts[y*k+p]++
		if p == y {
			correct++
		}
	}
	return correct
}

// Reset zeroes every count.
func (c *Confusion) Reset() { clear(c.Counts) }

// Total returns the number of examples recorded.
func (c *Confusion) Total() int {
	t := 0
	for _, v := range c.Counts {
		t += v
	}
	return t
}

// Accuracy returns the fraction on the diagonal, NaN when empty.
func (c *Confusion) Accuracy() float64 {
	total, right := 0, 0
	for i, v := range c.Counts {
		total += v
		if i/c.Classes == i%c.Classes {
			right += v
		}
	}
	if total == 0 {
		return math.NaN()
	}
	return float64(right) / float64(total)
}

// Recall returns each class's accuracy: the fraction of its examples
// predicted as it. A class without examples gets NaN.
func (c *Confusion) Recall() []float64 {
	k := c.Classes
	r := make([]float64, k)
	for t := range k {
		row := c.Counts[t*k : (t+1)*k]
		n := 0
		for _, v := range row {
			n += v
		}
		if n == 0 {
			r[t] = math.NaN()
			continue
		}
		r[t] = float64(row[t]) / float64(n)
	}
	return r
}

// Matrix returns a copy as rows by true class.
func (c *Confusion) Matrix() [][]int {
	k := c.Classes
	m := make([][]int, k)
	for t := range k {
		m[t] = append([]int(nil), c.Counts[t*k:(t+1)*k]...)
	}
	return m
}

// Argmax returns the index of the largest value, the first one on ties.
// A NaN never wins, so a diverged network still yields a class.
func Argmax(xs []float32) int {
	best := 0
	for i, v := range xs {
		if v > xs[best] || (xs[best] != xs[best] && v == v) {
			best = i
		}
	}
	return best
}

// InputStatistics computes the statistics of a batch of normalized inputs, with sums
// in float64 (population standard deviation).
func InputStatistics(xs []float32) InputStats {
	if len(xs) == 0 {
		return InputStats{Mean: math.NaN(), Std: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	lo, hi := xs[0], xs[0]
	var sum, sq float64
	for _, v := range xs {
		lo, hi = min(lo, v), max(hi, v)
		sum += float64(v)
	}
	mean := sum / float64(len(xs))
	for _, v := range xs {
		d := float64(v) - mean
		sq += d * d
	}
	return InputStats{Mean: mean, Std: math.Sqrt(sq / float64(len(xs))), Min: float64(lo), Max: float64(hi)}
}

// Throughput returns images per second, 0 for an empty interval.
func Throughput(images int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(images) / d.Seconds()
}
