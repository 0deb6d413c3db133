package spec

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestSet(t *testing.T) {
	tests := []struct {
		path, value string
		check       func(s *Spec) bool
	}{
		{"train.lr", "0.01", func(s *Spec) bool { return s.Train.LR == 0.01 }},
		{"train.optimizer", "sgd", func(s *Spec) bool { return s.Train.Optimizer == "sgd" }},
		{"train.optimizer", `"rmsprop"`, func(s *Spec) bool { return s.Train.Optimizer == "rmsprop" }},
		{"train.nesterov", "true", func(s *Spec) bool { return s.Train.Nesterov }},
		{"train.seed", "-3", func(s *Spec) bool { return s.Train.Seed == -3 }},
		{"train.schedule.type", "step", func(s *Spec) bool { return s.Train.Schedule.Type == "step" }},
		{"train.early_stopping.patience", "3", func(s *Spec) bool { return s.Train.EarlyStopping.Patience == 3 }},
		{"data.normalization", "raw", func(s *Spec) bool { return s.Data.Normalization == "raw" }},
		{"data.dataset", "123", func(s *Spec) bool { return s.Data.Dataset == "123" }},
		{"data.augment.flip_horizontal.p", "0.5", func(s *Spec) bool { return s.Data.Augment.FlipHorizontal.P == 0.5 }},
		{"data.augment", `{"crop": {"p": 1, "strength": 2}}`, func(s *Spec) bool { return s.Data.Augment.Crop == Transform{P: 1, Strength: 2} }},
		{"model.input", "[32,32,3]", func(s *Spec) bool { return reflect.DeepEqual(s.Model.Input, []int{32, 32, 3}) }},
		{"model.input[2]", "3", func(s *Spec) bool { return reflect.DeepEqual(s.Model.Input, []int{28, 28, 3}) }},
		{"model.layers[2].filters", "64", func(s *Spec) bool { return s.Model.Layers[2].Filters == 64 }},
		{"model.layers.2.filters", "48", func(s *Spec) bool { return s.Model.Layers[2].Filters == 48 }},
		{"model.layers[0].padding", "valid", func(s *Spec) bool { return s.Model.Layers[0].Padding == Padding{Mode: PadValid} }},
		{"model.layers[0].padding", "1", func(s *Spec) bool { return s.Model.Layers[0].Padding == Padding{Mode: PadExplicit, Size: 1} }},
		{"model.layers[0].use_bias", "false", func(s *Spec) bool { return !s.Model.Layers[0].Bias() }},
		{"model.layers[1]", `{"type": "avgpool"}`, func(s *Spec) bool { return reflect.DeepEqual(s.Model.Layers[1], Layer{Type: AvgPool}) }},
	}
	for _, tt := range tests {
		t.Run(tt.path+"="+tt.value, func(t *testing.T) {
			s, err := Parse(readTestdata(t, "shorthand.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Set(tt.path, tt.value); err != nil {
				t.Fatal(err)
			}
			if !tt.check(s) {
				t.Errorf("after Set(%q, %q) the spec is %+v", tt.path, tt.value, s)
			}
		})
	}
}

func TestSetLeavesOtherSettingsAlone(t *testing.T) {
	s, err := Preset("resnet-small")
	if err != nil {
		t.Fatal(err)
	}
	want := s.Clone()
	want.Train.LR = 0.02
	if err := s.Set("train.lr", "0.02"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, want) {
		t.Error("Set changed more than train.lr")
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		path, value string
		want        []string
	}{
		{"train.lrr", "0.1", []string{"train.lrr", `did you mean "lr"?`, "optimizer, lr, momentum"}},
		{"trian.lr", "0.1", []string{"trian", `did you mean "train"?`}},
		{"train.lr", "fast", []string{"train.lr", "want a number", `"fast"`}},
		{"train.epochs", "2.5", []string{"train.epochs", "whole number"}},
		{"train.epochs", "0", []string{"train.epochs", "epochs 0 must be between 1 and"}},
		{"train.batch_size", "0", []string{"train.batch_size", "batch size 0 must be between 1 and"}},
		{"train.lr.x", "1", []string{"train.lr.x", "single setting"}},
		{"model.layers[9].filters", "3", []string{"model.layers[9]", "7 items", "out of range"}},
		{"model.layers[0].filter", "3", []string{"model.layers[0].filter", `did you mean "filters"?`}},
		{"train[0]", "3", []string{"train[0]", "not a list"}},
		{"data.augment", `{"flip": {"p": 1}}`, []string{"data.augment.flip", "flip_horizontal"}},
		{"", "3", []string{"a path names fields"}},
		{"train..lr", "3", []string{"a path names fields"}},
		{"model.layers[x]", "3", []string{"a path names fields"}},
	}
	for _, tt := range tests {
		t.Run(tt.path+"="+tt.value, func(t *testing.T) {
			s, err := Parse(readTestdata(t, "shorthand.json"))
			if err != nil {
				t.Fatal(err)
			}
			before := s.Clone()
			err = s.Set(tt.path, tt.value)
			if err == nil {
				t.Fatal("Set succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !reflect.DeepEqual(s, before) {
				t.Error("a failed Set changed the spec")
			}
		})
	}
}

// A range test's suggestion is train.lr for a schedule that starts at its
// peak, and one-cycle's peak otherwise: a tenth of the lowest loss's rate,
// never below the suggestion; RateSets applies it with the start scaled.
func TestRangeTestRate(t *testing.T) {
	constant, err := Preset("mnist-cnn", PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cycle, err := Preset("fashion-fast", PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s                  *Spec
		suggested, minLoss float64
		want               float64
		sets               string
	}{
		{constant, 0.00187, 0.142, 0.0019, "[train.lr=0.0019]"},
		{cycle, 0.00187, 0.142, 0.014, "[train.lr=0.0007 train.schedule.max_lr=0.014]"},
		{cycle, 0.03, 0.1, 0.03, "[train.lr=0.0015 train.schedule.max_lr=0.03]"},
	} {
		got := c.s.RangeTestRate(c.suggested, c.minLoss)
		if got != c.want {
			t.Errorf("%s: rate %g, want %g", c.s.Model.Name, got, c.want)
		}
		if sets := fmt.Sprint(c.s.RateSets(got / c.s.PeakLR())); sets != c.sets {
			t.Errorf("%s: %s, want %s", c.s.Model.Name, sets, c.sets)
		}
	}
}
