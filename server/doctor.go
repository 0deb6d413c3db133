package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"

	"plateau/data"
	"plateau/doctor"
	"plateau/protocol"
	"plateau/spec"
	"plateau/train"
)

// diagnoseCommand re-diagnoses a saved run: the spec.json and events.jsonl
// of a train -out folder.
func diagnoseCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diagnose", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dir     = fs.String("run", "", "run folder written by plateau train -out")
		jsonOut = fs.Bool("json", false, "print the findings as one JSON list")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() > 0 {
		return usagef("want -run DIR (a folder written by plateau train -out)")
	}
	tel, cut, err := readRun(*dir)
	if err != nil {
		return err
	}
	if cut {
		fmt.Fprintf(stderr, "%s: the last line of events.jsonl is incomplete (the run is still being written, or was cut off); diagnosing the events before it\n", *dir)
	}
	found := doctor.Diagnose(tel)
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(found)
	}
	fmt.Fprintf(stdout, "%s: %s", *dir, spec.Count(len(tel.Epochs), "epoch"))
	if tel.Result != nil {
		fmt.Fprintf(stdout, ", stopped %s", tel.Result.Stopped)
	}
	fmt.Fprintln(stdout)
	printDiagnoses(stdout, found)
	return nil
}

// readRun loads the spec and the events of a run folder. A last line cut
// short (a run still writing its log, or one killed mid-write) is left out
// and reported as cut; a malformed line anywhere else is an error.
func readRun(dir string) (tel *doctor.Telemetry, cut bool, err error) {
	s, err := readSpecFile(filepath.Join(dir, "spec.json"))
	if err != nil {
		return nil, false, err
	}
	s.Expand()
	f, err := os.Open(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	tel = &doctor.Telemetry{Spec: s}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var bad error
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if bad != nil {
			return nil, false, bad
		}
		var e train.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			bad = fmt.Errorf("%s line %d: %v", f.Name(), line, err)
			var syn *json.SyntaxError
			if !errors.As(err, &syn) || syn.Offset != int64(len(sc.Bytes())) {
				return nil, false, bad
			}
			continue // JSON cut short: fine only as the last line
		}
		tel.Add(e)
	}
	if err := sc.Err(); err != nil {
		return nil, false, err
	}
	if tel.Start == nil {
		return nil, false, fmt.Errorf("%s has no start event", f.Name())
	}
	return tel, bad != nil, nil
}

// printDiagnoses writes findings for people: cause, confidence, advice and
// the evidence.
func printDiagnoses(w io.Writer, found []train.Diagnosis) {
	if len(found) == 0 {
		fmt.Fprintln(w, "doctor: no problem found above a low confidence")
		return
	}
	for _, d := range found {
		fmt.Fprintf(w, "doctor: %s (confidence %.2f)\n  advice: %s\n  evidence:", d.Cause, d.Confidence, d.Advice)
		keys := make([]string, 0, len(d.Evidence))
		for k := range d.Evidence {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, " %s=%.4g", k, d.Evidence[k])
		}
		fmt.Fprintln(w)
	}
}

// earlierLine names the findings made during a run and dropped by its
// end (before: those of the start and of the first epoch's checks), with
// their epochs ("doctor, earlier in the run and not now:
// label_noise (epochs 4–6)"); "" when there are none.
func earlierLine(before []train.Diagnosis, epochs []train.Event, now []train.Diagnosis) string {
	earlier := protocol.Earlier(before, epochs, now)
	if len(earlier) == 0 {
		return ""
	}
	parts := make([]string, len(earlier))
	for i, f := range earlier {
		parts[i] = fmt.Sprintf("%s (%s)", f.Cause, protocol.EpochSpans(f.Epochs))
	}
	return "doctor, earlier in the run and not now: " + strings.Join(parts, "; ")
}

// runFlags are the flags that choose a spec and a dataset, shared by
// lr-find and experiment (train has its own, with -out and -resume).
type runFlags struct {
	preset, specFile, dataset, dataDir *string
	epochs, trainLimit, testLimit      *int
	seed                               *int64
	sets                               multiFlag
	scale                              scaleFlags
	fs                                 *flag.FlagSet
}

func addRunFlags(fs *flag.FlagSet) *runFlags {
	f := &runFlags{
		preset:     fs.String("preset", "", "model preset (see plateau presets); default: the dataset's default preset"),
		specFile:   fs.String("spec", "", "spec JSON file (instead of -preset)"),
		dataset:    fs.String("dataset", "", "dataset name (mnist, fashion-mnist, cifar-10) or path to an archive or folder"),
		dataDir:    fs.String("data", "", "data folder holding <name>/<official files> (default $PLATEAU_DATA)"),
		epochs:     fs.Int("epochs", 0, "epochs (overrides the spec)"),
		trainLimit: fs.Int("train-limit", 0, "use only the first N training images"),
		testLimit:  fs.Int("test-limit", 0, "use only the first N test images"),
		seed:       fs.Int64("seed", -1, "random seed (overrides the spec)"),
		scale:      addScaleFlags(fs),
		fs:         fs,
	}
	fs.Var(&f.sets, "set", "override a spec field, e.g. -set train.lr=0.01 (repeatable)")
	return f
}

// spec builds the spec the flags describe, with extra -set pairs applied
// after the flags' own; it is not expanded.
func (f *runFlags) spec(extra ...string) (*spec.Spec, error) {
	if *f.preset != "" && *f.specFile != "" {
		return nil, usagef("give -preset or -spec, not both")
	}
	if *f.epochs < 0 || (*f.epochs == 0 && flagGiven(f.fs, "epochs")) {
		return nil, usagef("-epochs must be at least 1 (leave it out to train the spec's train.epochs)")
	}
	if *f.trainLimit < 0 || *f.testLimit < 0 {
		return nil, usagef("-train-limit and -test-limit must be 0 (all images) or more")
	}
	if err := f.scale.check(f.fs, *f.specFile); err != nil {
		return nil, err
	}
	s, err := loadSpec(*f.preset, *f.specFile, *f.dataset, "", f.scale.options())
	if err != nil {
		return nil, err
	}
	if *f.dataset != "" {
		s.Data.Dataset = *f.dataset
	}
	if s.Data.Dataset == "" {
		return nil, usagef("-dataset is required (mnist, fashion-mnist, cifar-10 or a path)")
	}
	if *f.epochs > 0 {
		s.Train.Epochs = *f.epochs
	}
	if *f.trainLimit > 0 {
		s.Data.TrainLimit = *f.trainLimit
	}
	if *f.testLimit > 0 {
		s.Data.TestLimit = *f.testLimit
	}
	if *f.seed >= 0 {
		s.Train.Seed = *f.seed
	}
	for _, kv := range append(append([]string(nil), f.sets...), extra...) {
		path, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, usagef("-set %q: want section.field=value", kv)
		}
		if err := s.Set(path, value); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// load reads the dataset of s.
func (f *runFlags) load(s *spec.Spec) (*data.Dataset, error) {
	return data.Load(s.Data.Dataset, data.LoadOptions{DataDir: *f.dataDir, TrainLimit: s.Data.TrainLimit, TestLimit: s.Data.TestLimit, ImageSide: s.Data.ImageSide})
}

// fit makes s match the dataset, expands and validates it.
func (f *runFlags) fit(s *spec.Spec, ds *data.Dataset) error {
	if err := fitInput(s, ds, *f.specFile, f.scale.options(), f.sets); err != nil {
		return err
	}
	s.Expand()
	return s.Validate()
}

// lrFindCommand runs the LR range test and prints loss against rate.
func lrFindCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lr-find", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rf := addRunFlags(fs)
	var (
		minLR   = fs.Float64("min", 1e-6, "smallest rate of the sweep")
		maxLR   = fs.Float64("max", 1, "largest rate of the sweep")
		steps   = fs.Int("steps", 200, "training steps of the sweep")
		jsonOut = fs.Bool("json", false, "print the sweep and the suggestion as JSON")
	)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *steps < 20:
		return usagef("-steps %d: the sweep needs 20 steps or more to show where the loss falls fastest (200 is usual)", *steps)
	case !(*minLR > 0) || !(*maxLR > *minLR) || math.IsInf(*maxLR, 1):
		return usagef("-min %g and -max %g: want 0 < min < max (1e-6 and 1 are usual)", *minLR, *maxLR)
	}
	s, err := rf.spec()
	if err != nil {
		return err
	}
	ds, err := rf.load(s)
	if err != nil {
		return err
	}
	if err := rf.fit(s, ds); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(stderr, "%s\nlr-find: %s at rates %g to %g over %d steps of batch %d\n", ds.Summary(), s.Train.Optimizer, *minLR, *maxLR, *steps, s.Train.BatchSize)
	res, err := train.LRFind(ctx, train.Config{Spec: s, Dataset: ds}, train.LRFindOptions{MinLR: *minLR, MaxLR: *maxLR, Steps: *steps})
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(res)
	}
	plotLR(stdout, res, s)
	return nil
}

// plotLR draws the smoothed loss against log10(lr) in text, 64 columns by
// 16 rows, and the suggestion under it as the -set pairs that apply it to
// s: train.lr, or one-cycle's peak with its start and floor scaled alike.
func plotLR(w io.Writer, res *train.LRFindResult, s *spec.Spec) {
	const cols, rows = 64, 16
	pts := res.Points
	loX, hiX := math.Log10(pts[0].LR), math.Log10(pts[len(pts)-1].LR)
	loY, hiY := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		loY, hiY = min(loY, p.Smoothed), max(hiY, p.Smoothed)
	}
	// The loss past the minimum climbs steeply; cap the axis so the descent
	// stays readable.
	hiY = min(hiY, loY+2*(pts[0].Smoothed-loY)+1e-9)
	grid := make([][]byte, rows)
	for r := range grid {
		grid[r] = []byte(strings.Repeat(" ", cols))
	}
	col := func(lr float64) int {
		if hiX == loX {
			return 0
		}
		return min(cols-1, max(0, int(math.Round((math.Log10(lr)-loX)/(hiX-loX)*float64(cols-1)))))
	}
	for _, p := range pts {
		r := int(math.Round((min(p.Smoothed, hiY) - loY) / (hiY - loY + 1e-12) * float64(rows-1)))
		grid[rows-1-r][col(p.LR)] = '*'
	}
	mark := col(res.Suggested)
	for r := range grid {
		if grid[r][mark] == ' ' {
			grid[r][mark] = '|'
		}
	}
	fmt.Fprintf(w, "smoothed loss against learning rate (| marks the suggestion)\n")
	for r, line := range grid {
		label := "        "
		switch r {
		case 0:
			label = fmt.Sprintf("%8.3f", hiY)
		case rows - 1:
			label = fmt.Sprintf("%8.3f", loY)
		}
		fmt.Fprintf(w, "%s |%s\n", label, line)
	}
	fmt.Fprintf(w, "         +%s\n", strings.Repeat("-", cols))
	fmt.Fprintf(w, "          %-*s%s\n", cols-8, fmt.Sprintf("%.0e", pts[0].LR), fmt.Sprintf("%.0e", pts[len(pts)-1].LR))
	fmt.Fprintf(w, "steepest descent at lr %.3g; lowest loss at lr %.3g (a tenth: %.3g)\n", res.Steepest, res.MinLoss, res.MinLoss/10)
	rate := s.RangeTestRate(res.Suggested, res.MinLoss)
	fmt.Fprintf(w, "suggested: -set %s", strings.Join(s.RateSets(rate/s.PeakLR()), " -set "))
	if res.Diverged {
		fmt.Fprintf(w, " (the loss blew up past lr %.3g)", pts[len(pts)-1].LR)
	}
	fmt.Fprintln(w)
}

// diffCommand prints what the second spec changes from the first, one
// setting per line in -set's syntax. Each is a run folder (its
// spec.json), a spec file or a preset name.
func diffCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print the changes as one JSON list")
	// The flag may come before the two specs or after them.
	var names []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		names, args = append(names, fs.Arg(0)), fs.Args()[1:]
	}
	if len(names) != 2 {
		return usagef("want two specs (plateau diff A B): run folders (plateau train -out), spec files or preset names")
	}
	var specs [2]*spec.Spec
	for i, arg := range names {
		s, err := specFrom(arg)
		if err != nil {
			return err
		}
		s.Expand()
		specs[i] = s
	}
	changes := spec.Diff(specs[0], specs[1])
	if *jsonOut {
		if changes == nil {
			changes = []string{}
		}
		return json.NewEncoder(stdout).Encode(changes)
	}
	if len(changes) == 0 {
		fmt.Fprintln(stdout, "the same settings")
	}
	for _, c := range changes {
		fmt.Fprintln(stdout, c)
	}
	return nil
}

// specFrom reads a spec from a run folder's spec.json, a spec file, or a
// preset's name.
func specFrom(arg string) (*spec.Spec, error) {
	path := arg
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		path = filepath.Join(arg, "spec.json")
	} else if err != nil {
		if s, perr := spec.Preset(arg); perr == nil {
			return s, nil
		}
		return nil, fmt.Errorf("%s is neither a run folder, a spec file nor a preset (plateau presets lists them)", arg)
	}
	return readSpecFile(path)
}
