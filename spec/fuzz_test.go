package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse checks that no document makes Parse, Expand, Validate or
// Shapes panic, that what validates has a shape for every layer, and that
// an expanded valid spec survives a JSON round trip.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, name := range PresetNames() {
		s, err := Preset(name)
		if err != nil {
			f.Fatal(err)
		}
		b, err := Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		if s.Validate() != nil {
			s.Model.Shapes() // must not panic on invalid models either
			return
		}
		s.Expand()
		if err := s.Validate(); err != nil {
			t.Fatalf("valid spec is invalid once expanded: %v", err)
		}
		infos, err := s.Model.Shapes()
		if err != nil {
			t.Fatalf("Shapes of a valid spec: %v", err)
		}
		if len(infos) != len(s.Model.Layers) {
			t.Fatalf("Shapes gives %d layers for %d", len(infos), len(s.Model.Layers))
		}
		for _, l := range infos {
			if l.Shape == nil || l.Params < 0 || l.FLOPs < 0 {
				t.Fatalf("layer %s: shape %v, params %d, flops %d", l.Name, l.Shape, l.Params, l.FLOPs)
			}
		}
		b, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Marshal(s)): %v", err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip changed the spec:\n%s", b)
		}
	})
}
