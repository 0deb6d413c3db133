package spec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseKeepsDefaultsForOmittedSettings(t *testing.T) {
	s, err := Parse(readTestdata(t, "shorthand.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Train.BatchSize, 64; got != want {
		t.Errorf("batch_size = %d, want %d", got, want)
	}
	if got, want := s.Train.Optimizer, "adam"; got != want {
		t.Errorf("optimizer = %q, want the default %q", got, want)
	}
	if got, want := s.Train.LR, 1e-3; got != want {
		t.Errorf("lr = %g, want the default %g", got, want)
	}
	if got, want := s.Data.Validation, 0.1; got != want {
		t.Errorf("validation = %g, want the default %g", got, want)
	}
	if got, want := s.Data.Dataset, "mnist"; got != want {
		t.Errorf("dataset = %q, want %q", got, want)
	}
}

func TestParseTestdataValidates(t *testing.T) {
	for _, name := range []string{"shorthand.json", "residual.json", "minimal.json", "schedules.json"} {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(readTestdata(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // substrings of the error
	}{
		{"unknown top-level field", `{"modle": {}}`, []string{`modle: unknown field "modle"`, `did you mean "model"?`, "model, train, data"}},
		{"unknown train field", `{"train": {"learning_rate": 0.1}}`, []string{"train.learning_rate", "lr"}},
		{"unknown layer field with its index", `{"model": {"layers": [{"type": "dense"}, {"type": "conv2d", "filter": 3}]}}`,
			[]string{"model.layers[1].filter", `did you mean "filters"?`}},
		{"unknown augment field", `{"data": {"augment": {"flip": {"p": 0.5}}}}`, []string{"data.augment.flip", "flip_horizontal"}},
		{"unknown transform field", `{"data": {"augment": {"shift": {"prob": 0.5}}}}`, []string{"data.augment.shift.prob", "p, strength"}},
		{"every unknown field at once", `{"train": {"lrr": 1, "epoch": 3}}`, []string{"train.epoch", "train.lrr"}},
		{"field with other capitals", `{"train": {"LR": 0.1}}`, []string{"train.LR", `did you mean "lr"?`}},
		{"wrong type names the field", `{"train": {"lr": "fast"}}`, []string{`train.lr: want a number, not "fast"`}},
		{"wrong type in a layer", `{"model": {"layers": [{"type": "conv2d", "filters": "many"}]}}`, []string{`model.layers[0].filters: want a whole number, not "many"`}},
		{"fraction for a count", `{"train": {"epochs": 2.5}}`, []string{"train.epochs: want a whole number, not 2.5"}},
		{"huge count", `{"train": {"epochs": 1e30}}`, []string{"train.epochs"}},
		{"huge number", `{"train": {"lr": 1e999}}`, []string{"train.lr: 1e999 is out of range"}},
		{"object for a list", `{"model": {"input": {"h": 28}}}`, []string{"model.input: want a list, not an object"}},
		{"every wrong kind at once", `{"train": {"lr": "x", "nesterov": 1}, "data": {"dataset": 3}}`,
			[]string{"train.lr", "train.nesterov: want true or false, not 1", "data.dataset: want a string, not 3"}},
		{"bad padding value", `{"model": {"layers": [{"type": "conv2d", "padding": true}]}}`, []string{"model.layers[0].padding", `"same", "valid"`}},
		{"fractional padding", `{"model": {"layers": [{"type": "conv2d", "padding": 1.5}]}}`, []string{"model.layers[0].padding"}},
		{"syntax error with line", "{\n  \"train\": {\"lr\": 0.1,}\n}", []string{"not valid JSON", "line 2"}},
		{"truncated", `{"train": {"lr": 0.1}`, []string{"ends too early"}},
		{"empty", ``, []string{"empty"}},
		{"not an object", `[1, 2]`, []string{"JSON object"}},
		{"trailing data", `{} {}`, []string{"after its closing brace"}},
		{"too large", `{"model": {"name": "` + strings.Repeat("x", MaxSize) + `"}}`, []string{"limit is"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseFieldErrorsAreErrors(t *testing.T) {
	_, err := Parse([]byte(`{"train": {"lrr": 1}}`))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T is not Errors", err)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "train.lrr" {
		t.Errorf("errors.As FieldError = %+v, want path train.lrr", fe)
	}
}

func TestPaddingJSON(t *testing.T) {
	tests := []struct {
		json string
		want Padding
		out  string // how it is written back
	}{
		{`"same"`, Padding{Mode: PadSame}, `"same"`},
		{`"valid"`, Padding{Mode: PadValid}, `"valid"`},
		{`2`, Padding{Mode: PadExplicit, Size: 2}, `2`},
		{`0`, Padding{Mode: PadExplicit, Size: 0}, `0`},
		{`"3"`, Padding{Mode: PadExplicit, Size: 3}, `3`},
		{`null`, Padding{}, `""`},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			var got Padding
			if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Unmarshal(%s) = %+v, want %+v", tt.json, got, tt.want)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.out {
				t.Errorf("Marshal(%+v) = %s, want %s", got, b, tt.out)
			}
		})
	}
	var p Padding
	if err := json.Unmarshal([]byte(`[1]`), &p); err == nil {
		t.Error("Unmarshal([1]) succeeded, want an error")
	}
}

func TestPaddingOmittedWhenUnset(t *testing.T) {
	b, err := json.Marshal(Layer{Type: Dense, Units: 3})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "padding") {
		t.Errorf("dense layer JSON %s carries padding", b)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, name := range []string{"shorthand.json", "residual.json", "schedules.json", "problems.json"} {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(readTestdata(t, name))
			if err != nil {
				t.Fatal(err)
			}
			s.Expand()
			b, err := Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse(Marshal(s)): %v\n%s", err, b)
			}
			if !reflect.DeepEqual(got, s) {
				t.Errorf("round trip changed the spec:\n got %+v\nwant %+v", got, s)
			}
		})
	}
}

func TestCloneIsDeep(t *testing.T) {
	s, err := Parse(readTestdata(t, "residual.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Clone()
	c.Model.Input[0] = 99
	c.Model.Layers[0].Name = "changed"
	*c.Model.Layers[0].UseBias = true
	c.Model.Layers[4].Inputs[0] = "changed"
	if s.Model.Input[0] == 99 || s.Model.Layers[0].Name == "changed" || s.Model.Layers[0].Bias() || s.Model.Layers[4].Inputs[0] == "changed" {
		t.Error("changing the clone changed the original")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 421642: "421,642", 1234567: "1,234,567", -1500: "-1,500", -999: "-999"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
