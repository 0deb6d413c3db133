package train

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"plateau/data"
	"plateau/nn"
	"plateau/spec"
)

// shardedTrainer builds a trainer of s with n local shards.
func shardedTrainer(t *testing.T, s *spec.Spec, n int) *trainer {
	t.Helper()
	shards := LocalShards(n)
	t.Cleanup(func() { CloseShards(shards) })
	tr, err := newTrainer(Config{Spec: s, Dataset: tinyDataset(), Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// maxRelDiff is max |a-b| / max(max |b|, tiny).
func maxRelDiff(a, b []float32) float64 {
	var d, m float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
		m = max(m, math.Abs(float64(b[i])))
	}
	return d / max(m, 1e-12)
}

// Without batch norm, a batch cut into parts gives the gradient of the
// whole batch: the same loss, accuracy and weights after several steps,
// with and without class weights and label smoothing, with a batch that
// does not divide evenly, and with dropout (each part applies the masks of
// its rows in the whole batch).
func TestShardsComputeTheWholeBatch(t *testing.T) {
	cases := map[string]func(*spec.Spec){
		"plain": nil,
		"class weights, smoothing, odd batch": func(s *spec.Spec) {
			s.Data.Imbalance = 0.2
			s.Data.Balance = "class_weights"
			s.Train.LabelSmoothing = 0.1
			s.Train.BatchSize = 13
			s.Train.L2, s.Train.GradClip = 1e-3, 0.5
		},
		"dropout": func(s *spec.Spec) {
			s.Model.Layers = slices.Insert(s.Model.Layers, 1, spec.Layer{Type: spec.Dropout, Rate: 0.3})
			s.Model.Layers = slices.Insert(s.Model.Layers, 4, spec.Layer{Type: spec.Dropout, Rate: 0.5})
			s.Train.BatchSize = 13
		},
	}
	for name, change := range cases {
		for _, shards := range []int{1, 2, 3} {
			s := tinySpec(change)
			whole, parts := shardedTrainer(t, s, 0), shardedTrainer(t, s, shards)
			for step := range 6 {
				n := whole.loader.Next(whole.x, whole.y)
				if m := parts.loader.Next(parts.x, parts.y); m != n {
					t.Fatalf("loaders disagree: %d and %d rows", n, m)
				}
				lw, cw, gw := whole.trainStep(n, 0.01)
				lp, cp, gp := parts.trainStep(n, 0.01)
				if math.Abs(lw-lp) > 1e-5*math.Abs(lw) || cw != cp || math.Abs(gw-gp) > 1e-4*gw {
					t.Fatalf("%s, %d shards, step %d: loss %g, correct %d, norm %g; whole batch: %g, %d, %g", name, shards, step, lp, cp, gp, lw, cw, gw)
				}
			}
			if d := maxRelDiff(parts.net.Values(), whole.net.Values()); d > 1e-4 {
				t.Errorf("%s, %d shards: weights differ by %g relative after 6 steps", name, shards, d)
			}
			if parts.confidentWrong != whole.confidentWrong {
				t.Errorf("%s, %d shards: %d confidently wrong, whole batch %d", name, shards, parts.confidentWrong, whole.confidentWrong)
			}
		}
	}
}

// Every row trains: a shard that gets no part would leave its rows out,
// which a cut that drops a remainder does.
func TestShardsCoverTheBatch(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) { s.Train.BatchSize = 11 })
	rec := &recordingShard{}
	tr, err := newTrainer(Config{Spec: s, Dataset: tinyDataset(), Shards: []Shard{rec, rec, rec}})
	if err != nil {
		t.Fatal(err)
	}
	n := tr.loader.Next(tr.x, tr.y)
	rec.rows = 0
	tr.trainStep(n, 0.01)
	// 11 rows in 4 parts: 3 for the trainer, then 3, 3 and 2.
	if rec.rows != n-3 || !slices.Equal(rec.parts, []int{3, 3, 2}) {
		t.Errorf("shards got parts %v of a batch of %d", rec.parts, n)
	}
	// A batch smaller than the parts uses fewer shards.
	rec.parts = nil
	tr.trainStep(2, 0.01)
	if !slices.Equal(rec.parts, []int{1}) {
		t.Errorf("a batch of 2 gave the shards parts %v, want [1]", rec.parts)
	}
}

// recordingShard computes nothing (a zero gradient, the loss of a uniform
// guess, zero logits) and records the parts it is given.
type recordingShard struct {
	rows  int
	parts []int
	n     int
	fail  error
	// inferred counts the rows of inference passes, withValues the passes
	// that came with weights.
	inferred, withValues int
}

func (r *recordingShard) StartInference(values, x []float32, n int) {
	r.inferred += n
	if values != nil {
		r.withValues++
	}
}

func (r *recordingShard) WaitLogits(logits []float32) error {
	clear(logits)
	return r.fail
}

func (r *recordingShard) Init(spec.Model, int, ShardOptions) error { return nil }

func (r *recordingShard) Start(values, x []float32, y []int32, n int, dropout nn.DropoutKey) {
	r.rows += n
	r.parts = append(r.parts, n)
	r.n = n
}

func (r *recordingShard) Wait(grads []float32) (ShardResult, error) {
	clear(grads)
	return ShardResult{Loss: math.Log(4), Weight: float64(r.n)}, r.fail
}

// A shard that fails ends the run with its reason.
func TestShardFailureEndsTheRun(t *testing.T) {
	s := tinySpec(nil)
	rec := &recordingShard{fail: errors.New("the second worker stopped")}
	_, err := Run(context.Background(), Config{Spec: s, Dataset: tinyDataset(), Shards: []Shard{rec}})
	if err == nil || !strings.Contains(err.Error(), "the second worker stopped") {
		t.Fatalf("Run with a failing shard: %v", err)
	}
}

// A sharded run learns as the whole-batch run does, with batch norm too
// (its parts normalize differently, so only the outcome is compared).
func TestShardedRunLearns(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) {
		s.Train.Epochs = 6
		s.Model.Layers = slices.Insert(s.Model.Layers, 1, spec.Layer{Type: spec.BatchNorm})
		s.Model.Layers = slices.Insert(s.Model.Layers, 4, spec.Layer{Type: spec.Dropout, Rate: 0.1})
	})
	shards := LocalShards(1)
	defer CloseShards(shards)
	res, _ := run(t, context.Background(), Config{Spec: s, Shards: shards})
	if res.Final.TestAccuracy < 0.9 {
		t.Errorf("sharded run: test accuracy %.3f, want ≥ 0.9", res.Final.TestAccuracy)
	}
}

func TestShardedTrainStepAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := tinySpec(func(s *spec.Spec) {
		s.Model.Layers = slices.Insert(s.Model.Layers, 1, spec.Layer{Type: spec.BatchNorm})
	})
	tr := shardedTrainer(t, s, 1)
	step := func() {
		n := tr.loader.Next(tr.x, tr.y)
		if n == 0 {
			tr.loader.Epoch(1)
			n = tr.loader.Next(tr.x, tr.y)
		}
		tr.trainStep(n, 0.01)
	}
	step()
	// The fewest of eight tries: the runtime allocates now and then when
	// goroutines hand work to each other, more on a busy machine.
	least := math.Inf(1)
	for range 8 {
		if least = min(least, testing.AllocsPerRun(20, step)); least == 0 {
			break
		}
	}
	if least != 0 {
		t.Errorf("%v allocations per sharded training step, want 0", least)
	}
}

// A replica refuses parts that do not fit it with the reason.
func TestReplicaRefusesBadParts(t *testing.T) {
	s := tinySpec(nil)
	r, err := NewReplica(s.Model, 4, ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	values := make([]float32, len(r.net.Values()))
	x := make([]float32, 8*64)
	y := make([]int32, 8)
	for _, c := range []struct {
		values []float32
		n      int
		y      []int32
		want   string
	}{
		{values[:3], 2, y, "weights"},
		{values, 5, y, "rows"},
		{values, 2, []int32{0, 9}, "label 9"},
	} {
		if _, err := r.Compute(c.values, x, c.y, c.n, nn.DropoutKey{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compute(%d weights, %d rows, labels %v): %v, want an error about %s", len(c.values), c.n, c.y[:min(2, len(c.y))], err, c.want)
		}
	}
}

// An evaluation with shards gives the figures of one without: the same
// loss, accuracy and confusion matrix, with batch norm (whose running
// statistics travel with the weights) and dropout (off in inference), on a
// split that does not fill its last batch and on one smaller than the
// parts.
func TestShardsEvaluateAsOne(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) {
		s.Model.Layers = append([]spec.Layer{{Type: spec.Conv2D, Filters: 4, Kernel: 3}, {Type: spec.BatchNorm}, {Type: spec.ReLU}, {Type: spec.Dropout, Rate: 0.3}}, s.Model.Layers...)
		s.Train.BatchSize = 10
	})
	for _, shards := range []int{1, 2, 3} {
		whole, parts := shardedTrainer(t, s, 0), shardedTrainer(t, s, shards)
		for range 3 {
			n := whole.loader.Next(whole.x, whole.y)
			whole.trainStep(n, 0.01)
		}
		copy(parts.net.Values(), whole.net.Values())
		size := whole.net.InputSize()
		test := whole.splits.Test
		three := data.Split{Images: test.Images[:3*size], Labels: test.Labels[:3]}
		for name, split := range map[string]data.Split{"test": test, "three images": three} {
			lw, aw, cw := whole.evaluate(split)
			lp, ap, cp := parts.evaluate(split)
			if math.Abs(lw-lp) > 1e-5*math.Abs(lw) || aw != ap || !slices.EqualFunc(cw.Matrix(), cp.Matrix(), slices.Equal) {
				t.Errorf("%d shards, %s: loss %g accuracy %g, %v; one trainer: %g %g, %v", shards, name, lp, ap, cp.Matrix(), lw, aw, cw.Matrix())
			}
		}
		if parts.shardErr != nil {
			t.Errorf("%d shards: %v", shards, parts.shardErr)
		}
	}
}

// The shards of an evaluation get the weights with their first part only,
// and their share of every batch; a failing one has its rows computed by
// the trainer, and its failure ends the run.
func TestShardedEvaluationSendsWeightsOnce(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) { s.Train.BatchSize = 8 })
	rec := &recordingShard{}
	tr, err := newTrainer(Config{Spec: s, Dataset: tinyDataset(), Shards: []Shard{rec}})
	if err != nil {
		t.Fatal(err)
	}
	test := tr.splits.Test
	tr.evaluate(test)
	if rec.inferred != test.Len()/2 || rec.withValues != 1 {
		t.Errorf("a shard computed %d of %d rows and got the weights %d times; want half the rows, weights once", rec.inferred, test.Len(), rec.withValues)
	}
	whole := shardedTrainer(t, s, 0)
	copy(whole.net.Values(), tr.net.Values())
	rec.fail = errors.New("the second worker stopped")
	lp, ap, _ := tr.evaluate(test)
	lw, aw, _ := whole.evaluate(test)
	if math.Abs(lw-lp) > 1e-5*math.Abs(lw) || aw != ap {
		t.Errorf("with a failing shard: loss %g accuracy %g; one trainer: %g %g", lp, ap, lw, aw)
	}
	if tr.shardErr == nil || !strings.Contains(tr.shardErr.Error(), "the second worker stopped") {
		t.Errorf("the failure was not kept to end the run: %v", tr.shardErr)
	}
}

// With batch norm, whose parts normalize by their own statistics, a batch
// is cut into fewer parts rather than parts under minNormRows rows; the
// start event says how many parts a whole batch takes.
func TestBatchNormPartsKeepEnoughRows(t *testing.T) {
	for _, c := range []struct {
		bn           bool
		batch        int
		parts        []int // the shards' parts
		workers      int
		partialBatch int
		partialParts []int
	}{
		{false, 16, []int{4, 4, 4}, 4, 9, []int{2, 2, 2}},
		{true, 16, []int{8}, 2, 9, nil},
		{true, 15, nil, 1, 0, nil},
		{true, 40, []int{10, 10, 10}, 4, 24, []int{8, 8}},
	} {
		s := tinySpec(func(s *spec.Spec) {
			s.Train.BatchSize = c.batch
			if c.bn {
				s.Model.Layers = slices.Insert(s.Model.Layers, 1, spec.Layer{Type: spec.BatchNorm})
			}
		})
		rec := &recordingShard{}
		tr, err := newTrainer(Config{Spec: s, Dataset: tinyDataset(), Shards: []Shard{rec, rec, rec}})
		if err != nil {
			t.Fatal(err)
		}
		n := tr.loader.Next(tr.x, tr.y)
		tr.trainStep(n, 0.01)
		if !slices.Equal(rec.parts, c.parts) || tr.workers() != c.workers {
			t.Errorf("batch norm %v, batch %d: the shards got parts %v, %d workers; want %v, %d", c.bn, c.batch, rec.parts, tr.workers(), c.parts, c.workers)
		}
		if c.partialBatch > 0 {
			rec.parts = nil
			tr.trainStep(c.partialBatch, 0.01)
			if !slices.Equal(rec.parts, c.partialParts) {
				t.Errorf("batch norm %v, a last batch of %d: the shards got parts %v, want %v", c.bn, c.partialBatch, rec.parts, c.partialParts)
			}
		}
	}
}

// The shards are sized for the largest part any batch of a run gives
// them: with batch norm a last batch cut into fewer parts has larger ones
// than a whole batch (32 rows in four parts of 8; 31 in three of up to 11).
func TestBatchNormPartsFitTheShards(t *testing.T) {
	s := tinySpec(func(s *spec.Spec) {
		s.Train.BatchSize = 32
		s.Model.Layers = slices.Insert(s.Model.Layers, 1, spec.Layer{Type: spec.BatchNorm})
	})
	tr := shardedTrainer(t, s, 3)
	tr.loader.Next(tr.x, tr.y)
	for _, n := range []int{32, 31, 24, 15, 9} {
		tr.trainStep(n, 0.01)
		if tr.shardErr != nil {
			t.Fatalf("a batch of %d rows: %v", n, tr.shardErr)
		}
	}
}
