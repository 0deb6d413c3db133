package doctor

import (
	"math"
	"slices"
	"strings"
	"testing"

	"plateau/spec"
	"plateau/train"
)

// firstEpoch replays a run's first steps through a Doctor: a start event
// of 10 balanced classes (1,000 steps an epoch), then step losses every
// 20 steps and, after each step in checks, a validation check of 1,000
// images with the accuracy given (its loss ln 10 up to 12%, else falling
// with the accuracy). It returns what the doctor said at every
// check.
func firstEpoch(change func(s *spec.Spec), losses []float64, checks map[int]float64) [][]train.Diagnosis {
	said, _ := firstEpochDoctor(change, losses, checks)
	return said
}

// firstEpochDoctor is firstEpoch, with the doctor, to go on with.
func firstEpochDoctor(change func(s *spec.Spec), losses []float64, checks map[int]float64) ([][]train.Diagnosis, *Doctor) {
	s := baseSpec(10, 8)
	if change != nil {
		change(s)
	}
	s.Expand()
	d := New(s)
	counts := make([]int, 10)
	for i := range counts {
		counts[i] = 5000
	}
	d.Observe(train.Event{Event: train.EventStart, Classes: strings.Split("0123456789", ""), TrainSize: 50000, ValSize: 5000, TestSize: 10000,
		ClassCounts: counts, BatchSize: 50, StepsPerEpoch: 1000, Input: &train.InputStats{Mean: 0.5, Std: 0.3, Min: 0, Max: 1}})
	var said [][]train.Diagnosis
	for i, l := range losses {
		step := 20 * (i + 1)
		d.Observe(train.Event{Event: train.EventStep, Epoch: 1, Step: step, Loss: l})
		if acc, ok := checks[step]; ok {
			loss := math.Log(10)
			if acc > 0.12 {
				loss *= 1 - acc
			}
			said = append(said, d.Observe(train.Event{Event: train.EventValCheck, Epoch: 1, Step: step, ValLoss: loss, ValAccuracy: acc, ValSize: 1000}))
		}
	}
	return said, d
}

func find(ds []train.Diagnosis, cause string) *train.Diagnosis {
	if i := indexOf(ds, cause); i >= 0 {
		return &ds[i]
	}
	return nil
}

func TestFirstEpochReading(t *testing.T) {
	adam := func(lr float64) func(*spec.Spec) {
		return func(s *spec.Spec) { s.Train.Optimizer, s.Train.LR = "adam", lr }
	}
	// Adam at 0.1: the step loss leaps, then sits at ln 10 (2.30), and the
	// checks measure a constant guess.
	thrown := []float64{29, 2.31, 2.31, 2.30, 2.31, 2.31, 2.31, 2.30}
	atChance := map[int]float64{40: 0.1, 100: 0.11, 160: 0.1}
	said := firstEpoch(adam(0.1), thrown, atChance)
	if got := said[0]; len(got) != 0 {
		t.Errorf("one check at chance is not yet a finding: %v", causes(got))
	}
	d := find(said[1], LRTooHigh)
	if d == nil {
		t.Fatalf("Adam at 0.1, two checks at chance after a leap: %v", causes(said[1]))
	}
	if d.Confidence != 0.75 || d.Evidence["since_step"] != 40 || d.Evidence["checks_at_chance"] != 2 || d.Evidence["peak_step_loss"] != 29 ||
		!strings.Contains(d.Advice, "the last 2 validation checks (steps 40 to 100)") || !strings.Contains(d.Advice, "leapt to 29") {
		t.Errorf("lr_too_high %.2f %v: %s", d.Confidence, d.Evidence, d.Advice)
	}
	if fix := Fix(*d, mustExpand(adam(0.1))); len(fix) == 0 || fix[0] != "train.lr=0.01" {
		t.Errorf("fix %v, want a tenth of the rate", fix)
	}
	// Without the leap, less sure.
	calm := []float64{2.35, 2.31, 2.31, 2.30, 2.31, 2.31, 2.31, 2.30}
	if d := find(firstEpoch(adam(0.1), calm, atChance)[1], LRTooHigh); d == nil || d.Confidence != 0.65 {
		t.Errorf("at chance without a leap: %v", d)
	}
	// At the usual rate a network stuck at chance is not the rate's doing
	// (random labels, say), and at a high rate a network that learns is
	// not stuck; nor is one whose training loss left chance since.
	for name, c := range map[string]struct {
		change func(*spec.Spec)
		losses []float64
		checks map[int]float64
	}{
		"usual rate":    {adam(1e-3), thrown, atChance},
		"learning":      {adam(0.1), []float64{29, 2.2, 1.9, 1.5, 1.2, 1.0, 0.9, 0.8}, map[int]float64{40: 0.3, 100: 0.5, 160: 0.6}},
		"leaving":       {adam(0.1), []float64{29, 2.31, 2.30, 2.31, 1.9, 1.6, 1.4, 1.3}, atChance},
		"too few steps": {adam(0.1), thrown[:2], map[int]float64{20: 0.1, 40: 0.1}},
	} {
		for i, found := range firstEpoch(c.change, c.losses, c.checks) {
			if len(found) != 0 {
				t.Errorf("%s: check %d: %v", name, i+1, causes(found))
			}
		}
	}

	// Plain SGD at 1e-4: the validation loss falls at every check but is
	// still far from fitted: crawling.
	sgd := func(s *spec.Spec) { s.Train.Optimizer, s.Train.LR, s.Train.Momentum = "sgd", 1e-4, 0 }
	slow := []float64{2.6, 2.6, 2.5, 2.5, 2.5, 2.4, 2.4, 2.4}
	said = firstEpoch(sgd, slow, map[int]float64{40: 0.14, 100: 0.22, 160: 0.29})
	if len(said[1]) != 0 {
		t.Errorf("two checks are not yet a crawl: %v", causes(said[1]))
	}
	d = find(said[2], LRTooLow)
	if d == nil || d.Confidence != 0.5 || !strings.Contains(d.Advice, "add train.momentum 0.9") || !strings.Contains(d.Advice, "falls at every check") {
		t.Fatalf("crawling: %v", d)
	}
	// The same accuracies at Adam's usual rate are a slow start, not a
	// crawl; and at 1e-5 a network that has fitted (loss under half a
	// constant guess's) is not crawling.
	if found := firstEpoch(adam(1e-3), slow, map[int]float64{40: 0.14, 100: 0.22, 160: 0.29}); len(found[2]) != 0 {
		t.Errorf("usual rate: %v", causes(found[2]))
	}
	if found := firstEpoch(adam(1e-5), slow, map[int]float64{40: 0.5, 100: 0.6, 160: 0.7}); len(found[2]) != 0 {
		t.Errorf("fitted at 1e-5: %v", causes(found[2]))
	}
	// At the usual rate with 70% of ten classes' labels made wrong by the
	// spec: the labels' signal is drowned.
	noisy := func(s *spec.Spec) { s.Train.Optimizer, s.Train.LR, s.Data.LabelNoise = "adam", 1e-3, 0.7 }
	if d := find(firstEpoch(noisy, calm, atChance)[1], LabelNoise); d == nil || d.Confidence != 0.7 || !strings.Contains(d.Advice, "since step 40") {
		t.Errorf("drowned labels before the first epoch's end: %v", d)
	}
	// Stuck at chance at a tiny rate: the weights barely move.
	if d := find(firstEpoch(adam(1e-6), calm, atChance)[1], LRTooLow); d == nil || d.Confidence != 0.6 {
		t.Errorf("frozen at 1e-6: %v", d)
	}
}

// Once the first epoch has ended, its findings stand and checks carry no
// reading; a resumed run that continues from its epochs reads none either.
func TestFirstEpochReadingEnds(t *testing.T) {
	s := mustExpand(func(s *spec.Spec) { s.Train.Optimizer, s.Train.LR = "adam", 0.1 })
	d := New(s)
	d.Observe(train.Event{Event: train.EventStart, Classes: []string{"a", "b"}, ClassCounts: []int{50, 50}, StepsPerEpoch: 100, ValSize: 100})
	check := func(step int) []train.Diagnosis {
		d.Observe(train.Event{Event: train.EventStep, Step: step, Loss: 0.7})
		return d.Observe(train.Event{Event: train.EventValCheck, Step: step, ValLoss: 0.69, ValAccuracy: 0.5, ValSize: 100})
	}
	if check(60) == nil {
		t.Error("a check before the first epoch's end returned no reading")
	}
	if find(check(80), LRTooHigh) == nil {
		t.Error("two checks at chance at Adam 0.1: no lr_too_high")
	}
	d.Observe(train.Event{Event: train.EventEpoch, Epoch: 1, Step: 100, TrainLoss: 0.7, ValLoss: 0.69, ValAccuracy: 0.5})
	if got := check(150); got != nil {
		t.Errorf("a check after the first epoch: %v, want nil", causes(got))
	}
}

// A run stuck at chance through its first epoch's checks keeps
// lr_too_high at its epochs while they stay at chance, instead of waiting
// for the three the epoch rule wants; one that left chance does not.
func TestStuckSinceFirstEpoch(t *testing.T) {
	adam := func(s *spec.Spec) { s.Train.Optimizer, s.Train.LR = "adam", 0.1 }
	thrown := []float64{29, 2.31, 2.31, 2.30, 2.31, 2.31, 2.31, 2.30}
	for _, c := range []struct {
		name            string
		trainLoss, vacc float64
		want            bool
	}{{"still at chance", 4.2, 0.1, true}, {"left chance", 1.5, 0.45, false}} {
		_, d := firstEpochDoctor(adam, thrown, map[int]float64{40: 0.1, 100: 0.11, 160: 0.1})
		found := d.Observe(train.Event{Event: train.EventEpoch, Epoch: 1, Step: 1000, TrainLoss: c.trainLoss, ValLoss: 2.3, ValAccuracy: c.vacc})
		f := find(found, LRTooHigh)
		if (f != nil) != c.want {
			t.Errorf("%s: lr_too_high %v, want %v", c.name, f, c.want)
		}
		if f != nil && (f.Confidence != 0.75 || !strings.Contains(f.Advice, "the first epoch's last 3 validation checks (steps 40 to 160)")) {
			t.Errorf("%s: %.2f %s", c.name, f.Confidence, f.Advice)
		}
	}
}

// A crawl read at the first epoch's checks holds at the epochs while
// they go on crawling, until the epoch rule reads the run; it goes when
// an epoch's validation loss stops falling.
func TestCrawlSinceFirstEpoch(t *testing.T) {
	sgd := func(s *spec.Spec) {
		s.Train.Optimizer, s.Train.LR, s.Train.Momentum, s.Train.Epochs = "sgd", 1e-4, 0, 10
	}
	slow := []float64{2.6, 2.6, 2.5, 2.5, 2.5, 2.4, 2.4, 2.4}
	_, d := firstEpochDoctor(sgd, slow, map[int]float64{40: 0.14, 100: 0.22, 160: 0.29})
	epoch := func(n int, valLoss float64) []train.Diagnosis {
		return d.Observe(train.Event{Event: train.EventEpoch, Epoch: n, Step: 1000 * n, TrainLoss: valLoss + 0.2, TrainAccuracy: 0.3, ValLoss: valLoss, ValAccuracy: 0.3, WeightChange: 0.05})
	}
	f := find(epoch(1, 1.6), LRTooLow)
	if f == nil || f.Confidence != 0.5 || !strings.Contains(f.Advice, "fell at every check of the first epoch") {
		t.Fatalf("at the first epoch's end: %v", f)
	}
	if f := find(epoch(2, 1.65), LRTooLow); f != nil {
		t.Errorf("a validation loss that rose: %v", f)
	}
}

// A run frozen at chance through its first epoch's checks keeps
// lr_too_low at its first epoch's end, before the epoch rule can read the
// weights' movement.
func TestFrozenSinceFirstEpoch(t *testing.T) {
	frozen := func(s *spec.Spec) { s.Train.Optimizer, s.Train.LR = "adam", 1e-6 }
	calm := []float64{2.35, 2.31, 2.31, 2.30, 2.31, 2.31, 2.31, 2.30}
	said, d := firstEpochDoctor(frozen, calm, map[int]float64{40: 0.1, 100: 0.11, 160: 0.1})
	if find(said[1], LRTooLow) == nil {
		t.Fatalf("before the epoch's end: %v", causes(said[1]))
	}
	found := d.Observe(train.Event{Event: train.EventEpoch, Epoch: 1, Step: 1000, TrainLoss: 2.31, ValLoss: 2.3, ValAccuracy: 0.1, WeightChange: 0.0005})
	if f := find(found, LRTooLow); f == nil || f.Confidence != 0.6 || !strings.Contains(f.Advice, "the weights barely move") {
		t.Errorf("at the first epoch's end: %v", f)
	}
}

func mustExpand(change func(*spec.Spec)) *spec.Spec {
	s := baseSpec(10, 8)
	change(s)
	s.Expand()
	return s
}

// Raw pixels are named at the start at 0.5; before the first epoch's end
// the checks say whether the run struggles with them (0.9) or learns
// anyway (0.5 still).
func TestRawInputsAtTheChecks(t *testing.T) {
	for _, c := range []struct {
		valLoss []float64
		want    float64
	}{{[]float64{1.77, 1.47}, 0.9}, {[]float64{0.4, 0.3}, 0.5}, {[]float64{1.9}, 0.5}} {
		s := mustExpand(func(s *spec.Spec) { s.Data.Normalization = "raw" })
		d := New(s)
		start := d.Observe(train.Event{Event: train.EventStart, Classes: strings.Split("0123456789", ""), ValSize: 5000, StepsPerEpoch: 1000,
			Input: &train.InputStats{Mean: 33, Std: 78, Min: 0, Max: 255}})
		if f := find(start, UnnormalizedInput); f == nil || f.Confidence != 0.5 {
			t.Fatalf("at the start: %v", f)
		}
		var said []train.Diagnosis
		for i, l := range c.valLoss {
			step := 60 * (i + 1)
			d.Observe(train.Event{Event: train.EventStep, Epoch: 1, Step: step, Loss: l + 0.5})
			said = d.Observe(train.Event{Event: train.EventValCheck, Epoch: 1, Step: step, ValLoss: l, ValAccuracy: 0.5, ValSize: 1000})
		}
		if f := find(said, UnnormalizedInput); f == nil || f.Confidence != c.want {
			t.Errorf("checks at %v: %v, want confidence %.2f", c.valLoss, f, c.want)
		}
	}
}

// Checks stuck at a constant guess at a usual rate carry the layers of
// the step before them: a gradient that vanishes on its way back, or a
// ReLU layer wholly dead, is said at the checks, at 0.85 of what the
// epoch's end would say; at a rate far off, or with layers that look
// well, or without layers (a run saved before checks carried them), nothing is.
func TestLayersAtTheChecks(t *testing.T) {
	weighted := func(first, dead float64) []train.LayerStats {
		return []train.LayerStats{
			{Name: "conv1", Type: "conv2d", GradNorm: first, WeightNorm: 1},
			{Name: "relu1", Type: "relu", DeadFraction: dead},
			{Name: "conv2", Type: "conv2d", GradNorm: 0.1, WeightNorm: 1},
			{Name: "relu2", Type: "relu", DeadFraction: 0.2},
			{Name: "dense1", Type: "dense", GradNorm: 0.5, WeightNorm: 1},
		}
	}
	run := func(lr float64, layers []train.LayerStats) [][]train.Diagnosis {
		_, d := firstEpochDoctor(func(s *spec.Spec) { s.Train.Optimizer, s.Train.LR = "adam", lr }, nil, nil)
		var said [][]train.Diagnosis
		for i := range 8 {
			step := 20 * (i + 1)
			d.Observe(train.Event{Event: train.EventStep, Epoch: 1, Step: step, Loss: 2.31})
			if step%60 == 0 {
				said = append(said, d.Observe(train.Event{Event: train.EventValCheck, Epoch: 1, Step: step, ValLoss: 2.305, ValAccuracy: 0.1, ValSize: 1000, Layers: layers}))
			}
		}
		return said
	}
	said := run(1e-3, weighted(1e-6, 0.1))
	if find(said[0], VanishingGradients) != nil {
		t.Errorf("one check at chance: %v", causes(said[0]))
	}
	d := find(said[1], VanishingGradients)
	if d == nil || d.Confidence != 0.76 || d.Evidence["gradient_ratio"] != 1e-6/0.5 || d.Evidence["checks_at_chance"] != 2 ||
		!strings.HasPrefix(d.Advice, "before the first epoch's end, the last 2 validation checks (steps 60 to 120) measure a constant guess") ||
		!strings.Contains(d.Advice, "relative gradient is 2e-06 times the last layer's") {
		t.Errorf("vanishing gradients at the checks: %v", d)
	}
	d = find(run(1e-3, weighted(0.1, 1))[1], DeadReLU)
	if d == nil || d.Confidence != 0.68 || d.Evidence["layer_dead"] != 1 || !strings.Contains(d.Advice, "100% of relu1's units never fire") {
		t.Errorf("a dead layer at the checks: %v", d)
	}
	for name, c := range map[string]struct {
		lr     float64
		layers []train.LayerStats
	}{
		"layers that look well": {1e-3, weighted(0.1, 0.1)},
		"no layers":             {1e-3, nil},
		"a rate far too high":   {0.1, weighted(1e-6, 1)},
		"a rate far too low":    {1e-5, weighted(1e-6, 1)},
	} {
		for i, found := range run(c.lr, c.layers) {
			if f := find(found, VanishingGradients); f != nil {
				t.Errorf("%s, check %d: %v", name, i+1, f)
			}
			if f := find(found, DeadReLU); f != nil {
				t.Errorf("%s, check %d: %v", name, i+1, f)
			}
		}
	}
}

// A run at a usual rate stuck at a constant guess from its first check
// on, for 200 steps or more, whose layers passed the gradient at that
// check, learned nothing the images hold: label_noise names labels that
// say nothing of their images (shuffled apart from them), before the
// first epoch's end and after it, and dead_relu, whose units died as the
// network settled, defers. Not when the first check's layers already
// failed, with planted noise (drownedLabels), at a rate far off, with a
// strong penalty, or when a check left chance.
func TestSilentLabels(t *testing.T) {
	healthy := []train.LayerStats{
		{Name: "conv1", Type: "conv2d", GradNorm: 0.05, WeightNorm: 1},
		{Name: "relu1", Type: "relu", DeadFraction: 0.2},
		{Name: "conv2", Type: "conv2d", GradNorm: 0.1, WeightNorm: 1},
		{Name: "dense1", Type: "dense", GradNorm: 0.5, WeightNorm: 1},
	}
	dead := slices.Clone(healthy)
	dead[1].DeadFraction = 1
	vanished := slices.Clone(healthy)
	vanished[0].GradNorm = 1e-6
	type check struct {
		acc    float64
		layers []train.LayerStats
	}
	run := func(change func(*spec.Spec), checks map[int]check) ([][]train.Diagnosis, *Doctor) {
		_, d := firstEpochDoctor(func(s *spec.Spec) {
			s.Train.Optimizer, s.Train.LR = "adam", 1e-3
			if change != nil {
				change(s)
			}
		}, nil, nil)
		var said [][]train.Diagnosis
		for i := range 15 {
			step := 20 * (i + 1)
			d.Observe(train.Event{Event: train.EventStep, Epoch: 1, Step: step, Loss: 2.31})
			if c, ok := checks[step]; ok {
				loss := math.Log(10)
				if c.acc > 0.12 {
					loss *= 1 - c.acc
				}
				said = append(said, d.Observe(train.Event{Event: train.EventValCheck, Epoch: 1, Step: step, ValLoss: loss, ValAccuracy: c.acc, ValSize: 1000, Layers: c.layers}))
			}
		}
		return said, d
	}
	stuck := map[int]check{40: {0.1, healthy}, 120: {0.11, dead}, 240: {0.1, dead}}
	said, d := run(nil, stuck)
	if f := find(said[1], LabelNoise); f != nil {
		t.Errorf("at step 120, under 200 steps: %v", f)
	}
	f := find(said[2], LabelNoise)
	if f == nil || f.Confidence != 0.6 || f.Evidence["silent_labels"] != 1 || f.Evidence["since_step"] != 40 || f.Evidence["first_check_gradient_ratio"] != 0.1 ||
		!strings.HasPrefix(f.Advice, "since step 40, at a usual rate, the network has answered with a constant guess") || !strings.Contains(f.Advice, "shuffled apart from them") {
		t.Fatalf("stuck since a healthy first check, at step 240: %v", f)
	}
	if fix := Fix(*f, mustExpand(func(*spec.Spec) {})); fix != nil {
		t.Errorf("a fix for labels that say nothing: %v", fix)
	}
	if r := find(said[2], DeadReLU); r == nil || r.Confidence > 0.5 {
		t.Errorf("dead_relu beside it: %v, want it there and halved", r)
	}
	// The first epoch ends at a constant guess too.
	e := train.Event{Event: train.EventEpoch, Epoch: 1, Step: 1000, TrainLoss: 2.31, TrainAccuracy: 0.1, ValLoss: 2.303, ValAccuracy: 0.1, Layers: dead}
	if f := find(d.Observe(e), LabelNoise); f == nil || f.Confidence != 0.7 || !strings.Contains(f.Advice, "for 1 epochs") {
		t.Errorf("at the first epoch's end: %v", f)
	}
	// Epochs too short for checks: the first epoch's layers, from 200
	// steps on (44 an epoch here).
	atChance := func(n int) *Telemetry {
		var es []train.Event
		for i := range n {
			e := epoch(1.39, 0.25, 1.386, 0.25)
			if i == 0 {
				e.Layers = healthy
			} else {
				e.Layers = dead
			}
			es = append(es, e)
		}
		return telemetry(func(s *spec.Spec, _ *train.Event) { s.Train.LR = 1e-3 }, es...)
	}
	if f := find(Diagnose(atChance(4)), LabelNoise); f != nil {
		t.Errorf("4 epochs, 176 steps: %v", f)
	}
	if f := find(Diagnose(atChance(5)), LabelNoise); f == nil || f.Confidence != 0.7 || f.Evidence["since_step"] != 44 ||
		!strings.Contains(f.Advice, "though at the first epoch's end the gradient reached its first layer") {
		t.Errorf("5 epochs without checks, the first epoch's layers healthy: %v", f)
	}
	for name, c := range map[string]struct {
		change func(*spec.Spec)
		checks map[int]check
	}{
		"dead at the first check":     {nil, map[int]check{40: {0.1, dead}, 120: {0.11, dead}, 240: {0.1, dead}}},
		"vanished at the first check": {nil, map[int]check{40: {0.1, vanished}, 120: {0.11, vanished}, 240: {0.1, vanished}}},
		"planted noise":               {func(s *spec.Spec) { s.Data.LabelNoise = 0.9 }, stuck},
		"a rate far too high":         {func(s *spec.Spec) { s.Train.LR = 0.1 }, stuck},
		"a strong penalty":            {func(s *spec.Spec) { s.Train.L2 = 1 }, stuck},
		"smoothing to the uniform":    {func(s *spec.Spec) { s.Train.LabelSmoothing = 0.99 }, stuck},
		"a check that learned":        {nil, map[int]check{40: {0.3, healthy}, 120: {0.11, dead}, 240: {0.1, dead}}},
	} {
		said, _ := run(c.change, c.checks)
		if f := find(said[len(said)-1], LabelNoise); f != nil && f.Evidence["silent_labels"] == 1 {
			t.Errorf("%s: %v", name, f)
		}
	}
}
