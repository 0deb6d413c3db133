package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"reflect"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"plateau/data"
	"plateau/doctor"
	"plateau/nn"
	"plateau/protocol"
	"plateau/spec"
	"plateau/train"
)

// Timing of a run in the worker.
const (
	// yieldEvery is how long training runs before it lets the event loop
	// deliver the page's commands: pause and stop act within it.
	yieldEvery = 25 * time.Millisecond
	// progressEvery bounds the progress messages (protocol.ProgressPerSecond).
	progressEvery = time.Second / protocol.ProgressPerSecond
	// stepEventEvery bounds the step events forwarded to the page.
	stepEventEvery = 100 * time.Millisecond
	// samplesPerClass and maxSamples size the sample grid.
	samplesPerClass = 4
	maxSamples      = 40
	// maxMisclassified images are sent after each epoch, found among the
	// first maxInspected validation images.
	maxMisclassified = 16
	maxInspected     = 2000
	// maxDownload bounds a dataset fetched from the server.
	maxDownload = 1 << 30
)

// Session is one worker: a loaded dataset and at most one run. Handle is
// called for every command, on the thread that receives them; it returns
// at once and the work happens on goroutines, which post what they find
// through post.
type Session struct {
	post func(protocol.Message)
	// yield lets the host's event loop run (nil where goroutines are
	// preemptive, as in tests on the host).
	yield func()
	// fetch gets a dataset by URL; on the host it is httpGet.
	fetch func(url string) (protocol.Source, error)
	// linearMemory reports the size of the wasm linear memory (nil on
	// the host).
	linearMemory func() int64

	// shards returns n workers to hand parts of batches to (nil: a run
	// trains in this worker alone).
	shards func(n int) ([]*remoteShard, error)
	// decoders starts n workers to decode a dataset's images, and
	// returns their decoders and what ends them (nil: the images are
	// decoded in this worker).
	decoders func(n int) ([]data.ImageDecoder, func())

	mu         sync.Mutex
	dataset    *data.Dataset
	samples    *protocol.Images
	run        *activeRun
	result     *train.Result
	resultRun  string
	resultSpec *spec.Spec
	// shardSrv serves parts of another worker's batches.
	shardSrv *shardServer
	// saliencyNet computes the misclassified images' saliency maps with
	// a copy of the weights, on a batch of maxMisclassified; mapsTook is
	// the time the last maps took and mapsAt when they were done (mapsDue),
	// under mu; mapsMu keeps a run's maps and an evaluation's apart.
	saliencyNet *nn.Network
	mapsTook    time.Duration
	mapsAt      time.Time
	mapsMu      sync.Mutex
}

// activeRun is the run in progress. Its fields are guarded by Session.mu.
type activeRun struct {
	id     string
	cancel context.CancelFunc
	paused bool
	// pauseSaid says the paused state has been posted: when the run has
	// stopped between two steps, not when it was asked to, so that no step
	// ends after the page shows it paused.
	pauseSaid bool
	steps     int           // steps allowed while paused (the step command)
	wake      chan struct{} // closed and replaced to wake a paused run
	lrScale   float64
	baseLR    float64
	// augment is an augmentation set_augment asked for, which the run
	// takes before its next step.
	augment *spec.Augment
	// training is set for a training run (not an LR range test or an
	// evaluation), which measures its weights between two steps when
	// evaluate is set.
	training bool
	evaluate bool
	// released is closed when the run has given the slot back.
	released chan struct{}
}

// NewSession returns a session that posts its messages with post and
// yields to the host's event loop with yield.
func NewSession(post func(protocol.Message), yield func()) *Session {
	return &Session{post: post, yield: yield, fetch: httpGet}
}

// Handle acts on one command.
func (s *Session) Handle(c protocol.Command) {
	if err := c.Check(); err != nil {
		s.post(protocol.ErrorMessage(c.Run, err))
		return
	}
	switch c.Cmd {
	case protocol.CmdLoad:
		go s.load(c)
	case protocol.CmdSpec:
		go func() {
			if _, err := s.prepareSpec(c.Spec); err != nil {
				s.post(protocol.ErrorMessage(c.Run, err))
				return
			}
			s.post(protocol.NewMessage(c.Run, protocol.KindSpecOK))
		}()
	case protocol.CmdStart:
		s.start(c)
	case protocol.CmdPause, protocol.CmdResume, protocol.CmdStep, protocol.CmdStop, protocol.CmdSetLR, protocol.CmdSetAugment:
		s.control(c)
	case protocol.CmdAugment:
		go s.preview(c)
	case protocol.CmdExport:
		go s.export(c)
	case protocol.CmdLRFind:
		s.lrFind(c)
	case protocol.CmdEvaluate:
		s.evaluate(c)
	case protocol.CmdImport:
		go s.importWeights(c)
	case protocol.CmdShard:
		go s.shard(c)
	case protocol.CmdPart:
		go s.part(c)
	case protocol.CmdDecode:
		go s.decode(c)
	case protocol.CmdMemory:
		go func() {
			runtime.GC()
			s.postMemory(c.Run, true)
		}()
	}
}

func (s *Session) load(c protocol.Command) {
	if c.Dataset == nil {
		s.post(protocol.ErrorMessage(c.Run, errors.New("load needs a dataset: a URL or a file")))
		return
	}
	name := c.Dataset.Name
	var src protocol.Source = bytes.NewReader(c.Bytes)
	switch {
	case c.Dataset.URL != "":
		var err error
		if src, err = s.fetch(c.Dataset.URL); err != nil {
			s.post(protocol.ErrorMessage(c.Run, fmt.Errorf("loading %s: %v", name, err)))
			return
		}
	case c.Blob != nil:
		var ok bool
		if src, ok = c.Blob.(protocol.Source); !ok {
			s.post(protocol.ErrorMessage(c.Run, fmt.Errorf("loading %s: the worker cannot read a %T", name, c.Blob)))
			return
		}
	}
	if src.Size() == 0 {
		s.post(protocol.ErrorMessage(c.Run, fmt.Errorf("%s is empty: drop the dataset archive itself (a zip of class folders, the IDX files in a zip or tar, or cifar-10-binary.tar.gz)", name)))
		return
	}
	// A dataset of photos can take minutes to read: say how far it is,
	// a few times a second.
	var said time.Time
	decoders := 0 // the other workers decoding the images
	progress := func(done, total int) {
		if now := time.Now(); now.Sub(said) >= 250*time.Millisecond || done == total {
			said = now
			m := protocol.NewMessage(c.Run, protocol.KindLoading)
			m.Loading = &protocol.Loading{Done: done, Total: total, Workers: decoders}
			s.post(m)
		}
	}
	opt := data.LoadOptions{ImageSide: c.Dataset.ImageSide, Progress: progress}
	if n := min(c.Workers, protocol.MaxWorkers); n > 1 && s.decoders != nil {
		opt.Decoders = func() ([]data.ImageDecoder, func()) {
			d, end := s.decoders(n)
			decoders = len(d)
			return d, end
		}
	}
	d, err := data.Decode(datasetLabel(name), src, src.Size(), opt)
	if err != nil {
		s.post(protocol.ErrorMessage(c.Run, fmt.Errorf("%v; the page keeps the dataset it had", err)))
		return
	}
	samples := sampleImages(d)
	s.mu.Lock()
	s.dataset, s.samples = d, samples
	s.mu.Unlock()
	m := protocol.NewMessage(c.Run, protocol.KindDataset)
	m.Dataset = summarize(d)
	s.post(m)
	m = protocol.NewMessage(c.Run, protocol.KindSamples)
	m.Images = samples
	s.post(m)
	// The archive's bytes (or the windows read of it) are garbage now:
	// collect them before the dataset is measured, and so that what comes
	// next reuses their room.
	runtime.GC()
	s.postMemory(c.Run, true)
}

// memory measures the worker's memory.
func (s *Session) memory() *protocol.Memory {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(samples)
	m := &protocol.Memory{}
	if samples[0].Value.Kind() == metrics.KindUint64 {
		m.Heap = int64(samples[0].Value.Uint64())
	}
	if samples[1].Value.Kind() == metrics.KindUint64 {
		m.Live = int64(samples[1].Value.Uint64())
	}
	if s.linearMemory != nil {
		m.Linear = s.linearMemory()
	}
	s.mu.Lock()
	if d := s.dataset; d != nil {
		m.Dataset = int64(len(d.Train.Images) + len(d.Test.Images) + 4*(len(d.Train.Labels)+len(d.Test.Labels)))
	}
	s.mu.Unlock()
	return m
}

// postMemory reports the worker's memory; collected says a collection
// has just run.
func (s *Session) postMemory(run string, collected bool) {
	m := protocol.NewMessage(run, protocol.KindMemory)
	m.Memory = s.memory()
	m.Memory.Collected = collected
	s.post(m)
}

// datasetLabel names a dataset after its file, without archive extensions.
func datasetLabel(name string) string {
	for _, ext := range []string{".tar.gz", ".tgz", ".tar", ".zip"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}

// httpGet fetches url with net/http.
func httpGet(url string) (protocol.Source, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("%s: %s %s", url, resp.Status, strings.TrimSpace(string(msg)))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDownload {
		return nil, fmt.Errorf("%s is larger than %d bytes", url, maxDownload)
	}
	return bytes.NewReader(b), nil
}

func summarize(d *data.Dataset) *protocol.Dataset {
	size := d.H * d.W * d.C
	mean, std := make([]float64, d.C), make([]float64, d.C)
	n := min(d.Train.Len(), 10000)
	for c := range d.C {
		var sum, sq float64
		for i := c; i < n*size; i += d.C {
			v := float64(d.Train.Images[i])
			sum += v
			sq += v * v
		}
		count := float64(n * d.H * d.W)
		if count > 0 {
			mean[c] = sum / count
			std[c] = math.Sqrt(max(0, sq/count-mean[c]*mean[c]))
		}
	}
	return &protocol.Dataset{
		Name: d.Name, Classes: d.Classes, Shape: []int{d.H, d.W, d.C},
		TrainSize: d.Train.Len(), TestSize: d.Test.Len(),
		ClassCounts: data.ClassCounts(d.Train, len(d.Classes)),
		Mean:        mean, Std: std, Source: d.Source, Notes: d.Notes,
		Bytes:      int64(len(d.Train.Images) + len(d.Test.Images)),
		Mirror:     train.Mirror(d.Train, d.H, d.W, d.C, len(d.Classes)),
		FromImages: d.FromImages,
	}
}

// sampleImages picks up to samplesPerClass training images of each class,
// in class order.
func sampleImages(d *data.Dataset) *protocol.Images {
	size := d.H * d.W * d.C
	per := make([]int, len(d.Classes))
	im := &protocol.Images{H: d.H, W: d.W, C: d.C}
	want := min(maxSamples, samplesPerClass*len(d.Classes))
	for i := 0; i < d.Train.Len() && im.N < want; i++ {
		k := int(d.Train.Labels[i])
		if per[k] >= samplesPerClass {
			continue
		}
		per[k]++
		im.N++
		im.Labels = append(im.Labels, k)
		im.Pixels = append(im.Pixels, d.Train.Images[i*size:(i+1)*size]...)
	}
	// Sort by class so the grid reads as rows of classes.
	order := make([]int, im.N)
	for i := range order {
		order[i] = i
	}
	sorted := &protocol.Images{N: im.N, H: d.H, W: d.W, C: d.C, Pixels: make([]byte, len(im.Pixels))}
	n := 0
	for k := range d.Classes {
		for i := range im.N {
			if im.Labels[i] == k {
				copy(sorted.Pixels[n*size:], im.Pixels[i*size:(i+1)*size])
				sorted.Labels = append(sorted.Labels, k)
				n++
			}
		}
	}
	return sorted
}

// prepareSpec expands and checks a spec against the loaded dataset.
func (s *Session) prepareSpec(in *spec.Spec) (*spec.Spec, error) {
	if in == nil {
		return nil, errors.New("no spec given")
	}
	s.mu.Lock()
	d := s.dataset
	s.mu.Unlock()
	sp := in.Clone()
	if err := sp.Validate(); err != nil {
		return nil, err
	}
	sp.Expand()
	if d != nil {
		if m := sp.Model; len(m.Input) == 3 && (m.Input[0] != d.H || m.Input[1] != d.W || m.Input[2] != d.C) {
			return nil, &spec.FieldError{Path: "model.input", Message: fmt.Sprintf("the model takes %v but %s images are [%d %d %d]: pick a preset again or set model.input", m.Input, d.Name, d.H, d.W, d.C)}
		}
		if sp.Model.Classes != len(d.Classes) {
			return nil, &spec.FieldError{Path: "model.classes", Message: fmt.Sprintf("the model has %d classes but %s has %d", sp.Model.Classes, d.Name, len(d.Classes))}
		}
		if err := train.CheckMemory(sp, 1, d, workerMemory, "the %s a page's worker can hold"); err != nil {
			return nil, err
		}
	}
	return sp, nil
}

// workerMemory is what a run in the worker may hold: wasm's linear memory
// ends at 4 GB, and Go's heap needs room past its live data (gcPercent)
// and for the pages of memory that garbage left behind.
const workerMemory = 2e9

// start begins a run, from the weights the command carries when it
// carries some.
func (s *Session) start(c protocol.Command) {
	var from *nn.Network
	if len(c.Bytes) > 0 {
		sp, err := s.prepareSpec(c.Spec)
		if err == nil {
			from, err = networkWithWeights(sp, c.Bytes, c.File, 1)
		}
		if err != nil {
			s.post(protocol.ErrorMessage(c.Run, err))
			return
		}
	}
	if c.Workers < 0 || c.Workers > protocol.MaxWorkers {
		s.post(protocol.ErrorMessage(c.Run, fmt.Errorf("%d workers: train with 1 to %d", c.Workers, protocol.MaxWorkers)))
		return
	}
	if c.Workers > 1 && s.shards == nil {
		s.post(protocol.ErrorMessage(c.Run, errors.New("this worker cannot start other workers: train with one worker")))
		return
	}
	ctx, r, sp, d, ok := s.claimRun(c, "a run is already training in this worker: stop it first")
	if ok {
		s.mu.Lock()
		r.training = true
		s.mu.Unlock()
		go s.train(ctx, r, sp, d, from, max(c.Workers, 1))
	}
}

// claimRun takes the worker's one run slot for command c: it checks that
// no run holds it and a dataset is loaded, and prepares c's spec. On
// failure it posts the reason (busy when the slot is taken) and returns
// ok false.
func (s *Session) claimRun(c protocol.Command, busy string) (ctx context.Context, r *activeRun, sp *spec.Spec, d *data.Dataset, ok bool) {
	sp, err := s.prepareSpec(c.Spec)
	s.mu.Lock()
	switch {
	case s.run != nil:
		err = errors.New(busy)
	case s.dataset == nil:
		err = errors.New("no dataset is loaded: pick one first")
	case err == nil:
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(context.Background())
		r, d = &activeRun{id: c.Run, cancel: cancel, wake: make(chan struct{}), released: make(chan struct{}), lrScale: 1, baseLR: sp.Train.LR}, s.dataset
		s.run = r
	}
	s.mu.Unlock()
	if err != nil {
		s.post(protocol.ErrorMessage(c.Run, err))
		return nil, nil, nil, nil, false
	}
	return ctx, r, sp, d, true
}

// releaseRun gives the run slot back (the dataset must be in order again)
// and cancels the run's context.
func (s *Session) releaseRun(r *activeRun) {
	s.mu.Lock()
	s.run = nil
	s.mu.Unlock()
	r.cancel()
	close(r.released)
}

func (s *Session) state(run, state string) {
	m := protocol.NewMessage(run, protocol.KindState)
	m.State = state
	s.post(m)
}

// train runs a training run, from the weights of from when it is not nil,
// cutting every batch into parts for workers workers.
func (s *Session) train(ctx context.Context, r *activeRun, sp *spec.Spec, d *data.Dataset, from *nn.Network, workers int) {
	// The splits are views of the dataset, reordered for the run; the
	// run slot is given back only once the dataset is in order again.
	splits, restore := train.PrepareInPlace(d, sp.Data, sp.Train.Seed)
	p := protocol.Progress{Epochs: sp.Train.Epochs, Epoch: 1}
	// The network and normalizer the run trains, for evaluations between
	// two steps.
	var runNet *nn.Network
	var runNorm *data.Normalizer
	between := func() { s.serveEvaluation(ctx, r, p.Step, runNet, runNorm, d, splits, sp.Train.LabelSmoothing) }
	defer func() {
		if p := recover(); p != nil {
			s.post(protocol.ErrorMessage(r.id, fmt.Errorf("the run failed: %v", p)))
		}
		// An evaluation asked for after the last step, while the page
		// still saw the run training, is served on the run's final
		// weights; once training is false, evaluate answers for the
		// finished run (evaluateResult).
		for {
			s.mu.Lock()
			pending := r.evaluate
			r.training = pending
			s.mu.Unlock()
			if !pending {
				break
			}
			between()
		}
		restore()
		s.releaseRun(r)
		s.postMemory(r.id, false)
		s.state(r.id, protocol.StateDone)
	}()
	s.state(r.id, protocol.StateRunning)
	start := time.Now()
	lastYield, lastProgress, lastStep := start, start, time.Time{}
	firstReported := false
	// BeforeStep runs once per step and once more when an epoch's batches
	// run out, so the steps done are counted from its calls per epoch.
	epochBase, calls := 0, 0
	pausedFor := time.Duration(0)
	// The other workers of a run with several.
	var remote []*remoteShard
	sendProgress := func() {
		m := protocol.NewMessage(r.id, protocol.KindProgress)
		p.Seconds = time.Since(start).Seconds()
		training := p.Seconds - pausedFor.Seconds()
		if training > 0 {
			p.ImagesPerSecond = float64(p.Step*sp.Train.BatchSize) / training
		}
		left := sp.Train.Epochs*p.StepsPerEpoch - p.Step
		if p.Step > 0 {
			p.ETA = float64(left) * training / float64(p.Step)
		}
		if training > 0 {
			p.UseTime(sp.Train.TimeLimitSeconds, training)
		}
		pp := p
		pp.Memory = s.memory()
		if len(remote) > 0 && training > 0 {
			var waited, busy time.Duration
			for _, sh := range remote {
				waited += sh.waited
				busy += sh.busy
			}
			pp.Waiting = waited.Seconds() / float64(len(remote)) / training
			pp.OthersBusy = busy.Seconds() / float64(len(remote)) / training
		}
		if len(remote) > 0 {
			pp.Memory.OtherWorkers = len(remote)
			for _, sh := range remote {
				pp.Memory.Others += sh.linear
			}
		}
		m.Progress = &pp
		s.post(m)
	}
	cfg := train.Config{
		Spec: sp, Dataset: d, Splits: &splits, Network: from,
		Doctor: doctor.Live(sp),
		Emit: func(e train.Event) {
			switch e.Event {
			case train.EventStart:
				p.StepsPerEpoch = e.StepsPerEpoch
			case train.EventStep:
				p.LR = e.LR
				if time.Since(lastStep) < stepEventEvery {
					return
				}
				lastStep = time.Now()
			case train.EventEpoch:
				p.Epoch, p.EpochStep, p.Step = min(e.Epoch+1, p.Epochs), 0, e.Step
				epochBase, calls = e.Step, 0
			}
			b, err := json.Marshal(e)
			if err != nil {
				return
			}
			m := protocol.NewMessage(r.id, protocol.KindEvent)
			m.Event = b
			s.post(m)
		},
		BeforeStep: func() {
			now := time.Now()
			calls++
			p.EpochStep = max(0, calls-1)
			p.Step = epochBase + p.EpochStep
			// The first step is reported at once: it says the run is under
			// way and how long a step takes.
			if now.Sub(lastProgress) >= progressEvery || p.Step == 1 && !firstReported {
				firstReported = true
				lastProgress = now
				sendProgress()
			}
			if s.yield != nil && now.Sub(lastYield) >= yieldEvery {
				s.yield()
				lastYield = time.Now()
			}
			pauseStart := time.Now()
			s.waitWhilePaused(ctx, r, sendProgress, between)
			if waited := time.Since(pauseStart); waited > 10*time.Millisecond {
				pausedFor += waited
			}
		},
		Augment: func() *spec.Augment {
			s.mu.Lock()
			a := r.augment
			r.augment = nil
			s.mu.Unlock()
			if a != nil {
				p.AugmentStep = p.Step + 1
				sendProgress()
			}
			return a
		},
		LRScale: func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return r.lrScale
		},
		Inspect: func(net *nn.Network, norm *data.Normalizer) {
			s.inspect(r.id, p.Epoch-1, net, norm, splits.Val, d)
		},
		Started: func(net *nn.Network, norm *data.Normalizer) { runNet, runNorm = net, norm },
	}
	if workers > 1 {
		var err error
		remote, err = s.shards(workers - 1)
		if err != nil {
			s.post(protocol.ErrorMessage(r.id, fmt.Errorf("starting %d more workers: %v; train with one worker", workers-1, err)))
			return
		}
		for _, sh := range remote {
			sh.forRun(r.id, sp)
			cfg.Shards = append(cfg.Shards, sh)
		}
	}
	res, err := train.Run(ctx, cfg)
	if err != nil {
		s.post(protocol.ErrorMessage(r.id, err))
		return
	}
	sendProgress()
	// The finished run's network is kept for its evaluation and export,
	// at a small batch: the training batch's activations (hundreds of
	// megabytes for a wide network at full resolution) would otherwise
	// stay beside the next run's.
	if lean, err := leanNetwork(res.Network, sp, keptBatch); err == nil {
		res.Network = lean
	}
	s.mu.Lock()
	s.result, s.resultRun, s.resultSpec = res, r.id, sp
	s.mu.Unlock()
}

// keptBatch is the batch of the network a finished run keeps.
const keptBatch = 8

// leanNetwork copies net's weights, batch-norm averages included, into a
// network of s's model built for batches of at most batch images.
func leanNetwork(net *nn.Network, s *spec.Spec, batch int) (*nn.Network, error) {
	if net.MaxBatch() <= batch {
		return net, nil
	}
	lean, err := nn.New(s.Model, batch, 0)
	if err != nil {
		return nil, err
	}
	if len(lean.Values()) != len(net.Values()) {
		return nil, fmt.Errorf("the kept network has %d values, the run's %d", len(lean.Values()), len(net.Values()))
	}
	copy(lean.Values(), net.Values()) // one model: the same layout at any batch
	return lean, nil
}

// lrFind runs the LR range test of the command's spec on the loaded
// dataset. It takes the worker's run slot, so pause, stop and a second
// start act on it as on a run.
func (s *Session) lrFind(c protocol.Command) {
	ctx, r, sp, d, ok := s.claimRun(c, "a run is training in this worker: stop it before the LR range test")
	if !ok {
		return
	}
	go func() {
		splits, restore := train.PrepareInPlace(d, sp.Data, sp.Train.Seed)
		defer func() {
			if p := recover(); p != nil {
				s.post(protocol.ErrorMessage(r.id, fmt.Errorf("the LR range test failed: %v", p)))
			}
			restore()
			s.releaseRun(r)
			s.state(r.id, protocol.StateDone)
		}()
		s.state(r.id, protocol.StateRunning)
		const steps = 100
		p := protocol.Progress{Epochs: 1, StepsPerEpoch: steps, Epoch: 1}
		start, lastYield, lastProgress := time.Now(), time.Now(), time.Time{}
		cfg := train.Config{Spec: sp, Dataset: d, Splits: &splits, BeforeStep: func() {
			now := time.Now()
			p.Step++
			p.EpochStep = p.Step
			if now.Sub(lastProgress) >= progressEvery {
				lastProgress = now
				p.Seconds = now.Sub(start).Seconds()
				m := protocol.NewMessage(r.id, protocol.KindProgress)
				pp := p
				pp.Memory = s.memory()
				m.Progress = &pp
				s.post(m)
			}
			if s.yield != nil && now.Sub(lastYield) >= yieldEvery {
				s.yield()
				lastYield = time.Now()
			}
			s.waitWhilePaused(ctx, r, func() {}, func() {})
		}}
		res, err := train.LRFind(ctx, cfg, train.LRFindOptions{MinLR: 1e-6, MaxLR: 1, Steps: steps})
		if err != nil {
			s.post(protocol.ErrorMessage(r.id, err))
			return
		}
		out := &protocol.LRFind{Suggested: res.Suggested, Steepest: res.Steepest, MinLoss: res.MinLoss, Diverged: res.Diverged}
		for _, pt := range res.Points {
			out.LR = append(out.LR, pt.LR)
			out.Loss = append(out.Loss, pt.Smoothed)
		}
		m := protocol.NewMessage(r.id, protocol.KindLRFind)
		m.LRFind = out
		s.post(m)
	}()
}

// waitWhilePaused blocks a paused run until it is resumed, stopped or
// allowed one step. between runs first and after every wake-up, paused or
// not: what a run does between two steps (an evaluation).
func (s *Session) waitWhilePaused(ctx context.Context, r *activeRun, progress, between func()) {
	for {
		// The wake channel is taken before between, so that a command
		// arriving while between runs (an evaluation asked for after it
		// looked) closes the channel this loop waits on.
		s.mu.Lock()
		wake := r.wake
		s.mu.Unlock()
		between()
		s.mu.Lock()
		if !r.paused || ctx.Err() != nil {
			s.mu.Unlock()
			return
		}
		if r.steps > 0 {
			r.steps--
			s.mu.Unlock()
			progress()
			return
		}
		say := !r.pauseSaid // paused here: the first wait since it was asked
		r.pauseSaid = true
		s.mu.Unlock()
		progress()
		if say {
			s.state(r.id, protocol.StatePaused)
		}
		select {
		case <-wake:
		case <-ctx.Done():
		}
	}
}

func (s *Session) control(c protocol.Command) {
	s.mu.Lock()
	r := s.run
	if r == nil || r.id != c.Run {
		s.mu.Unlock()
		if c.Cmd != protocol.CmdStop {
			s.post(protocol.ErrorMessage(c.Run, fmt.Errorf("%s: no run %q is training", c.Cmd, c.Run)))
		}
		return
	}
	state := ""
	switch c.Cmd {
	case protocol.CmdPause:
		// Said by the run itself once its current step has ended
		// (waitWhilePaused).
		r.paused = true
	case protocol.CmdResume:
		r.paused, r.pauseSaid, state = false, false, protocol.StateRunning
	case protocol.CmdStep:
		r.paused = true
		r.steps++
	case protocol.CmdStop:
		r.cancel()
	case protocol.CmdSetLR:
		if !(c.LR > 0) || r.baseLR <= 0 {
			s.mu.Unlock()
			s.post(protocol.ErrorMessage(c.Run, &spec.FieldError{Path: "train.lr", Message: fmt.Sprintf("learning rate %g must be positive", c.LR)}))
			return
		}
		r.lrScale = c.LR / r.baseLR
	case protocol.CmdSetAugment:
		if c.Spec == nil {
			s.mu.Unlock()
			s.post(protocol.ErrorMessage(c.Run, errors.New("set_augment needs a spec whose data.augment to train with")))
			return
		}
		a := c.Spec.Data.Augment
		if d := s.dataset; d != nil {
			if _, err := data.NewAugmenter(a, d.H, d.W, d.C); err != nil {
				s.mu.Unlock()
				s.post(protocol.ErrorMessage(c.Run, &spec.FieldError{Path: "data.augment", Message: err.Error()}))
				return
			}
		}
		r.augment = &a
	}
	close(r.wake)
	r.wake = make(chan struct{})
	s.mu.Unlock()
	if state != "" {
		s.state(c.Run, state)
	}
}

// preview augments the sample images with the command's spec.
func (s *Session) preview(c protocol.Command) {
	s.mu.Lock()
	d, samples := s.dataset, s.samples
	s.mu.Unlock()
	if d == nil || samples == nil {
		s.post(protocol.ErrorMessage(c.Run, errors.New("no dataset is loaded: pick one first")))
		return
	}
	var a spec.Augment
	if c.Spec != nil {
		a = c.Spec.Data.Augment
	}
	aug, err := data.NewAugmenter(a, d.H, d.W, d.C)
	if err != nil {
		s.post(protocol.ErrorMessage(c.Run, err))
		return
	}
	out := &protocol.Images{N: samples.N, H: samples.H, W: samples.W, C: samples.C,
		Labels: samples.Labels, Pixels: make([]byte, len(samples.Pixels))}
	size := d.H * d.W * d.C
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 0x9e3779b97f4a7c15))
	for i := range samples.N {
		aug.Apply(out.Pixels[i*size:(i+1)*size], samples.Pixels[i*size:(i+1)*size], rng)
	}
	m := protocol.NewMessage(c.Run, protocol.KindPreview)
	m.Images = out
	s.post(m)
}

func (s *Session) export(c protocol.Command) {
	s.mu.Lock()
	res, id := s.result, s.resultRun
	s.mu.Unlock()
	if res == nil || id != c.Run {
		s.post(protocol.ErrorMessage(c.Run, fmt.Errorf("run %q has no weights in this worker: train it first", c.Run)))
		return
	}
	var buf bytes.Buffer
	if err := res.Network.Save(&buf); err != nil {
		s.post(protocol.ErrorMessage(c.Run, err))
		return
	}
	m := protocol.NewMessage(c.Run, protocol.KindWeights)
	m.Bytes = buf.Bytes()
	s.post(m)
}

// inspect posts the validation images the network gets wrong and the
// first convolution's filters.
func (s *Session) inspect(run string, epoch int, net *nn.Network, norm *data.Normalizer, val data.Split, d *data.Dataset) {
	size := d.H * d.W * d.C
	batch := net.MaxBatch()
	classes := net.Classes()
	x := make([]float32, batch*size)
	wrong := &protocol.Images{H: d.H, W: d.W, C: d.C, Epoch: epoch}
	n := min(val.Len(), maxInspected)
	for i := 0; i < n && wrong.N < maxMisclassified; i += batch {
		b := min(batch, n-i)
		norm.Apply(x[:b*size], val.Images[i*size:(i+b)*size])
		logits := net.Forward(x[:b*size], b, false)
		for j := range b {
			p := train.Argmax(logits[j*classes : (j+1)*classes])
			if y := int(val.Labels[i+j]); p != y && wrong.N < maxMisclassified {
				wrong.N++
				wrong.Labels = append(wrong.Labels, y)
				wrong.Predicted = append(wrong.Predicted, p)
				wrong.Pixels = append(wrong.Pixels, val.Images[(i+j)*size:(i+j+1)*size]...)
			}
		}
	}
	if wrong.N > 0 && s.mapsDue(epoch) {
		start := time.Now()
		wrong.Saliency = s.saliency(net, norm, wrong)
		s.mu.Lock()
		s.mapsTook, s.mapsAt = time.Since(start), time.Now()
		s.mu.Unlock()
	}
	m := protocol.NewMessage(run, protocol.KindMisclassified)
	m.Images = wrong
	s.post(m)
	if f := filters(net, epoch); f != nil {
		m := protocol.NewMessage(run, protocol.KindFilters)
		m.Images = f
		s.post(m)
	}
}

// mapsDue says whether the misclassified images after epoch (0: weights
// evaluated on request) get saliency maps: always on request and after a
// run's first epoch, later once twenty times as long as the last maps took
// has passed since them, so that the maps take at most a twentieth of a
// run's time (mnist-cnn's take about 2.4 s in node, fashion-fast's a
// quarter of a second: BENCHMARKS.md).
func (s *Session) mapsDue(epoch int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return epoch <= 1 || s.mapsAt.IsZero() || time.Since(s.mapsAt) >= 20*s.mapsTook
}

// saliency maps, for each misclassified image, where hiding a patch of
// it lowers most the probability of the class the network predicted
// (protocol.Images.Saliency, train.OcclusionMaps), with a copy of net
// kept for it on a batch of maxMisclassified.
func (s *Session) saliency(net *nn.Network, norm *data.Normalizer, wrong *protocol.Images) []byte {
	s.mapsMu.Lock()
	defer s.mapsMu.Unlock()
	if s.saliencyNet == nil || !reflect.DeepEqual(s.saliencyNet.Spec, net.Spec) {
		c, err := nn.New(net.Spec, maxMisclassified, 0)
		if err != nil {
			return nil
		}
		s.saliencyNet = c
	}
	copy(s.saliencyNet.Values(), net.Values())
	size := wrong.H * wrong.W * wrong.C
	x := make([]float32, wrong.N*size)
	norm.Apply(x, wrong.Pixels[:wrong.N*size])
	return train.OcclusionMaps(s.saliencyNet, x, wrong.N, wrong.Predicted, wrong.H, wrong.W, wrong.C)
}

// filters renders the first convolution's kernels (KH,KW,C,OC) as OC
// images of KH×KW×C, each scaled to 0–255 over its own range; kernels of
// other than 1 or 3 input channels show their first channel.
func filters(net *nn.Network, epoch int) *protocol.Images {
	for _, p := range net.Params() {
		if !strings.HasSuffix(p.Name, "/kernel") || len(p.Shape) != 4 {
			continue
		}
		kh, kw, c, oc := p.Shape[0], p.Shape[1], p.Shape[2], p.Shape[3]
		outC := c
		if c != 1 && c != 3 {
			outC = 1
		}
		im := &protocol.Images{N: oc, H: kh, W: kw, C: outC, Epoch: epoch, Pixels: make([]byte, oc*kh*kw*outC)}
		for o := range oc {
			lo, hi := math.Inf(1), math.Inf(-1)
			for i := range kh * kw * c {
				v := float64(p.Value[i*oc+o])
				lo, hi = min(lo, v), max(hi, v)
			}
			scale := 255 / max(hi-lo, 1e-12)
			for pix := range kh * kw {
				for ch := range outC {
					v := float64(p.Value[(pix*c+ch)*oc+o])
					im.Pixels[(o*kh*kw+pix)*outC+ch] = uint8(math.Round((v - lo) * scale))
				}
			}
		}
		return im
	}
	return nil
}
