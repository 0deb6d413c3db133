package kernels

// ConvParams describes a 2-D convolution over NHWC input. The same struct
// serves depthwise convolution, where OC = C*Multiplier.
type ConvParams struct {
	N, H, W, C                           int // input
	KH, KW, OC                           int // OC = filters (for depthwise: C*Multiplier)
	StrideH, StrideW                     int
	PadTop, PadLeft, PadBottom, PadRight int
	OH, OW                               int // output, filled by NewConvParams
	Multiplier                           int // depthwise only
}

// NewConvParams fills OH, OW: OH = (H+PadTop+PadBottom-KH)/StrideH + 1.
// Multiplier is left 0; depthwise kernels derive it from OC/C when unset.
func NewConvParams(n, h, w, c, kh, kw, oc, strideH, strideW, padTop, padLeft, padBottom, padRight int) ConvParams {
	p := ConvParams{
		N: n, H: h, W: w, C: c, KH: kh, KW: kw, OC: oc,
		StrideH: strideH, StrideW: strideW,
		PadTop: padTop, PadLeft: padLeft, PadBottom: padBottom, PadRight: padRight,
	}
	if strideH > 0 && strideW > 0 {
		p.OH = (h+padTop+padBottom-kh)/strideH + 1
		p.OW = (w+padLeft+padRight-kw)/strideW + 1
	}
	return p
}

// SamePadding returns TF/Keras "same" padding for one spatial dimension:
// total = max((ceil(in/stride)-1)*stride+k-in, 0), before = total/2, the
// odd cell going after, so the output has ceil(in/stride) cells.
func SamePadding(in, k, stride int) (before, after int) {
	if stride <= 0 {
		panic(errBadConvParams)
	}
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return total / 2, total - total/2
}

// check panics unless p describes a convolution whose output size matches
// its input, kernel, strides and padding.
func (p ConvParams) check() {
	if p.N < 0 || p.H <= 0 || p.W <= 0 || p.C <= 0 || p.KH <= 0 || p.KW <= 0 || p.OC <= 0 ||
		p.StrideH <= 0 || p.StrideW <= 0 ||
		p.PadTop < 0 || p.PadLeft < 0 || p.PadBottom < 0 || p.PadRight < 0 ||
		p.OH <= 0 || p.OW <= 0 ||
		p.OH != (p.H+p.PadTop+p.PadBottom-p.KH)/p.StrideH+1 ||
		p.OW != (p.W+p.PadLeft+p.PadRight-p.KW)/p.StrideW+1 {
		panic(errBadConvParams)
	}
}

// pointwise reports whether the convolution is a plain matrix product over
// pixels (1×1 kernel, stride 1, no padding), which needs no im2col.
func (p ConvParams) pointwise() bool {
	return p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0
}

// convChunkRows is the number of output pixels the im2col path aims to put
// in one GEMM: late layers have few pixels per image, and a GEMM with a
// handful of rows spends its time packing.
const convChunkRows = 256

// imagesPerChunk is how many images one im2col buffer holds.
func (p ConvParams) imagesPerChunk() int {
	pixels := p.OH * p.OW
	return max(1, min(p.N, (convChunkRows+pixels-1)/pixels))
}

// ScratchSize returns the number of floats of scratch Conv2D,
// Conv2DGradInput and Conv2DGradFilter need to run as they would now. With
// one thread it is the im2col matrix of a chunk
// of images (ceil(256/(OH*OW)) images, at most N, at least 1), that is
// images*OH*OW*KH*KW*C floats. It is 0 for 1×1, stride-1, unpadded
// convolutions, which multiply the input directly. 3×3, stride-1
// convolutions with at least 8 input and output channels take the Winograd
// path (winograd.go), whose scratch holds the transformed kernel and the
// transformed tiles of a chunk of about 128 2×2 tiles instead. It never
// grows when N shrinks, so scratch sized for the largest batch serves every
// batch.
//
// With GOMAXPROCS(0) > 1 at the time of the call, a convolution with
// several chunks and at least 2²¹ multiply-adds is split in ranges of whole
// chunks run in parallel (convpar.go), and ScratchSize covers one chunk
// buffer per range plus a partial filter gradient per range but the first.
// The kernels only require the one-thread size and run as many ranges as
// the scratch they are given holds, so scratch sized before GOMAXPROCS
// changes stays valid. Under js/wasm GOMAXPROCS is 1 and the size is the
// one-thread size.
func (p ConvParams) ScratchSize() int {
	if p.pointwise() || p.N <= 0 {
		return 0
	}
	wino := p.winograd()
	return p.convScratchFor(wino, p.convWantParts(wino, threads()))
}

// minScratch is the scratch one range needs: what the kernels require.
func (p ConvParams) minScratch() int {
	if p.pointwise() || p.N <= 0 {
		return 0
	}
	return p.convScratchFor(p.winograd(), 1)
}

// im2colScratch is the scratch of the im2col path.
func (p ConvParams) im2colScratch() int {
	return p.imagesPerChunk() * p.OH * p.OW * p.KH * p.KW * p.C
}

// checkLengths panics when a slice is shorter than its part of p.
func (p ConvParams) checkLengths(x, y, w []float32, weights int) {
	if len(x) < p.N*p.H*p.W*p.C {
		panic(errShortInput)
	}
	if len(y) < p.N*p.OH*p.OW*p.OC {
		panic(errShortOutput)
	}
	if len(w) < weights {
		panic(errShortWeights)
	}
}

// Conv2D computes y = conv(x, w) + bias.
// x is (N,H,W,C); w is (KH,KW,C,OC); bias is (OC) or nil; y is (N,OH,OW,OC).
// Each output pixel's row of the im2col matrix is its receptive field in
// (KH,KW,C) order, so y = im2col(x)·w with w read as a (KH*KW*C, OC) matrix.
// 1×1 stride-1 unpadded convolutions multiply x directly, and 3×3 stride-1
// convolutions with at least 8 input and output channels use Winograd's
// F(2×2,3×3) (winograd.go), as do their two gradients.
func Conv2D(y, x, w, bias []float32, p ConvParams, scratch []float32) {
	p.check()
	k := p.KH * p.KW * p.C
	p.checkLengths(x, y, w, k*p.OC)
	if bias != nil && len(bias) < p.OC {
		panic(errShortBias)
	}
	pixels := p.OH * p.OW
	if len(scratch) < p.minScratch() {
		panic(errShortScratch)
	}
	if bias != nil {
		bias = bias[:p.OC]
	}
	switch {
	case p.N == 0:
	case p.pointwise():
		Gemm(false, false, p.N*pixels, p.OC, p.C, 1, x, p.C, w, p.OC, 0, y, p.OC)
		if bias != nil {
			addRowVectorParallel(y[:p.N*pixels*p.OC], bias)
		}
	case p.winograd():
		winogradConv2D(y, x, w, bias, p, scratch)
	default:
		im2colConv2D(y, x, w, bias, p, scratch)
	}
}

// im2colConv2D is Conv2D on the im2col path.
func im2colConv2D(y, x, w, bias []float32, p ConvParams, scratch []float32) {
	convRun(convTask{op: opIm2colForward, p: p, out: y, in: x, w: w, bias: bias}, p.convParts(false, len(scratch)), scratch)
}

// im2colConv2DRange is im2colConv2D over the images of t. The bias is
// added chunk by chunk, while the chunk's output is still in cache.
func im2colConv2DRange(t *convTask) {
	p := t.p
	k := p.KH * p.KW * p.C
	pixels := p.OH * p.OW
	per := p.imagesPerChunk()
	for n0 := t.n0; n0 < t.n1; n0 += per {
		images := min(per, t.n1-n0)
		col := t.work[:images*pixels*k]
		im2col(col, t.in[n0*p.H*p.W*p.C:], p, images)
		out := t.out[n0*pixels*p.OC : (n0+images)*pixels*p.OC]
		convGemm(t.ws, false, false, images*pixels, p.OC, k, 1, col, k, t.w, p.OC, 0, out, p.OC)
		if t.bias != nil {
			addRowVector(out, t.bias)
		}
	}
}

// Conv2DGradInput computes dx = ∂L/∂x from dy = ∂L/∂y (assigned).
// dy is (N,OH,OW,OC); w is (KH,KW,C,OC); dx is (N,H,W,C).
// The gradient of the im2col matrix is dy·wᵀ; col2im sums each of its
// entries back into the input cell it was copied from.
func Conv2DGradInput(dx, dy, w []float32, p ConvParams, scratch []float32) {
	p.check()
	k := p.KH * p.KW * p.C
	p.checkLengths(dx, dy, w, k*p.OC)
	pixels := p.OH * p.OW
	if p.pointwise() {
		Gemm(false, true, p.N*pixels, p.C, p.OC, 1, dy, p.OC, w, p.OC, 0, dx, p.C)
		return
	}
	if len(scratch) < p.minScratch() {
		panic(errShortScratch)
	}
	switch {
	case p.N == 0:
	case p.winograd():
		winogradConv2DGradInput(dx, dy, w, p, scratch)
	default:
		im2colConv2DGradInput(dx, dy, w, p, scratch)
	}
}

// im2colConv2DGradInput is Conv2DGradInput on the im2col path.
func im2colConv2DGradInput(dx, dy, w []float32, p ConvParams, scratch []float32) {
	convRun(convTask{op: opIm2colGradInput, p: p, out: dx, in: dy, w: w}, p.convParts(false, len(scratch)), scratch)
}

// im2colConv2DGradInputRange is im2colConv2DGradInput over the images of t.
func im2colConv2DGradInputRange(t *convTask) {
	p := t.p
	k := p.KH * p.KW * p.C
	pixels := p.OH * p.OW
	per := p.imagesPerChunk()
	image := p.H * p.W * p.C
	for n0 := t.n0; n0 < t.n1; n0 += per {
		images := min(per, t.n1-n0)
		col := t.work[:images*pixels*k]
		convGemm(t.ws, false, true, images*pixels, k, p.OC, 1, t.in[n0*pixels*p.OC:], p.OC, t.w, p.OC, 0, col, k)
		dxChunk := t.out[n0*image : (n0+images)*image]
		clear(dxChunk)
		col2im(dxChunk, col, p, images)
	}
}

// Conv2DGradFilter accumulates dw += ∂L/∂w and dbias += ∂L/∂bias.
// dy is (N,OH,OW,OC); x is (N,H,W,C); dw is (KH,KW,C,OC); dbias is (OC) or nil.
// dw = im2col(x)ᵀ·dy, summed chunk by chunk.
func Conv2DGradFilter(dw, dbias, dy, x []float32, p ConvParams, scratch []float32) {
	p.check()
	k := p.KH * p.KW * p.C
	p.checkLengths(x, dy, dw, k*p.OC)
	if dbias != nil && len(dbias) < p.OC {
		panic(errShortBias)
	}
	pixels := p.OH * p.OW
	if len(scratch) < p.minScratch() {
		panic(errShortScratch)
	}
	switch {
	case p.N == 0:
	case p.pointwise():
		Gemm(true, false, p.C, p.OC, p.N*pixels, 1, x, p.C, dy, p.OC, 1, dw, p.OC)
	case p.winograd():
		winogradConv2DGradFilter(dw, dy, x, p, scratch)
	default:
		im2colConv2DGradFilter(dw, dy, x, p, scratch)
	}
	if dbias != nil {
		addColumnSumsParallel(dbias[:p.OC], dy, p.N*pixels, p.OC)
	}
}

// im2colConv2DGradFilter is the kernel part of Conv2DGradFilter on the
// im2col path (dw accumulated).
func im2colConv2DGradFilter(dw, dy, x []float32, p ConvParams, scratch []float32) {
	convRun(convTask{op: opIm2colGradFilter, p: p, in: x, w: dy, acc: dw}, p.convParts(false, len(scratch)), scratch)
}

// im2colConv2DGradFilterRange is im2colConv2DGradFilter over the images of
// t, accumulated into t.acc.
func im2colConv2DGradFilterRange(t *convTask) {
	p := t.p
	k := p.KH * p.KW * p.C
	pixels := p.OH * p.OW
	per := p.imagesPerChunk()
	for n0 := t.n0; n0 < t.n1; n0 += per {
		images := min(per, t.n1-n0)
		col := t.work[:images*pixels*k]
		im2col(col, t.in[n0*p.H*p.W*p.C:], p, images)
		convGemm(t.ws, true, false, k, p.OC, images*pixels, 1, col, k, t.w[n0*pixels*p.OC:], p.OC, 1, t.acc, p.OC)
	}
}

// im2col writes, for each output pixel of the first images of x, its
// receptive field as one row of col in (KH,KW,C) order, zeros for padding.
// col is (images*OH*OW, KH*KW*C).
func im2col(col, x []float32, p ConvParams, images int) {
	if p.C < 4 {
		im2colFewChannels(col, x, p, images)
		return
	}
	im2colRows(col, x, p, images)
}

// im2colRows is im2col kernel row by kernel row: the in-bounds part of
// each is one contiguous copy of KW·C floats.
func im2colRows(col, x []float32, p ConvParams, images int) {
	k := p.KH * p.KW * p.C
	span := p.KW * p.C
	image := p.H * p.W * p.C
	row := 0
	for img := range images {
		xi := x[img*image : (img+1)*image]
		for oh := range p.OH {
			ih0 := oh*p.StrideH - p.PadTop
			for ow := range p.OW {
				iw0 := ow*p.StrideW - p.PadLeft
				// Consecutive kw read consecutive input columns, so the
				// in-bounds part of each kernel row is one contiguous copy.
				lo, hi := max(0, -iw0), min(p.KW, p.W-iw0)
				dst := col[row*k : (row+1)*k]
				row++
				for kh := range p.KH {
					seg := dst[kh*span : (kh+1)*span]
					ih := ih0 + kh
					if ih < 0 || ih >= p.H || lo >= hi {
						clear(seg)
						continue
					}
					clear(seg[:lo*p.C])
					src := (ih*p.W + iw0) * p.C
					copyFloats(seg[lo*p.C:hi*p.C], xi[src+lo*p.C:src+hi*p.C])
					clear(seg[hi*p.C:])
				}
			}
		}
	}
}

// im2colFewChannels is im2col for inputs of one to three channels (the
// first layer of a network on grayscale or colour images), column by
// column: for each kernel cell and channel, one strided pass along each
// output row. A kernel row of such an input is a handful of floats
// (five for a 5×5 kernel on one channel), and under wasm the work
// around each short copy of the row-by-row loop cost several times the
// copy: this loop does a load and a store per element.
func im2colFewChannels(col, x []float32, p ConvParams, images int) {
	// Go's wasm backend keeps few values in locals and recomputes loop
	// bounds at every iteration: everything the loops need is hoisted.
	chans, kw0, sw, padLeft, w := p.C, p.KW, p.StrideW, p.PadLeft, p.W
	k := p.KH * kw0 * chans
	image := p.H * w * chans
	step := sw * chans
	k2, step2 := 2*k, 2*step
	rowLen := p.OW * k
	col = col[:images*p.OH*rowLen]
	for img := range images {
		xi := x[img*image : (img+1)*image]
		for oh := range p.OH {
			base := (img*p.OH + oh) * rowLen
			ih0 := oh*p.StrideH - p.PadTop
			for kh := range p.KH {
				ih := ih0 + kh
				inside := ih >= 0 && ih < p.H
				for kw := range kw0 {
					// Output columns [lo, hi) read input columns
					// ow·StrideW − PadLeft + kw inside [0, W).
					lo, hi := 0, 0
					if inside {
						off := padLeft - kw
						if off > 0 {
							lo = min(p.OW, (off+sw-1)/sw)
						}
						hi = lo
						if last := w - 1 + off; last >= 0 {
							hi = max(lo, min(p.OW, last/sw+1))
						}
					}
					first := base + (kh*kw0+kw)*chans
					src := (ih*w + lo*sw - padLeft + kw) * chans
					for c := range chans {
						o := first + c
						loEnd, hiEnd, end := o+lo*k, o+hi*k, o+rowLen
						for ; o < loEnd; o += k {
							col[o] = 0
						}
						i := src + c
						for ; o+k < hiEnd; o += k2 {
							col[o], col[o+k] = xi[i], xi[i+step]
							i += step2
						}
						if o < hiEnd {
							col[o] = xi[i]
							o += k
						}
						for ; o < end; o += k {
							col[o] = 0
						}
					}
				}
			}
		}
	}
}

// copyFloats is copy(d, s) for len(d) <= len(s). A kernel row of a few
// channels (twelve floats for a 3×3 kernel on four) is short enough that
// a call to memmove costs more than the copy under wasm: up to sixteen go
// four per iteration.
func copyFloats(d, s []float32) {
	if len(d) > 16 {
		copy(d, s)
		return
	}
	s = s[:len(d)]
	for len(d) >= 4 && len(s) >= 4 {
		d[0], d[1], d[2], d[3] = s[0], s[1], s[2], s[3]
		d, s = d[4:], s[4:]
	}
	for i, v := range s {
		d[i] = v
	}
}

// col2im adds each entry of col back into the input cell im2col copied it
// from; padding entries are dropped. dx is (images,H,W,C).
func col2im(dx, col []float32, p ConvParams, images int) {
	k := p.KH * p.KW * p.C
	span := p.KW * p.C
	image := p.H * p.W * p.C
	row := 0
	for img := range images {
		di := dx[img*image : (img+1)*image]
		for oh := range p.OH {
			ih0 := oh*p.StrideH - p.PadTop
			for ow := range p.OW {
				iw0 := ow*p.StrideW - p.PadLeft
				lo, hi := max(0, -iw0), min(p.KW, p.W-iw0)
				src := col[row*k : (row+1)*k]
				row++
				if lo >= hi {
					continue
				}
				for kh := range p.KH {
					ih := ih0 + kh
					if ih < 0 || ih >= p.H {
						continue
					}
					at := (ih*p.W + iw0) * p.C
					addTo(di[at+lo*p.C:at+hi*p.C], src[kh*span+lo*p.C:kh*span+hi*p.C])
				}
			}
		}
	}
}

// addTo sets dst[i] += src[i] for the length of dst.
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d, v := dst[i:i+4:i+4], src[i:i+4:i+4]
		d[0], d[1], d[2], d[3] = d[0]+v[0], d[1]+v[1], d[2]+v[2], d[3]+v[3]
	}
	for ; i < len(dst); i++ {
		dst[i] += src[i]
	}
}

// addRowVectorParallel adds v to every row of the (len(m)/len(v), len(v))
// matrix m, split across threads by rows.
func addRowVectorParallel(m, v []float32) {
	rows := len(m) / len(v)
	runParts(&partTask{op: partAddRowVector, dst: m[:rows*len(v)], b: v}, rows, 2*len(v), 1)
}

// addRowVector adds v to every row of the (len(m)/len(v), len(v)) matrix m.
func addRowVector(m, v []float32) {
	for len(m) >= len(v) {
		addTo(m[:len(v)], v)
		m = m[len(v):]
	}
}

// columnBlock is how many columns addColumnSums sums at once in float64,
// on the stack.
const columnBlock = 256

// addColumnSumsParallel is addColumnSums split across threads by columns,
// so that each sum still runs over the rows in order.
func addColumnSumsParallel(dst, m []float32, rows, cols int) {
	runParts(&partTask{op: partColumnSums, dst: dst, a: m, rows: rows, cols: cols}, cols, rows, 1)
}

// addColumnSums adds the column sums of the (rows, cols) matrix m to dst,
// summing in float64 so long columns (every pixel of a batch) keep float32
// precision.
func addColumnSums(dst, m []float32, rows, cols int) {
	addColumnSumsRange(dst, m, rows, cols, 0, cols)
}

// addColumnSumsRange is addColumnSums for columns [c1, c2).
func addColumnSumsRange(dst, m []float32, rows, cols, c1, c2 int) {
	var acc [columnBlock]float64
	for c0 := c1; c0 < c2; c0 += columnBlock {
		width := min(columnBlock, c2-c0)
		sums := acc[:width]
		clear(sums)
		columnSums(sums, m[c0:], rows, cols)
		for j, s := range sums {
			dst[c0+j] += float32(s)
		}
	}
}
