package train

import (
	"testing"

	"plateau/nn"
	"plateau/spec"
)

// A network whose class 1 reads the top-left 6×6 pixels of a 14×14
// image alone: hiding a patch there lowers its probability, hiding one
// elsewhere changes nothing, so the map lights the corner and only it.
func TestOcclusionMaps(t *testing.T) {
	m := spec.Model{Input: []int{14, 14, 1}, Classes: 2, Layers: []spec.Layer{{Type: spec.Flatten}, {Type: spec.Dense}}}
	net, err := nn.New(m, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range net.Params() {
		clear(p.Value)
		if len(p.Shape) == 2 { // the kernel, (inputs, classes)
			for y := range 6 {
				for x := range 6 {
					p.Value[(y*14+x)*2+1] = 0.1
				}
			}
		}
	}
	x := make([]float32, 2*14*14)
	for i := range x {
		x[i] = 1
	}
	got := OcclusionMaps(net, x, 2, []int{1, 0}, 14, 14, 1)
	for p, v := range got[:14*14] {
		y, xx := p/14, p%14
		if corner := y < 6 && xx < 6; corner != (v > 0) {
			t.Fatalf("pixel (%d, %d): %d; want light in the corner, dark elsewhere", y, xx, v)
		}
		if y < 6 && xx < 6 && v != 255 {
			t.Errorf("pixel (%d, %d): %d; every corner patch hides as much, want 255", y, xx, v)
		}
	}
	// Class 0's probability rises where class 1's falls: no fall, a
	// blank map.
	for p, v := range got[14*14:] {
		if v != 0 {
			t.Fatalf("class 0's map is %d at pixel %d, want 0", v, p)
		}
	}
}
