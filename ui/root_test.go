package ui

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"plateau/protocol"
	"plateau/spec"
)

// A run keeps what it measured through a save and a reload, missing
// numbers included: a stopped run has no test loss, a run without a
// validation split no validation loss, a diverged one a step loss that is
// not a number. (Saving runs as JSON, which has no NaN, must not fail.)
func TestRunSavesMissingNumbers(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	run := &Run{ID: "r1", Name: "stopped", State: "done",
		StepLoss: []Point{{0.5, 2.3}, {1, nan}, {1.5, inf}},
		Start:    &protocol.Event{Event: protocol.EventStart, Dataset: "tiny", TrainSize: 10, Epochs: 2},
		Epochs: []protocol.Event{{Event: protocol.EventEpoch, Epoch: 1, Step: 5, TrainLoss: 1.5, TrainAccuracy: 0.5,
			ValLoss: nan, ValAccuracy: nan, PerClassAccuracy: []float64{1, nan}}},
		Result: &protocol.Event{Event: protocol.EventResult, TestLoss: nan, TestAccuracy: nan, Epochs: 1, Stopped: protocol.StoppedCanceled},
	}
	b, err := json.Marshal(run)
	if err != nil {
		t.Fatalf("saving a run with missing numbers: %v", err)
	}
	var back Run
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("reading it back: %v\n%s", err, b)
	}
	if back.ID != "r1" || len(back.StepLoss) != 3 || back.StepLoss[0] != (Point{0.5, 2.3}) ||
		back.StepLoss[1].X != 1 || !math.IsNaN(back.StepLoss[1].Y) || !math.IsNaN(back.StepLoss[2].Y) {
		t.Errorf("step losses %v, want the finite point as it was and the others' Y not a number", back.StepLoss)
	}
	if e := back.Epochs[0]; e.TrainLoss != 1.5 || !math.IsNaN(e.ValLoss) || !math.IsNaN(e.PerClassAccuracy[1]) {
		t.Errorf("epoch %+v, want train loss 1.5 and the validation loss and second class's accuracy NaN", e)
	}
	if r := back.Result; r.Stopped != protocol.StoppedCanceled || !math.IsNaN(r.TestLoss) || r.Epochs != 1 {
		t.Errorf("result %+v, want a canceled run without test loss", r)
	}

	// A run saved before Point wrote nulls reads as it did.
	var old Run
	if err := json.Unmarshal([]byte(`{"id":"r0","step_loss":[{"X":0.5,"Y":2}]}`), &old); err != nil || len(old.StepLoss) != 1 || old.StepLoss[0] != (Point{0.5, 2}) {
		t.Errorf("an older saved run: %v, %+v", err, old.StepLoss)
	}
}

// Loading a dataset of another shape takes the preset made for it with
// the preset's augmentation, unless the user has augmentation on: flips
// and shifts for the CIFAR-10 sample after MNIST, not the digits' none.
func TestDatasetPresetBringsItsAugmentation(t *testing.T) {
	for _, c := range []struct {
		name   string
		before spec.Augment
		flip   bool
	}{
		{"none on", spec.Augment{Rotation: spec.Transform{Strength: 20}}, true},
		{"the user's rotation", spec.Augment{Rotation: spec.Transform{P: 0.5, Strength: 20}}, false},
	} {
		s, err := spec.Preset(spec.DefaultPreset("mnist"))
		if err != nil {
			t.Fatal(err)
		}
		s.Data.Augment, s.Data.Validation = c.before, 0.2
		r := &Root{Spec: s, Host: quietHost{}, Dataset: &protocol.Dataset{Name: "cifar-10", Shape: []int{32, 32, 3},
			Classes: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}}}
		r.fitSpecToDataset()
		if r.Spec.Model.Name != spec.DefaultPreset("cifar-10") {
			t.Errorf("%s: model %q, want the dataset's preset", c.name, r.Spec.Model.Name)
		}
		if got := r.Spec.Data.Augment.FlipHorizontal.On(); got != c.flip {
			t.Errorf("%s: augmentation %+v, want the preset's flips: %v", c.name, r.Spec.Data.Augment, c.flip)
		}
		if !c.flip && r.Spec.Data.Augment != c.before {
			t.Errorf("%s: the user's augmentation became %+v", c.name, r.Spec.Data.Augment)
		}
		if r.Spec.Data.Validation != 0.2 {
			t.Errorf("%s: validation %g, want the user's 0.2", c.name, r.Spec.Data.Validation)
		}
	}
}

// The page trains in its own worker while a local run is queued, training
// or paused: leaving it then loses the run, which TrainsInPage says; a
// server run, or a finished one, does not hold the page.
func TestTrainsInPage(t *testing.T) {
	s, err := spec.Preset(spec.DefaultPreset("mnist"))
	if err != nil {
		t.Fatal(err)
	}
	r := &Root{Spec: s, Host: storingHost{}}
	if r.TrainsInPage() {
		t.Fatal("a page without runs trains")
	}
	server := r.newRun(s, "tiny", "on the server")
	server.Server, server.queued = "http://server", false
	if r.TrainsInPage() {
		t.Error("a server run holds the page")
	}
	run := r.newRun(s, "tiny", "local")
	r.enqueue(run)
	for _, c := range []struct {
		state string
		want  bool
	}{{protocol.StateRunning, true}, {protocol.StatePaused, true}, {protocol.StateDone, false}} {
		r.Apply(protocol.Message{Kind: protocol.KindState, Run: run.ID, State: c.state})
		if got := r.TrainsInPage(); got != c.want {
			t.Errorf("a local run %s: TrainsInPage %v, want %v", c.state, got, c.want)
		}
	}
	// A run waiting behind another holds the page before it starts.
	next := r.newRun(s, "tiny", "waiting")
	r.Queue = append(r.Queue, next)
	if !r.TrainsInPage() {
		t.Error("a queued run does not hold the page")
	}
}

// storingHost is a quietHost that takes the runs to store too.
type storingHost struct{ quietHost }

func (storingHost) SaveRun(string, []byte) {}

// A run trains with one worker per core but one, up to four; two on two
// cores, where the page stays responsive with both; one on one core or
// when the browser does not say.
func TestDefaultWorkers(t *testing.T) {
	for cores, want := range map[int]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 3, 5: 4, 8: 4, 64: 4} {
		r := &Root{}
		r.SetCores(cores)
		if r.Workers != want {
			t.Errorf("%d cores: %d workers, want %d", cores, r.Workers, want)
		}
	}
}

// A damaged spec in the page's address is said at the start and stays
// said when the first dataset loads; a later load clears it.
func TestDamagedHashOutlivesTheFirstLoad(t *testing.T) {
	r := NewRoot(quietHost{})
	r.ImportHash("#spec=%7Bgarbage")
	if !strings.Contains(r.Message, "the spec in the page's address is damaged") {
		t.Fatalf("message %q, want the damaged spec said", r.Message)
	}
	r.SetDatasets([]protocol.Listing{{Name: "mnist"}, {Name: "tiny"}})
	if r.DatasetName != "mnist" || !strings.Contains(r.Message, "the spec in the page's address is damaged") {
		t.Errorf("after the first load of %q: message %q, want the damaged spec still said", r.DatasetName, r.Message)
	}
	r.LoadDataset("tiny")
	if r.Message != "" {
		t.Errorf("a dataset the user picked: message %q, want it cleared", r.Message)
	}
}

// Undo goes back through the changes of the settings one at a time, the
// preset's model included, and says what it set back; loading a dataset
// of another shape starts it again.
func TestUndo(t *testing.T) {
	r := NewRoot(quietHost{})
	load := func(name string, shape []int) {
		r.Apply(protocol.Message{Kind: protocol.KindDataset, Dataset: &protocol.Dataset{Name: name, Shape: shape,
			Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, TrainSize: 100, TestSize: 10}})
	}
	load("mnist", []int{28, 28, 1})
	if r.CanUndo() {
		t.Fatalf("a page that has only loaded its dataset has %d changes to undo", len(r.undo))
	}
	start := r.Spec
	r.Set("train.lr", "0.01")
	r.Set("train.lr", "abc") // refused: nothing to undo
	r.Set("data.normalization", "raw")
	r.ChoosePreset("fashion-fast")
	if len(r.undo) != 3 {
		t.Fatalf("%d changes to undo, want 3", len(r.undo))
	}
	r.Undo()
	if r.Spec.Model.Name != "mnist-cnn" || r.Preset != "mnist-cnn" || r.Spec.Data.Normalization != "raw" || !strings.HasPrefix(r.Notice, "undone: ") {
		t.Errorf("after one undo: model %s, preset %s, normalization %s, notice %q", r.Spec.Model.Name, r.Preset, r.Spec.Data.Normalization, r.Notice)
	}
	r.Undo()
	if r.Spec.Data.Normalization != "scale01" || r.Spec.Train.LR != 0.01 || r.Notice != "undone: data.normalization=scale01" {
		t.Errorf("after two: normalization %s, lr %g, notice %q", r.Spec.Data.Normalization, r.Spec.Train.LR, r.Notice)
	}
	r.Undo()
	if r.Spec != start || r.CanUndo() {
		t.Errorf("after three: the spec is not the one the page started with, or more is left to undo (%d)", len(r.undo))
	}
	r.Undo() // nothing left: no change
	if r.Spec != start {
		t.Error("an undo with nothing to undo changed the spec")
	}

	// A dataset of the same shape keeps what there is to undo, and stays
	// the spec's; one of another shape starts again.
	r.Set("train.epochs", "7")
	load("fashion-mnist", []int{28, 28, 1})
	r.Undo()
	if r.Spec.Train.Epochs == 7 || r.Spec.Data.Dataset != "fashion-mnist" {
		t.Errorf("undo after a dataset of the same shape: epochs %d, dataset %s", r.Spec.Train.Epochs, r.Spec.Data.Dataset)
	}
	r.Set("train.epochs", "7")
	load("cifar-10", []int{32, 32, 3})
	if r.CanUndo() {
		t.Errorf("after a dataset of another shape, %d changes to undo, want none", len(r.undo))
	}

	// A spec for other images among them (a run's settings used before its
	// dataset loaded) is passed over.
	fitting := r.Spec
	r.Set("train.epochs", "9")
	mnist, _ := spec.Preset("mnist-cnn", spec.PresetOptions{})
	r.undo = append(r.undo, mnist)
	r.Undo()
	if r.Spec != fitting || r.CanUndo() {
		t.Errorf("undo past a spec for 28×28 images with CIFAR-10 loaded: input %v, epochs %d, %d left", r.Spec.Model.Input, r.Spec.Train.Epochs, len(r.undo))
	}
}

// A link's spec brings its dataset when the page's address names none;
// its model, loaded with images it does not take, is replaced, and said.
func TestLinkedSpecPrefersItsDataset(t *testing.T) {
	s, err := spec.Preset("convnetjs-cifar", spec.PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data.Dataset = "cifar-10"
	b, _ := json.Marshal(s)
	hash := "#spec=" + base64.RawURLEncoding.EncodeToString(b)

	r := NewRoot(quietHost{})
	r.ImportHash(hash)
	r.SetDatasets([]protocol.Listing{{Name: "mnist"}, {Name: "cifar-10"}})
	if r.DatasetName != "cifar-10" {
		t.Errorf("the page loads %q first, want the link's cifar-10", r.DatasetName)
	}

	r = NewRoot(quietHost{})
	r.PreferDataset = "mnist" // ?dataset=mnist in the address
	r.ImportHash(hash)
	r.SetDatasets([]protocol.Listing{{Name: "mnist"}, {Name: "cifar-10"}})
	r.Apply(protocol.Message{Kind: protocol.KindDataset, Dataset: &protocol.Dataset{Name: "mnist", Shape: []int{28, 28, 1},
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, TrainSize: 100, TestSize: 10}})
	if want := "The model convnetjs-cifar, made for 32×32×3 images and 10 classes, does not take these: the page took mnist-cnn"; r.DatasetName != "mnist" || !strings.Contains(r.Notice, want) {
		t.Errorf("dataset %q, notice %q; want mnist and %q", r.DatasetName, r.Notice, want)
	}
}

// The spec the page opens with, nobody's choice, is replaced for a first
// dataset of other images without a word.
func TestStartingSpecReplacedUnsaid(t *testing.T) {
	r := NewRoot(quietHost{})
	r.Apply(protocol.Message{Kind: protocol.KindDataset, Dataset: &protocol.Dataset{Name: "cifar-10", Shape: []int{32, 32, 3},
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, TrainSize: 100, TestSize: 10}})
	if r.Spec.Model.Input[0] != 32 || strings.Contains(r.Notice, "does not take these") {
		t.Errorf("input %v, notice %q; want the CIFAR-10 model and only the loaded notice", r.Spec.Model.Input, r.Notice)
	}
}

// An imported spec that leaves out its input and classes takes the
// loaded dataset's.
func TestImportSpecWithoutInput(t *testing.T) {
	r := NewRoot(quietHost{})
	r.Apply(protocol.Message{Kind: protocol.KindDataset, Dataset: &protocol.Dataset{Name: "cifar-10", Shape: []int{32, 32, 3},
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, TrainSize: 100, TestSize: 10}})
	if err := r.ImportSpecText([]byte(`{"model": {"layers": [{"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "relu"}, {"type": "dense"}]}}`)); err != nil {
		t.Fatal(err)
	}
	if m := r.Spec.Model; len(m.Input) != 3 || m.Input[0] != 32 || m.Input[2] != 3 || m.Classes != 10 || m.Layers[2].Units != 10 || !r.Valid() {
		t.Errorf("imported model: input %v, %d classes, last layer %+v, errors %v", m.Input, m.Classes, m.Layers[2], r.SpecErrors)
	}
}

// A field's refused text stays with its reason while other fields are
// edited, so that the page never shows a value it does not train with
// without saying so; it goes when the field takes a value or the spec is
// replaced.
func TestRefusedFieldsStay(t *testing.T) {
	r := NewRoot(quietHost{})
	r.Apply(protocol.Message{Kind: protocol.KindDataset, Dataset: &protocol.Dataset{Name: "mnist", Shape: []int{28, 28, 1},
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, TrainSize: 100, TestSize: 10}})
	lr := r.Spec.Train.LR
	r.Set("train.lr", "0.01x")
	r.Set("train.l1", "abc")
	r.Set("train.epochs", "7") // another field, taken
	if r.Spec.Train.Epochs != 7 {
		t.Fatalf("epochs %d after setting 7", r.Spec.Train.Epochs)
	}
	for path, text := range map[string]string{"train.lr": "0.01x", "train.l1": "abc"} {
		if got := r.refused[path].text; got != text || r.FieldError(path) == "" {
			t.Errorf("after another field's edit, %s shows %q with error %q; want %q with its error", path, got, r.FieldError(path), text)
		}
	}
	if r.Valid() || r.Spec.Train.LR != lr {
		t.Errorf("valid %v, lr %g: the refused texts must keep the page from starting, and leave the spec's lr %g", r.Valid(), r.Spec.Train.LR, lr)
	}
	r.Set("train.lr", "0.02")
	if _, ok := r.refused["train.lr"]; ok || r.FieldError("train.lr") != "" || r.Spec.Train.LR != 0.02 {
		t.Errorf("lr set to 0.02: refusal %v, error %q, lr %g", r.refused["train.lr"], r.FieldError("train.lr"), r.Spec.Train.LR)
	}
	if r.refused["train.l1"].text != "abc" {
		t.Error("the l1 refusal went when lr took a value")
	}
	r.ChoosePreset("fashion-fast")
	if len(r.refused) != 0 || !r.Valid() {
		t.Errorf("after a preset: refusals %v, errors %v; want none", r.refused, r.SpecErrors)
	}
}

// While the worker reads a dataset of images, the status line says how
// far it is; the dataset's arrival ends it.
func TestLoadingSaysHowFar(t *testing.T) {
	r := NewRoot(quietHost{})
	r.LoadFile("photos.zip", nil)
	if got := r.LoadingText(); got != "loading photos.zip…" {
		t.Errorf("before any image: %q", got)
	}
	r.Apply(protocol.Message{Kind: protocol.KindLoading, Loading: &protocol.Loading{Done: 1200, Total: 5000}})
	if got, want := r.LoadingText(), "loading photos.zip… 1,200 of 5,000 images read"; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	r.Apply(protocol.Message{Kind: protocol.KindLoading, Loading: &protocol.Loading{Done: 1300, Total: 5000, Workers: 2}})
	if got, want := r.LoadingText(), "loading photos.zip… 1,300 of 5,000 images read by 2 workers"; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	r.Apply(protocol.Message{Kind: protocol.KindDataset, Dataset: &protocol.Dataset{Name: "photos", Shape: []int{48, 64, 3},
		Classes: []string{"a", "b"}, TrainSize: 4000, TestSize: 1000, FromImages: true}})
	if r.Loading || r.loaded != nil {
		t.Errorf("after the dataset: loading %v, count %v", r.Loading, r.loaded)
	}
	// A late count, after the dataset came, is not taken for a new load.
	r.Apply(protocol.Message{Kind: protocol.KindLoading, Loading: &protocol.Loading{Done: 5000, Total: 5000}})
	if r.loaded != nil {
		t.Error("a count that came after the dataset was kept")
	}
}

// loadHost records the worker's load commands.
type loadHost struct {
	quietHost
	loads *[]protocol.DatasetRef
}

func (h loadHost) Send(c protocol.Command) {
	if c.Cmd == protocol.CmdLoad {
		*h.loads = append(*h.loads, *c.Dataset)
	}
}

// A dataset of images is read again whenever the spec's data.image_side
// changes, by its field or an imported spec, so that the model and
// the spec never disagree with the images; other datasets are not.
func TestImageSideReadsTheImagesAgain(t *testing.T) {
	var loads []protocol.DatasetRef
	r := NewRoot(loadHost{loads: &loads})
	r.SetDatasets([]protocol.Listing{{Name: "photos.zip", URL: "/data/photos.zip"}, {Name: "mnist", URL: "/data/mnist"}})
	r.LoadDataset("photos.zip")
	loads = nil
	arrive := func(shape []int, fromImages bool) {
		r.Apply(protocol.Message{Kind: protocol.KindDataset, Dataset: &protocol.Dataset{Name: r.DatasetName, Shape: shape,
			Classes: []string{"a", "b"}, TrainSize: 40, TestSize: 10, FromImages: fromImages}})
	}
	arrive([]int{48, 64, 3}, true)
	r.Set("data.image_side", "32")
	if n := len(loads); n != 1 || loads[0].ImageSide != 32 || loads[0].URL != "/data/photos.zip" || !r.Loading {
		t.Fatalf("after image_side 32: loads %+v, loading %v; want photos.zip read again at 32", loads, r.Loading)
	}
	arrive([]int{24, 32, 3}, true)
	if got := r.Spec.Model.Input; len(got) != 3 || got[0] != 24 || got[1] != 32 {
		t.Errorf("model input %v after the images came at 24×32", got)
	}
	r.Set("train.lr", "0.01") // another setting: nothing read again
	if len(loads) != 1 {
		t.Errorf("%d loads after a change of the rate, want 1", len(loads))
	}
	imported := r.Spec.Clone()
	imported.Data.ImageSide = 0
	b, err := json.Marshal(imported)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ImportSpecText(b); err != nil {
		t.Fatal(err)
	}
	if n := len(loads); n != 2 || loads[1].ImageSide != 0 {
		t.Fatalf("after importing a spec without image_side: loads %+v", loads)
	}
	arrive([]int{48, 64, 3}, true)
	r.Set("data.image_side", "2") // refused: nothing read
	if len(loads) != 2 {
		t.Errorf("an image side out of bounds read the images again: %+v", loads)
	}
	r.Set("data.image_side", "0")
	r.LoadDataset("mnist")
	arrive([]int{28, 28, 1}, false)
	r.Set("data.image_side", "16")
	if n := len(loads); n != 3 {
		t.Errorf("image_side on mnist read it again: %+v", loads)
	}
}

// Packing a folder says how far it is, and a folder that cannot be packed
// says why and leaves the dataset the page had.
func TestPackingAFolder(t *testing.T) {
	r := NewRoot(quietHost{})
	r.Apply(protocol.Message{Kind: protocol.KindDataset, Dataset: &protocol.Dataset{Name: "mnist", Shape: []int{28, 28, 1},
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, TrainSize: 100, TestSize: 10}})
	r.PackingFolder("pets", 0, 0)
	if got := r.LoadingText(); got != "reading the folder pets…" || !r.Loading {
		t.Errorf("listing: %q", got)
	}
	r.PackingFolder("pets", 120, 500)
	if got, want := r.LoadingText(), "reading the folder pets… 120 of 500 files"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	r.LoadFile("pets.zip", nil)
	if got := r.LoadingText(); got != "loading pets.zip…" {
		t.Errorf("once packed: %q", got)
	}
	r.PackingFolder("empty", 0, 0)
	r.FolderFailed("empty", errors.New("the folder empty holds no PNG or JPEG images"))
	if r.Loading || r.DatasetName != "mnist" || !strings.Contains(r.Message, "the page keeps the dataset it had") {
		t.Errorf("after a failed folder: loading %v, dataset %q, message %q", r.Loading, r.DatasetName, r.Message)
	}
}
