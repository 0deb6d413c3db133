package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestGemmMatchesReference covers what the op table does not: alpha, beta,
// leading dimensions wider than the rows (whose gaps must stay untouched),
// and sizes on both sides of every block edge.
func TestGemmMatchesReference(t *testing.T) {
	type gemmCase struct {
		m, n, k        int
		transA, transB bool
		alpha, beta    float32
		pad            int // extra elements per row of A, B and C
	}
	var cases []gemmCase
	sizes := [][3]int{
		{1, 1, 1}, {Mr - 1, Nr - 1, 1}, {Mr*2 + 1, Nr*2 + 1, Kc + 5}, {Mc + 1, Nr*3 + 2, 2*Kc + 3},
		{3, Nc*2 + 5, 4}, {2*Mc + 3, 7, Kc - 1}, {5, 6, 0}, {0, 4, 3},
	}
	if testing.Short() {
		sizes[4] = [3]int{3, Nc + 5, 2}
	}
	for _, s := range sizes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				cases = append(cases, gemmCase{s[0], s[1], s[2], ta, tb, 1, 0, 0})
			}
		}
		cases = append(cases,
			gemmCase{s[0], s[1], s[2], false, false, 0.5, 1, 3},
			gemmCase{s[0], s[1], s[2], true, false, -2, 0.25, 1},
			gemmCase{s[0], s[1], s[2], false, true, 1, -1, 2},
			gemmCase{s[0], s[1], s[2], true, true, 0, 0.5, 1},
		)
	}
	for _, tc := range cases {
		name := fmt.Sprintf("M=%d,N=%d,K=%d,transA=%v,transB=%v,alpha=%g,beta=%g,pad=%d",
			tc.m, tc.n, tc.k, tc.transA, tc.transB, tc.alpha, tc.beta, tc.pad)
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.m), uint64(tc.n*1000+tc.k)))
			rowsA, colsA := tc.m, tc.k
			if tc.transA {
				rowsA, colsA = tc.k, tc.m
			}
			rowsB, colsB := tc.k, tc.n
			if tc.transB {
				rowsB, colsB = tc.n, tc.k
			}
			lda, ldb, ldc := max(colsA, 1)+tc.pad, max(colsB, 1)+tc.pad, max(tc.n, 1)+tc.pad
			a := randSlice(r, rowsA*lda, -1, 1)
			b := randSlice(r, rowsB*ldb, -1, 1)
			initial := randSlice(r, tc.m*ldc, -1, 1)
			if tc.beta == 0 {
				// beta 0 must not read C: NaNs there must not leak out.
				for i := range initial {
					initial[i] = float32(math.NaN())
				}
			}
			buf, c := guarded(tc.m*ldc, func(i int) float32 {
				if i%ldc >= tc.n {
					return sentinel // the gap between rows is a guard band too
				}
				return initial[i]
			})
			want := append([]float32(nil), c...)
			Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			refGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
			checkGuards(t, "C", buf, tc.m*ldc)
			for i := range c {
				if i%ldc >= tc.n {
					if math.Float32bits(c[i]) != math.Float32bits(sentinel) {
						t.Fatalf("C[%d][%d] in the gap between rows was written", i/ldc, i%ldc)
					}
					continue
				}
				if d := math.Abs(float64(c[i] - want[i])); !(d <= 1e-4*(1+math.Abs(float64(want[i])))) {
					t.Fatalf("C[%d][%d] = %v, want %v", i/ldc, i%ldc, c[i], want[i])
				}
			}
		})
	}
}

// TestGemmParallelIsDeterministic checks that splitting C across
// goroutines gives the same bits as the serial algorithm.
func TestGemmParallelIsDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, s := range [][3]int{{300, 70, 150}, {45, 333, 150}, {130, 130, Kc + 7}} {
		m, n, k := s[0], s[1], s[2]
		t.Run(fmt.Sprintf("M=%d,N=%d,K=%d", m, n, k), func(t *testing.T) {
			if m*n*k < parallelMinWork {
				t.Fatalf("M*N*K = %d is under the parallel cut-off %d", m*n*k, parallelMinWork)
			}
			r := rand.New(rand.NewPCG(1, 1))
			a, b := randSlice(r, m*k, -1, 1), randSlice(r, k*n, -1, 1)
			got, want := make([]float32, m*n), make([]float32, m*n)
			Gemm(false, true, m, n, k, 1, a, k, b, k, 0, got, n)
			gemmSerial(newGemmWorkspace(), false, true, m, n, k, 1, a, k, b, k, 0, want, n)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("C[%d] = %v in parallel, %v serially", i, got[i], want[i])
				}
			}
		})
	}
}

// TestGemmParallelDoesNotAllocate covers the goroutine path, which
// testing.AllocsPerRun cannot see since it pins GOMAXPROCS to 1.
func TestGemmParallelDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	// A garbage collection empties the runtime's per-thread caches of wait
	// queue entries, which the next blocking WaitGroup or channel operation
	// refills with a small allocation. That is the runtime's, not ours:
	// measure between collections.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.GC()
	const m, n, k = 200, 200, 60
	r := rand.New(rand.NewPCG(1, 1))
	a, b, c := randSlice(r, m*k, -1, 1), randSlice(r, k*n, -1, 1), make([]float32, m*n)
	run := func() { Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) }
	for range 10 {
		run()
	}
	const runs = 50
	// Allow a stray allocation from the runtime or the test framework.
	if got, bytes := parallelAllocs(runs, run); got > runs/10 {
		t.Errorf("%d allocations (%d bytes) in %d parallel calls, want 0", got, bytes, runs)
	}
}

func TestGemmPanicsOnBadArguments(t *testing.T) {
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 4)
	cases := []struct {
		name string
		call func()
		want string
	}{
		{"negative m", func() { Gemm(false, false, -1, 2, 3, 1, a, 3, b, 2, 0, c, 2) }, errNegativeDimension},
		{"small lda", func() { Gemm(false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2) }, errBadLda},
		{"small ldb", func() { Gemm(false, true, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2) }, errBadLdb},
		{"small ldc", func() { Gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 1) }, errBadLdc},
		{"short A", func() { Gemm(false, false, 2, 2, 3, 1, a[:5], 3, b, 2, 0, c, 2) }, errShortA},
		{"short B", func() { Gemm(false, false, 2, 2, 3, 1, a, 3, b[:5], 2, 0, c, 2) }, errShortB},
		{"short C", func() { Gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c[:3], 2) }, errShortC},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != tc.want {
					t.Errorf("panic = %v, want %q", got, tc.want)
				}
			}()
			tc.call()
		})
	}
}

// BenchmarkPackB times packing a 256×64 block of B into slivers, what a
// product with few rows of A (a weight gradient with a short kernel, a
// dense layer's batch) pays beside its multiply-adds.
func BenchmarkPackB(b *testing.B) {
	src := make([]float32, 256*64)
	dst := make([]float32, 256*64)
	for b.Loop() {
		packB(dst, false, src, 64, 0, 0, 256, 64)
	}
}
