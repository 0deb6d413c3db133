package kernels

// Parallel convolution. A convolution's GEMMs are cut in chunks of about
// 128–256 output pixels or tiles, each below Gemm's parallel cut-off, so
// with more than one thread the chunks themselves are shared out: the
// images of a batch are split in contiguous ranges of (nearly) equal
// size, one per goroutine (the caller and the GEMM workers of gemm.go),
// each range cut in chunks of its own with its own slice of scratch and
// serial GEMMs. Each output pixel's value does not depend on which chunk
// computes it (a GEMM sums every element of C in the same order whatever
// its number of rows) and every output element is written by exactly one
// goroutine, so Conv2D and Conv2DGradInput compute the same bits as with
// one thread. Conv2DGradFilter sums over chunks: the first range
// accumulates into dw (or the transformed dU) directly, the others into
// private partials that are then added in range order, so its result is
// the same for a given GOMAXPROCS but may differ from the serial one by
// rounding.
//
// Scratch layout: shared part (the transformed kernel on the Winograd path),
// then one chunk buffer per range, then one partial per range but the first.

// convOp names the chunk loop a convTask runs.
type convOp uint8

const (
	opNone convOp = iota
	opIm2colForward
	opIm2colGradInput
	opIm2colGradFilter
	opWinogradForward
	opWinogradGradInput
	opWinogradGradFilter
)

// convTask is one range of images [n0, n1) of a convolution. For the
// forward pass in is x, w the kernel and out y; for the input gradient in
// is dy and out dx; for the filter gradient in is x, w is dy and acc
// receives the sums (dw, or dU on the Winograd path). u is the transformed
// kernel, work the range's chunk buffer.
type convTask struct {
	op convOp
	// ws holds the packing buffers of the goroutine running the range,
	// whose GEMMs then stay on it; with none they may split across threads.
	ws                  *gemmWorkspace
	p                   ConvParams
	out, in, w, bias, u []float32
	work, acc           []float32
	n0, n1              int
}

// convLayout returns the floats of scratch shared by all ranges, per range
// and per partial sum.
func (p ConvParams) convLayout(wino bool) (shared, part, partial int) {
	if wino {
		t := p.winogradImages() * max(tiles(p.OH, p.OW), tiles(p.H, p.W))
		return 16 * p.C * p.OC, 16*t*(p.C+p.OC) + 2*max(p.C, p.OC), 16 * p.C * p.OC
	}
	return 0, p.im2colScratch(), p.KH * p.KW * p.C * p.OC
}

// convScratchFor is the scratch parts ranges need on the Winograd path
// (wino) or the im2col path.
func (p ConvParams) convScratchFor(wino bool, parts int) int {
	shared, part, partial := p.convLayout(wino)
	return shared + parts*part + (parts-1)*partial
}

// convChunk is the number of images in one chunk of the path p takes.
func (p ConvParams) convChunk(wino bool) int {
	if wino {
		return p.winogradImages()
	}
	return p.imagesPerChunk()
}

// convWantParts is the number of ranges p is worth splitting in with procs
// threads: one unless there are several chunks and the convolution has at
// least Gemm's parallel cut-off of multiply-adds.
func (p ConvParams) convWantParts(wino bool, procs int) int {
	if procs < 2 || p.N <= 0 {
		return 1
	}
	per := p.convChunk(wino)
	chunks := (p.N + per - 1) / per
	if chunks < 2 || p.N*p.OH*p.OW*p.KH*p.KW*p.C*p.OC < parallelMinWork {
		return 1
	}
	return min(procs, chunks)
}

// convParts is the number of ranges a call runs: what GOMAXPROCS and the
// size of p allow, as far as scratch holds them.
func (p ConvParams) convParts(wino bool, scratch int) int {
	procs := threads()
	parts := p.convWantParts(wino, procs)
	if parts > 1 {
		startGemmWorkers(procs)
		parts = min(parts, workerCount+1)
	}
	for parts > 1 && p.convScratchFor(wino, parts) > scratch {
		parts--
	}
	return parts
}

// convRangeStart is the first image of range i of parts: the images are
// shared out evenly, so that an odd number of chunks does not leave one
// goroutine a whole chunk more than another.
func (p ConvParams) convRangeStart(i, parts int) int {
	return i * p.N / parts
}

// convRun runs t over all the images of t.p in parts ranges and, when
// t.acc is set, adds the ranges' partial sums into it in order. scratch
// starts after the shared part.
func convRun(t convTask, parts int, scratch []float32) {
	p := t.p
	wino := t.op >= opWinogradForward
	_, part, partial := p.convLayout(wino)
	per := p.convChunk(wino)
	chunks := (p.N + per - 1) / per
	if parts <= 1 {
		t.n0, t.n1, t.work = 0, p.N, scratch[:part]
		t.run()
		return
	}
	parts = min(parts, chunks)
	partials := scratch[parts*part:]
	ws := workspaces.get()
	for i := 1; i < parts; i++ {
		pt := t // the worker sets ws
		pt.n0, pt.n1 = p.convRangeStart(i, parts), p.convRangeStart(i+1, parts)
		pt.work = scratch[i*part : (i+1)*part]
		if t.acc != nil {
			pt.acc = partials[(i-1)*partial : i*partial]
			clear(pt.acc)
		}
		ws.done.Add(1)
		gemmTasks <- gemmTask{conv: pt, done: &ws.done}
	}
	// The caller's range packs in the workspace whose WaitGroup it waits on.
	t.ws = ws
	t.n0, t.n1, t.work = 0, p.convRangeStart(1, parts), scratch[:part]
	t.run()
	ws.done.Wait()
	workspaces.put(ws)
	if t.acc != nil {
		acc := t.acc[:partial]
		for i := 1; i < parts; i++ {
			addTo(acc, partials[(i-1)*partial:i*partial])
		}
	}
}

// run computes the task's range of images.
func (t *convTask) run() {
	switch t.op {
	case opIm2colForward:
		im2colConv2DRange(t)
	case opIm2colGradInput:
		im2colConv2DGradInputRange(t)
	case opIm2colGradFilter:
		im2colConv2DGradFilterRange(t)
	case opWinogradForward:
		winogradConv2DRange(t)
	case opWinogradGradInput:
		winogradConv2DGradInputRange(t)
	case opWinogradGradFilter:
		winogradConv2DGradFilterRange(t)
	}
}

// convGemm is Gemm, kept on the calling goroutine with the packing buffers
// of ws when ws is set (a range already running on a worker must not wait
// for other workers).
func convGemm(ws *gemmWorkspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if ws == nil {
		Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemmSerial(ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
