package kernels

import "iter"

// Depthwise convolutions with one filter per channel (multiplier 1, as in
// MobileNet) take these paths forward and for the filter's gradient. The
// general loops (depthwise.go) add one kernel cell's products into a whole
// output vector at a time, so every output element is read and written
// once per cell; here each output element's sum over the kernel cells
// stays in a register for a block of dwBlock channels and is stored once
// (1.6× the general loop's speed on a 16×16×64 batch of 32, natively), and
// the filter's gradient sums a row of output positions in registers before
// it touches dw (2×). NHWC keeps a block's channels contiguous, and a row
// of input and of output stays in the L1 cache across the blocks. At
// stride 1 the input's gradient is the forward loops on the kernel turned
// by 180° (depthwise1GradInput, depthwise.go); at other strides it keeps
// the general loop, which scatters each output position's products
// (gathering them per input position, with the stride's divisions,
// measured slower than that). Each product is rounded before it
// is added (float32(a*b), never a fused multiply-add), so the SIMD build's
// vector loops (simd.go), 32 or 8 channels at a time, give these loops'
// bits.

// dwBlock is the channels one register block holds: eight accumulators,
// and a product's two operands, fit the sixteen float registers.
const dwBlock = 8

// span returns the kernel cells k in [lo, hi) that put output position o
// inside an input of size n: 0 <= o*stride-pad+k < n.
func span(o, stride, pad, kernel, n int) (lo, hi int) {
	base := o*stride - pad
	return max(0, -base), min(kernel, n-base)
}

// depthwise1Scalar is DepthwiseConv2D with multiplier 1, for the output
// rows [lo, hi) of N·OH and channels [from, C).
func depthwise1Scalar(y, x, w, bias []float32, p ConvParams, lo, hi, from int) {
	C := p.C
	for r := lo; r < hi; r++ {
		n, oh := r/p.OH, r%p.OH
		xi := x[n*p.H*p.W*C : (n+1)*p.H*p.W*C]
		khLo, khHi := span(oh, p.StrideH, p.PadTop, p.KH, p.H)
		for ow := range p.OW {
			kwLo, kwHi := span(ow, p.StrideW, p.PadLeft, p.KW, p.W)
			out := y[((n*p.OH+oh)*p.OW+ow)*C : ((n*p.OH+oh)*p.OW+ow+1)*C]
			c := from
			for ; c+dwBlock <= C; c += dwBlock {
				var a0, a1, a2, a3, a4, a5, a6, a7 float32
				if bias != nil {
					b := bias[c : c+dwBlock : c+dwBlock]
					a0, a1, a2, a3, a4, a5, a6, a7 = b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
				}
				for kh := khLo; kh < khHi; kh++ {
					ih := oh*p.StrideH - p.PadTop + kh
					for kw := kwLo; kw < kwHi; kw++ {
						iw := ow*p.StrideW - p.PadLeft + kw
						v := xi[(ih*p.W+iw)*C+c : (ih*p.W+iw)*C+c+dwBlock : (ih*p.W+iw)*C+c+dwBlock]
						k := w[(kh*p.KW+kw)*C+c : (kh*p.KW+kw)*C+c+dwBlock : (kh*p.KW+kw)*C+c+dwBlock]
						a0 += float32(v[0] * k[0])
						a1 += float32(v[1] * k[1])
						a2 += float32(v[2] * k[2])
						a3 += float32(v[3] * k[3])
						a4 += float32(v[4] * k[4])
						a5 += float32(v[5] * k[5])
						a6 += float32(v[6] * k[6])
						a7 += float32(v[7] * k[7])
					}
				}
				o := out[c : c+dwBlock : c+dwBlock]
				o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = a0, a1, a2, a3, a4, a5, a6, a7
			}
			for ; c < C; c++ {
				var a float32
				if bias != nil {
					a = bias[c]
				}
				for kh := khLo; kh < khHi; kh++ {
					ih := oh*p.StrideH - p.PadTop + kh
					for kw := kwLo; kw < kwHi; kw++ {
						iw := ow*p.StrideW - p.PadLeft + kw
						a += float32(xi[(ih*p.W+iw)*C+c] * w[(kh*p.KW+kw)*C+c])
					}
				}
				out[c] = a
			}
		}
	}
}

// dwFilterRun is one run of a depthwise filter gradient's sums: output
// positions [owLo, owHi) of the output row g, each against the input
// position its window puts under kernel cell (kh, kw) in the input row
// row, the products going to that cell's gradient dk.
type dwFilterRun struct {
	dk, row, g []float32
	kw         int
	owLo, owHi int
}

// dwFilterRuns yields the runs of a depthwise filter gradient with
// multiplier 1 in order: image, output row, kernel row, kernel column.
func dwFilterRuns(dw, dy, x []float32, p ConvParams) iter.Seq[dwFilterRun] {
	return func(yield func(dwFilterRun) bool) {
		C := p.C
		for n := range p.N {
			xi := x[n*p.H*p.W*C : (n+1)*p.H*p.W*C]
			for oh := range p.OH {
				khLo, khHi := span(oh, p.StrideH, p.PadTop, p.KH, p.H)
				g := dy[(n*p.OH+oh)*p.OW*C : (n*p.OH+oh+1)*p.OW*C]
				for kh := khLo; kh < khHi; kh++ {
					row := xi[(oh*p.StrideH-p.PadTop+kh)*p.W*C : (oh*p.StrideH-p.PadTop+kh+1)*p.W*C]
					for kw := range p.KW {
						// Output columns whose window puts cell kw inside the row.
						owLo := max(0, (p.PadLeft-kw+p.StrideW-1)/p.StrideW)
						owHi := min(p.OW, (p.W-1+p.PadLeft-kw)/p.StrideW+1)
						if owLo >= owHi {
							continue
						}
						dk := dw[(kh*p.KW+kw)*C : (kh*p.KW+kw+1)*C]
						if !yield(dwFilterRun{dk: dk, row: row, g: g, kw: kw, owLo: owLo, owHi: owHi}) {
							return
						}
					}
				}
			}
		}
	}
}

// depthwise1GradFilterScalar accumulates dw with multiplier 1, for
// channels [c1, c2): for each run (dwFilterRuns), a block of channels sums
// its products over the run in registers, then adds them to dw once.
func depthwise1GradFilterScalar(dw, dy, x []float32, p ConvParams, c1, c2 int) {
	C := p.C
	for r := range dwFilterRuns(dw, dy, x, p) {
		row, g, dk := r.row, r.g, r.dk
		c := c1
		for ; c+dwBlock <= c2; c += dwBlock {
			var a0, a1, a2, a3, a4, a5, a6, a7 float32
			for ow := r.owLo; ow < r.owHi; ow++ {
				iw := ow*p.StrideW - p.PadLeft + r.kw
				v := row[iw*C+c : iw*C+c+dwBlock : iw*C+c+dwBlock]
				e := g[ow*C+c : ow*C+c+dwBlock : ow*C+c+dwBlock]
				a0 += float32(v[0] * e[0])
				a1 += float32(v[1] * e[1])
				a2 += float32(v[2] * e[2])
				a3 += float32(v[3] * e[3])
				a4 += float32(v[4] * e[4])
				a5 += float32(v[5] * e[5])
				a6 += float32(v[6] * e[6])
				a7 += float32(v[7] * e[7])
			}
			d := dk[c : c+dwBlock : c+dwBlock]
			d[0] += a0
			d[1] += a1
			d[2] += a2
			d[3] += a3
			d[4] += a4
			d[5] += a5
			d[6] += a6
			d[7] += a7
		}
		for ; c < c2; c++ {
			var a float32
			for ow := r.owLo; ow < r.owHi; ow++ {
				a += float32(row[(ow*p.StrideW-p.PadLeft+r.kw)*C+c] * g[ow*C+c])
			}
			dk[c] += a
		}
	}
}

// dwAxpyScalar adds g·w to d, element by element.
func dwAxpyScalar(d, g, w []float32) {
	g, w = g[:len(d)], w[:len(d)]
	for c := range d {
		d[c] += float32(g[c] * w[c])
	}
}
