package train

import (
	"context"
	"math"
	"testing"

	"plateau/data"
	"plateau/spec"
)

func TestLRFind(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) { s.Train.Optimizer = "sgd"; s.Train.Momentum = 0.9 })
	res, err := LRFind(context.Background(), Config{Spec: s, Dataset: tinyDataset()}, LRFindOptions{MinLR: 1e-4, MaxLR: 10, Steps: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Points) < 20 {
		t.Fatalf("only %d points", len(res.Points))
	}
	for i := 1; i < len(res.Points); i++ {
		if !(res.Points[i].LR > res.Points[i-1].LR) {
			t.Fatalf("rates not increasing at %d: %g after %g", i, res.Points[i].LR, res.Points[i-1].LR)
		}
	}
	if !(res.Suggested > 1e-4 && res.Suggested < 10) || res.Suggested > res.MinLoss {
		t.Errorf("suggested %g (steepest %g, min loss %g) outside the sweep or above the minimum", res.Suggested, res.Steepest, res.MinLoss)
	}
	first, low := res.Points[0].Smoothed, math.Inf(1)
	for _, p := range res.Points {
		low = min(low, p.Smoothed)
	}
	if !(low < 0.8*first) {
		t.Errorf("loss fell from %.3f only to %.3f: the sweep never trained", first, low)
	}
}

func TestSuggestLR(t *testing.T) {
	// A loss that falls fastest around lr 1e-2 and is lowest at 1e-1.
	var points []LRPoint
	for i := range 41 {
		x := -4 + float64(i)*0.1 // log10 lr from -4 to 0
		loss := 2 - math.Tanh(2*(x+2)) + math.Max(0, x+1)*5
		points = append(points, LRPoint{LR: math.Pow(10, x), Smoothed: loss})
	}
	steepest, minLoss := suggestLR(points)
	if math.Abs(math.Log10(steepest)+2) > 0.15 {
		t.Errorf("steepest %g, want about 1e-2", steepest)
	}
	if math.Abs(math.Log10(minLoss)+1) > 0.15 {
		t.Errorf("min loss at %g, want about 1e-1", minLoss)
	}
}

func TestDuplicates(t *testing.T) {
	a := data.Split{Images: []uint8{1, 2, 3, 4, 5, 6}, Labels: []int32{0, 1, 0}}
	b := data.Split{Images: []uint8{3, 4, 9, 9, 1, 2, 3, 4}, Labels: []int32{0, 0, 1, 1}}
	if got := Duplicates(a, b); got != 3 {
		t.Errorf("Duplicates = %d, want 3", got)
	}
	if got := Duplicates(a, data.Split{}); got != 0 {
		t.Errorf("Duplicates of an empty split = %d, want 0", got)
	}
}

func TestDoctorHookAndTelemetry(t *testing.T) {
	d := tinyDataset()
	// Every training image twice: the validation split shares images with
	// the training split.
	d.Train.Images = append(d.Train.Images, d.Train.Images...)
	d.Train.Labels = append(d.Train.Labels, d.Train.Labels...)
	var seen []string
	hook := func(e Event) []Diagnosis {
		seen = append(seen, e.Event)
		if e.Event == EventEpoch {
			return []Diagnosis{{Cause: "test", Confidence: 0.5}}
		}
		return nil
	}
	res, events := run(t, context.Background(), Config{Spec: tinySpec(nil), Dataset: d, Doctor: hook})
	if len(seen) != len(events) {
		t.Errorf("doctor saw %d events, %d emitted", len(seen), len(events))
	}
	start := events[0]
	if start.ValDuplicates < start.ValSize/2 {
		t.Errorf("val duplicates %d of %d, want most", start.ValDuplicates, start.ValSize)
	}
	for _, e := range res.History {
		if len(e.Diagnoses) != 1 || !(e.WeightChange > 0) {
			t.Errorf("epoch %d: diagnoses %v, weight change %g", e.Epoch, e.Diagnoses, e.WeightChange)
		}
	}
	if res.Final.Diagnoses == nil || len(res.Final.Diagnoses) != 0 {
		t.Errorf("result diagnoses %v, want an empty list", res.Final.Diagnoses)
	}
}

func TestConfidentWrongCountsFlippedLabels(t *testing.T) {
	d := tinyDataset()
	d.Train.Labels = append([]int32(nil), d.Train.Labels...)
	for i := range d.Train.Labels {
		if i%3 == 0 {
			d.Train.Labels[i] = (d.Train.Labels[i] + 1) % 4
		}
	}
	clean, _ := run(t, context.Background(), Config{Spec: tinySpec(func(s *spec.Spec) { s.Train.Epochs = 6 })})
	noisy, _ := run(t, context.Background(), Config{Spec: tinySpec(func(s *spec.Spec) { s.Train.Epochs = 6 }), Dataset: d})
	c, n := clean.History[5].ConfidentWrong, noisy.History[5].ConfidentWrong
	if !(n > 0.1 && c < 0.05) {
		t.Errorf("confident wrong: %.3f with a third of the labels flipped, %.3f clean", n, c)
	}
}
