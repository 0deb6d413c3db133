package kernels

import (
	"runtime"
	"sync"
)

// Cache parameters of the packed GEMM. The micro-kernel computes an Mr×Nr
// tile of C in registers (Mr and Nr depend on the build: scalar.go,
// simd.go); a Kc-long sliver of A (Mr×Kc) and of B (Kc×Nr) stays in
// L1, the Mc×Kc block of A (read in place, or copied when A is transposed)
// in L2 and the packed Kc×Nc panel of B in the last-level cache. Mc and Nc
// are multiples of every build's Mr and Nr. BENCHMARKS.md has their
// GFLOP/s.
const (
	Kc = 256
	Mc = 64
	Nc = 1024
)

// parallelMinWork is the number of multiply-adds below which Gemm stays on
// the calling goroutine: under it, waking workers costs more than it saves.
const parallelMinWork = 1 << 21

// gemmWorkspace holds the packing buffers of one serial GEMM.
type gemmWorkspace struct {
	packedA []float32 // Mc×Kc, row-major: a block of a transposed A
	packedB []float32 // Kc×Nc, Nr-column slivers
	done    sync.WaitGroup
}

// workspaces recycles packing buffers so that steady-state calls do not
// allocate and concurrent callers never share one. It is a plain free list
// rather than a sync.Pool: a pool keeps what it is given per P and empties
// itself at every garbage collection, so a caller that moved to another
// thread, or ran after a collection, would allocate a megabyte of buffers.
// The list never holds more workspaces than the most concurrent callers.
var workspaces workspaceList

type workspaceList struct {
	mu   sync.Mutex
	free []*gemmWorkspace
}

func newGemmWorkspace() *gemmWorkspace {
	return &gemmWorkspace{packedA: make([]float32, Mc*Kc), packedB: make([]float32, Kc*Nc)}
}

// get returns a free workspace, allocating one only when all are in use.
func (l *workspaceList) get() *gemmWorkspace {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		ws := l.free[n-1]
		l.free = l.free[:n-1]
		return ws
	}
	return newGemmWorkspace()
}

// put hands a workspace back for the next caller.
func (l *workspaceList) put(ws *gemmWorkspace) {
	l.mu.Lock()
	l.free = append(l.free, ws)
	l.mu.Unlock()
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C, row-major, op = transpose when
// the flag is set. op(A) is (m,k), op(B) is (k,n), C is (m,n). When beta is 0,
// C is not read (NaNs in it do not propagate).
//
// Every element of C is summed in the same order whatever the number of
// goroutines, so results are bit-for-bit reproducible.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(errNegativeDimension)
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	if lda < max(1, colsA) {
		panic(errBadLda)
	}
	if ldb < max(1, colsB) {
		panic(errBadLdb)
	}
	if ldc < max(1, n) {
		panic(errBadLdc)
	}
	if rowsA > 0 && colsA > 0 && len(a) < (rowsA-1)*lda+colsA {
		panic(errShortA)
	}
	if rowsB > 0 && colsB > 0 && len(b) < (rowsB-1)*ldb+colsB {
		panic(errShortB)
	}
	if m > 0 && n > 0 && len(c) < (m-1)*ldc+n {
		panic(errShortC)
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(m, n, beta, c, ldc)
		return
	}
	procs := threads()
	if procs > 1 && m*n*k >= parallelMinWork {
		gemmParallel(procs, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ws := workspaces.get()
	gemmSerial(ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	workspaces.put(ws)
}

// scaleMatrix sets C = beta·C, writing zeros without reading C when beta is 0.
func scaleMatrix(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// gemmTask is one independent block of output handed to a worker.
type gemmTask struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	done           *sync.WaitGroup
	conv           convTask // a range of a convolution, when conv.op is set
	part           partTask // a part of a loop (parallel.go), when part.op is set
}

var (
	gemmTasks    chan gemmTask
	startWorkers sync.Once
	workerCount  int
)

// gemmWorker runs tasks with its own packing buffers for the life of the
// process; tasks travel by value so handing one over does not allocate.
func gemmWorker(ws *gemmWorkspace) {
	for t := range gemmTasks {
		switch {
		case t.conv.op != opNone:
			t.conv.ws = ws
			t.conv.run()
		case t.part.op != partNone:
			t.part.run()
		default:
			gemmSerial(ws, t.transA, t.transB, t.m, t.n, t.k, t.alpha, t.a, t.lda, t.b, t.ldb, t.beta, t.c, t.ldc)
		}
		t.done.Done()
	}
}

// startGemmWorkers starts the worker goroutines on first use: one fewer
// than the larger of the number of CPUs and procs.
func startGemmWorkers(procs int) {
	startWorkers.Do(func() {
		workerCount = max(runtime.NumCPU(), procs) - 1
		gemmTasks = make(chan gemmTask, 4*max(1, workerCount))
		// The buffers are made here rather than by each worker when it
		// first runs, which may be many calls later: a steady-state call
		// must not allocate.
		for range workerCount {
			go gemmWorker(newGemmWorkspace())
		}
	})
}

// gemmParallel splits C into bands of whole micro-tiles, along its longer
// side, and computes each band with the serial algorithm. Bands never
// overlap and the k loop is untouched, so the result equals the serial one.
func gemmParallel(procs int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	startGemmWorkers(procs)
	parts := min(procs, workerCount+1)
	ws := workspaces.get()
	defer workspaces.put(ws)
	splitRows := m >= n
	total, unit := n, Nr
	if splitRows {
		total, unit = m, Mr
	}
	units := (total + unit - 1) / unit
	parts = min(parts, units)
	if parts < 2 {
		gemmSerial(ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	perPart := (units + parts - 1) / parts * unit
	first := min(perPart, total) // the calling goroutine computes the first band
	for start := first; start < total; start += perPart {
		size := min(perPart, total-start)
		t := gemmTask{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
			a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, done: &ws.done}
		if splitRows {
			t.m = size
			if transA {
				t.a = a[start:]
			} else {
				t.a = a[start*lda:]
			}
			t.c = c[start*ldc:]
		} else {
			t.n = size
			if transB {
				t.b = b[start*ldb:]
			} else {
				t.b = b[start:]
			}
			t.c = c[start:]
		}
		ws.done.Add(1)
		gemmTasks <- t
	}
	if splitRows {
		gemmSerial(ws, transA, transB, first, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	} else {
		gemmSerial(ws, transA, transB, m, first, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	ws.done.Wait()
}

// gemmSerial is the blocked algorithm of Goto and van de Geijn: for each
// Kc×Nc panel of B (packed once) and each Mc×Kc block of A, the
// micro-kernel sweeps the block tile by tile. The first k-panel applies
// beta, later ones accumulate, so C is touched once per k-panel.
//
// The micro-kernel reads A as Mr rows, each contiguous in k. A matrix that
// is not transposed already has that layout and is read in place, which
// saves a copy of A that would cost as much as the products themselves
// when C has few columns (a convolution with 16 filters); a transposed A
// is copied, block by block, into that layout.
func gemmSerial(ws *gemmWorkspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for jc := 0; jc < n; jc += Nc {
		nc := min(Nc, n-jc)
		for pc := 0; pc < k; pc += Kc {
			kc := min(Kc, k-pc)
			packB(ws.packedB, transB, b, ldb, pc, jc, kc, nc)
			first := pc == 0
			for ic := 0; ic < m; ic += Mc {
				mc := min(Mc, m-ic)
				if transA {
					transposeA(ws.packedA, a, lda, ic, pc, mc, kc)
					macroKernel(mc, nc, kc, alpha, beta, first, ws.packedA, kc, ws.packedB, c[ic*ldc+jc:], ldc)
				} else {
					macroKernel(mc, nc, kc, alpha, beta, first, a[ic*lda+pc:], lda, ws.packedB, c[ic*ldc+jc:], ldc)
				}
			}
		}
	}
}

// transposeAScalar copies op(A)[i0:i0+mc, p0:p0+kc] = A[p0:p0+kc,
// i0:i0+mc]ᵀ into dst as an mc×kc row-major matrix whose rows start ldd
// apart. It reads four rows of A at a time so that each row of dst
// receives four contiguous values.
func transposeAScalar(dst []float32, ldd int, a []float32, lda, i0, p0, mc, kc int) {
	if mc == 0 || kc == 0 {
		return
	}
	dst = dst[:(mc-1)*ldd+kc]
	p := 0
	for ; p+4 <= kc; p += 4 {
		r0 := a[(p0+p)*lda+i0 : (p0+p)*lda+i0+mc]
		r1 := a[(p0+p+1)*lda+i0 : (p0+p+1)*lda+i0+mc]
		r2 := a[(p0+p+2)*lda+i0 : (p0+p+2)*lda+i0+mc]
		r3 := a[(p0+p+3)*lda+i0 : (p0+p+3)*lda+i0+mc]
		r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
		for i, v := range r0 {
			d := dst[i*ldd+p : i*ldd+p+4 : i*ldd+p+4]
			d[0], d[1], d[2], d[3] = v, r1[i], r2[i], r3[i]
		}
	}
	for ; p < kc; p++ {
		r := a[(p0+p)*lda+i0 : (p0+p)*lda+i0+mc]
		for i, v := range r {
			dst[i*ldd+p] = v
		}
	}
}

// packB copies op(B)[p0:p0+kc, j0:j0+nc] into Nr-column slivers, each stored
// row by row (Nr values per k), zero-padding the last sliver.
func packB(dst []float32, trans bool, b []float32, ldb, p0, j0, kc, nc int) {
	for t := 0; t < nc; t += Nr {
		cols := min(Nr, nc-t)
		sliver := dst[t*kc : t*kc+Nr*kc]
		if !trans && cols == Nr {
			packSliver(sliver, b[p0*ldb+j0+t:], ldb, kc)
			continue
		}
		if !trans {
			// The last sliver: cols values, then zeros.
			for p := range kc {
				src := b[(p0+p)*ldb+j0+t:]
				d := sliver[p*Nr : p*Nr+Nr]
				for j := range Nr {
					if j < cols {
						d[j] = src[j]
					} else {
						d[j] = 0
					}
				}
			}
			continue
		}
		for j := range Nr {
			if j >= cols {
				for p := range kc {
					sliver[p*Nr+j] = 0
				}
				continue
			}
			src := b[(j0+t+j)*ldb+p0 : (j0+t+j)*ldb+p0+kc]
			for p, v := range src {
				sliver[p*Nr+j] = v
			}
		}
	}
}

// macroKernel multiplies the mc×kc block of A whose rows start lda apart
// in a by a packed kc×nc panel of B into C, an Nr-column sliver of B at a
// time. Whole Mr×Nr tiles of a sliver go to one micro-kernel call; edge
// tiles go through a small buffer so the micro-kernel never writes outside
// C, and the missing last rows of A are stood in for by the last one read
// again (a row stride of 0 for a lone row; a copy of the rows otherwise),
// whose products are then dropped.
func macroKernel(mc, nc, kc int, alpha, beta float32, first bool, a []float32, lda int, pb, c []float32, ldc int) {
	var edge [Mr * Nr]float32
	whole := mc - mc%Mr
	for jr := 0; jr < nc; jr += Nr {
		cols := min(Nr, nc-jr)
		bs := pb[jr*kc : jr*kc+Nr*kc]
		ir := 0
		if cols == Nr && whole > 0 {
			microKernel(kc, whole, a, lda, bs, c[jr:], ldc, alpha, beta, first)
			ir = whole
		}
		for ; ir < mc; ir += Mr {
			rows := min(Mr, mc-ir)
			for r := range rows {
				copy(edge[r*Nr:r*Nr+cols], c[(ir+r)*ldc+jr:])
			}
			switch {
			case rows == Mr:
				microKernel(kc, Mr, a[ir*lda:], lda, bs, edge[:], Nr, alpha, beta, first)
			case rows == 1:
				microKernel(kc, Mr, a[ir*lda:], 0, bs, edge[:], Nr, alpha, beta, first)
			default:
				shortTile(kc, rows, a[ir*lda:], lda, bs, edge[:], alpha, beta, first)
			}
			for r := range rows {
				copy(c[(ir+r)*ldc+jr:(ir+r)*ldc+jr+cols], edge[r*Nr:])
			}
		}
	}
}

// shortTile runs the micro-kernel on the rows (more than one, fewer than
// Mr) of A left at the end of a block, copied with the last one repeated
// to a whole tile: a tile of 4×16 can leave two or three rows.
func shortTile(kc, rows int, a []float32, lda int, bs, edge []float32, alpha, beta float32, first bool) {
	var tile [Mr * Kc]float32
	for r := range Mr {
		copy(tile[r*kc:(r+1)*kc], a[min(r, rows-1)*lda:])
	}
	microKernel(kc, Mr, tile[:], kc, bs, edge, Nr, alpha, beta, first)
}
