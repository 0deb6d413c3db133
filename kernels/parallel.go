package kernels

import (
	"runtime"
	"sync/atomic"
)

// Parallel loops. Besides the GEMM and the convolutions, a training step
// spends its time in loops that read and write each element once or a few
// times: activations, pooling, dropout's gradient, bias sums, batch norm,
// depthwise convolutions.
// Their iterations are independent, so with more than one thread such a
// loop is cut in contiguous parts (of elements, rows, images or channels),
// one per goroutine: the caller runs the first and the GEMM workers of
// gemm.go the others. Every part computes its elements exactly as the
// serial loop does, in the same order, so results are the same bits
// whatever the number of parts; sums over rows are split by column for
// that reason. A loop that touches fewer than partMinElements floats per
// part stays on the calling goroutine, which is always the case under
// js/wasm, where GOMAXPROCS is 1.
//
// Code that runs on a worker (a part, a convolution range) calls the
// serial loops directly: a worker that waited for other workers could wait
// for itself.

// partMinElements is the number of floats a part must touch for the split
// to pay: waking a worker and waiting for it costs a few microseconds,
// about what one core takes to stream this many floats. Tests lower it to
// split the small shapes of the ops table.
var partMinElements = 1 << 15

// partOp names the loop a partTask runs.
type partOp uint8

const (
	partNone partOp = iota
	// Element-wise, over elements [lo, hi) of the element fields.
	partReLU
	partReLUGrad
	partLeakyReLU
	partLeakyReLUGrad
	partELU
	partELUGrad
	partSigmoid
	partSigmoidGrad
	partTanh
	partTanhGrad
	partDropout
	partDropoutGrad
	partAdd
	partAddTo
	// Over rows [lo, hi) of a (rows, len(b)) matrix dst: dst += b.
	partAddRowVector
	// Over columns [lo, hi) of a (rows, cols) matrix a: dst += Σ rows.
	partColumnSums
	// Over images [lo, hi) of pool.
	partMaxPool
	partMaxPoolGrad
	partAvgPool
	partAvgPoolGrad
	// Over channels [lo, hi) of bn.
	partBatchNormTrain
	partBatchNormInference
	partBatchNormGrad
	// Depthwise convolutions with multiplier 1 over output rows [lo, hi)
	// of N·OH and over channels [lo, hi) for the filter's gradient; the
	// input's gradient (any multiplier) over images [lo, hi).
	partDepthwise
	partDepthwiseGradFilter
	partDepthwiseGradInput
)

// partTask is the part [lo, hi) of a loop. Which fields it reads depends
// on op; the element-wise ops write dst from a, b and c (in the order of
// their exported function's arguments after the destination). Tasks travel
// to workers by value, so handing one over does not allocate.
type partTask struct {
	op         partOp
	lo, hi     int
	dst        []float32
	a, b, c    []float32
	alpha      float32
	key, first uint32 // Dropout's key and first element's counter
	rows, cols int
	argmax     []int32
	pool       PoolParams
	bn         batchNormArgs
	conv       ConvParams
}

// run computes the task's part.
func (t *partTask) run() {
	lo, hi := t.lo, t.hi
	switch t.op {
	case partReLU:
		relu(t.dst[lo:hi], t.a[lo:hi])
	case partReLUGrad:
		reluGrad(t.dst[lo:hi], t.a[lo:hi], t.b[lo:hi])
	case partLeakyReLU:
		leakyReLU(t.dst[lo:hi], t.a[lo:hi], t.alpha)
	case partLeakyReLUGrad:
		leakyReLUGrad(t.dst[lo:hi], t.a[lo:hi], t.b[lo:hi], t.alpha)
	case partELU:
		elu(t.dst[lo:hi], t.a[lo:hi], t.alpha)
	case partELUGrad:
		eluGrad(t.dst[lo:hi], t.a[lo:hi], t.b[lo:hi], t.c[lo:hi], t.alpha)
	case partSigmoid:
		sigmoid(t.dst[lo:hi], t.a[lo:hi])
	case partSigmoidGrad:
		sigmoidGrad(t.dst[lo:hi], t.a[lo:hi], t.b[lo:hi])
	case partTanh:
		tanh(t.dst[lo:hi], t.a[lo:hi])
	case partTanhGrad:
		tanhGrad(t.dst[lo:hi], t.a[lo:hi], t.b[lo:hi])
	case partDropout:
		dropout(t.dst[lo:hi], t.a[lo:hi], t.b[lo:hi], t.alpha, t.key, t.first+uint32(lo))
	case partDropoutGrad:
		dropoutGrad(t.dst[lo:hi], t.a[lo:hi], t.b[lo:hi])
	case partAdd:
		add(t.dst[lo:hi], t.a[lo:hi], t.b[lo:hi])
	case partAddTo:
		addTo(t.dst[lo:hi], t.a[lo:hi])
	case partAddRowVector:
		cols := len(t.b)
		addRowVector(t.dst[lo*cols:hi*cols], t.b)
	case partColumnSums:
		addColumnSumsRange(t.dst, t.a, t.rows, t.cols, lo, hi)
	case partMaxPool:
		maxPoolImages(t.dst, t.argmax, t.a, t.pool, lo, hi)
	case partMaxPoolGrad:
		maxPoolGradImages(t.dst, t.a, t.argmax, t.pool, lo, hi)
	case partAvgPool:
		avgPoolImages(t.dst, t.a, t.pool, lo, hi)
	case partAvgPoolGrad:
		avgPoolGradImages(t.dst, t.a, t.pool, lo, hi)
	case partBatchNormTrain:
		t.bn.train(lo, hi)
	case partBatchNormInference:
		t.bn.inference(lo, hi)
	case partBatchNormGrad:
		t.bn.grad(lo, hi)
	case partDepthwise:
		depthwise1(t.dst, t.a, t.b, t.c, t.conv, lo, hi)
	case partDepthwiseGradFilter:
		depthwise1GradFilter(t.dst, t.a, t.b, t.conv, lo, hi)
	case partDepthwiseGradInput:
		depthwiseGradInputImages(t.dst, t.a, t.b, t.conv, lo, hi)
	}
}

// runParts runs t over [0, n), each of the n units (an element, a row, an
// image or a channel) touching about unitFloats floats, in as many parts
// as threads and partMinElements allow. Part boundaries are multiples of
// align units (the last part takes the rest), so that parts writing
// neighbouring elements do not share cache lines.
func runParts(t *partTask, n, unitFloats, align int) {
	parts := 1
	if procs := threads(); procs > 1 && n > align {
		parts = min(procs, n/align, n*unitFloats/partMinElements)
		if parts > 1 {
			startGemmWorkers(procs)
			parts = min(parts, workerCount+1)
		}
	}
	if parts <= 1 {
		t.lo, t.hi = 0, n
		t.run()
		return
	}
	// Part i starts at i·n/parts, rounded down to align.
	bound := func(i int) int {
		if i == parts {
			return n
		}
		return i * n / parts / align * align
	}
	ws := workspaces.get()
	for i := 1; i < parts; i++ {
		pt := *t
		pt.lo, pt.hi = bound(i), bound(i+1)
		if pt.lo >= pt.hi {
			continue
		}
		ws.done.Add(1)
		gemmTasks <- gemmTask{part: pt, done: &ws.done}
	}
	t.lo, t.hi = 0, bound(1)
	t.run()
	ws.done.Wait()
	workspaces.put(ws)
}

// elementAlign keeps element-wise parts on whole 64-byte cache lines.
const elementAlign = 16

// runElementwise runs an element-wise task over its first n elements;
// floats is the number of slices it reads and writes.
func runElementwise(t *partTask, n, floats int) {
	runParts(t, n, floats, elementAlign)
}

// threadCap is SetThreads' limit; 0 means none.
var threadCap atomic.Int32

// SetThreads limits the goroutines one kernel call splits its work over
// to n (at most GOMAXPROCS); 0 lifts the limit. A caller that runs
// several kernel calls side by side on their own goroutines (data
// parallelism, train.LocalShard) sets 1, so that the calls do not contend
// for the same workers. It returns the previous limit.
func SetThreads(n int) int {
	return int(threadCap.Swap(int32(max(n, 0))))
}

// threads is the number of goroutines a kernel call may use.
func threads() int {
	procs := runtime.GOMAXPROCS(0)
	if c := int(threadCap.Load()); c > 0 {
		return min(procs, c)
	}
	return procs
}
