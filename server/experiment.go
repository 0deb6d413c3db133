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
	"strings"
	"time"
	"unicode/utf8"

	"plateau/doctor"
	"plateau/spec"
	"plateau/train"
)

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
	TestImages    int               `json:"test_images"`
	MinRecall     float64           `json:"min_class_recall"`
	Seconds       float64           `json:"seconds"`
	Diagnoses     []train.Diagnosis `json:"diagnoses"`
}

func experimentCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "list" || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stdout, "experiments (plateau experiment NAME -dataset D [-preset P] [-epochs N] [-train-limit N] [-set ...]):")
		for _, e := range spec.Experiments {
			fmt.Fprintf(stdout, "  %-15s %s\n", e.Name, e.Claim)
			for _, v := range e.Variants {
				what := strings.Join(v.Sets, " ")
				if v.Note != "" {
					what = strings.TrimSpace(what + " (" + v.Note + ")")
				}
				fmt.Fprintf(stdout, "      %-22s %s\n", v.Name, what)
			}
		}
		if len(args) == 0 {
			return usagef("name an experiment")
		}
		return nil
	}
	exp, ok := spec.FindExperiment(args[0])
	if !ok {
		return usagef("unknown experiment %q (plateau experiment list)", args[0])
	}
	fs := flag.NewFlagSet("experiment "+exp.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	rf := addRunFlags(fs)
	jsonOut := fs.Bool("json", false, "print one JSON object per variant")
	backend := fs.String("backend", "native", "where the variants train: native, xla[:PLUGIN_PATH] or auto (as plateau train -backend)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	trainer, note, err := chooseTrainer(*backend, func(string, ...any) {})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(stderr, "experiment %s: %s\n", exp.Name, exp.Claim)
	if note != "" {
		fmt.Fprintf(stderr, "backend auto: %s\n", note)
	} else if trainer.Name() != "native" {
		fmt.Fprintf(stderr, "backend %s\n", trainer.Name())
	}
	var rows []experimentRow
	for _, v := range exp.Variants {
		s, err := rf.spec(v.Sets...)
		if err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
		ds, err := rf.load(s)
		if err != nil {
			return err
		}
		if err := fitInput(s, ds, *rf.specFile, rf.scale.options(), append(append([]string(nil), rf.sets...), v.Sets...)); err != nil {
			return err
		}
		v.ApplyEdits(s)
		s.Expand()
		if err := s.Validate(); err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
		begin := time.Now()
		bar := newProgressBar(stderr)
		bar.limit = s.Train.TimeLimitSeconds
		bar.line("— %s", v.Name)
		res, err := trainer.Train(ctx, train.Config{Spec: s, Dataset: ds, Emit: bar.report, Doctor: doctor.New(s).Observe})
		if err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
		row := experimentRow{Experiment: exp.Name, Variant: v.Name, Epochs: res.Final.Epochs, Stopped: res.Final.Stopped,
			TrainAccuracy: math.NaN(), ValAccuracy: math.NaN(), BestVal: math.NaN(), TestAccuracy: res.Final.TestAccuracy, TestImages: ds.Test.Len(),
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

func printExperiment(w io.Writer, exp spec.Experiment, rows []experimentRow) {
	fmt.Fprintf(w, "%s: %s\n", exp.Name, exp.Claim)
	width := 22
	for _, r := range rows {
		width = max(width, utf8.RuneCountInString(r.Variant))
	}
	fmt.Fprintf(w, "%-*s %6s %7s %7s %8s %7s %10s %7s  %s\n", width, "variant", "epochs", "train", "val", "best val", "test", "min recall", "seconds", "doctor")
	for _, r := range rows {
		top := "healthy"
		if len(r.Diagnoses) > 0 {
			top = fmt.Sprintf("%s %.2f", r.Diagnoses[0].Cause, r.Diagnoses[0].Confidence)
		}
		if r.Stopped != train.StoppedCompleted {
			top = r.Stopped + "; " + top
		}
		// Tenths of a second for short runs, which would all read 0.
		secs := fmt.Sprintf("%.0f", r.Seconds)
		if r.Seconds < 10 {
			secs = fmt.Sprintf("%.1f", r.Seconds)
		}
		fmt.Fprintf(w, "%-*s %6d %7s %7s %8s %7s %10s %7s  %s\n", width, r.Variant, r.Epochs, pct(r.TrainAccuracy), pct(r.ValAccuracy), pct(r.BestVal),
			pct(r.TestAccuracy), pct(r.MinRecall), secs, top)
	}
	if len(rows) == len(exp.Variants) {
		test := make([]float64, len(rows))
		learning := make([]string, len(rows))
		for i, r := range rows {
			test[i] = r.TestAccuracy
			var causes []string
			for _, d := range r.Diagnoses {
				causes = append(causes, d.Cause)
			}
			learning[i] = spec.StillLearning(causes)
		}
		if reading := exp.Reading(test, rows[len(rows)-1].TestImages, learning); reading != "" {
			fmt.Fprintln(w, reading)
		}
	}
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}
