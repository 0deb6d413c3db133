package train

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"plateau/data"
	"plateau/nn"
	"plateau/spec"
)

// A Shard computes the gradient of a part of every training batch on a
// replica of the network, while the trainer computes the rest: data
// parallelism. The trainer cuts each batch into equal parts (with batch
// norm, none under minNormRows rows), keeps the first and hands one to
// each shard with its current weights; it adds the
// shards' gradients to its own, weighted by each part's share of the loss,
// before regularization, clipping and the optimizer's update, which only
// the trainer runs.
//
// Without batch norm a sharded step computes the gradient of the whole
// batch, up to float rounding: dropout's masks are keyed by the step and
// each row's place in the batch (nn.DropoutKey), so every part applies the
// masks the whole batch would. Batch norm normalizes each part by its own
// statistics (as with several devices) and its running statistics come
// from the trainer's part.
//
// A LocalShard runs on a goroutine of this process; the browser worker
// hands parts to another worker through the same interface.
type Shard interface {
	// Init prepares the shard for parts of up to maxRows rows of a run of
	// model, whose loss it computes with opts. The trainer calls it once,
	// before the first part.
	Init(model spec.Model, maxRows int, opts ShardOptions) error
	// Start begins the forward and backward pass of n rows of x with labels
	// y on a replica that holds values (the trainer's Network.Values),
	// applying the dropout masks of dropout (the step's, from the part's
	// first row in the batch on). The caller does not change values, x or
	// y until Wait returns.
	Start(values, x []float32, y []int32, n int, dropout nn.DropoutKey)
	// Wait returns when the pass Start began is done, with its gradient
	// (the mean over its rows, aligned with Network.Grads) in grads.
	Wait(grads []float32) (ShardResult, error)
	// StartInference begins the forward pass of n rows of x in inference
	// mode (no dropout; batch norm's running statistics) on a replica that
	// holds values, or, when values is nil, the values of the shard's last
	// pass. The trainer evaluates its validation and test images so, a
	// share of every batch on each shard, sending the weights once per
	// evaluation.
	StartInference(values, x []float32, n int)
	// WaitLogits returns when the pass StartInference began is done, with
	// its rows' logits (n×classes) in logits.
	WaitLogits(logits []float32) error
}

// ShardResult is what a part of a batch gives besides its gradient.
type ShardResult struct {
	// Loss is the part's mean loss and Weight the sum of its rows' class
	// weights (its row count without class weights): the combined loss is
	// Σ Weight·Loss / Σ Weight, and the gradients combine the same way.
	Loss   float64
	Weight float64
	// Correct counts the part's right predictions, ConfidentWrong its
	// confidently wrong ones.
	Correct, ConfidentWrong int
}

// ShardOptions are what a replica needs to compute a part's loss as the
// trainer does.
type ShardOptions struct {
	ClassWeights   []float32 `json:"class_weights,omitempty"`
	LabelSmoothing float64   `json:"label_smoothing,omitempty"`
}

// Replica computes parts of batches for a Shard: a network of the run's
// model that takes the trainer's weights before each part.
type Replica struct {
	net     *nn.Network
	opts    ShardOptions
	classes int
	dlogits []float32
}

// NewReplica builds a replica of model for parts of up to maxRows rows.
func NewReplica(model spec.Model, maxRows int, opts ShardOptions) (*Replica, error) {
	net, err := nn.New(model, maxRows, 1)
	if err != nil {
		return nil, err
	}
	return &Replica{net: net, opts: opts, classes: model.Classes, dlogits: make([]float32, maxRows*model.Classes)}, nil
}

// Compute runs the forward and backward pass of n rows of x on values (or,
// when values is nil, on the values the replica holds: SetValues) and
// returns the part's result; its gradient is then in Grads. It allocates
// nothing.
func (r *Replica) Compute(values, x []float32, y []int32, n int, dropout nn.DropoutKey) (ShardResult, error) {
	if err := r.SetValues(values); err != nil {
		return ShardResult{}, err
	}
	if n < 1 || n > r.net.MaxBatch() || len(x) < n*r.net.InputSize() || len(y) < n {
		return ShardResult{}, fmt.Errorf("a shard got %d rows; it takes 1 to %d", n, r.net.MaxBatch())
	}
	for _, v := range y[:n] {
		if v < 0 || int(v) >= r.classes {
			return ShardResult{}, fmt.Errorf("a shard got label %d of a model with %d classes", v, r.classes)
		}
	}
	r.net.SetDropout(dropout)
	r.net.ZeroGrads()
	logits := r.net.Forward(x, n, true)
	var res ShardResult
	res.Correct, res.ConfidentWrong = tally(logits, y, n, r.classes)
	res.Loss = nn.SoftmaxCrossEntropy(r.dlogits, logits, y, r.opts.ClassWeights, r.opts.LabelSmoothing, n, r.classes)
	res.Weight = weightOf(y[:n], r.opts.ClassWeights)
	if finite(res.Loss) {
		r.net.Backward(r.dlogits)
	}
	return res, nil
}

// Infer runs the forward pass of n rows of x in inference mode on values,
// or on the values of the last part when values is nil, and returns the
// logits (n×classes; valid until the next part). It allocates nothing.
func (r *Replica) Infer(values, x []float32, n int) ([]float32, error) {
	if err := r.SetValues(values); err != nil {
		return nil, err
	}
	if n < 1 || n > r.net.MaxBatch() || len(x) < n*r.net.InputSize() {
		return nil, fmt.Errorf("a shard got %d rows; it takes 1 to %d", n, r.net.MaxBatch())
	}
	return r.net.Forward(x, n, false)[:n*r.classes], nil
}

// SetValues copies the trainer's values (Network.Values) into the replica;
// nil leaves the replica's values as they are.
func (r *Replica) SetValues(values []float32) error {
	if values == nil {
		return nil
	}
	dst := r.net.Values()
	if len(values) != len(dst) {
		return fmt.Errorf("a shard got %d weights for a network of %d", len(values), len(dst))
	}
	copy(dst, values)
	return nil
}

// Grads returns the gradient of the last part Compute ran.
func (r *Replica) Grads() []float32 { return r.net.Grads() }

// weightOf is the sum of the class weights of labels y, or their count
// without class weights: the denominator of SoftmaxCrossEntropy's mean.
func weightOf(y []int32, classWeights []float32) float64 {
	if classWeights == nil {
		return float64(len(y))
	}
	var w float64
	for _, v := range y {
		w += float64(classWeights[v])
	}
	return w
}

// LocalShard is a Shard that computes on its own goroutine, started by
// Init; Close stops it.
type LocalShard struct {
	replica *Replica
	start   chan shardJob
	done    chan shardDone
}

type shardJob struct {
	x       []float32
	y       []int32
	n       int
	dropout nn.DropoutKey
	infer   bool
	err     error // copying the values failed
}

type shardDone struct {
	res    ShardResult
	logits []float32
	err    error
}

// Init builds the replica and starts the goroutine.
func (s *LocalShard) Init(model spec.Model, maxRows int, opts ShardOptions) error {
	if s.start != nil {
		return errors.New("a local shard serves one run")
	}
	r, err := NewReplica(model, maxRows, opts)
	if err != nil {
		return err
	}
	s.replica, s.start, s.done = r, make(chan shardJob), make(chan shardDone, 1)
	go func() {
		for j := range s.start {
			switch {
			case j.err != nil:
				s.done <- shardDone{err: j.err}
			case j.infer:
				logits, err := r.Infer(nil, j.x, j.n)
				s.done <- shardDone{logits: logits, err: err}
			default:
				res, err := r.Compute(nil, j.x, j.y, j.n, j.dropout)
				s.done <- shardDone{res: res, err: err}
			}
		}
	}()
	return nil
}

// Start hands a part to the shard's goroutine. The values are copied
// here, before Start returns: the trainer's own part goes on to update its
// batch norm running statistics, which are among them.
func (s *LocalShard) Start(values, x []float32, y []int32, n int, dropout nn.DropoutKey) {
	err := s.replica.SetValues(values)
	s.start <- shardJob{x: x, y: y, n: n, dropout: dropout, err: err}
}

// StartInference hands an inference pass to the shard's goroutine, with
// the values copied as Start copies them.
func (s *LocalShard) StartInference(values, x []float32, n int) {
	err := s.replica.SetValues(values)
	s.start <- shardJob{x: x, n: n, infer: true, err: err}
}

// WaitLogits waits for the inference pass and copies its logits.
func (s *LocalShard) WaitLogits(logits []float32) error {
	d := <-s.done
	if d.err == nil {
		copy(logits, d.logits)
	}
	return d.err
}

// Wait waits for the part and copies its gradient into grads.
func (s *LocalShard) Wait(grads []float32) (ShardResult, error) {
	d := <-s.done
	if d.err == nil {
		copy(grads, s.replica.Grads())
	}
	return d.res, d.err
}

// Close stops the shard's goroutine.
func (s *LocalShard) Close() {
	if s.start != nil {
		close(s.start)
	}
}

// LocalShards returns n local shards, for Config.Shards; close them with
// CloseShards when the run is over.
func LocalShards(n int) []Shard {
	shards := make([]Shard, n)
	for i := range shards {
		shards[i] = &LocalShard{}
	}
	return shards
}

// CloseShards closes the shards that have a Close method.
func CloseShards(shards []Shard) {
	for _, s := range shards {
		if c, ok := s.(interface{ Close() }); ok {
			c.Close()
		}
	}
}

// maxShards bounds Config.Shards.
const maxShards = 64

// workers is the number of parts a whole batch is cut into when the run
// has shards, else 0.
func (t *trainer) workers() int {
	if len(t.cfg.Shards) == 0 {
		return 0
	}
	return t.parts(t.tr.BatchSize)
}

// minNormRows is the fewest rows a part of a training batch gets when the
// network has batch norm, whose parts normalize by their own statistics: a
// batch is cut into fewer parts rather than smaller ones (one under twice
// this is not cut), so no part normalizes by fewer rows than the doctor's
// batch_size rule accepts of a whole batch. Fashion-MNIST, fashion-cnn,
// 6,000 images, two epochs at batch 8: 81.0% test in one part, 80.1% and
// 80.1% in parts of 4 and 2; at batch 16, 84.0% in one and in parts of 8.
const minNormRows = 8

// parts is the number of parts a training batch of n rows is cut into.
func (t *trainer) parts(n int) int {
	p := min(len(t.cfg.Shards)+1, n)
	if t.normParts {
		p = min(p, max(1, n/minNormRows))
	}
	return p
}

// initShards prepares the run's shards for parts of a batch.
func (t *trainer) initShards() error {
	if len(t.cfg.Shards) == 0 {
		return nil
	}
	if len(t.cfg.Shards) > maxShards {
		return fmt.Errorf("%d shards: a batch takes at most %d", len(t.cfg.Shards), maxShards)
	}
	t.normParts = slices.ContainsFunc(t.spec.Model.Layers, func(l spec.Layer) bool { return l.Type == spec.BatchNorm })
	// The largest part any batch gives a shard: with batch norm a short
	// last batch, cut into fewer parts, can have larger ones than a whole
	// batch (31 rows in three parts of up to 11, 32 in four of 8).
	rows := 0
	for n := 1; n <= t.tr.BatchSize; n++ {
		p := t.parts(n)
		rows = max(rows, (n+p-1)/p)
	}
	opts := ShardOptions{ClassWeights: t.classWeights, LabelSmoothing: t.tr.LabelSmoothing}
	for i, s := range t.cfg.Shards {
		if err := s.Init(t.spec.Model, rows, opts); err != nil {
			return fmt.Errorf("starting shard %d of the batch: %v", i+1, err)
		}
	}
	t.shardGrads = make([]float32, len(t.net.Grads()))
	return nil
}

// shardedStep runs the parts of a batch of n rows on the shards and the
// trainer: it starts the shards on their parts, computes the trainer's part
// (the first rows) itself, and combines the gradients into the
// trainer's (ownPart). It returns the batch's mean loss and whether the
// gradient is complete.
func (t *trainer) shardedStep(n int) (loss float64, ok bool, err error) {
	parts := t.parts(n)
	if parts < 2 {
		loss, ok = t.ownPart(n)
		return loss, ok, nil
	}
	size := t.net.InputSize()
	c := cutRows(n, parts)
	own := c.part(0)
	values := t.net.Values()
	off := own
	for i := range parts - 1 {
		rows := c.part(i + 1)
		t.cfg.Shards[i].Start(values, t.x[off*size:(off+rows)*size], t.y[off:off+rows], rows, t.dropoutKey(off))
		off += rows
	}
	loss, ok = t.ownPart(own)
	grads := t.net.Grads()
	w := weightOf(t.y[:own], t.classWeights)
	total, sum := w, w*loss
	if ok {
		scale(grads, float32(w))
	}
	for i := range parts - 1 {
		res, serr := t.cfg.Shards[i].Wait(t.shardGrads)
		if serr != nil {
			if err == nil {
				err = fmt.Errorf("a part of the batch failed: %v", serr)
			}
			continue
		}
		total += res.Weight
		sum += res.Weight * res.Loss
		t.stepCorrect += res.Correct
		t.confidentWrong += res.ConfidentWrong
		if !finite(res.Loss) {
			ok = false
		}
		if ok {
			axpy(grads, float32(res.Weight), t.shardGrads)
		}
	}
	if err != nil {
		return loss, false, err
	}
	if total > 0 {
		loss = sum / total
		if ok {
			scale(grads, float32(1/total))
		}
	}
	return loss, ok, nil
}

// shardedEvaluate is evaluate with the shards: every batch is cut into
// parts as a training batch is, the shards compute theirs in inference mode
// while the trainer computes the first, and the loss, accuracy and
// confusion add up over all rows, so the figures are those of evaluate up
// to float rounding. The weights go to a shard with its first part only.
// A shard that fails has its rows computed here, and its failure ends the
// run at the next step (t.shardErr).
func (t *trainer) shardedEvaluate(s data.Split) (loss, accuracy float64, conf *Confusion) {
	if s.Len() == 0 {
		return math.NaN(), math.NaN(), nil
	}
	batch, size, classes := t.net.MaxBatch(), t.net.InputSize(), t.net.Classes()
	parts := len(t.cfg.Shards) + 1
	if t.evalLogits == nil {
		t.evalLogits = make([]float32, ((batch+parts-1)/parts)*classes)
		t.hasValues = make([]bool, len(t.cfg.Shards))
	}
	clear(t.hasValues)
	values := t.net.Values()
	conf = NewConfusion(classes)
	var r Running
	add := func(logits []float32, labels []int32, n int) {
		l := nn.SoftmaxCrossEntropy(nil, logits, labels, nil, t.tr.LabelSmoothing, n, classes)
		r.Add(l, conf.Add(logits, labels, n), n)
	}
	type out struct{ off, rows int }
	var sent [maxShards]out
	for i := 0; i < s.Len(); i += batch {
		n := min(batch, s.Len()-i)
		t.norm.Apply(t.x[:n*size], s.Images[i*size:(i+n)*size])
		labels := s.Labels[i : i+n]
		used := min(parts, n)
		c := cutRows(n, used)
		own := c.part(0)
		off := own
		for k := range used - 1 {
			rows := c.part(k + 1)
			v := values
			if t.hasValues[k] {
				v = nil
			}
			t.cfg.Shards[k].StartInference(v, t.x[off*size:(off+rows)*size], rows)
			t.hasValues[k] = true
			sent[k] = out{off, rows}
			off += rows
		}
		add(t.net.Forward(t.x, own, false), labels[:own], own)
		for k := range used - 1 {
			o := sent[k]
			logits := t.evalLogits[:o.rows*classes]
			if err := t.cfg.Shards[k].WaitLogits(logits); err != nil {
				if t.shardErr == nil {
					t.shardErr = fmt.Errorf("a part of an evaluation failed: %v", err)
				}
				t.hasValues[k] = false
				logits = t.net.Forward(t.x[o.off*size:(o.off+o.rows)*size], o.rows, false)
			}
			add(logits, labels[o.off:o.off+o.rows], o.rows)
		}
	}
	return r.Loss(), r.Accuracy(), conf
}

// A cut divides the rows of a batch into parts as evenly as it can: part
// 0 is the trainer's, part i+1 shard i's, and the first parts take one
// extra row each where the rows do not divide evenly.
type cut struct{ base, extra int }

func cutRows(n, parts int) cut { return cut{n / parts, n % parts} }

func (c cut) part(i int) int {
	if i < c.extra {
		return c.base + 1
	}
	return c.base
}

func scale(x []float32, a float32) {
	for i := range x {
		x[i] *= a
	}
}

func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += a * v
	}
}
