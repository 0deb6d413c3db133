package train

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"plateau/nn"
	"plateau/spec"
)

// A checkpoint is one safetensors file, written after every epoch when
// Config.Checkpoint is set. It holds
//
//   - every parameter of the network under its own name, as
//     nn.Network.Save writes it (trainable values and batch norm statistics);
//   - "optimizer/slot0", "optimizer/slot1": the optimizer's state, each
//     aligned with the trainable values;
//   - "best/values": the best epoch's values in nn.Network.Values order,
//     when early stopping restores the best weights;
//   - "cut/best_values": the best values before an epoch the run ended
//     within, when that epoch's event replaced them (EpochCut.BestValues);
//   - metadata "format" "plateau-checkpoint" and "state": JSON with the
//     spec, the epoch and step reached, the early-stopping and schedule
//     memory, the time spent and the part trained of an epoch the run
//     ended within (EpochCut).
//
// Random streams are derived from the seed and the epoch (see deriveSeed),
// so the epoch count, and within a cut epoch the batches trained, is all
// of the random state a resumed run needs: it continues exactly as the
// uninterrupted run would have. The file is
// written beside its final name and renamed over it, so a crash leaves the
// previous checkpoint whole.
const (
	checkpointFormat = "plateau-checkpoint"
	slotPrefix       = "optimizer/slot"
	bestName         = "best/values"
	cutBestName      = "cut/best_values"
)

// checkpointState is the "state" metadata. Non-finite values have no JSON
// form, so the "no best yet" markers are absent fields.
type checkpointState struct {
	Version   int        `json:"version"`
	Spec      *spec.Spec `json:"spec"`
	Optimizer string     `json:"optimizer"`
	Slots     int        `json:"slots"`
	Epoch     int        `json:"epoch"`
	Step      int        `json:"step"`

	memoryState

	Seconds      float64 `json:"seconds"`
	TrainSeconds float64 `json:"train_seconds"`
	Images       int     `json:"images"`
	FirstLoss    float64 `json:"first_loss"`
	TimeUsed     float64 `json:"time_used,omitempty"`
	TimeReserve  float64 `json:"time_reserve,omitempty"`

	Cut *cutState `json:"cut,omitempty"`
}

// cutState is an EpochCut in the "state" metadata; its BestValues are the
// tensor cutBestName.
type cutState struct {
	Steps          int     `json:"steps"`
	LossSum        float64 `json:"loss_sum"`
	Correct        int     `json:"correct"`
	Count          int     `json:"count"`
	NormSum        float64 `json:"norm_sum"`
	ConfidentWrong int     `json:"confident_wrong"`
	TrainSeconds   float64 `json:"train_seconds"`
	Seconds        float64 `json:"seconds"`
	memoryState
}

// memoryState is the early-stopping and plateau memory in the "state"
// metadata, of the run and of a cut epoch (its fields inline in both).
type memoryState struct {
	Best      *float64 `json:"best,omitempty"`
	BestEpoch int      `json:"best_epoch"`
	Wait      int      `json:"wait"`

	PlateauScale float64  `json:"plateau_scale"`
	PlateauBest  *float64 `json:"plateau_best,omitempty"`
	PlateauWait  int      `json:"plateau_wait"`
}

func memoryOf(best float64, bestEpoch, wait int, p PlateauState) memoryState {
	return memoryState{Best: finitePtr(best), BestEpoch: bestEpoch, Wait: wait,
		PlateauScale: p.Scale, PlateauBest: finitePtr(p.Best), PlateauWait: p.Wait}
}

func (m memoryState) best() float64 { return valueOr(m.Best, math.NaN()) }

func (m memoryState) plateau() PlateauState {
	return PlateauState{Scale: m.PlateauScale, Best: valueOr(m.PlateauBest, math.Inf(1)), Wait: m.PlateauWait}
}

func finitePtr(v float64) *float64 {
	if !finite(v) {
		return nil
	}
	return &v
}

func valueOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// A Checkpoint is a run as it stands after an epoch, in the terms any
// trainer can give: train.Run's, and others that write the same file.
type Checkpoint struct {
	Spec      *spec.Spec
	Optimizer string // the optimizer's name (Optimizer.Name)
	// Network holds the parameters and batch-norm statistics.
	Network *nn.Network
	// Slots are the optimizer's state, each aligned with the trainable
	// part of Network.Values.
	Slots [][]float32
	// Best is the best epoch's Network.Values when early stopping restores
	// the best weights, else nil.
	Best []float32
	Progress
}

// WriteCheckpoint writes c to path, beside it first and then renamed over
// it, so a crash leaves the previous checkpoint whole.
func WriteCheckpoint(path string, c *Checkpoint) error {
	st := c.Progress
	state, err := json.Marshal(checkpointState{
		Version: 1, Spec: c.Spec,
		Optimizer: c.Optimizer, Slots: len(c.Slots),
		Epoch: st.Epoch, Step: st.Step,
		memoryState: memoryOf(st.Best, st.BestEpoch, st.Wait, st.Plateau),
		Seconds:     st.Seconds, TrainSeconds: st.TrainSeconds, Images: st.Images, FirstLoss: st.FirstLoss,
		TimeUsed: st.TimeUsed, TimeReserve: st.TimeReserve,
		Cut: cutStateOf(st.Cut),
	})
	if err != nil {
		return err
	}
	params := c.Network.Params()
	tensors := make([]nn.Tensor, 0, len(params)+len(c.Slots)+1)
	for _, p := range params {
		tensors = append(tensors, nn.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Value})
	}
	for i, s := range c.Slots {
		tensors = append(tensors, nn.Tensor{Name: fmt.Sprint(slotPrefix, i), Shape: []int{len(s)}, Data: s})
	}
	if c.Best != nil && st.BestEpoch > 0 {
		tensors = append(tensors, nn.Tensor{Name: bestName, Shape: []int{len(c.Best)}, Data: c.Best})
	}
	if cut := st.Cut; cut != nil && cut.BestValues != nil && cut.BestEpoch > 0 {
		tensors = append(tensors, nn.Tensor{Name: cutBestName, Shape: []int{len(cut.BestValues)}, Data: cut.BestValues})
	}
	var b bytes.Buffer
	if err := nn.WriteSafetensors(&b, tensors, map[string]string{"format": checkpointFormat, "state": string(state)}); err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func cutStateOf(c *EpochCut) *cutState {
	if c == nil {
		return nil
	}
	return &cutState{Steps: c.Steps, LossSum: c.Train.LossSum, Correct: c.Train.Correct, Count: c.Train.Count,
		NormSum: c.NormSum, ConfidentWrong: c.ConfidentWrong, TrainSeconds: c.TrainSeconds, Seconds: c.Seconds,
		memoryState: memoryOf(c.Best, c.BestEpoch, c.Wait, c.Plateau)}
}

func (c *cutState) epochCut() *EpochCut {
	if c == nil {
		return nil
	}
	return &EpochCut{Steps: c.Steps, Train: Running{LossSum: c.LossSum, Correct: c.Correct, Count: c.Count},
		NormSum: c.NormSum, ConfidentWrong: c.ConfidentWrong, TrainSeconds: c.TrainSeconds, Seconds: c.Seconds,
		Best: c.best(), BestEpoch: c.BestEpoch, Wait: c.Wait, Plateau: c.plateau()}
}

// saveCheckpoint writes the run as it stands after an epoch.
func (t *trainer) saveCheckpoint(path string) error {
	return WriteCheckpoint(path, &Checkpoint{Spec: t.spec, Optimizer: t.opt.Name(), Network: t.net,
		Slots: t.slots, Best: t.bestValues, Progress: t.state})
}

// readCheckpoint reads a checkpoint file's tensors and state.
func readCheckpoint(path string) ([]nn.Tensor, *checkpointState, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the checkpoint: %v", err)
	}
	defer f.Close()
	tensors, meta, err := nn.ReadSafetensors(f)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the checkpoint %s: %v", path, err)
	}
	if meta["format"] != checkpointFormat {
		return nil, nil, fmt.Errorf("%s is not a plateau checkpoint (format %q): weights files are loaded with Config.Network", path, meta["format"])
	}
	var st checkpointState
	if err := json.Unmarshal([]byte(meta["state"]), &st); err != nil {
		return nil, nil, fmt.Errorf("the checkpoint %s: its state: %v", path, err)
	}
	if st.Version != 1 || st.Spec == nil {
		return nil, nil, fmt.Errorf("the checkpoint %s has version %d and no spec; this build reads version 1", path, st.Version)
	}
	return tensors, &st, nil
}

// CheckpointSpec returns the spec a checkpoint was trained with.
func CheckpointSpec(path string) (*spec.Spec, error) {
	_, st, err := readCheckpoint(path)
	if err != nil {
		return nil, err
	}
	return st.Spec, nil
}

// CheckpointEpoch returns how many epochs the run in a checkpoint had
// reported when it was written (an epoch it ended within among them), and
// whether it ended within the last of them (Progress.Cut).
func CheckpointEpoch(path string) (epoch int, cut bool, err error) {
	_, st, err := readCheckpoint(path)
	if err != nil {
		return 0, false, err
	}
	return st.Epoch, st.Cut != nil, nil
}

// CheckpointLeft says whether a run resumed from the checkpoint at path
// with spec s (its epochs and time limit, as the resumed run keeps them)
// has anything left to train: nil when it has, else a *spec.FieldError on
// train.epochs or train.time_limit_seconds that says how much more to
// give it.
func CheckpointLeft(path string, s *spec.Spec) error {
	_, st, err := readCheckpoint(path)
	if err != nil {
		return err
	}
	p := st.progress()
	if p.Cut == nil && p.Epoch >= s.Train.Epochs {
		return &spec.FieldError{Path: "train.epochs", Message: fmt.Sprintf(
			"the run has trained all its %d epochs: give it more, %d for instance", p.Epoch, 2*p.Epoch)}
	}
	if limit := s.Train.TimeLimitSeconds; NewTimeLimit(limit, p.TimeUsed, p.TimeReserve, nil).Up() {
		return &spec.FieldError{Path: "train.time_limit_seconds", Message: fmt.Sprintf(
			"the run has used its time limit of %s (%s trained, and the last validation took %s): give it more, %g for instance",
			formatSeconds(fromSeconds(limit)), formatSeconds(fromSeconds(p.TimeUsed)), formatSeconds(fromSeconds(p.TimeReserve)), 2*limit)}
	}
	return nil
}

// Resume continues the run checkpointed in the file at path (written after
// every epoch when Config.Checkpoint names it). When
// cfg.Spec is nil the checkpoint's spec is used; the dataset must be the one
// the run started with, so that the splits and the normalization come out
// the same.
func Resume(ctx context.Context, path string, cfg Config) (*Result, error) {
	if cfg.Spec == nil {
		s, err := CheckpointSpec(path)
		if err != nil {
			return nil, err
		}
		cfg.Spec = s
	}
	cfg.ResumeFrom = path
	return Run(ctx, cfg)
}

// ReadCheckpoint loads the checkpoint at path into c, whose Optimizer,
// Network (built from the checkpoint's spec), Slots (as many as the
// optimizer keeps, each as long as the trainable values) and Best (nil
// unless the best weights are kept) say what the run needs. Everything is
// checked before anything is copied; c.Progress is set from the file.
func ReadCheckpoint(path string, c *Checkpoint) error {
	tensors, st, err := readCheckpoint(path)
	if err != nil {
		return err
	}
	if st.Optimizer != c.Optimizer || st.Slots != len(c.Slots) {
		return fmt.Errorf("the checkpoint was trained with %s; train.optimizer is now %s: resume with the same optimizer", st.Optimizer, c.Optimizer)
	}
	find := func(name string, shape []int) ([]float32, error) {
		for _, t := range tensors {
			if t.Name == name {
				if !slices.Equal(t.Shape, shape) {
					return nil, fmt.Errorf("the checkpoint's %s has shape %v, the network needs %v", name, t.Shape, shape)
				}
				return t.Data, nil
			}
		}
		return nil, fmt.Errorf("the checkpoint has no %s", name)
	}
	type copyJob struct{ dst, src []float32 }
	var jobs []copyJob
	for _, p := range c.Network.Params() {
		src, err := find(p.Name, p.Shape)
		if err != nil {
			return err
		}
		jobs = append(jobs, copyJob{p.Value, src})
	}
	for i, s := range c.Slots {
		src, err := find(fmt.Sprint(slotPrefix, i), []int{len(s)})
		if err != nil {
			return err
		}
		jobs = append(jobs, copyJob{s, src})
	}
	if c.Best != nil && st.BestEpoch > 0 {
		src, err := find(bestName, []int{len(c.Best)})
		if err != nil {
			return err
		}
		jobs = append(jobs, copyJob{c.Best, src})
	}
	cut := st.Cut.epochCut()
	if cut != nil && c.Best != nil && cut.BestEpoch > 0 && cut.BestEpoch != st.BestEpoch {
		// The cut epoch's event replaced the best values: the ones before
		// it are kept beside them.
		src, err := find(cutBestName, []int{len(c.Best)})
		if err != nil {
			return err
		}
		cut.BestValues = slices.Clone(src)
	}
	for _, j := range jobs {
		copy(j.dst, j.src)
	}
	c.Progress = st.progress()
	c.Progress.Cut = cut
	return nil
}

// progress is the Progress the state holds (its cut without BestValues,
// which are a tensor).
func (st *checkpointState) progress() Progress {
	return Progress{
		Epoch: st.Epoch, Step: st.Step,
		Plateau:   st.plateau(),
		Best:      st.best(),
		BestEpoch: st.BestEpoch, Wait: st.Wait,
		Seconds: st.Seconds, TrainSeconds: st.TrainSeconds, Images: st.Images, FirstLoss: st.FirstLoss,
		TimeUsed: st.TimeUsed, TimeReserve: st.TimeReserve,
		Cut: st.Cut.epochCut(),
	}
}

// resume loads a checkpoint into a freshly built trainer.
func (t *trainer) resume(path string) error {
	c := &Checkpoint{Optimizer: t.opt.Name(), Network: t.net, Slots: t.slots, Best: t.bestValues}
	if err := ReadCheckpoint(path, c); err != nil {
		return err
	}
	t.state = c.Progress
	copy(t.goodValues, t.net.Values())
	if cut := t.state.Cut; cut != nil {
		t.state.Cut = nil
		if cut.Steps > 0 && cut.Steps < t.stepsPerEpoch && t.state.Epoch > 0 {
			// The run goes on within the epoch it ended in, with the
			// memory as it was before that epoch's event.
			t.resumeCut = cut
			t.state.Epoch--
			t.state.Best, t.state.BestEpoch, t.state.Wait, t.state.Plateau = cut.Best, cut.BestEpoch, cut.Wait, cut.Plateau
			if cut.BestValues != nil && t.bestValues != nil {
				copy(t.bestValues, cut.BestValues)
			}
		}
	}
	return nil
}
