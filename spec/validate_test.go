package spec

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// Layer positions in testdata/shorthand.json, as written (before Expand):
// 0 conv2d+relu, 1 maxpool, 2 conv2d+relu, 3 maxpool, 4 dense+relu,
// 5 dropout, 6 dense.
//
// Layer positions in testdata/residual.json: 0 stem, 1 batchnorm+relu (bn1),
// 2 a, 3 b, 4 proj, 5 add+elu (add1), 6 depthwise, 7 avgpool, 8 global
// pool, 9 dense.
func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name   string
		file   string // testdata spec to start from; shorthand.json when empty
		mutate func(s *Spec)
		want   []string // substrings of the error
	}{
		// Layers.
		{"unknown layer type", "", func(s *Spec) { s.Model.Layers[1].Type = "maxpooling" },
			[]string{"model.layers[1].type (maxpooling1)", `unknown layer type "maxpooling"`, `"maxpool"`}},
		{"kernel larger than input", "", func(s *Spec) {
			s.Model.Layers[0].Kernel = 29
			s.Model.Layers[0].Padding = Padding{Mode: PadValid}
		}, []string{`model.layers[0].kernel (conv1): kernel 29 is larger than the 28×28 input; use kernel ≤ 28 or padding "same"`}},
		{"kernel larger than padded input", "", func(s *Spec) {
			s.Model.Layers[0].Kernel = 31
			s.Model.Layers[0].Padding = Padding{Mode: PadExplicit, Size: 1}
		}, []string{"model.layers[0].kernel (conv1)", "padded by 1", "kernel ≤ 30"}},
		{"zero filters", "", func(s *Spec) { s.Model.Layers[0].Filters = 0 }, []string{"model.layers[0].filters (conv1)", "between 1 and"}},
		{"negative stride", "", func(s *Spec) { s.Model.Layers[2].Stride = -1 }, []string{"model.layers[2].stride (conv2)"}},
		{"negative padding", "", func(s *Spec) { s.Model.Layers[2].Padding = Padding{Mode: PadExplicit, Size: -1} }, []string{"model.layers[2].padding (conv2)", "≥ 0"}},
		{"padding not below kernel", "", func(s *Spec) { s.Model.Layers[2].Padding = Padding{Mode: PadExplicit, Size: 3} }, []string{"model.layers[2].padding (conv2)", "less than the kernel"}},
		{"unknown padding", "", func(s *Spec) { s.Model.Layers[1].Padding = Padding{Mode: "full"} }, []string{"model.layers[1].padding (pool1)", `unknown padding "full"`}},
		{"dropout rate 1", "", func(s *Spec) { s.Model.Layers[5].Rate = 1 }, []string{"model.layers[5].rate (dropout1)", "[0, 1)"}},
		{"dropout rate NaN", "", func(s *Spec) { s.Model.Layers[5].Rate = math.NaN() }, []string{"model.layers[5].rate (dropout1)"}},
		{"unknown activation", "", func(s *Spec) { s.Model.Layers[2].Activation = "relux" },
			[]string{`model.layers[2].activation (conv2): unknown activation "relux"`, `"leaky_relu"`}},
		{"activation that is not one", "", func(s *Spec) { s.Model.Layers[2].Activation = Dense }, []string{"model.layers[2].activation (conv2)"}},
		{"setting the type does not read", "", func(s *Spec) { s.Model.Layers[4].Kernel = 3 },
			[]string{"model.layers[4].kernel (dense1): dense does not use kernel (it uses units, use_bias, init)"}},
		{"unknown layer initializer", "", func(s *Spec) { s.Model.Layers[0].Init = "zeros" }, []string{"model.layers[0].init (conv1)", `"he_normal"`}},
		{"conv after dense", "", func(s *Spec) {
			s.Model.Layers = append(s.Model.Layers[:5], append([]Layer{{Type: Conv2D, Filters: 3}}, s.Model.Layers[5:]...)...)
		}, []string{"model.layers[5] (conv3)", "needs a (height, width, channels) input", "relu3 gives (128)"}},
		{"global pool on units", "", func(s *Spec) { s.Model.Layers[5] = Layer{Type: GlobalAvgPool} }, []string{"model.layers[5] (globalpool1)", "needs a (height, width, channels)"}},
		{"batchnorm momentum", "residual.json", func(s *Spec) { s.Model.Layers[1].Momentum = Float(1) }, []string{"model.layers[1].momentum (bn1)"}},
		{"batchnorm epsilon", "residual.json", func(s *Spec) { s.Model.Layers[1].Epsilon = -1 }, []string{"model.layers[1].epsilon (bn1)"}},
		{"leaky alpha", "", func(s *Spec) { s.Model.Layers[5] = Layer{Type: LeakyReLU, Alpha: Float(2)} }, []string{"model.layers[5].alpha (leaky_relu1)"}},
		{"depthwise channels", "residual.json", func(s *Spec) { s.Model.Layers[6].Multiplier = MaxChannels }, []string{"model.layers[6].multiplier (dwconv1)", "channels"}},

		// The graph.
		{"unknown input", "", func(s *Spec) { s.Model.Layers[3].Inputs = []string{"zzz"} }, []string{"model.layers[3].inputs (pool2)", `no layer is named "zzz"`}},
		{"later input", "", func(s *Spec) { s.Model.Layers[1].Inputs = []string{"dense2"} }, []string{"model.layers[1].inputs (pool1)", "not an earlier layer"}},
		{"add with different shapes", "residual.json", func(s *Spec) { s.Model.Layers[4].Stride = 1 },
			[]string{"model.layers[5].inputs (add1)", "equal shape", "b gives (16, 16, 32)", "proj gives (32, 32, 32)"}},
		{"add with one input", "residual.json", func(s *Spec) { s.Model.Layers[5].Inputs = []string{"b"} }, []string{"model.layers[5].inputs (add1)", "at least two"}},
		{"dense with two inputs", "residual.json", func(s *Spec) { s.Model.Layers[9].Inputs = []string{"b", "proj"} }, []string{"model.layers[9].inputs (dense1)", "only add"}},
		{"unused output", "residual.json", func(s *Spec) { s.Model.Layers[5].Inputs = []string{"b", "b"} }, []string{"model.layers[4] (proj)", "no layer reads"}},
		{"duplicate name", "residual.json", func(s *Spec) { s.Model.Layers[3].Name = "a" }, []string{"model.layers[3].name (a)", "already used by model.layers[2]"}},
		{"reserved name", "residual.json", func(s *Spec) { s.Model.Layers[3].Name = InputName }, []string{"model.layers[3].name (input)", "model input"}},
		{"name with a slash", "residual.json", func(s *Spec) { s.Model.Layers[3].Name = "b/1" }, []string{"model.layers[3].name (b/1)", "letters, digits"}},
		{"final layer not dense", "", func(s *Spec) { s.Model.Layers = append(s.Model.Layers, Layer{Type: Dropout, Rate: 0.1}) },
			[]string{"model.layers[7] (dropout2)", "final layer must be a dense layer with 10 units"}},
		{"final units differ from classes", "", func(s *Spec) { s.Model.Layers[6].Units = 5 }, []string{"model.layers[6].units (dense2)", "5 units but model.classes is 10"}},
		{"no layers", "", func(s *Spec) { s.Model.Layers = nil }, []string{"model.layers: the model has no layers"}},

		// The model.
		{"input of two numbers", "", func(s *Spec) { s.Model.Input = []int{28, 28} }, []string{"model.input", "[height, width, channels]"}},
		{"input of zeros", "", func(s *Spec) { s.Model.Input = []int{0, 28, 1} }, []string{"model.input", "between 1 and"}},
		{"one class", "", func(s *Spec) { s.Model.Classes = 1 }, []string{"model.classes", "between 2 and"}},
		{"unknown model initializer", "", func(s *Spec) { s.Model.Init = "ones" }, []string{"model.init", `unknown initializer "ones"`}},
		{"too many parameters", "", func(s *Spec) { s.Model.Layers[4].Units = MaxUnits }, []string{"model.layers: the model has 3.3G parameters; the limit is 100.0M", "dense1"}},
		{"too many activations", "", func(s *Spec) { s.Model.Layers[0].Filters = MaxChannels }, []string{"model.layers[0] (conv1): its output (28, 28, 65536)"}},

		// Training.
		{"unknown optimizer", "", func(s *Spec) { s.Train.Optimizer = "adagrad" }, []string{`train.optimizer: unknown optimizer "adagrad"; use "sgd", "adam", "adamw" or "rmsprop"`}},
		{"zero learning rate", "", func(s *Spec) { s.Train.LR = 0 }, []string{"train.lr", "positive"}},
		{"NaN learning rate", "", func(s *Spec) { s.Train.LR = math.NaN() }, []string{"train.lr"}},
		{"negative batch", "", func(s *Spec) { s.Train.BatchSize = -1 }, []string{"train.batch_size"}},
		{"negative epochs", "", func(s *Spec) { s.Train.Epochs = -3 }, []string{"train.epochs"}},
		{"momentum 1", "", func(s *Spec) { s.Train.Momentum = 1 }, []string{"train.momentum"}},
		{"nesterov with adam", "", func(s *Spec) { s.Train.Nesterov = true }, []string{"train.nesterov", "sgd"}},
		{"beta2 1", "", func(s *Spec) { s.Train.Beta2 = Float(1) }, []string{"train.beta2"}},
		{"unknown schedule", "", func(s *Spec) { s.Train.Schedule.Type = "warm" }, []string{"train.schedule.type", `"one_cycle"`}},
		{"step factor", "", func(s *Spec) { s.Train.Schedule = Schedule{Type: "step", Factor: 2} }, []string{"train.schedule.factor"}},
		{"step every", "", func(s *Spec) { s.Train.Schedule = Schedule{Type: "step", Every: -1} }, []string{"train.schedule.every"}},
		{"exponential gamma", "", func(s *Spec) { s.Train.Schedule = Schedule{Type: "exponential", Gamma: 1.5} }, []string{"train.schedule.gamma"}},
		{"one cycle below lr", "", func(s *Spec) { s.Train.Schedule = Schedule{Type: "one_cycle", MaxLR: 1e-4} }, []string{"train.schedule.max_lr", "at least train.lr"}},
		{"one cycle pct", "", func(s *Spec) { s.Train.Schedule = Schedule{Type: "one_cycle", PctStart: 1} }, []string{"train.schedule.pct_start"}},
		{"plateau without validation", "", func(s *Spec) {
			s.Train.Schedule = Schedule{Type: "reduce_on_plateau"}
			s.Data.Validation = 0
		}, []string{"train.schedule.type", "data.validation is 0"}},
		{"min lr above lr", "", func(s *Spec) { s.Train.Schedule = Schedule{Type: "cosine", MinLR: 1} }, []string{"train.schedule.min_lr"}},
		{"warmup longer than the run", "", func(s *Spec) { s.Train.Schedule.WarmupEpochs = 5 }, []string{"train.schedule.warmup_epochs", "5 epochs"}},
		{"negative l2", "", func(s *Spec) { s.Train.L2 = -1 }, []string{"train.l2"}},
		{"negative weight decay", "", func(s *Spec) { s.Train.WeightDecay = -1 }, []string{"train.weight_decay"}},
		{"negative clip", "", func(s *Spec) { s.Train.GradClip = -1 }, []string{"train.grad_clip"}},
		{"label smoothing 1", "", func(s *Spec) { s.Train.LabelSmoothing = 1 }, []string{"train.label_smoothing", "[0, 1)"}},
		{"negative patience", "", func(s *Spec) { s.Train.EarlyStopping.Patience = -1 }, []string{"train.early_stopping.patience"}},
		{"unknown monitor", "", func(s *Spec) { s.Train.EarlyStopping.Monitor = "accuracy" }, []string{"train.early_stopping.monitor", `"val_accuracy"`}},
		{"early stopping without validation", "", func(s *Spec) {
			s.Train.EarlyStopping.Patience = 3
			s.Data.Validation = 0
		}, []string{"train.early_stopping.patience", "data.validation is 0"}},
		{"negative log_every", "", func(s *Spec) { s.Train.LogEvery = -1 }, []string{"train.log_every"}},
		{"infinite val_check_seconds", "", func(s *Spec) { s.Train.ValCheckSeconds = math.Inf(1) }, []string{"train.val_check_seconds"}},
		{"val_check_seconds past a week", "", func(s *Spec) { s.Train.ValCheckSeconds = 1e300 }, []string{"train.val_check_seconds"}},
		{"val_check_seconds not a number", "", func(s *Spec) { s.Train.ValCheckSeconds = math.NaN() }, []string{"train.val_check_seconds"}},
		{"negative time limit", "", func(s *Spec) { s.Train.TimeLimitSeconds = -1 }, []string{"train.time_limit_seconds", "0 (no limit)"}},
		{"time limit not a number", "", func(s *Spec) { s.Train.TimeLimitSeconds = math.NaN() }, []string{"train.time_limit_seconds"}},
		{"time limit past a year", "", func(s *Spec) { s.Train.TimeLimitSeconds = 1e300 }, []string{"train.time_limit_seconds", "a year"}},

		// Data.
		{"unknown normalization", "", func(s *Spec) { s.Data.Normalization = "zscore" }, []string{"data.normalization", `"raw", "scale01" or "standardize"`}},
		{"validation above 0.9", "", func(s *Spec) { s.Data.Validation = 0.95 }, []string{"data.validation", "[0, 0.9]"}},
		{"negative validation", "", func(s *Spec) { s.Data.Validation = -0.1 }, []string{"data.validation"}},
		{"negative train limit", "", func(s *Spec) { s.Data.TrainLimit = -1 }, []string{"data.train_limit"}},
		{"image side 2", "", func(s *Spec) { s.Data.ImageSide = 2 }, []string{"data.image_side", "between 4 and 1024"}},
		{"image side 5000", "", func(s *Spec) { s.Data.ImageSide = 5000 }, []string{"data.image_side"}},
		{"imbalance above 1", "", func(s *Spec) { s.Data.Imbalance = 1.5 }, []string{"data.imbalance", "[0, 1]"}},
		{"label noise above 0.9", "", func(s *Spec) { s.Data.LabelNoise = 0.95 }, []string{"data.label_noise", "[0, 0.9]"}},
		{"negative label noise", "", func(s *Spec) { s.Data.LabelNoise = -0.1 }, []string{"data.label_noise", "[0, 0.9]"}},
		{"training fraction above 1", "", func(s *Spec) { s.Data.TrainFraction = 1.5 }, []string{"data.train_fraction", "[0, 1]"}},
		{"unknown balance", "", func(s *Spec) { s.Data.Balance = "undersample" }, []string{"data.balance", `"class_weights"`}},
		{"augment probability", "", func(s *Spec) { s.Data.Augment.FlipHorizontal.P = 1.5 }, []string{"data.augment.flip_horizontal.p", "[0, 1]"}},
		{"shift strength", "", func(s *Spec) { s.Data.Augment.Shift = Transform{P: 1, Strength: 0.9} }, []string{"data.augment.shift.strength", "[0, 0.5]"}},
		{"rotation strength", "", func(s *Spec) { s.Data.Augment.Rotation = Transform{P: 1, Strength: 200} }, []string{"data.augment.rotation.strength", "degrees"}},
		{"crop not whole", "", func(s *Spec) { s.Data.Augment.Crop = Transform{P: 1, Strength: 1.5} }, []string{"data.augment.crop.strength", "whole number"}},
		{"crop beyond half the side", "", func(s *Spec) { s.Data.Augment.Crop = Transform{P: 1, Strength: 20} }, []string{"data.augment.crop.strength", "[0, 14]"}},
		{"hue on gray images", "", func(s *Spec) { s.Data.Augment.Hue = Transform{P: 0.5} }, []string{"data.augment.hue.p", "1 channel"}},
		{"negative flip strength", "", func(s *Spec) { s.Data.Augment.FlipVertical = Transform{P: 0.5, Strength: -1} }, []string{"data.augment.flip_vertical.strength"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "shorthand.json"
			}
			s, err := Parse(readTestdata(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("the starting spec is invalid: %v", err)
			}
			tt.mutate(s)
			err = s.Validate()
			if err == nil {
				t.Fatal("Validate = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	s, err := Parse(readTestdata(t, "problems.json"))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Validate()
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Validate = %v, want Errors", err)
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Path)
	}
	want := []string{
		"model.layers[0].kernel", "model.layers[1].padding", "model.layers[2].filters", "model.layers[3].inputs",
		"model.layers[4].rate", "model.layers[5].type", "model.layers[5]", "train.optimizer", "train.lr", "train.epochs",
		"train.schedule.type", "data.normalization", "data.validation", "data.augment.shift.p",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths = %q\nwant %q", got, want)
	}
	if n := strings.Count(err.Error(), "\n"); n != len(want) {
		t.Errorf("message has %d lines after the first, want one per problem:\n%v", n, err)
	}
}

func TestValidateCountsExpandedLayersOnceExpanded(t *testing.T) {
	s, err := Preset("mnist-cnn")
	if err != nil {
		t.Fatal(err)
	}
	s.Model.Layers[8].Rate = 2
	err = s.Validate()
	if err == nil || !strings.Contains(err.Error(), "model.layers[8].rate (dropout1)") {
		t.Errorf("Validate = %v, want it to name model.layers[8].rate (dropout1)", err)
	}
}

func TestValidateLeavesTheSpecAlone(t *testing.T) {
	s, err := Parse(readTestdata(t, "shorthand.json"))
	if err != nil {
		t.Fatal(err)
	}
	before := s.Clone()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, before) {
		t.Error("Validate changed the spec")
	}
}

func TestModelValidate(t *testing.T) {
	s, err := Preset("convnetjs-cifar")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Model.Validate(); err != nil {
		t.Errorf("Model.Validate = %v, want nil", err)
	}
	s.Model.Classes = 0
	if err := s.Model.Validate(); err == nil || !strings.Contains(err.Error(), "model.classes") {
		t.Errorf("Model.Validate = %v, want a model.classes problem", err)
	}
}

func TestValidateBoundsLayersAndProblems(t *testing.T) {
	many := make([]Layer, MaxLayers+1)
	for i := range many {
		many[i] = Layer{Type: Dense, Units: 2}
	}
	s := Default()
	s.Model = Model{Input: []int{4, 4, 1}, Classes: 2, Layers: many}
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), "model.layers: the model has 1001 layers") {
		t.Errorf("Validate = %v, want a model.layers problem about 1001 layers", err)
	}

	bad := make([]Layer, 300)
	for i := range bad {
		bad[i] = Layer{Type: "nonsense"}
	}
	s.Model.Layers = bad
	var errs Errors
	if !errors.As(s.Validate(), &errs) {
		t.Fatal("Validate did not return Errors")
	}
	if got, want := len(errs), maxProblems+1; got != want {
		t.Errorf("%d problems listed, want %d", got, want)
	}
	if last := errs[len(errs)-1].Error(); !strings.HasPrefix(last, "… and ") {
		t.Errorf("last entry %q, want a count of the rest", last)
	}
}
