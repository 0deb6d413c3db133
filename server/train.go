package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"plateau/data"
	"plateau/doctor"
	"plateau/kernels"
	"plateau/nn"
	"plateau/spec"
	"plateau/train"
)

func trainCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		preset     = fs.String("preset", "", "model preset (see plateau presets); default: the dataset's default preset")
		specFile   = fs.String("spec", "", "spec JSON file (instead of -preset)")
		dataset    = fs.String("dataset", "", "dataset name (mnist, fashion-mnist, cifar-10) or path to an archive or folder")
		dataDir    = fs.String("data", "", "data folder holding <name>/<official files> (default $PLATEAU_DATA)")
		epochs     = fs.Int("epochs", 0, "epochs (overrides the spec)")
		trainLimit = fs.Int("train-limit", 0, "use only the first N training images")
		testLimit  = fs.Int("test-limit", 0, "use only the first N test images")
		seed       = fs.Int64("seed", -1, "random seed (overrides the spec)")
		out        = fs.String("out", "", "folder for the spec, the event log and the weights")
		jsonOut    = fs.Bool("json", false, "print one JSON event per line on stdout")
		workers    = fs.Int("workers", 1, "cut every batch into N parts trained side by side on N cores (data parallelism; batch norm then normalizes each part by itself, and a part has 8 rows or more)")
		resume     = fs.String("resume", "", "continue the run saved in this -out folder (its checkpoint); -epochs may extend it")
		weights    = fs.String("weights", "", "start from these weights (safetensors, as the page downloads them or -out writes them); without -preset or -spec, the model is the one saved in the file")
		server     = fs.String("server", "", "train on the plateau serve at this URL (its jobs API, its datasets) and show the run here: the same output, -out folder and doctor")
		token      = fs.String("token", os.Getenv("PLATEAU_TOKEN"), "the -server's token (default $PLATEAU_TOKEN)")
		scale      = addScaleFlags(fs)
		backend    = fs.String("backend", "native", "where to train: native (this project's kernels on all cores), xla[:PLUGIN_PATH] (GoMLX on XLA, a GPU with the CUDA plugin) or auto (xla when a PJRT plugin loads)")
		fault      = fs.String("fault", "", "plant a classic mistake on purpose, after -set, and see whether the doctor names it: "+strings.Join(faultNames(), ", "))
		sets       multiFlag
	)
	fs.Var(&sets, "set", "override a spec field, e.g. -set train.lr=0.01 (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *preset != "" && *specFile != "" {
		return usagef("give -preset or -spec, not both")
	}
	if *workers < 1 {
		return usagef("-workers must be at least 1")
	}
	if _, ok := spec.FindFault(*fault); *fault != "" && !ok {
		return usagef("-fault %q: want one of %s", *fault, strings.Join(faultNames(), ", "))
	}
	if *epochs < 0 || (*epochs == 0 && flagGiven(fs, "epochs")) {
		return usagef("-epochs must be at least 1 (leave it out to train the spec's train.epochs)")
	}
	if *trainLimit < 0 || *testLimit < 0 {
		return usagef("-train-limit and -test-limit must be 0 (all images) or more")
	}
	if err := scale.check(fs, *specFile); err != nil {
		return err
	}
	if scale.given(fs) && *preset == "" && *weights != "" {
		return usagef("-width and -depth size a preset: give -preset (the model comes from the saved weights otherwise)")
	}
	trainer, note, err := chooseTrainer(*backend, func(string, ...any) {})
	if err != nil {
		return err
	}
	if *workers > 1 && trainer.Name() != "native" {
		return usagef("-workers applies to -backend native; %s trains every batch whole", trainer.Name())
	}

	if *weights != "" && *resume != "" {
		return usagef("-weights starts a new run from weights, -resume goes on with an interrupted one: give one of them")
	}
	if *server != "" {
		var conflict []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "resume", "backend", "data":
				conflict = append(conflict, "-"+f.Name)
			}
		})
		if len(conflict) > 0 {
			return usagef("-server trains where the server's data and backend are: drop %s", strings.Join(conflict, " "))
		}
		if *preset != "" && *specFile != "" {
			return usagef("give -preset or -spec, not both")
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		return trainRemote(ctx, remoteRun{url: strings.TrimRight(*server, "/"), token: *token, preset: *preset, scale: scale.options(), specFile: *specFile,
			dataset: *dataset, epochs: *epochs, trainLimit: *trainLimit, testLimit: *testLimit, seed: *seed, sets: sets,
			fault: *fault, weights: *weights, workers: *workers, out: *out, jsonOut: *jsonOut}, stdout, stderr)
	}
	var checkpoint string
	if *resume != "" {
		// The time limit, as -epochs, may extend the run: it changes how
		// long the run trains, not what.
		timeOnly := !slices.ContainsFunc(sets, func(kv string) bool { return !strings.HasPrefix(kv, "train.time_limit_seconds=") })
		if *preset != "" || *specFile != "" || !timeOnly || scale.given(fs) || *fault != "" {
			return usagef("-resume continues a run as it was: drop -preset, -spec, -set (but for -set train.time_limit_seconds=N, which may extend it as -epochs may), -fault, -width and -depth")
		}
		checkpoint = filepath.Join(*resume, checkpointFile)
		if *out == "" {
			*out = *resume
		}
	}
	s, err := loadSpec(*preset, *specFile, *dataset, checkpoint, scale.options())
	if err != nil {
		return err
	}
	modelFile := *specFile // where the model's numbers come from, when the user gave them
	if *weights != "" && *preset == "" && *specFile == "" {
		m, err := savedModel(*weights)
		if err != nil {
			return err
		}
		s.Model, modelFile = m, *weights
	}
	if *dataset != "" {
		s.Data.Dataset = *dataset
	}
	if s.Data.Dataset == "" {
		return usagef("-dataset is required (mnist, fashion-mnist, cifar-10 or a path)")
	}
	if *epochs > 0 {
		s.Train.Epochs = *epochs
	}
	if *trainLimit > 0 {
		s.Data.TrainLimit = *trainLimit
	}
	if *testLimit > 0 {
		s.Data.TestLimit = *testLimit
	}
	if *seed >= 0 {
		s.Train.Seed = *seed
	}
	for _, kv := range sets {
		path, value, ok := strings.Cut(kv, "=")
		if !ok {
			return usagef("-set %q: want section.field=value", kv)
		}
		if err := s.Set(path, value); err != nil {
			return err
		}
	}

	imagesBar := newProgressBar(stderr)
	ds, err := data.Load(s.Data.Dataset, data.LoadOptions{
		DataDir:    *dataDir,
		TrainLimit: s.Data.TrainLimit,
		TestLimit:  s.Data.TestLimit,
		ImageSide:  s.Data.ImageSide,
		Progress: func(done, total int) {
			imagesBar.images(s.Data.Dataset, done, total)
		},
	})
	if err != nil {
		return err
	}
	if err := fitInput(s, ds, modelFile, scale.options(), sets); err != nil {
		return err
	}
	s.Expand()
	if err := s.Validate(); err != nil {
		return err
	}
	if checkpoint != "" {
		// A run with nothing left to train is refused rather than tested
		// again, or trained for one more step past its time.
		if err := train.CheckpointLeft(checkpoint, s); err != nil {
			var fe *spec.FieldError
			if !errors.As(err, &fe) {
				return err
			}
			give := "-epochs N"
			if fe.Path == "train.time_limit_seconds" {
				give = "-set train.time_limit_seconds=N"
			}
			return usagef("-resume %s: %s: %s (%s)", *resume, fe.Path, fe.Message, give)
		}
	}
	if *fault != "" {
		f, _ := spec.FindFault(*fault)
		planted, changes, err := f.Plant(s)
		if err != nil {
			return err
		}
		s = planted
		fmt.Fprintf(stderr, "planted on purpose, %s: %s; the doctor should name %s\n", f.Title, strings.Join(changes, ", "), f.Cause)
	}
	if trainer.Name() == "native" {
		// Refused here rather than by the Go runtime, which ends the
		// process when it runs out of memory.
		if err := train.CheckMemory(s, *workers, ds, machineMemory()/5*4, "the %s this machine can give it (four fifths of its memory)"); err != nil {
			return err
		}
	}
	var from *nn.Network
	if *weights != "" {
		if from, err = loadWeights(*weights, s); err != nil {
			return err
		}
	}

	ro, err := openRunOutput(*out, s, checkpoint != "", *jsonOut, stdout, stderr)
	if err != nil {
		return err
	}
	defer ro.close()
	bar, emit := ro.bar, ro.emit
	bar.limit = s.Train.TimeLimitSeconds
	bar.line("%s", ds.Summary())
	for _, p := range s.Data.Planted() {
		bar.line("%s", p.Long)
	}
	if note != "" {
		bar.line("backend auto: %s", note)
	} else if trainer.Name() != "native" {
		bar.line("backend %s", trainer.Name())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	doc := doctor.New(s)
	if checkpoint != "" {
		// The doctor reads the whole run, not just the part resumed now.
		if before, _, err := readRun(*resume); err == nil {
			doc.Epochs = before.Epochs
		}
	}
	// The findings as they were made, for the ones dropped by the end.
	var seen struct {
		before []train.Diagnosis // at the start and the first epoch's checks
		epochs []train.Event
	}
	record := func(e train.Event) {
		switch e.Event {
		case train.EventStart:
			seen.before = append(seen.before[:0], e.Diagnoses...)
		case train.EventValCheck:
			seen.before = append(seen.before, e.Diagnoses...)
		case train.EventEpoch:
			seen.epochs = append(seen.epochs, e)
		}
		emit(e)
	}
	cfg := train.Config{Spec: s, Dataset: ds, Emit: record, Doctor: doc.Observe, Network: from}
	defer useWorkers(&cfg, *workers)()
	if *out != "" {
		cfg.Checkpoint = filepath.Join(*out, checkpointFile)
	}
	cfg.ResumeFrom = checkpoint
	res, err := trainer.Train(ctx, cfg)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := saveWeights(filepath.Join(*out, "weights.safetensors"), res); err != nil {
			return err
		}
	}
	printDiagnoses(stderr, res.Final.Diagnoses)
	if line := earlierLine(seen.before, seen.epochs, res.Final.Diagnoses); line != "" {
		fmt.Fprintln(stderr, line)
	}
	if res.Final.Stopped == train.StoppedCanceled {
		if *out != "" {
			fmt.Fprintf(stderr, "interrupted: go on from its last finished epoch with plateau train -resume %s\n", *out)
		} else {
			fmt.Fprintln(stderr, "interrupted (a run trained with -out DIR can go on with plateau train -resume DIR)")
		}
	}
	if res.Final.Stopped == train.StoppedDiverged {
		return fmt.Errorf("run diverged: %s", res.Final.Reason)
	}
	return nil
}

// runOutput is where a run's events go: the progress bar on stderr, JSON
// lines on stdout with -json, and the -out folder's event log.
type runOutput struct {
	bar   *progressBar
	emit  func(train.Event)
	close func()
}

// openRunOutput starts the -out folder (when out is set) for spec s and
// returns the run's outputs; close flushes the event log.
func openRunOutput(out string, s *spec.Spec, resumed, jsonOut bool, stdout, stderr io.Writer) (*runOutput, error) {
	ro := &runOutput{bar: newProgressBar(stderr), close: func() {}}
	enc := json.NewEncoder(stdout)
	var logEnc *json.Encoder
	if out != "" {
		log, err := startRunFolder(out, s, resumed)
		if err != nil {
			return nil, err
		}
		buf := bufio.NewWriter(log)
		logEnc = json.NewEncoder(buf)
		ro.close = func() {
			buf.Flush()
			log.Close()
		}
	}
	ro.emit = func(e train.Event) {
		if jsonOut && e.Event != train.EventStep {
			enc.Encode(e)
		}
		if logEnc != nil {
			logEnc.Encode(e)
		}
		ro.bar.report(e)
	}
	return ro, nil
}

// checkpointFile is the checkpoint's name in a run folder, rewritten after
// every epoch so that -resume can continue an interrupted run.
const checkpointFile = "checkpoint.safetensors"

// scaleFlags are -width and -depth, which size a scalable preset.
type scaleFlags struct{ width, depth *int }

func addScaleFlags(fs *flag.FlagSet) scaleFlags {
	return scaleFlags{
		width: fs.Int("width", 0, "channels of the first stage of a scalable preset ("+strings.Join(spec.ScalablePresets(), ", ")+"); default: the preset's own"),
		depth: fs.Int("depth", 0, "stages of a scalable preset, each after the first halving the image; default: the preset's own"),
	}
}

func (f scaleFlags) options() spec.PresetOptions {
	return spec.PresetOptions{Width: *f.width, Depth: *f.depth}
}

func (f scaleFlags) given(fs *flag.FlagSet) bool {
	return flagGiven(fs, "width") || flagGiven(fs, "depth")
}

// check refuses a width or depth under 1 and one given with a spec file.
func (f scaleFlags) check(fs *flag.FlagSet, specFile string) error {
	if *f.width < 0 || *f.depth < 0 || (*f.width == 0 && flagGiven(fs, "width")) || (*f.depth == 0 && flagGiven(fs, "depth")) {
		return usagef("-width and -depth must be at least 1 (leave them out for the preset's own)")
	}
	if specFile != "" && f.given(fs) {
		return usagef("-width and -depth size a preset; a -spec file gives its own layers")
	}
	return nil
}

// loadSpec reads the spec from a checkpoint, a file, a named preset, or the
// dataset's default preset, in that order; a preset is built at the width
// and depth scale gives (zeros: its own).
func loadSpec(preset, file, dataset, checkpoint string, scale spec.PresetOptions) (*spec.Spec, error) {
	if checkpoint != "" {
		return train.CheckpointSpec(checkpoint)
	}
	if file != "" {
		return readSpecFile(file)
	}
	if preset == "" {
		preset = spec.DefaultPreset(dataset)
	}
	return spec.Preset(preset, scale)
}

// readSpecFile parses the spec in a file; its errors name the file.
func readSpecFile(path string) (*spec.Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := spec.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// fitInput makes the model's input and class count match the dataset. A
// preset's model is built again for the dataset's shape (at the width and
// depth scale gives), as the page builds it, and the sets that change the
// model ("model.…=…") are applied to it again; a model from a file that
// disagrees is an error, since the user wrote those numbers, and one that
// leaves both out takes the dataset's.
func fitInput(s *spec.Spec, ds *data.Dataset, file string, scale spec.PresetOptions, sets []string) error {
	in := []int{ds.H, ds.W, ds.C}
	classes := len(ds.Classes)
	same := len(s.Model.Input) == 3 && s.Model.Input[0] == in[0] && s.Model.Input[1] == in[1] && s.Model.Input[2] == in[2] && s.Model.Classes == classes
	if same {
		return nil
	}
	if file != "" && len(s.Model.Input) == 0 && s.Model.Classes == 0 {
		s.SetInput(ds.H, ds.W, ds.C, classes)
		return nil
	}
	if file != "" {
		return fmt.Errorf("%s: model.input %v with %d classes does not match dataset %s (%v, %d classes); set model.input to %v and model.classes to %d",
			file, s.Model.Input, s.Model.Classes, ds.Name, in, classes, in, classes)
	}
	if spec.PresetDescription(s.Model.Name) == "" {
		s.SetInput(ds.H, ds.W, ds.C, classes)
		return nil
	}
	p, err := spec.Preset(s.Model.Name, spec.PresetOptions{Width: scale.Width, Depth: scale.Depth, Input: in, Classes: classes})
	if err != nil {
		return fmt.Errorf("dataset %s: %w", ds.Name, err)
	}
	s.Model = p.Model
	for _, kv := range sets {
		if path, value, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(path, "model.") {
			if err := s.Set(path, value); err != nil {
				return err
			}
		}
	}
	return nil
}

// startRunFolder creates the run folder, writes the spec and opens the event log.
// A resumed run appends to the event log of the run it continues.
func startRunFolder(dir string, s *spec.Spec, resumed bool) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resumed {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	return os.OpenFile(filepath.Join(dir, "events.jsonl"), flags, 0o644)
}

// savedModel reads the model a weights file was saved with (nn.Network.Save
// keeps it in the file's metadata).
func savedModel(path string) (spec.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return spec.Model{}, err
	}
	defer f.Close()
	_, meta, err := nn.ReadSafetensors(f)
	if err != nil {
		return spec.Model{}, fmt.Errorf("%s is not a safetensors file of float32 weights: %v", path, err)
	}
	var m spec.Model
	if meta[nn.MetadataSpec] == "" || json.Unmarshal([]byte(meta[nn.MetadataSpec]), &m) != nil || len(m.Layers) == 0 {
		return spec.Model{}, fmt.Errorf("%s does not say which model it holds: give the -spec or -preset it was trained with", path)
	}
	return m, nil
}

// loadWeights reads a weights file into a network of s's model, or says
// which tensors do not fit.
func loadWeights(path string, s *spec.Spec) (*nn.Network, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	net, err := nn.New(s.Model, 1, uint64(s.Train.Seed))
	if err != nil {
		return nil, err
	}
	if err := net.Load(f); err != nil {
		return nil, fmt.Errorf("the weights in %s do not fit the model: %v\ngive the -spec or -preset they were trained with, or neither to use the model saved in the file", path, err)
	}
	return net, nil
}

func saveWeights(path string, res *train.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := res.Network.Save(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// useWorkers makes a run of cfg cut every batch into workers parts trained
// side by side on local goroutines (nothing for 1 or fewer), each part's
// kernels on one thread, since the parts are the parallelism; the
// function it returns ends that after the run. The thread limit is the
// process's, so one such run at a time (the command line's, or the jobs
// API's one job).
func useWorkers(cfg *train.Config, workers int) (done func()) {
	if workers <= 1 {
		return func() {}
	}
	cfg.Shards = train.LocalShards(workers - 1)
	threads := kernels.SetThreads(1)
	return func() {
		train.CloseShards(cfg.Shards)
		kernels.SetThreads(threads)
	}
}

// faultNames are the names -fault takes.
func faultNames() []string {
	var out []string
	for _, f := range spec.Faults {
		out = append(out, f.Name)
	}
	return out
}
