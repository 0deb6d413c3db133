package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"plateau/doctor"
	"plateau/spec"
	"plateau/train"
)

// experiment is one item of the troubleshooting checklist as runs that
// differ in that item alone.
type experiment struct {
	name, claim string
	variants    []variant
}

// variant is one arm of an experiment: -set pairs applied to the base
// spec, and for model changes that -set cannot say briefly, an edit.
type variant struct {
	name string
	sets []string
	edit func(s *spec.Spec)
	note string // what edit does, for the listing
}

var experiments = []experiment{
	{"normalization", "inputs scaled to [0,1] train faster and more stably than raw 0–255 pixels", []variant{
		{name: "raw", sets: []string{"data.normalization=raw"}},
		{name: "scale01", sets: []string{"data.normalization=scale01"}},
	}},
	{"augmentation", "flip/crop/jitter narrows the train–validation gap; excessive rotation hurts", []variant{
		{name: "none", sets: []string{"data.augment={}"}},
		{name: "flip+crop+jitter", sets: []string{"data.augment={}", "data.augment.flip_horizontal.p=0.5", "data.augment.crop.p=0.5", "data.augment.crop.strength=2",
			"data.augment.brightness.p=0.5", "data.augment.brightness.strength=0.1", "data.augment.contrast.p=0.5", "data.augment.contrast.strength=0.1"}},
		{name: "rotation 180", sets: []string{"data.augment={}", "data.augment.rotation.p=1", "data.augment.rotation.strength=180"}},
	}},
	{"schedule", "step decay (×0.1 every 5 epochs) or one-cycle beat a constant rate", []variant{
		{name: "constant", sets: []string{"train.schedule={\"type\":\"constant\"}"}},
		{name: "step ×0.1/5", sets: []string{"train.schedule={\"type\":\"step\",\"factor\":0.1,\"every\":5}"}},
		{name: "one_cycle", sets: []string{"train.schedule={\"type\":\"one_cycle\"}"}},
	}},
	{"optimizer", "Adam converges fastest out of the box; SGD+momentum catches up with tuning; RMSprop in between", []variant{
		{name: "adam 1e-3", sets: []string{"train.optimizer=adam", "train.lr=0.001"}},
		{name: "sgd+momentum 0.01", sets: []string{"train.optimizer=sgd", "train.lr=0.01", "train.momentum=0.9"}},
		{name: "rmsprop 1e-3", sets: []string{"train.optimizer=rmsprop", "train.lr=0.001"}},
	}},
	{"regularization", "dropout, L2 and early stopping each narrow the gap of an overfitting run", []variant{
		{name: "none", edit: withoutDropout, note: "dropout layers removed"},
		{name: "dropout 0.5", edit: withDropout(0.5), note: "dropout 0.5 before the last dense layer"},
		{name: "l2 5e-4", sets: []string{"train.l2=0.0005"}, edit: withoutDropout, note: "dropout layers removed"},
		{name: "early stopping", sets: []string{"train.early_stopping={\"patience\":3,\"restore_best\":true}"}, edit: withoutDropout, note: "dropout layers removed"},
	}},
	{"imbalance", "with 10:1 imbalance, oversampling or class weights restore the rare classes' recall", []variant{
		{name: "none", sets: []string{"data.imbalance=0.1", "data.balance=none"}},
		{name: "oversample", sets: []string{"data.imbalance=0.1", "data.balance=oversample"}},
		{name: "class_weights", sets: []string{"data.imbalance=0.1", "data.balance=class_weights"}},
	}},
	{"depth", "a too-deep plain net trains badly; batch norm or fewer layers fix it", []variant{
		{name: "deep plain (10 conv)", edit: deepNet(10, false), note: "10 conv layers of 16 filters, relu, no batch norm"},
		{name: "deep + batch norm", edit: deepNet(10, true), note: "the same with batchnorm after every conv"},
		{name: "shallow (2 conv)", edit: deepNet(2, false), note: "2 conv layers"},
	}},
	{"batch", "batch 64 balances speed and generalization; 8 is slow and noisy, 512 takes too few steps", []variant{
		{name: "batch 8", sets: []string{"train.batch_size=8"}},
		{name: "batch 64", sets: []string{"train.batch_size=64"}},
		{name: "batch 512", sets: []string{"train.batch_size=512"}},
	}},
}

func withoutDropout(s *spec.Spec) {
	s.Model.Layers = slices.DeleteFunc(s.Model.Layers, func(l spec.Layer) bool { return l.Type == spec.Dropout })
}

func withDropout(rate float64) func(*spec.Spec) {
	return func(s *spec.Spec) {
		withoutDropout(s)
		last := len(s.Model.Layers) - 1
		s.Model.Layers = slices.Insert(s.Model.Layers, last, spec.Layer{Type: spec.Dropout, Rate: rate})
	}
}

// deepNet replaces the model with depth 3×3 conv layers of 16 filters,
// max pooling after every depth/3 of them (at most three times), and the
// output layer on the flattened features (global average pooling would
// leave a shallow stack no way to tell where a pattern is).
func deepNet(depth int, batchNorm bool) func(*spec.Spec) {
	return func(s *spec.Spec) {
		var layers []spec.Layer
		pools, every := 0, max(1, depth/3)
		for i := range depth {
			layers = append(layers, spec.Layer{Type: spec.Conv2D, Filters: 16, Kernel: 3})
			if batchNorm {
				layers = append(layers, spec.Layer{Type: spec.BatchNorm})
			}
			layers = append(layers, spec.Layer{Type: spec.ReLU})
			if (i+1)%every == 0 && pools < 3 {
				layers = append(layers, spec.Layer{Type: spec.MaxPool, Kernel: 2})
				pools++
			}
		}
		layers = append(layers, spec.Layer{Type: spec.Flatten}, spec.Layer{Type: spec.Dense, Units: s.Model.Classes})
		s.Model.Layers = layers
	}
}

// experimentRow is one variant's outcome.
type experimentRow struct {
	Experiment    string            `json:"experiment"`
	Variant       string            `json:"variant"`
	Epochs        int               `json:"epochs"`
	Stopped       string            `json:"stopped"`
	TrainAccuracy float64           `json:"train_accuracy"`
	ValAccuracy   float64           `json:"val_accuracy"`
	BestVal       float64           `json:"best_val_accuracy"`
	TestAccuracy  float64           `json:"test_accuracy"`
	MinRecall     float64           `json:"min_class_recall"`
	Seconds       float64           `json:"seconds"`
	Diagnoses     []train.Diagnosis `json:"diagnoses"`
}

func experimentCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "list" || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stdout, "experiments (plateau experiment NAME -dataset D [-preset P] [-epochs N] [-train-limit N] [-set ...]):")
		for _, e := range experiments {
			fmt.Fprintf(stdout, "  %-15s %s\n", e.name, e.claim)
			for _, v := range e.variants {
				what := strings.Join(v.sets, " ")
				if v.note != "" {
					what = strings.TrimSpace(what + " (" + v.note + ")")
				}
				fmt.Fprintf(stdout, "      %-22s %s\n", v.name, what)
			}
		}
		if len(args) == 0 {
			return usagef("name an experiment")
		}
		return nil
	}
	i := slices.IndexFunc(experiments, func(e experiment) bool { return e.name == args[0] })
	if i < 0 {
		return usagef("unknown experiment %q (plateau experiment list)", args[0])
	}
	exp := experiments[i]
	fs := flag.NewFlagSet("experiment "+exp.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	rf := addRunFlags(fs)
	jsonOut := fs.Bool("json", false, "print one JSON object per variant")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(stderr, "experiment %s: %s\n", exp.name, exp.claim)
	var rows []experimentRow
	for _, v := range exp.variants {
		s, err := rf.spec(v.sets...)
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		ds, err := rf.load(s)
		if err != nil {
			return err
		}
		if err := fitInput(s, ds, *rf.preset, *rf.specFile); err != nil {
			return err
		}
		if v.edit != nil {
			s.Model.Expand() // name layers before editing, so edits see the final list
			v.edit(s)
			for i := range s.Model.Layers {
				s.Model.Layers[i].Name = ""
			}
		}
		s.Expand()
		if err := s.Validate(); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		begin := time.Now()
		bar := newProgressBar(stderr)
		bar.line("— %s", v.name)
		res, err := train.Run(ctx, train.Config{Spec: s, Dataset: ds, Emit: bar.report, Doctor: doctor.New(s).Observe})
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		row := experimentRow{Experiment: exp.name, Variant: v.name, Epochs: res.Final.Epochs, Stopped: res.Final.Stopped,
			TrainAccuracy: math.NaN(), ValAccuracy: math.NaN(), BestVal: math.NaN(), TestAccuracy: res.Final.TestAccuracy,
			MinRecall: math.NaN(), Seconds: time.Since(begin).Seconds(), Diagnoses: res.Final.Diagnoses}
		for _, e := range res.History {
			row.TrainAccuracy, row.ValAccuracy = e.TrainAccuracy, e.ValAccuracy
			if !(row.BestVal >= e.ValAccuracy) {
				row.BestVal = e.ValAccuracy
			}
		}
		for _, r := range res.Final.PerClassAccuracy {
			if !(row.MinRecall <= r) {
				row.MinRecall = r
			}
		}
		rows = append(rows, row)
		if *jsonOut {
			b, _ := json.Marshal(jsonSafe(row))
			fmt.Fprintf(stdout, "%s\n", b)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if !*jsonOut {
		printExperiment(stdout, exp, rows)
	}
	return nil
}

// jsonSafe replaces NaN, which JSON cannot hold, by -1.
func jsonSafe(r experimentRow) experimentRow {
	for _, f := range []*float64{&r.TrainAccuracy, &r.ValAccuracy, &r.BestVal, &r.TestAccuracy, &r.MinRecall} {
		if math.IsNaN(*f) || math.IsInf(*f, 0) {
			*f = -1
		}
	}
	return r
}

func printExperiment(w io.Writer, exp experiment, rows []experimentRow) {
	fmt.Fprintf(w, "%s: %s\n", exp.name, exp.claim)
	fmt.Fprintf(w, "%-22s %6s %7s %7s %8s %7s %10s %7s  %s\n", "variant", "epochs", "train", "val", "best val", "test", "min recall", "seconds", "doctor")
	for _, r := range rows {
		top := "healthy"
		if len(r.Diagnoses) > 0 {
			top = fmt.Sprintf("%s %.2f", r.Diagnoses[0].Cause, r.Diagnoses[0].Confidence)
		}
		if r.Stopped != train.StoppedCompleted {
			top = r.Stopped + "; " + top
		}
		fmt.Fprintf(w, "%-22s %6d %7s %7s %8s %7s %10s %7.0f  %s\n", r.Variant, r.Epochs, pct(r.TrainAccuracy), pct(r.ValAccuracy), pct(r.BestVal),
			pct(r.TestAccuracy), pct(r.MinRecall), r.Seconds, top)
	}
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}
