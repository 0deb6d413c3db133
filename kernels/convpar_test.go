package kernels

import (
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
)

// parallelConvShapes take the im2col and the Winograd path with several
// chunks and enough work to be split.
var parallelConvShapes = []struct {
	name string
	p    ConvParams
}{
	{"im2col", NewConvParams(13, 16, 16, 8, 5, 5, 16, 1, 1, 2, 2, 2, 2)},
	{"im2col strided", NewConvParams(32, 16, 16, 8, 3, 3, 16, 2, 2, 1, 1, 1, 1)},
	{"winograd", NewConvParams(11, 14, 14, 16, 3, 3, 32, 1, 1, 1, 1, 1, 1)},
}

type convResults struct{ y, dx, dw, db []float32 }

func runConvOnce(p ConvParams, x, w, bias, dy []float32) convResults {
	scratch := make([]float32, p.ScratchSize())
	res := convResults{
		y:  make([]float32, p.N*p.OH*p.OW*p.OC),
		dx: make([]float32, len(x)),
		dw: make([]float32, len(w)),
		db: make([]float32, p.OC),
	}
	Conv2D(res.y, x, w, bias, p, scratch)
	Conv2DGradInput(res.dx, dy, w, p, scratch)
	Conv2DGradFilter(res.dw, res.db, dy, x, p, scratch)
	return res
}

// TestConvParallelMatchesSerial checks that splitting a convolution's
// chunks across goroutines gives the serial forward pass and input
// gradient bit for bit, the filter gradient up to rounding, and the same
// bits twice in a row.
func TestConvParallelMatchesSerial(t *testing.T) {
	for _, tc := range parallelConvShapes {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			r := rand.New(rand.NewPCG(3, 4))
			x := randSlice(r, p.N*p.H*p.W*p.C, -1, 1)
			w := randSlice(r, p.KH*p.KW*p.C*p.OC, -1, 1)
			bias := randSlice(r, p.OC, -1, 1)
			dy := randSlice(r, p.N*p.OH*p.OW*p.OC, -1, 1)
			old := runtime.GOMAXPROCS(1)
			defer runtime.GOMAXPROCS(old)
			if p.convWantParts(p.winograd(), 4) < 2 {
				t.Fatalf("shape not split: %+v", p)
			}
			serial := runConvOnce(p, x, w, bias, dy)
			if runtime.GOMAXPROCS(4); runtime.GOMAXPROCS(0) < 2 {
				t.Skip("GOMAXPROCS is pinned to 1 (js/wasm)")
			}
			if got := p.convParts(p.winograd(), p.ScratchSize()); got < 2 {
				t.Fatalf("convParts = %d, want ≥ 2", got)
			}
			par := runConvOnce(p, x, w, bias, dy)
			again := runConvOnce(p, x, w, bias, dy)
			if !slices.Equal(par.y, serial.y) {
				t.Error("parallel Conv2D differs from serial")
			}
			if !slices.Equal(par.dx, serial.dx) {
				t.Error("parallel Conv2DGradInput differs from serial")
			}
			if !slices.Equal(par.db, serial.db) {
				t.Error("parallel bias gradient differs from serial")
			}
			for i := range par.dw {
				if d := math.Abs(float64(par.dw[i] - serial.dw[i])); d > 1e-4*(1+math.Abs(float64(serial.dw[i]))) {
					t.Fatalf("dw[%d] = %v parallel, %v serial", i, par.dw[i], serial.dw[i])
				}
			}
			if !slices.Equal(par.y, again.y) || !slices.Equal(par.dx, again.dx) || !slices.Equal(par.dw, again.dw) {
				t.Error("two parallel runs differ")
			}
		})
	}
}

// TestConvScratchSizeThreads checks that ScratchSize is the one-thread size
// with GOMAXPROCS 1 and grows with threads, and that scratch sized for one
// thread still serves a call made with more.
func TestConvScratchSizeThreads(t *testing.T) {
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	for _, tc := range parallelConvShapes {
		p := tc.p
		one := p.ScratchSize()
		if one != p.minScratch() {
			t.Errorf("%s: ScratchSize with 1 thread = %d, want %d", tc.name, one, p.minScratch())
		}
		if runtime.GOMAXPROCS(2); runtime.GOMAXPROCS(0) < 2 {
			t.Skip("GOMAXPROCS is pinned to 1 (js/wasm)")
		}
		if two := p.ScratchSize(); two <= one {
			t.Errorf("%s: ScratchSize with 2 threads = %d, not above %d", tc.name, two, one)
		}
		if got := p.convParts(p.winograd(), one); got != 1 {
			t.Errorf("%s: one-thread scratch runs %d ranges", tc.name, got)
		}
		y := make([]float32, p.N*p.OH*p.OW*p.OC)
		Conv2D(y, make([]float32, p.N*p.H*p.W*p.C), make([]float32, p.KH*p.KW*p.C*p.OC), nil, p, make([]float32, one))
		runtime.GOMAXPROCS(1)
	}
}

// TestConvParallelDoesNotAllocate covers the parallel convolution path,
// which testing.AllocsPerRun cannot see since it pins GOMAXPROCS to 1.
func TestConvParallelDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.GC()
	for _, tc := range parallelConvShapes {
		p := tc.p
		r := rand.New(rand.NewPCG(1, 2))
		x := randSlice(r, p.N*p.H*p.W*p.C, -1, 1)
		w := randSlice(r, p.KH*p.KW*p.C*p.OC, -1, 1)
		dy := randSlice(r, p.N*p.OH*p.OW*p.OC, -1, 1)
		y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, p.OC)
		scratch := make([]float32, p.ScratchSize())
		run := func() {
			Conv2D(y, x, w, db, p, scratch)
			Conv2DGradInput(dx, dy, w, p, scratch)
			Conv2DGradFilter(dw, db, dy, x, p, scratch)
		}
		for range 5 {
			run()
		}
		const runs = 20
		if got, bytes := parallelAllocs(runs, run); got > runs/10 {
			t.Errorf("%s: %d allocations (%d bytes) in %d parallel calls, want 0",
				tc.name, got, bytes, runs)
		}
	}
}
