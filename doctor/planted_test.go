package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"plateau/data"
	"plateau/spec"
	"plateau/train"
)

// synthetic makes n grey size×size images of k classes. Each class has a
// fixed random template of bright and dark pixels (drawn from seed 1, so
// every split shares them); an image is its class's template at the given
// contrast plus Gaussian noise, so noise/contrast sets the difficulty.
func synthetic(n, k, size int, contrast, noise float64, seed uint64) data.Split {
	return fromTemplates(templates(k, size), n, size, contrast, noise, seed)
}

// templates are k random patterns of ±1, the same for every call.
func templates(k, size int) [][]float64 {
	tmpl := rand.New(rand.NewPCG(1, 99))
	out := make([][]float64, k)
	for c := range out {
		out[c] = make([]float64, size*size)
		for i := range out[c] {
			out[c][i] = float64(tmpl.IntN(2)*2 - 1)
		}
	}
	return out
}

func fromTemplates(templates [][]float64, n, size int, contrast, noise float64, seed uint64) data.Split {
	k := len(templates)
	rng := rand.New(rand.NewPCG(seed, 7))
	s := data.Split{Images: make([]uint8, n*size*size), Labels: make([]int32, n)}
	for i := range n {
		c := rng.IntN(k)
		s.Labels[i] = int32(c)
		for p := range size * size {
			v := 128 + 60*(contrast*templates[c][p]+noise*rng.NormFloat64())
			s.Images[i*size*size+p] = uint8(math.Round(max(0, min(255, v))))
		}
	}
	return s
}

// dataset is a synthetic dataset of k classes: train training images and
// 200 test images.
func dataset(k, size, train int, contrast, noise float64) *data.Dataset {
	return fromClassTemplates(templates(k, size), size, train, contrast, noise)
}

// lookalike is dataset with class 1's template class 0's but for the
// given number of pixels: the two classes differ in those pixels alone
// (0: not at all, so no network can tell them apart).
func lookalike(k, size, train int, contrast, noise float64, pixels int) *data.Dataset {
	t := templates(k, size)
	copy(t[1], t[0])
	for p := range pixels {
		t[1][p*7%(size*size)] *= -1
	}
	return fromClassTemplates(t, size, train, contrast, noise)
}

func fromClassTemplates(t [][]float64, size, train int, contrast, noise float64) *data.Dataset {
	classes := make([]string, len(t))
	for i := range classes {
		classes[i] = fmt.Sprintf("class %d", i)
	}
	return &data.Dataset{Name: "synthetic", Classes: classes, H: size, W: size, C: 1,
		Train: fromTemplates(t, train, size, contrast, noise, 2), Test: fromTemplates(t, 200, size, contrast, noise, 3)}
}

// baseSpec is a small conv net that learns the synthetic classes in a few
// epochs.
func baseSpec(k, size int) *spec.Spec {
	return &spec.Spec{
		Model: spec.Model{Input: []int{size, size, 1}, Classes: k, Layers: []spec.Layer{
			{Type: spec.Conv2D, Filters: 8, Kernel: 3, Activation: spec.ReLU},
			{Type: spec.MaxPool},
			{Type: spec.Flatten},
			{Type: spec.Dense, Units: 32, Activation: spec.ReLU},
			{Type: spec.Dense},
		}},
		Train: spec.Train{Optimizer: "adam", LR: 0.003, BatchSize: 16, Epochs: 6, Seed: 1, LogEvery: 5},
		Data:  spec.Data{Normalization: "scale01", Validation: 0.3},
	}
}

type plantedCase struct {
	name string
	want string // the top cause; "" for a healthy run
	data func() *data.Dataset
	spec func() *spec.Spec
}

func dense(units int, activation string) spec.Layer {
	return spec.Layer{Type: spec.Dense, Units: units, Activation: activation}
}

var plantedCases = []plantedCase{
	{"healthy adam", "", func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec { return baseSpec(4, 8) }},
	{"healthy sgd with momentum and step decay", "", func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Train.Optimizer, s.Train.LR, s.Train.Momentum = "sgd", 0.03, 0.9
		s.Train.Schedule = spec.Schedule{Type: "step", Factor: 0.3, Every: 3}
		return s
	}},
	{"healthy batch norm with light augmentation", "", func() *data.Dataset { return dataset(6, 12, 800, 0.5, 0.55) }, func() *spec.Spec {
		s := baseSpec(6, 12)
		// Momentum 0.9: a run of a few hundred steps needs running
		// averages that follow the weights (batchnorm_statistics).
		s.Model.Layers = slices.Insert(s.Model.Layers, 1, spec.Layer{Type: spec.BatchNorm, Momentum: spec.Float(0.9)})
		s.Model.Layers[0].Activation = ""
		s.Model.Layers = slices.Insert(s.Model.Layers, 2, spec.Layer{Type: spec.ReLU})
		s.Train.BatchSize = 32
		s.Data.Augment.Shift = spec.Transform{P: 0.5, Strength: 0.1}
		return s
	}},
	// Every image one grey (no contrast, no noise): nothing to learn.
	{"blank images", BlankInputs, func() *data.Dataset { return dataset(4, 8, 600, 0, 0) }, func() *spec.Spec { return baseSpec(4, 8) }},
	{"raw pixels", UnnormalizedInput, func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Data.Normalization = "raw"
		s.Train.Optimizer, s.Train.LR, s.Train.Momentum = "sgd", 0.03, 0.9
		return s
	}},
	{"learning rate far too high", LRTooHigh, func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Train.Optimizer, s.Train.LR = "sgd", 30
		return s
	}},
	{"learning rate far too low", LRTooLow, func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Train.Optimizer, s.Train.LR = "sgd", 1e-4
		return s
	}},
	// Adam at a tenth of its usual rate: the weights move, the loss falls
	// steadily, and the run ends far from where it would converge.
	{"adam at a tenth of its usual rate, still falling", LRTooLow, func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Train.LR, s.Train.BatchSize, s.Train.Epochs = 1e-4, 4, 10
		return s
	}},
	// The healthy Adam run cut to three epochs, on fainter classes: both
	// losses still fall.
	{"stopped while still learning", StillLearning, func() *data.Dataset { return dataset(4, 8, 600, 0.35, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Train.Epochs = 3
		return s
	}},
	{"overfitting a small noisy set", Overfitting, func() *data.Dataset { return dataset(4, 8, 160, 0.25, 1) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Model.Layers = []spec.Layer{{Type: spec.Flatten}, dense(256, spec.ReLU), dense(256, spec.ReLU), {Type: spec.Dense}}
		s.Train.Epochs = 15
		s.Data.Validation = 0.4
		return s
	}},
	{"underfitting with one filter", Underfitting, func() *data.Dataset { return dataset(8, 8, 600, 0.5, 0.6) }, func() *spec.Spec {
		// One 3×3 feature averaged over the image: where the template's
		// pixels are is lost (underfitting names the pooling; its fix, a
		// flatten, took the validation accuracy from 16% to 94%).
		s := baseSpec(8, 8)
		s.Model.Layers = []spec.Layer{{Type: spec.Conv2D, Filters: 1, Kernel: 3, Activation: spec.ReLU}, {Type: spec.GlobalAvgPool}, {Type: spec.Dense}}
		return s
	}},
	// L2 a thousand times the usual strength shrinks the weights until
	// the network answers with a constant guess.
	{"a penalty that crushes the weights", Underfitting, func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Train.LR, s.Train.L2 = 1e-3, 1
		return s
	}},
	// Labels shuffled apart from their images (a loader's bug): nothing in
	// the images tells the classes apart, though the layers pass the
	// gradient. 600 images in batches of 16, 26 steps an epoch: 200
	// steps by the eighth epoch.
	{"labels shuffled apart from their images", LabelNoise, func() *data.Dataset {
		d := dataset(4, 8, 600, 0.5, 0.6)
		rng := rand.New(rand.NewPCG(5, 5))
		rng.Shuffle(len(d.Train.Labels), func(i, j int) { d.Train.Labels[i], d.Train.Labels[j] = d.Train.Labels[j], d.Train.Labels[i] })
		return d
	}, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Train.LR, s.Train.Epochs = 1e-3, 9
		return s
	}},
	{"imbalanced classes", ClassImbalance, func() *data.Dataset { return dataset(4, 8, 1200, 0.3, 0.8) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Data.Imbalance = 0.03
		s.Train.Epochs = 3
		return s
	}},
	{"augmentation destroys the class", AugmentationTooStrong, func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Data.Augment.Rotation = spec.Transform{P: 1, Strength: 180}
		s.Data.Augment.FlipVertical = spec.Transform{P: 0.5}
		s.Data.Augment.Shift = spec.Transform{P: 1, Strength: 0.4}
		return s
	}},
	{"deep sigmoid stack", VanishingGradients, func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Model.Layers = []spec.Layer{{Type: spec.Flatten}}
		for range 8 {
			s.Model.Layers = append(s.Model.Layers, dense(32, spec.Sigmoid))
		}
		s.Model.Layers = append(s.Model.Layers, spec.Layer{Type: spec.Dense})
		s.Train.Optimizer, s.Train.LR = "sgd", 0.05
		return s
	}},
	{"exploding gradients", ExplodingGradients, func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Model.Layers = []spec.Layer{{Type: spec.Flatten}}
		for range 10 {
			s.Model.Layers = append(s.Model.Layers, dense(64, spec.ELU))
		}
		s.Model.Layers = append(s.Model.Layers, spec.Layer{Type: spec.Dense})
		s.Train.Optimizer, s.Train.LR, s.Train.Momentum = "sgd", 0.02, 0.9
		return s
	}},
	{"dead relus", DeadReLU, func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Train.Optimizer, s.Train.LR = "sgd", 1.5
		return s
	}},
	{"plateau at a constant rate", PlateauNeedsLRDrop, func() *data.Dataset { return dataset(4, 8, 1500, 0.3, 0.9) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Model.Layers = []spec.Layer{{Type: spec.Flatten}, dense(64, spec.LeakyReLU), dense(64, spec.LeakyReLU), {Type: spec.Dense}}
		s.Train.LR = 0.03
		s.Train.Epochs = 10
		return s
	}},
	{"batch of two with batch norm", BatchSize, func() *data.Dataset { return dataset(4, 8, 300, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		// Batch norm over a dense layer normalizes each unit over the two
		// examples of the batch: every unit becomes ±1 in training, and
		// inference's running averages see something else.
		s.Model.Layers = []spec.Layer{{Type: spec.Flatten}, {Type: spec.Dense, Units: 32}, {Type: spec.BatchNorm}, {Type: spec.ReLU}, {Type: spec.Dense}}
		s.Train.BatchSize = 2
		s.Train.Epochs = 3
		return s
	}},
	{"batch norm averages that lag", BatchNormStatistics, func() *data.Dataset { return dataset(4, 8, 400, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Model.Layers = slices.Insert(s.Model.Layers, 1, spec.Layer{Type: spec.BatchNorm})
		s.Model.Layers[0].Activation = ""
		s.Model.Layers = slices.Insert(s.Model.Layers, 2, spec.Layer{Type: spec.ReLU})
		s.Train.BatchSize = 32
		s.Train.Epochs = 4
		return s
	}},
	{"one batch per epoch", BatchSize, func() *data.Dataset { return dataset(4, 8, 400, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Train.BatchSize = 512
		s.Train.Optimizer, s.Train.LR, s.Train.Momentum = "sgd", 0.03, 0.9
		return s
	}},
	{"fifteen validation images", ValSetTooSmall, func() *data.Dataset { return dataset(4, 8, 600, 0.35, 0.8) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Data.Validation = 0.025
		return s
	}},
	{"a third of the labels wrong", LabelNoise, func() *data.Dataset {
		d := dataset(4, 8, 800, 0.5, 0.6)
		rng := rand.New(rand.NewPCG(5, 5))
		for i := range d.Train.Labels {
			if rng.Float64() < 0.35 {
				d.Train.Labels[i] = int32(rng.IntN(4))
			}
		}
		return d
	}, func() *spec.Spec { return baseSpec(4, 8) }},
	// The same through the spec: data.label_noise relabels 35% of the
	// training and validation images (the test split keeps its labels).
	{"a third of the labels made wrong by the spec", LabelNoise, func() *data.Dataset { return dataset(4, 8, 800, 0.5, 0.6) }, func() *spec.Spec {
		s := baseSpec(4, 8)
		s.Data.LabelNoise = 0.35
		return s
	}},
	{"two classes drawn from one template", ClassConfusion, func() *data.Dataset { return lookalike(4, 8, 1000, 0.5, 0.8, 0) },
		func() *spec.Spec { return baseSpec(4, 8) }},
	{"test images from a noisier camera", TestShift, func() *data.Dataset {
		// The same classes, the test images with two and a half times
		// the noise.
		d := dataset(4, 8, 600, 0.5, 0.6)
		d.Test = synthetic(200, 4, 8, 0.5, 1.5, 3)
		return d
	}, func() *spec.Spec { return baseSpec(4, 8) }},
	{"duplicates across the split", TrainValLeakage, func() *data.Dataset {
		d := dataset(4, 8, 300, 0.5, 0.6)
		for range 2 {
			d.Train.Images = append(d.Train.Images, d.Train.Images[:300*64]...)
			d.Train.Labels = append(d.Train.Labels, d.Train.Labels[:300]...)
		}
		return d
	}, func() *spec.Spec { return baseSpec(4, 8) }},
}

// runCase trains a planted case with the doctor attached and returns the
// result and every event.
func runCase(t *testing.T, c plantedCase) (*train.Result, []train.Event, *spec.Spec) {
	t.Helper()
	s := c.spec()
	s.Expand()
	if err := s.Validate(); err != nil {
		t.Fatalf("spec: %v", err)
	}
	var events []train.Event
	doc := New(s)
	res, err := train.Run(context.Background(), train.Config{Spec: s, Dataset: c.data(), Doctor: doc.Observe,
		Emit: func(e train.Event) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	return res, events, s
}

func describe(ds []train.Diagnosis) string {
	var b strings.Builder
	for _, d := range ds {
		ev, _ := json.Marshal(d.Evidence)
		fmt.Fprintf(&b, "\n  %s %.2f %s", d.Cause, d.Confidence, ev)
	}
	if b.Len() == 0 {
		return " none"
	}
	return b.String()
}

// TestPlantedPathologies trains one small run per rule, each with its
// cause planted, and healthy runs: the planted cause must be the top
// finding, and healthy runs must get none.
func TestPlantedPathologies(t *testing.T) {
	start := time.Now()
	for _, c := range plantedCases {
		t.Run(c.name, func(t *testing.T) {
			begin := time.Now()
			res, _, _ := runCase(t, c)
			got := res.Final.Diagnoses
			last := res.History
			summary := fmt.Sprintf("stopped %s, %d epochs", res.Final.Stopped, len(last))
			if n := len(last); n > 0 {
				e := last[n-1]
				summary += fmt.Sprintf(", train %.3f/%.3f val %.3f/%.3f", e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy)
			}
			t.Logf("%s in %v; findings:%s", summary, time.Since(begin).Round(time.Millisecond), describe(got))
			if c.want == "" {
				if len(got) > 0 {
					t.Errorf("healthy run got findings:%s", describe(got))
				}
				return
			}
			if len(got) == 0 || got[0].Cause != c.want {
				t.Errorf("top finding is not %s:%s", c.want, describe(got))
			}
		})
	}
	t.Logf("%d cases in %v", len(plantedCases), time.Since(start).Round(time.Millisecond))
}

// TestRediagnoseFromJSON checks that a saved run (the JSON lines of its
// events) gets the diagnosis the live run got, and that epoch events
// carry findings as they appear.
func TestRediagnoseFromJSON(t *testing.T) {
	c := plantedCases[slices.IndexFunc(plantedCases, func(c plantedCase) bool { return c.want == Overfitting })]
	res, events, s := runCase(t, c)
	saved := &Telemetry{Spec: s}
	live := false
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var back train.Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		saved.Add(back)
		if e.Event == train.EventEpoch && len(e.Diagnoses) > 0 && e.Diagnoses[0].Cause == Overfitting {
			live = true
		}
	}
	if !live {
		t.Error("no epoch event named overfitting while the run trained")
	}
	got, want := causes(Diagnose(saved)), causes(res.Final.Diagnoses)
	if !slices.Equal(got, want) {
		t.Errorf("re-diagnosed %v, live %v", got, want)
	}
}

// TestFixesCure is "try the fix" for every planted case: it applies the
// doctor's fix to the spec and trains again, up to three rounds while the
// planted cause stays the top finding (a rate off by a thousand takes
// more than one tenfold step). The cause must be gone by then (or its
// confidence down by 0.3: the rule sees the remedy in place and the
// evidence weaker, as with oversampling that lifts but does not equal the
// rare classes' recall), and the
// best validation accuracy must not be worse than the planted run's. Label
// noise in the data is left out (label smoothing softens the harm but
// cannot relabel the data; noise the spec adds is taken out), and so are the causes whose remedy is a change to the layers
// or the data that Fix does not express. cureExceptions lists where the
// fix falls short on these tiny runs, and why.
func TestFixesCure(t *testing.T) {
	for _, c := range plantedCases {
		if c.want == "" || c.want == LabelNoise && c.spec().Data.LabelNoise == 0 {
			continue
		}
		probe := c.spec()
		probe.Expand()
		if Fix(train.Diagnosis{Cause: c.want}, probe) == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			before, _, _ := runCase(t, c)
			current := c
			var applied []string
			for round := 1; round <= 3; round++ {
				prev := current.spec
				s := prev()
				s.Expand()
				fix := Fix(train.Diagnosis{Cause: c.want}, s)
				applied = append(applied, fix...)
				current.spec = func() *spec.Spec {
					s := prev()
					s.Expand()
					for _, kv := range fix {
						path, value, _ := strings.Cut(kv, "=")
						if err := s.Set(path, value); err != nil {
							t.Fatal(err)
						}
					}
					return s
				}
				after, _, _ := runCase(t, current)
				got := after.Final.Diagnoses
				t.Logf("round %d, %v: best val %.3f → %.3f; findings:%s", round, fix, bestVal(before), bestVal(after), describe(got))
				if len(got) == 0 || got[0].Cause != c.want || got[0].Confidence <= topConfidence(before)-0.3 {
					if bestVal(after) < bestVal(before)-0.02 && cureExceptions[c.name] != costsAccuracy {
						t.Errorf("after %v the best validation accuracy fell from %.3f to %.3f", applied, bestVal(before), bestVal(after))
					}
					return
				}
			}
			if cureExceptions[c.name] != notCured {
				t.Errorf("after %v the top finding is still %s", applied, c.want)
			}
		})
	}
}

// Known shortfalls of Fix on the planted cases.
const (
	notCured      = 1 + iota // three rounds of the fix do not remove the cause
	costsAccuracy            // the cause goes, the best validation accuracy drops
)

var cureExceptions = map[string]int{
	// Early stopping, then L2, then flips and shifts: the shifts move the
	// position-coded synthetic classes, so the third round costs a few
	// points on 160 noisy images.
	"overfitting a small noisy set": costsAccuracy,
	// A batch of 16 instead of 2 gives an eighth of the updates in the same
	// three epochs; the validation accuracy of the batch-of-two run was
	// already high because inference uses running statistics.
	"batch of two with batch norm": costsAccuracy,
}

func topConfidence(r *train.Result) float64 {
	if len(r.Final.Diagnoses) == 0 {
		return 0
	}
	return r.Final.Diagnoses[0].Confidence
}

func bestVal(r *train.Result) float64 {
	best := 0.0
	for _, e := range r.History {
		if e.ValAccuracy > best {
			best = e.ValAccuracy
		}
	}
	return best
}

// Every fault the page can plant (spec.Faults), planted in the healthy
// Adam run of plantedCases, is the doctor's top finding as its cause.
func TestFaultsAreNamed(t *testing.T) {
	for _, f := range spec.Faults {
		t.Run(f.Name, func(t *testing.T) {
			if !slices.ContainsFunc(Rules, func(r Rule) bool { return r.Cause == f.Cause }) {
				t.Fatalf("cause %q is no rule's", f.Cause)
			}
			s, sets, err := f.Plant(baseSpec(4, 8))
			if err != nil {
				t.Fatal(err)
			}
			res, _, _ := runCase(t, plantedCase{f.Name, f.Cause, func() *data.Dataset { return dataset(4, 8, 600, 0.5, 0.6) }, func() *spec.Spec { return s }})
			if got := res.Final.Diagnoses; len(got) == 0 || got[0].Cause != f.Cause {
				t.Errorf("%v: the top finding is not %s:%s", sets, f.Cause, describe(got))
			}
		})
	}
}
