package kernels

import (
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
)

// splitEverything makes every loop of parallel.go split across four
// threads however short it is, until the test ends. It skips the test
// where GOMAXPROCS is pinned to 1 (js/wasm).
func splitEverything(t *testing.T) {
	t.Helper()
	old := runtime.GOMAXPROCS(4)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("GOMAXPROCS is pinned to 1 (js/wasm)")
	}
	oldMin := partMinElements
	partMinElements = 1
	t.Cleanup(func() { partMinElements = oldMin })
}

// opOutputs runs an op's forward and backward kernels once from fixed
// gradients and returns what they wrote.
func opOutputs(o op, s shape) [][]float32 {
	run := o.build(rand.New(rand.NewPCG(7, 8)), s)
	y := make([]float32, run.out)
	run.forward(y)
	out := [][]float32{y}
	if run.backward == nil {
		return out
	}
	r := rand.New(rand.NewPCG(9, 10))
	dy := randSlice(r, run.out, -1, 1)
	grads := make([][]float32, len(run.inputs))
	for i, in := range run.inputs {
		grads[i] = randSlice(r, len(in.data), -1, 1) // parameter gradients accumulate
	}
	run.backward(grads, dy)
	return append(out, grads...)
}

// TestOpsSplitMatchSerial checks that splitting a loop across threads
// changes no bit of any op's output at the table's check shapes (which
// are too small for a convolution to split; TestConvParallelMatchesSerial
// covers those).
func TestOpsSplitMatchSerial(t *testing.T) {
	for _, o := range ops {
		for _, s := range o.checks {
			t.Run(o.name+"/"+s.String(), func(t *testing.T) {
				old := runtime.GOMAXPROCS(1)
				serial := opOutputs(o, s)
				runtime.GOMAXPROCS(old)
				splitEverything(t)
				split := opOutputs(o, s)
				for i := range serial {
					if !slices.EqualFunc(serial[i], split[i], sameBits) {
						t.Errorf("output %d differs when split", i)
					}
				}
			})
		}
	}
}

func sameBits(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

// TestSplitBounds checks that the parts of runParts cover [0, n) exactly
// once, at the alignment asked for, with and without threads.
func TestSplitBounds(t *testing.T) {
	for _, tc := range []struct{ n, align int }{{37, 16}, {5, 1}, {1, 1}, {16, 16}, {1000, 16}, {3, 2}} {
		for _, split := range []bool{false, true} {
			t.Run("", func(t *testing.T) {
				if split {
					splitEverything(t)
				}
				// AddTo over n elements adds one to each: every element
				// covered exactly once ends at 1.
				y, ones := make([]float32, tc.n), make([]float32, tc.n)
				for i := range ones {
					ones[i] = 1
				}
				runParts(&partTask{op: partAddTo, dst: y, a: ones}, tc.n, 1, tc.align)
				for i, v := range y {
					if v != 1 {
						t.Fatalf("n=%d align=%d split=%v: element %d = %v, want 1", tc.n, tc.align, split, i, v)
					}
				}
			})
		}
	}
}

// TestOpsSplitDoNotAllocate covers the split loops, which
// testing.AllocsPerRun cannot see since it pins GOMAXPROCS to 1.
func TestOpsSplitDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	splitEverything(t)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.GC()
	for _, o := range ops {
		s := o.checks[0]
		run := o.build(rand.New(rand.NewPCG(5, 6)), s)
		y, dy := make([]float32, run.out), make([]float32, run.out)
		grads := make([][]float32, len(run.inputs))
		for i, in := range run.inputs {
			grads[i] = make([]float32, len(in.data))
		}
		step := func() {
			run.forward(y)
			if run.backward != nil {
				run.backward(grads, dy)
			}
		}
		for range 5 {
			step()
		}
		const runs = 20
		got, bytes := parallelAllocs(runs, step)
		if got > runs/10 {
			t.Errorf("%s/%s: %d allocations (%d bytes) in %d split calls, want 0", o.name, s, got, bytes, runs)
		}
	}
}

// parallelAllocs returns the allocations (count and bytes) of runs calls of
// f, the fewest of eight tries. The runtime allocates now and then on its
// own while goroutines park and wake, more often on a busy machine (an
// entry of a wait queue, a thread for an idle P; three in twenty calls
// when the end-to-end tests ran beside these); a kernel that allocated
// would do it on every call of every try.
func parallelAllocs(runs int, f func()) (allocs, bytes uint64) {
	for try := range 8 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			f()
		}
		runtime.ReadMemStats(&after)
		n, b := after.Mallocs-before.Mallocs, after.TotalAlloc-before.TotalAlloc
		if try == 0 || n < allocs {
			allocs, bytes = n, b
		}
		if allocs == 0 {
			break
		}
	}
	return allocs, bytes
}
