package kernels

// PoolParams describes a 2-D pooling window sliding over NHWC input.
type PoolParams struct {
	N, H, W, C, KH, KW, StrideH, StrideW, PadTop, PadLeft, PadBottom, PadRight, OH, OW int
}

// NewPoolParams fills OH, OW: OH = (H+PadTop+PadBottom-KH)/StrideH + 1.
func NewPoolParams(n, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, padBottom, padRight int) PoolParams {
	p := PoolParams{
		N: n, H: h, W: w, C: c, KH: kh, KW: kw, StrideH: strideH, StrideW: strideW,
		PadTop: padTop, PadLeft: padLeft, PadBottom: padBottom, PadRight: padRight,
	}
	if strideH > 0 && strideW > 0 {
		p.OH = (h+padTop+padBottom-kh)/strideH + 1
		p.OW = (w+padLeft+padRight-kw)/strideW + 1
	}
	return p
}

// check panics unless p is a consistent pooling and x, y are long enough.
func (p PoolParams) check(x, y int) {
	if p.N < 0 || p.H <= 0 || p.W <= 0 || p.C <= 0 || p.KH <= 0 || p.KW <= 0 ||
		p.StrideH <= 0 || p.StrideW <= 0 ||
		p.PadTop < 0 || p.PadLeft < 0 || p.PadBottom < 0 || p.PadRight < 0 ||
		p.OH <= 0 || p.OW <= 0 ||
		p.OH != (p.H+p.PadTop+p.PadBottom-p.KH)/p.StrideH+1 ||
		p.OW != (p.W+p.PadLeft+p.PadRight-p.KW)/p.StrideW+1 {
		panic(errBadPoolParams)
	}
	if x < p.N*p.H*p.W*p.C {
		panic(errShortInput)
	}
	if y < p.N*p.OH*p.OW*p.C {
		panic(errShortOutput)
	}
}

// window returns the in-bounds input rows [h0,h1) and columns [w0,w1) of
// the window of output cell (oh, ow).
func (p PoolParams) window(oh, ow int) (h0, h1, w0, w1 int) {
	h0 = oh*p.StrideH - p.PadTop
	w0 = ow*p.StrideW - p.PadLeft
	return max(h0, 0), min(h0+p.KH, p.H), max(w0, 0), min(w0+p.KW, p.W)
}

// MaxPool takes the maximum of each window, channel by channel, and records
// in argmax the flat index into x of the winning cell. Padding never wins;
// the first maximum wins ties; a NaN wins so that it propagates. A window
// lying wholly in padding outputs 0 with argmax -1.
// x is (N,H,W,C); y and argmax are (N,OH,OW,C).
func MaxPool(y []float32, argmax []int32, x []float32, p PoolParams) {
	p.check(len(x), len(y))
	if len(argmax) < p.N*p.OH*p.OW*p.C {
		panic(errShortOutput)
	}
	runParts(&partTask{op: partMaxPool, dst: y, argmax: argmax, a: x, pool: p}, p.N, p.imageFloats(), 1)
}

// imageFloats is how many floats pooling one image reads and writes.
func (p PoolParams) imageFloats() int { return p.H*p.W*p.C + 2*p.OH*p.OW*p.C }

// maxPoolImages is MaxPool over images [n0, n1).
func maxPoolImages(y []float32, argmax []int32, x []float32, p PoolParams, n0, n1 int) {
	var cells [maxPoolCells]int
	for n := n0; n < n1; n++ {
		for oh := range p.OH {
			for ow := range p.OW {
				at := ((n*p.OH+oh)*p.OW + ow) * p.C
				out := y[at : at+p.C]
				arg := argmax[at : at+p.C]
				arg = arg[:len(out)]
				h0, h1, w0, w1 := p.window(oh, ow)
				if h0 >= h1 || w0 >= w1 {
					for c := range out {
						out[c] = 0
						arg[c] = -1
					}
					continue
				}
				if (h1-h0)*(w1-w0) > len(cells) {
					maxPoolLargeWindow(out, arg, x, p, n, h0, h1, w0, w1)
					continue
				}
				k := 0
				for ih := h0; ih < h1; ih++ {
					for iw := w0; iw < w1; iw++ {
						cells[k] = ((n*p.H+ih)*p.W + iw) * p.C
						k++
					}
				}
				maxPoolWindow(out, arg, x, cells[:k])
			}
		}
	}
}

// maxPoolCells is the largest window maxPoolWindow takes (4×4).
const maxPoolCells = 16

// maxPoolWindow writes the maximum over the window whose cells start at
// the given offsets of x, channel by channel, and where it was. The
// window's first cell starts the maximum; a later cell replaces it only
// when greater, or when it is a NaN and the maximum is not yet one. Each
// channel's maximum stays in a register across the window, which the
// common 2×2 window unrolls.
func maxPoolWindowScalar(out []float32, arg []int32, x []float32, cells []int) {
	c0 := cells[0]
	first := x[c0 : c0+len(out)]
	arg = arg[:len(out)]
	if len(cells) == 4 {
		c1, c2, c3 := cells[1], cells[2], cells[3]
		x1, x2, x3 := x[c1:c1+len(out)], x[c2:c2+len(out)], x[c3:c3+len(out)]
		for c, best := range first {
			at := c0 + c
			if v := x1[c]; v > best || (v != v && best == best) {
				best, at = v, c1+c
			}
			if v := x2[c]; v > best || (v != v && best == best) {
				best, at = v, c2+c
			}
			if v := x3[c]; v > best || (v != v && best == best) {
				best, at = v, c3+c
			}
			out[c], arg[c] = best, int32(at)
		}
		return
	}
	for c, best := range first {
		at := c0 + c
		for _, cell := range cells[1:] {
			if v := x[cell+c]; v > best || (v != v && best == best) {
				best, at = v, cell+c
			}
		}
		out[c], arg[c] = best, int32(at)
	}
}

// maxPoolLargeWindow is maxPoolWindow for a window of more than
// maxPoolCells cells: rows [h0, h1) and columns [w0, w1) of image n.
func maxPoolLargeWindow(out []float32, arg []int32, x []float32, p PoolParams, n, h0, h1, w0, w1 int) {
	first := ((n*p.H+h0)*p.W + w0) * p.C
	copy(out, x[first:first+p.C])
	for c := range arg {
		arg[c] = int32(first + c)
	}
	for ih := h0; ih < h1; ih++ {
		for iw := w0; iw < w1; iw++ {
			cell := ((n*p.H+ih)*p.W + iw) * p.C
			if cell == first {
				continue
			}
			in := x[cell : cell+p.C]
			in = in[:len(out)]
			for c, v := range in {
				if v > out[c] || (v != v && out[c] == out[c]) {
					out[c] = v
					arg[c] = int32(cell + c)
				}
			}
		}
	}
}

// MaxPoolGrad routes each output gradient to the input cell that won its
// window (dx assigned: zeroed, then scattered; overlapping windows add).
// dy and argmax are (N,OH,OW,C); dx is (N,H,W,C).
func MaxPoolGrad(dx, dy []float32, argmax []int32, p PoolParams) {
	p.check(len(dx), len(dy))
	if len(argmax) < p.N*p.OH*p.OW*p.C {
		panic(errShortInput)
	}
	runParts(&partTask{op: partMaxPoolGrad, dst: dx, a: dy, argmax: argmax, pool: p}, p.N, p.imageFloats(), 1)
}

// maxPoolGradImages is MaxPoolGrad over images [n0, n1): a window lies in
// one image, so the winners of these images' outputs are in these images.
func maxPoolGradImages(dx, dy []float32, argmax []int32, p PoolParams, n0, n1 int) {
	in, out := p.H*p.W*p.C, p.OH*p.OW*p.C
	clear(dx[n0*in : n1*in])
	argmax = argmax[n0*out : n1*out]
	for i, g := range dy[n0*out : n1*out] {
		if j := argmax[i]; j >= 0 {
			dx[j] += g
		}
	}
}

// AvgPool averages each window over its non-padding cells (Keras and
// TensorFlow "same" pooling), so border outputs are not biased toward 0.
// x is (N,H,W,C); y is (N,OH,OW,C).
func AvgPool(y, x []float32, p PoolParams) {
	p.check(len(x), len(y))
	runParts(&partTask{op: partAvgPool, dst: y, a: x, pool: p}, p.N, p.imageFloats(), 1)
}

// avgPoolImages is AvgPool over images [n0, n1).
func avgPoolImages(y, x []float32, p PoolParams, n0, n1 int) {
	for n := n0; n < n1; n++ {
		for oh := range p.OH {
			for ow := range p.OW {
				at := ((n*p.OH+oh)*p.OW + ow) * p.C
				out := y[at : at+p.C]
				clear(out)
				h0, h1, w0, w1 := p.window(oh, ow)
				for ih := h0; ih < h1; ih++ {
					for iw := w0; iw < w1; iw++ {
						cell := ((n*p.H+ih)*p.W + iw) * p.C
						addTo(out, x[cell:cell+p.C])
					}
				}
				if count := (h1 - h0) * (w1 - w0); count > 0 {
					inv := 1 / float32(count)
					for c := range out {
						out[c] *= inv
					}
				}
			}
		}
	}
}

// AvgPoolGrad spreads each output gradient evenly over the non-padding
// cells of its window (dx assigned).
// dy is (N,OH,OW,C); dx is (N,H,W,C).
func AvgPoolGrad(dx, dy []float32, p PoolParams) {
	p.check(len(dx), len(dy))
	runParts(&partTask{op: partAvgPoolGrad, dst: dx, a: dy, pool: p}, p.N, p.imageFloats(), 1)
}

// avgPoolGradImages is AvgPoolGrad over images [n0, n1).
func avgPoolGradImages(dx, dy []float32, p PoolParams, n0, n1 int) {
	image := p.H * p.W * p.C
	clear(dx[n0*image : n1*image])
	for n := n0; n < n1; n++ {
		for oh := range p.OH {
			for ow := range p.OW {
				h0, h1, w0, w1 := p.window(oh, ow)
				count := (h1 - h0) * (w1 - w0)
				if count <= 0 {
					continue
				}
				inv := 1 / float32(count)
				at := ((n*p.OH+oh)*p.OW + ow) * p.C
				g := dy[at : at+p.C]
				for ih := h0; ih < h1; ih++ {
					for iw := w0; iw < w1; iw++ {
						cell := ((n*p.H+ih)*p.W + iw) * p.C
						d := dx[cell : cell+p.C]
						d = d[:len(g)]
						for c, v := range g {
							d[c] += v * inv
						}
					}
				}
			}
		}
	}
}

// GlobalAvgPool averages every channel over all hw pixels of each image.
// x is (N,HW,C); y is (N,C).
func GlobalAvgPool(y, x []float32, n, hw, c int) {
	if n < 0 || hw <= 0 || c <= 0 {
		panic(errBadSize)
	}
	if len(x) < n*hw*c {
		panic(errShortInput)
	}
	if len(y) < n*c {
		panic(errShortOutput)
	}
	for i := range n {
		out := y[i*c : (i+1)*c]
		clear(out)
		addColumnSums(out, x[i*hw*c:(i+1)*hw*c], hw, c)
		inv := 1 / float32(hw)
		for j := range out {
			out[j] *= inv
		}
	}
}

// GlobalAvgPoolGrad gives every pixel 1/hw of its channel's gradient
// (dx assigned).
// dy is (N,C); dx is (N,HW,C).
func GlobalAvgPoolGrad(dx, dy []float32, n, hw, c int) {
	if n < 0 || hw <= 0 || c <= 0 {
		panic(errBadSize)
	}
	if len(dx) < n*hw*c {
		panic(errShortOutput)
	}
	if len(dy) < n*c {
		panic(errShortInput)
	}
	inv := 1 / float32(hw)
	for i := range n {
		g := dy[i*c : (i+1)*c]
		for j := range hw {
			d := dx[(i*hw+j)*c : (i*hw+j+1)*c]
			d = d[:len(g)]
			for k, v := range g {
				d[k] = v * inv
			}
		}
	}
}
