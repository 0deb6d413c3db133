package gomlx

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the pure-Go backend: forward passes in tests
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:staticcheck // graph code reads like maths
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"plateau/data"
	"plateau/nn"
	"plateau/spec"
	"plateau/train"
)

func init() {
	// Never let the XLA backend download plugins: a server may be offline,
	// and what runs on it is the administrator's choice.
	if os.Getenv("GOMLX_NO_AUTO_INSTALL") == "" {
		os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	}
}

// Trainer trains specs on one GoMLX backend.
type Trainer struct {
	backend backends.Backend
	name    string
	// MetricsEvery is how many steps the loss and accuracy stay on the
	// device between reads (and the step events' period, when larger than
	// the spec's log_every).
	MetricsEvery int
}

// New opens a backend by GoMLX's configuration string: "go" (pure Go),
// "xla:cuda", "xla:/path/to/pjrt_c_api_cuda_plugin.so", ….
func New(config string) (*Trainer, error) {
	b, err := backends.NewWithConfig(config)
	if err != nil {
		return nil, err
	}
	return &Trainer{backend: b, name: config, MetricsEvery: 50}, nil
}

// Name is the configuration the trainer was opened with.
func (t *Trainer) Name() string { return t.name }

// Resumes says that Train honours train.Config.Checkpoint and ResumeFrom.
func (t *Trainer) Resumes() bool { return true }

// Backend is the open GoMLX backend.
func (t *Trainer) Backend() backends.Backend { return t.backend }

// prefetchDepth is how many training batches are filled ahead of the
// step that takes them.
const prefetchDepth = 2

// loaderWorkers is how many goroutines fill a training batch: the cores
// but one, which runs the steps and the device's host side, at most 8.
func loaderWorkers() int { return min(max(runtime.GOMAXPROCS(0)-1, 1), 8) }

func f32(x float64) float32 { return float32(x) }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Train runs a spec as train.Run does, with the step compiled as one
// graph: forward, loss, gradients, regularization and the optimizer's
// update. Weights, optimizer state and the loss and accuracy sums stay on
// the device; the host reads the sums every MetricsEvery steps and at the
// end of each epoch. Start, step, epoch and result events carry the same
// fields as train.Run's; per-layer statistics come from a host pass over
// a few images of each epoch's last batch. Schedules (with
// reduce_on_plateau), Config.LRScale, early stopping and restore_best
// follow train.Run, and so do Config.Checkpoint (the same file, written
// after every epoch) and Config.ResumeFrom. A loss that is not finite or
// explodes (train.LossLimit; checked where the sums are read, every
// MetricsEvery steps) stops the run as diverged with train.Run's
// explanation, keeping the last finished epoch's weights. Dropout applies
// the engine's masks (keyed by the seed and the step), so a resumed run
// goes on as the unbroken one would have. A device that runs out of memory
// fails the run with what to lower (outOfMemory).
func (t *Trainer) Train(ctx context.Context, cfg train.Config) (res *train.Result, err error) {
	s, d := cfg.Spec, cfg.Dataset
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gomlx: %v", r)
		}
		if err != nil {
			err = outOfMemory(err, s)
		}
	}()
	tr := s.Train
	emit := cfg.Emit
	if emit == nil {
		emit = func(train.Event) {}
	}
	// The doctor reads every event, as train.Run gives them: the start
	// event's sizes, class counts and input statistics (and what it finds
	// from them alone, before any epoch), the steps, the validation
	// checks (what it reads from them before the first epoch's end); the
	// epochs and the result below take its findings.
	if cfg.Doctor != nil {
		out := emit
		emit = func(e train.Event) {
			switch e.Event {
			case train.EventStart:
				e.Diagnoses = cfg.Doctor(e)
			case train.EventStep:
				cfg.Doctor(e)
			case train.EventValCheck:
				e.Diagnoses = cfg.Doctor(e)
			}
			out(e)
		}
	}
	classes := s.Model.Classes
	splits := train.Prepare(d, s.Data, tr.Seed)
	if cfg.Splits != nil {
		splits = *cfg.Splits
	}
	norm, err := data.NewNormalizer(s.Data.Normalization, splits.Train, d.C)
	if err != nil {
		return nil, err
	}
	aug, err := data.NewAugmenter(s.Data.Augment, d.H, d.W, d.C)
	if err != nil {
		return nil, err
	}
	var weights []float32
	if s.Data.Balance == "class_weights" {
		weights = data.ClassWeights(data.ClassCounts(splits.Train, classes))
	}
	// The batches are filled on the host's cores while the device runs the
	// step before (prefetchDepth ahead): augmentation on one core can take
	// longer than a GPU's step.
	loader := data.NewLoader(splits.Train, tr.BatchSize, norm, aug, data.LoaderOptions{Shuffle: true,
		Oversample: s.Data.Balance == "oversample", Classes: classes, Seed: train.LoaderSeed(tr.Seed), H: d.H, W: d.W, C: d.C,
		Workers: loaderWorkers()})
	net := cfg.Network
	if net == nil {
		if net, err = nn.New(s.Model, 1, uint64(tr.Seed)); err != nil {
			return nil, err
		}
	} else {
		net = net.Copy()
	}
	opt, err := train.NewOptimizer(tr)
	if err != nil {
		return nil, err
	}
	var bestValues *nn.Network // the best epoch's weights, for restore_best
	if tr.EarlyStopping.RestoreBest {
		bestValues = net.Copy()
	}
	// checkpoint is the run as train.Checkpoint holds it: read from
	// ResumeFrom, written after every epoch when Config.Checkpoint is set.
	checkpoint := func() *train.Checkpoint {
		trainable, _ := net.ParamCount()
		c := &train.Checkpoint{Spec: s, Optimizer: opt.Name(), Network: net, Slots: make([][]float32, slotCount(tr))}
		for i := range c.Slots {
			c.Slots[i] = make([]float32, trainable)
		}
		if bestValues != nil {
			c.Best = bestValues.Values()
		}
		return c
	}
	progress := train.Progress{Plateau: train.NewPlateauState(), Best: math.NaN()}
	var resumed *train.Checkpoint
	if cfg.ResumeFrom != "" {
		resumed = checkpoint()
		if err := train.ReadCheckpoint(cfg.ResumeFrom, resumed); err != nil {
			return nil, err
		}
		progress = resumed.Progress
	}
	// A run its time limit ended within an epoch goes on within it, with
	// the memory as it was before that epoch's event (train.EpochCut).
	var cut *train.EpochCut
	if c := progress.Cut; c != nil && c.Steps > 0 && c.Steps < loader.Steps() && progress.Epoch > 0 {
		cut = c
		progress.Epoch--
		progress.Best, progress.BestEpoch, progress.Wait, progress.Plateau = c.Best, c.BestEpoch, c.Wait, c.Plateau
		if c.BestValues != nil && bestValues != nil {
			copy(bestValues.Values(), c.BestValues)
		}
	}
	progress.Cut = nil
	model, err := NewModel(s.Model, net)
	if err != nil {
		return nil, err
	}
	st := newRunState(model, net, slotCount(tr))
	// The device's memory goes back when the run ends, however it ends
	// (a canceled job frees the GPU for the next one).
	defer st.finalize()
	if resumed != nil {
		st.setSlots(resumed.Slots)
	}
	stepExec, err := model.StepExec(t.backend, tr, weights != nil)
	if err != nil {
		return nil, err
	}
	stepExec.SetMaxCache(1) // one shape: a short batch comes padded
	defer stepExec.Finalize()
	evalExec, err := model.EvalExec(t.backend)
	if err != nil {
		return nil, err
	}
	defer evalExec.Finalize()
	// The inference graph compiles on the host while the device trains
	// the first epoch. It is an Exec of its own, so the step's Execs do not
	// wait for it; the first evaluation finds it compiled, or waits on the
	// Exec's lock for it to be. Its dummy inputs take the memory of the
	// weights once more while it compiles.
	evalCompiled := make(chan struct{})
	go func() {
		defer close(evalCompiled)
		precompileEval(evalExec, model, tr.BatchSize, d.H, d.W, d.C)
	}()
	defer func() { <-evalCompiled }() // before evalExec.Finalize
	params, _ := s.Model.ParamCount()
	startEvent := train.StartEvent(d, splits, norm, s, params, loader.Steps())
	startEvent.Epoch, startEvent.Step = progress.Epoch, progress.Step
	emit(startEvent)

	var cw *tensors.Tensor
	if weights != nil {
		cw = tensors.FromFlatDataAndDimensions(weights, classes)
	}
	step := progress.Step
	start := time.Now()
	var history []train.Event
	stopped := train.StoppedCompleted
	reason := ""
	every := max(tr.LogEvery, t.MetricsEvery)
	// Per-layer statistics come from one host forward and backward pass of
	// the epoch's last batch (at most 32 images) with the epoch's weights,
	// beside the validation pass on the device.
	statsNet, err := nn.New(s.Model, min(32, tr.BatchSize), uint64(tr.Seed))
	if err != nil {
		return nil, err
	}
	plateau := progress.Plateau
	monitor := train.Monitor(tr.EarlyStopping, splits.Val.Len() > 0)
	best, bestEpoch, wait := progress.Best, progress.BestEpoch, progress.Wait
	done := progress.Epoch // epochs completed
	firstLoss := progress.FirstLoss
	trainSeconds, trainImages := progress.TrainSeconds, progress.Images
	limit := train.NewTimeLimit(tr.TimeLimitSeconds, progress.TimeUsed, progress.TimeReserve, cfg.Now)
	limit.Start()
	timeUp := false
	before := append([]float32(nil), net.Values()...) // the weights at the last epoch's end
	// Validation checks within an epoch, as train.Run makes them: after
	// checkEvery of training (and twenty times the last check's time, or
	// what cfg.ValCheckShare says), until the epoch's last tenth.
	var checkEvery, checkWait time.Duration
	var checkSplit data.Split
	if tr.ValCheckSeconds > 0 && splits.Val.Len() > 0 {
		checkEvery = time.Duration(tr.ValCheckSeconds * float64(time.Second))
		checkWait = checkEvery
		checkSplit = train.ValCheckSplit(splits.Val, classes, tr.Seed)
	}
	checkShare := cfg.ValCheckShare
	if checkShare == 0 {
		checkShare = train.DefaultValCheckShare
	}
	var batches *uploader
	var last upload // the epoch's latest batch, for the per-layer statistics
	// hostStats computes the per-layer statistics of the weights in net
	// on batch b, on the host's cores, in the background.
	hostStats := func(b upload) <-chan []train.LayerStats {
		done := make(chan []train.LayerStats, 1)
		go func() {
			var stats []train.LayerStats
			if b.n > 0 {
				// The batch's images are still on the host beside the device's copy.
				tensors.ConstFlatData(b.x, func(x []float32) {
					stats = layerStats(statsNet, net, x, b.labels, b.n, classes, tr.LabelSmoothing)
				})
			}
			done <- stats
		}()
		return done
	}
	defer func() {
		if batches != nil {
			batches.Stop() // a failed step returns with the epoch's filling under way
		}
		last.release()
	}()
	for epoch := done; epoch < tr.Epochs && stopped == train.StoppedCompleted; epoch++ {
		epochStart := time.Now()
		// The part of the epoch trained before it was cut, when this run
		// goes on within it: its batches are not trained again, and its
		// sums join the device's in the epoch's event.
		var prior train.EpochCut
		if cut != nil {
			prior, cut = *cut, nil
		}
		trained := prior.Steps // the epoch's batches trained
		batches = uploadAhead(t.backend, loader.PrefetchAfter(epoch, prior.Steps, prefetchDepth), tr.BatchSize, []int{d.H, d.W, d.C}, true)
		st.zeroMetrics()
		images, sinceLog, logImages := 0, 0, 0
		lastLoss, lastCorrect := 0.0, 0.0
		lr := 0.0
		lastCheck, checking := epochStart, time.Duration(0)
		for i := prior.Steps; i < loader.Steps(); i++ {
			if ctx.Err() != nil {
				stopped = train.StoppedCanceled
				break
			}
			b, ok := batches.Next()
			if !ok {
				if err := batches.Err(); err != nil {
					return nil, err
				}
				break
			}
			last.release()
			last = b
			n := b.n
			step++
			lr = train.LR(tr.Schedule, tr.LR, limit.Position(float64(epoch)+float64(i)/float64(loader.Steps()), tr.Epochs), tr.Epochs)
			if cfg.LRScale != nil {
				lr *= cfg.LRScale()
			}
			lr = plateau.Apply(tr.Schedule, lr)
			// The epoch's short last batch comes padded to the compiled
			// shape; the step counts its first n rows only.
			out, err := stepExec.Exec(st.stepArgs(b.x, b.y, cw, f32(lr), float32(step), n)...)
			if err != nil {
				return nil, err
			}
			st.takeStepOutputs(out)
			trained = i + 1
			images += n
			sinceLog++
			logImages += n
			if firstLoss == 0 {
				// The run's first step (the sums were zero): the yardstick
				// of an exploding loss, as train.Run keeps it.
				firstLoss = max(readMetrics(st.acc).loss/float64(n), math.Log(float64(classes)))
			}
			if sinceLog == every {
				m := readMetrics(st.acc)
				loss, correct := m.loss, m.correct
				mean := (loss - lastLoss) / float64(logImages)
				emit(train.Event{Event: train.EventStep, Epoch: epoch + 1, Step: step, LR: lr,
					Loss: mean, Accuracy: (correct - lastCorrect) / float64(logImages)})
				// train.Run checks every step; the sums here are read every
				// `every` steps, so the check is of their mean.
				if !finite(mean) || !finite(m.grad) || mean > train.LossLimit(firstLoss) {
					stopped, reason = train.StoppedDiverged, train.Divergence(s, mean, m.grad, firstLoss, step, epoch, lr)
					break
				}
				lastLoss, lastCorrect, sinceLog, logImages = loss, correct, 0, 0
			}
			if checkEvery > 0 && time.Since(lastCheck) >= checkWait && 10*(i+1) < 9*loader.Steps() {
				checkStart := time.Now()
				// In the first epoch, the latest step's weights and batch on
				// the host: the per-layer statistics the doctor reads at a
				// check before the first epoch's end, as train.Run gives
				// them, taken while the device measures. Later checks, which
				// the doctor does not read, skip the host's pass.
				var statsDone <-chan []train.LayerStats
				if epoch == 0 {
					if err := st.copyTo(net); err != nil {
						return nil, err
					}
					statsDone = hostStats(last)
				}
				valLoss, valAcc, _, err := evaluate(t.backend, evalExec, st, norm, checkSplit, d, classes, tr.BatchSize, tr.LabelSmoothing)
				var layers []train.LayerStats
				if statsDone != nil {
					layers = <-statsDone
				}
				if err != nil {
					return nil, err
				}
				took := time.Since(checkStart)
				emit(train.Event{Event: train.EventValCheck, Epoch: epoch + 1, Step: step, ValLoss: valLoss, ValAccuracy: valAcc, ValSize: checkSplit.Len(), Layers: layers})
				lastCheck = time.Now()
				checking += took
				checkWait = checkEvery
				if checkShare > 0 {
					checkWait = max(checkEvery, time.Duration(float64(took)/checkShare))
				}
			}
			if limit.Up() {
				// The limit ends the run unless it came at the last step of all.
				timeUp = epoch+1 < tr.Epochs || i+1 < loader.Steps()
				break
			}
		}
		batches.Stop()
		if stopped != train.StoppedCompleted {
			// Canceled, or diverged: the epoch is not reported, and the
			// weights go back to the last epoch's end.
			break
		}
		m := readMetrics(st.acc)
		if sinceLog > 0 {
			// The epoch's steps since its last step event, as train.Run
			// reports them.
			emit(train.Event{Event: train.EventStep, Epoch: epoch + 1, Step: step, LR: lr,
				Loss: (m.loss - lastLoss) / float64(logImages), Accuracy: (m.correct - lastCorrect) / float64(logImages)})
		}
		trainTime := time.Since(epochStart) - checking
		trainSeconds += trainTime.Seconds()
		trainImages += images
		// The whole epoch's sums: this run's and the cut part's.
		epochTrain := trainTime + time.Duration(prior.TrainSeconds*float64(time.Second))
		epochImages := images + prior.Train.Count
		sums := metrics{loss: m.loss + prior.Train.LossSum, correct: m.correct + float64(prior.Train.Correct),
			grad: m.grad + prior.NormSum, confidentWrong: m.confidentWrong + float64(prior.ConfidentWrong)}
		// The epoch's weights on the host: how far they moved, as train.Run
		// measures it, and the per-layer statistics.
		if err := st.copyTo(net); err != nil {
			return nil, err
		}
		if !finite(m.loss) || !finite(m.grad) || !train.FiniteAll(net.Values()) {
			stopped = train.StoppedDiverged
			reason = fmt.Sprintf("the weights became NaN or Inf in epoch %d with lr %.3g; %s", epoch+1, lr, train.DivergenceAdvice(s))
			break
		}
		// The per-layer statistics (a pass on the host's cores) are taken
		// while the device measures the validation split.
		statsDone := hostStats(last)
		change := train.RelativeChange(net.Values(), before)
		copy(before, net.Values())
		steps := float64(max(trained, 1))
		untilVal := time.Since(epochStart).Seconds() + prior.Seconds
		valStart := limit.Now()
		valLoss, valAcc, conf, err := evaluate(t.backend, evalExec, st, norm, splits.Val, d, classes, tr.BatchSize, tr.LabelSmoothing)
		layers := <-statsDone
		if err != nil {
			return nil, err
		}
		if splits.Val.Len() > 0 {
			limit.Reserve(limit.Now().Sub(valStart))
		}
		secs := time.Since(epochStart).Seconds() + prior.Seconds
		ev := train.Event{Event: train.EventEpoch, Epoch: epoch + 1, Step: step, LR: lr,
			TrainLoss: sums.loss / float64(max(epochImages, 1)), TrainAccuracy: sums.correct / float64(max(epochImages, 1)), ValLoss: valLoss, ValAccuracy: valAcc,
			GradNorm: sums.grad / steps, Seconds: secs, ImagesPerSecond: train.Throughput(epochImages, epochTrain), Layers: layers,
			WeightChange: change}
		if epochImages > 0 {
			ev.ConfidentWrong = sums.confidentWrong / float64(epochImages)
		}
		if conf != nil {
			ev.Confusion, ev.PerClassAccuracy = conf.Matrix(), conf.Recall()
		}
		// A run that ends within the epoch keeps what a resumed run needs
		// to train the rest of it.
		var cutNow *train.EpochCut
		if timeUp && trained < loader.Steps() {
			cutNow = &train.EpochCut{Steps: trained,
				Train:   train.Running{LossSum: sums.loss, Correct: int(math.Round(sums.correct)), Count: epochImages},
				NormSum: sums.grad, ConfidentWrong: int(math.Round(sums.confidentWrong)),
				TrainSeconds: epochTrain.Seconds(), Seconds: untilVal,
				Best: best, BestEpoch: bestEpoch, Wait: wait, Plateau: plateau}
			if bestValues != nil && bestEpoch > 0 {
				cutNow.BestValues = slices.Clone(bestValues.Values())
			}
		}
		var v float64
		v, ev.Improved = train.Improves(monitor, ev, best, tr.EarlyStopping.MinDelta)
		if cutNow != nil && !ev.Improved {
			cutNow.BestValues = nil // best/values still holds them
		}
		if ev.Improved {
			best, bestEpoch, wait = v, epoch+1, 0
			if bestValues != nil {
				if err := st.copyTo(bestValues); err != nil {
					return nil, err
				}
			}
		} else {
			wait++
		}
		plateauLoss := valLoss
		if splits.Val.Len() == 0 {
			plateauLoss = ev.TrainLoss
		}
		ev.LRReduced = plateau.Observe(tr.Schedule, plateauLoss)
		if cfg.Doctor != nil {
			ev.Diagnoses = cfg.Doctor(ev)
		}
		history = append(history, ev)
		done = epoch + 1
		emit(ev)
		if cfg.Checkpoint != "" {
			c := checkpoint() // net holds the epoch's weights (copied above)
			if err := st.readSlots(c.Slots); err != nil {
				return nil, err
			}
			c.Progress = train.Progress{Epoch: done, Step: step, Plateau: plateau, Best: best, BestEpoch: bestEpoch, Wait: wait,
				Seconds: progress.Seconds + time.Since(start).Seconds(), TrainSeconds: trainSeconds, Images: trainImages, FirstLoss: firstLoss,
				TimeUsed: limit.Used().Seconds(), TimeReserve: limit.Reserved().Seconds(), Cut: cutNow}
			if err := train.WriteCheckpoint(cfg.Checkpoint, c); err != nil {
				return nil, fmt.Errorf("writing the checkpoint: %v", err)
			}
		}
		if es := tr.EarlyStopping; es.Patience > 0 && wait >= es.Patience && stopped == train.StoppedCompleted {
			stopped = train.StoppedEarlyStopping
			reason = fmt.Sprintf("%s did not improve for %d epochs; the best was epoch %d", monitor, wait, bestEpoch)
		}
		if timeUp && stopped == train.StoppedCompleted {
			stopped, reason = train.StoppedTimeLimit, limit.Reason(done, tr.Epochs)
		}
	}
	limit.Stop()
	if err := st.copyTo(net); err != nil {
		return nil, err
	}
	switch {
	case stopped == train.StoppedDiverged:
		copy(net.Values(), before)
		st.load(net)
		reason += "; " + train.DivergedWeights(done)
	case bestValues != nil && bestEpoch > 0 && bestEpoch != done && stopped != train.StoppedCanceled:
		net.CopyWeightsFrom(bestValues)
		st.load(net)
		if reason != "" {
			reason += fmt.Sprintf("; restored the weights of epoch %d", bestEpoch)
		}
	}
	final := train.Event{Event: train.EventResult, Epochs: done, BestEpoch: bestEpoch, Stopped: stopped, Reason: reason,
		Seconds:         progress.Seconds + time.Since(start).Seconds(),
		ImagesPerSecond: train.Throughput(trainImages, time.Duration(trainSeconds*float64(time.Second)))}
	if stopped != train.StoppedCanceled {
		var conf *train.Confusion
		final.TestLoss, final.TestAccuracy, conf, err = evaluate(t.backend, evalExec, st, norm, splits.Test, d, classes, tr.BatchSize, tr.LabelSmoothing)
		if err != nil {
			return nil, err
		}
		if conf != nil {
			final.PerClassAccuracy, final.Confusion = conf.Recall(), conf.Matrix()
		}
	}
	if len(history) > 0 {
		last := history[len(history)-1]
		final.ValLoss, final.ValAccuracy, final.TrainLoss, final.TrainAccuracy = last.ValLoss, last.ValAccuracy, last.TrainLoss, last.TrainAccuracy
	}
	if cfg.Doctor != nil {
		final.Diagnoses = cfg.Doctor(final)
	}
	if final.Diagnoses == nil {
		final.Diagnoses = []train.Diagnosis{}
	}
	emit(final)
	return &train.Result{Network: net, Normalizer: norm, Final: final, History: history}, nil
}

// runState is the trained state on the device, in the order the step
// graph takes it: parameters, optimizer slots, batch-norm state; and the
// metric sums. Each step's outputs replace it, and what they replace is
// released at once (takeStepOutputs): device memory is not the Go heap,
// so a garbage collection, which would release it otherwise, need not come
// before the device runs out.
type runState struct {
	model  *Model
	params []*tensors.Tensor
	slots  [][]*tensors.Tensor
	state  []*tensors.Tensor
	acc    *tensors.Tensor // the metric sums (metrics)
	hyper  *tensors.Tensor // the step's (learning rate, step count), until its outputs are taken
}

func newRunState(m *Model, net *nn.Network, slots int) *runState {
	st := &runState{model: m}
	for _, p := range m.Params {
		var s []*tensors.Tensor
		for range slots {
			s = append(s, tensors.FromShape(shapes.Make(dtypes.Float32, p.Shape...)))
		}
		st.slots = append(st.slots, s)
	}
	byName := map[string]nn.Param{}
	for _, p := range net.Params() {
		byName[p.Name] = p
	}
	for _, p := range m.Params {
		st.params = append(st.params, tensors.FromFlatDataAndDimensions(append([]float32(nil), byName[p.Name].Value...), p.Shape...))
	}
	for _, p := range m.State {
		st.state = append(st.state, tensors.FromFlatDataAndDimensions(append([]float32(nil), byName[p.Name].Value...), p.Shape...))
	}
	return st
}

// readSlots copies the optimizer's state from the device into flat, as
// train.Checkpoint holds it: slot i of every parameter, in nn's order, in
// flat[i].
func (st *runState) readSlots(flat [][]float32) error {
	at := 0
	for p, info := range st.model.Params {
		n := shapes.Make(dtypes.Float32, info.Shape...).Size()
		for i, t := range st.slots[p] {
			if err := tensors.ConstFlatData(t, func(v []float32) { copy(flat[i][at:at+n], v) }); err != nil {
				return err
			}
		}
		at += n
	}
	return nil
}

// setSlots replaces the optimizer's state on the device by flat's (see
// readSlots).
func (st *runState) setSlots(flat [][]float32) {
	at := 0
	for p, info := range st.model.Params {
		n := shapes.Make(dtypes.Float32, info.Shape...).Size()
		for i := range st.slots[p] {
			st.slots[p][i].FinalizeAll()
			st.slots[p][i] = tensors.FromFlatDataAndDimensions(append([]float32(nil), flat[i][at:at+n]...), info.Shape...)
		}
		at += n
	}
}

// zeroMetrics starts the metric sums again.
func (st *runState) zeroMetrics() {
	if st.acc != nil {
		st.acc.FinalizeAll()
	}
	st.acc = tensors.FromFlatDataAndDimensions(make([]float32, numMetrics), numMetrics)
}

// stepArgs are the step's inputs: the state, the batch (its first rows
// examples, the rest padding), the learning rate and step count, the class
// weights if any, the metric sums.
func (st *runState) stepArgs(x, y, cw *tensors.Tensor, lr, step float32, rows int) []any {
	var args []any
	for _, p := range st.params {
		args = append(args, p)
	}
	for _, s := range st.slots {
		for _, v := range s {
			args = append(args, v)
		}
	}
	for _, s := range st.state {
		args = append(args, s)
	}
	// The learning rate, the step count and the rows travel as one vector:
	// one transfer per step instead of three.
	if st.hyper != nil {
		st.hyper.FinalizeAll()
	}
	st.hyper = tensors.FromFlatDataAndDimensions([]float32{lr, step, float32(rows)}, 3)
	args = append(args, x, y, st.hyper)
	if cw != nil {
		args = append(args, cw)
	}
	return append(args, st.acc)
}

// takeStepOutputs replaces the state and the metric sums by the step's
// outputs and releases what they replace, with the step's learning-rate
// tensor. Nothing reads them any more: Exec returns when the device has
// finished the step (go-xla awaits PJRT's completion events).
func (st *runState) takeStepOutputs(out []*tensors.Tensor) {
	i := 0
	take := func(t **tensors.Tensor) {
		(*t).FinalizeAll()
		*t = out[i]
		i++
	}
	for k := range st.params {
		take(&st.params[k])
	}
	for k := range st.slots {
		for j := range st.slots[k] {
			take(&st.slots[k][j])
		}
	}
	for k := range st.state {
		take(&st.state[k])
	}
	take(&st.acc)
	st.hyper.FinalizeAll()
	st.hyper = nil
}

// metrics are the sums a training step adds to, on the device as one
// vector (one transfer to read): loss (each step's mean times its
// examples), correct predictions, gradient norm and confidently wrong
// predictions (train.ConfidentProbability).
type metrics struct{ loss, correct, grad, confidentWrong float64 }

const numMetrics = 4

// readMetrics reads the sums.
func readMetrics(acc *tensors.Tensor) (m metrics) {
	tensors.ConstFlatData(acc, func(v []float32) {
		m = metrics{float64(v[0]), float64(v[1]), float64(v[2]), float64(v[3])}
	})
	return m
}

func (st *runState) copyTo(net *nn.Network) error {
	byName := map[string]nn.Param{}
	for _, p := range net.Params() {
		byName[p.Name] = p
	}
	all := append(append([]ParamInfo(nil), st.model.Params...), st.model.State...)
	ts := append(append([]*tensors.Tensor(nil), st.params...), st.state...)
	for i, p := range all {
		dst := byName[p.Name].Value
		if err := tensors.ConstFlatData(ts[i], func(flat []float32) { copy(dst, flat) }); err != nil {
			return err
		}
	}
	return nil
}

// layerStats copies the trained weights into net and runs one forward and
// backward pass of the first images of batch x, y (n images) on the host.
func layerStats(net, trained *nn.Network, x []float32, y []int32, n, classes int, smoothing float64) []train.LayerStats {
	n = min(n, net.MaxBatch())
	if n == 0 {
		return nil
	}
	net.CopyWeightsFrom(trained)
	net.ZeroGrads() // before Forward, which keeps what Backward needs beside the gradients
	logits := net.Forward(x[:n*net.InputSize()], n, true)
	dlogits := make([]float32, len(logits))
	nn.SoftmaxCrossEntropy(dlogits, logits, y[:n], nil, smoothing, n, classes)
	net.Backward(dlogits)
	return train.LayerStatsOf(net)
}

// load replaces the parameters and batch-norm statistics on the device
// by net's.
func (st *runState) load(net *nn.Network) {
	byName := map[string]nn.Param{}
	for _, p := range net.Params() {
		byName[p.Name] = p
	}
	for i, p := range st.model.Params {
		st.params[i].FinalizeAll()
		st.params[i] = tensors.FromFlatDataAndDimensions(append([]float32(nil), byName[p.Name].Value...), p.Shape...)
	}
	for i, p := range st.model.State {
		st.state[i].FinalizeAll()
		st.state[i] = tensors.FromFlatDataAndDimensions(append([]float32(nil), byName[p.Name].Value...), p.Shape...)
	}
}

func (st *runState) finalize() {
	for _, t := range st.params {
		t.FinalizeAll()
	}
	for _, s := range st.slots {
		for _, t := range s {
			t.FinalizeAll()
		}
	}
	for _, t := range st.state {
		t.FinalizeAll()
	}
	for _, t := range []*tensors.Tensor{st.acc, st.hyper} {
		if t != nil {
			t.FinalizeAll()
		}
	}
}

// evaluate measures a split in inference mode: mean loss, accuracy and
// the confusion matrix.
func evaluate(backend backends.Backend, exec *Exec, st *runState, norm *data.Normalizer, s data.Split, d *data.Dataset, classes, batch int, smoothing float64) (loss, accuracy float64, conf *train.Confusion, err error) {
	n := s.Len()
	if n == 0 {
		return math.NaN(), math.NaN(), nil, nil
	}
	conf = train.NewConfusion(classes)
	// In order, normalized ahead of the device as the training batches are.
	loader := data.NewLoader(s, batch, norm, nil, data.LoaderOptions{H: d.H, W: d.W, C: d.C, Workers: loaderWorkers()})
	// A short last batch comes padded with zeros to the whole batch, whose
	// graph is compiled already (in inference every image's logits are its
	// own), and its padding's logits are dropped.
	batches := uploadAhead(backend, loader.Prefetch(0, prefetchDepth), batch, []int{d.H, d.W, d.C}, false)
	defer batches.Stop()
	var total float64
	for {
		b, ok := batches.Next()
		if !ok {
			if err := batches.Err(); err != nil {
				return 0, 0, nil, err
			}
			break
		}
		m, y := b.n, b.labels
		args := []any{}
		for _, p := range st.params {
			args = append(args, p)
		}
		for _, p := range st.state {
			args = append(args, p)
		}
		args = append(args, b.x)
		out, err := exec.Exec(args...)
		b.release()
		if err != nil {
			return 0, 0, nil, err
		}
		var logits []float32
		tensors.ConstFlatData(out[0], func(flat []float32) { logits = append(logits, flat[:m*classes]...) })
		out[0].FinalizeAll()
		conf.Add(logits, y, m)
		total += float64(nn.SoftmaxCrossEntropy(nil, logits, y, nil, smoothing, m, classes)) * float64(m)
	}
	return total / float64(n), conf.Accuracy(), conf, nil
}

// precompileEval compiles exec, m's inference pass, for batches of batch
// images of h×w×c, with zeros for the weights (an error is left for the
// evaluation that compiles it again to report).
func precompileEval(exec *Exec, m *Model, batch, h, w, c int) {
	var args []any
	for _, p := range append(append([]ParamInfo(nil), m.Params...), m.State...) {
		args = append(args, tensors.FromShape(shapes.Make(dtypes.Float32, p.Shape...)))
	}
	args = append(args, tensors.FromShape(shapes.Make(dtypes.Float32, batch, h, w, c)))
	_ = exec.PreCompile(args...)
	for _, a := range args {
		a.(*tensors.Tensor).FinalizeAll()
	}
}

// EvalExec compiles the inference pass: (params..., state..., x) → logits.
// It compiles one batch shape: evaluate pads a short batch to it.
func (m *Model) EvalExec(b backends.Backend) (*Exec, error) {
	np, ns := len(m.Params), len(m.State)
	e, err := NewExec(b, func(in []*Node) []*Node {
		fc := ForwardConfig{Params: map[string]*Node{}, State: map[string]*Node{}}
		for i, p := range m.Params {
			fc.Params[p.Name] = in[i]
		}
		for i, p := range m.State {
			fc.State[p.Name] = in[np+i]
		}
		logits, _ := m.Forward(in[np+ns], fc)
		return []*Node{logits}
	})
	if err != nil {
		return nil, err
	}
	return e.SetMaxCache(1), nil // a second shape would be a second compile: an error
}

// StepExec compiles one training step. Inputs: params..., slots (per
// parameter, slotCount of them)..., batch-norm state..., x, y, (lr, step,
// rows), [class weights], the metric sums. rows is how many of the batch's
// first rows are examples: an epoch's short last batch comes padded to the
// whole batch, so that a job compiles one step (the rest count for
// nothing). Outputs: the same state, updated, then the sums. Dropout
// applies the engine's masks of the step (train.DropoutSeeds of tr.Seed,
// the step's number).
func (m *Model) StepExec(b backends.Backend, tr spec.Train, classWeights bool) (*Exec, error) {
	np, ns, k := len(m.Params), len(m.State), slotCount(tr)
	s0, s1 := train.DropoutSeeds(tr.Seed)
	return NewExec(b, func(in []*Node) []*Node {
		i := 0
		values := in[i : i+np]
		i += np
		slots := make([][]*Node, np)
		for p := range np {
			slots[p] = in[i : i+k]
			i += k
		}
		fc := ForwardConfig{Params: map[string]*Node{}, State: map[string]*Node{}, Training: true}
		for j, p := range m.Params {
			fc.Params[p.Name] = values[j]
		}
		for j, p := range m.State {
			fc.State[p.Name] = in[i+j]
		}
		i += ns
		x, y, hyper := in[i], in[i+1], in[i+2]
		lr, step, rows := Reshape(Slice(hyper, AxisElem(0))), Reshape(Slice(hyper, AxisElem(1))), Reshape(Slice(hyper, AxisElem(2)))
		fc.Dropout = DropoutStepKey(step, s0, s1)
		fc.Rows = rows
		i += 3
		var cw *Node
		if classWeights {
			cw = in[i]
			i++
		}
		acc := in[i]
		logits, state := m.Forward(x, fc)
		loss, correct, confident := lossAndCounts(logits, y, cw, rows, tr.LabelSmoothing)
		grads := Gradient(loss, values...)
		newValues, newSlots, norm := update(tr, m.Params, values, grads, slots, lr, step)
		out := append([]*Node(nil), newValues...)
		for _, s := range newSlots {
			out = append(out, s...)
		}
		for _, p := range m.State {
			out = append(out, state[p.Name])
		}
		// The loss is summed weighted by the batch's examples, as
		// train.Running sums it: an epoch's mean is per example.
		out = append(out, Add(acc, Stack([]*Node{Mul(loss, rows), correct, norm, confident}, 0)))
		return out
	})
}

// outOfMemory explains an error of XLA's or CUDA's that says the device ran
// out of memory: the batch's activations (and the model's weights and
// optimizer state) did not fit, and what to lower. Other errors pass as
// they are.
func outOfMemory(err error, s *spec.Spec) error {
	msg := err.Error()
	if !strings.Contains(msg, "RESOURCE_EXHAUSTED") && !strings.Contains(msg, "OUT_OF_MEMORY") &&
		!strings.Contains(strings.ToLower(msg), "out of memory") {
		return err
	}
	b := s.Train.BatchSize
	return fmt.Errorf("the device ran out of memory training this model with batch %d: lower train.batch_size (to %d, say) or the model's width and depth (%w)", b, max(b/2, 1), err)
}
