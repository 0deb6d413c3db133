package kernels

// multiplier returns the depthwise channel multiplier of p, taking it from
// OC/C when the Multiplier field is unset, and panics when OC is not C
// times it.
func (p ConvParams) multiplier() int {
	m := p.Multiplier
	if m == 0 && p.C > 0 {
		m = p.OC / p.C
	}
	if m <= 0 || p.OC != p.C*m {
		panic(errBadMultiplier)
	}
	return m
}

// DepthwiseConv2D convolves each input channel with its own M filters.
// x is (N,H,W,C); w is (KH,KW,C,M); bias is (C*M) or nil; y is (N,OH,OW,C*M)
// with output channel c*M+m reading input channel c. Read flat, w at kernel
// cell (kh,kw) is one (C*M) vector aligned with the output channels, so the
// inner loops run over contiguous memory.
func DepthwiseConv2D(y, x, w, bias []float32, p ConvParams) {
	p.check()
	mult := p.multiplier()
	p.checkLengths(x, y, w, p.KH*p.KW*p.OC)
	if bias != nil && len(bias) < p.OC {
		panic(errShortBias)
	}
	if mult == 1 {
		depthwise1(y, x, w, bias, p)
		return
	}
	for n := range p.N {
		xi := x[n*p.H*p.W*p.C : (n+1)*p.H*p.W*p.C]
		for oh := range p.OH {
			for ow := range p.OW {
				out := y[((n*p.OH+oh)*p.OW+ow)*p.OC : ((n*p.OH+oh)*p.OW+ow+1)*p.OC]
				if bias != nil {
					copy(out, bias[:p.OC])
				} else {
					clear(out)
				}
				for kh := range p.KH {
					ih := oh*p.StrideH - p.PadTop + kh
					if ih < 0 || ih >= p.H {
						continue
					}
					for kw := range p.KW {
						iw := ow*p.StrideW - p.PadLeft + kw
						if iw < 0 || iw >= p.W {
							continue
						}
						in := xi[(ih*p.W+iw)*p.C : (ih*p.W+iw+1)*p.C]
						wk := w[(kh*p.KW+kw)*p.OC : (kh*p.KW+kw+1)*p.OC]
						for c, v := range in {
							o := out[c*mult : (c+1)*mult]
							for m, wv := range wk[c*mult : (c+1)*mult] {
								o[m] += v * wv
							}
						}
					}
				}
			}
		}
	}
}

// DepthwiseConv2DGradInput computes dx = ∂L/∂x (assigned).
// dy is (N,OH,OW,C*M); w is (KH,KW,C,M); dx is (N,H,W,C).
func DepthwiseConv2DGradInput(dx, dy, w []float32, p ConvParams) {
	p.check()
	mult := p.multiplier()
	p.checkLengths(dx, dy, w, p.KH*p.KW*p.OC)
	clear(dx[:p.N*p.H*p.W*p.C])
	for n := range p.N {
		di := dx[n*p.H*p.W*p.C : (n+1)*p.H*p.W*p.C]
		for oh := range p.OH {
			for ow := range p.OW {
				g := dy[((n*p.OH+oh)*p.OW+ow)*p.OC : ((n*p.OH+oh)*p.OW+ow+1)*p.OC]
				for kh := range p.KH {
					ih := oh*p.StrideH - p.PadTop + kh
					if ih < 0 || ih >= p.H {
						continue
					}
					for kw := range p.KW {
						iw := ow*p.StrideW - p.PadLeft + kw
						if iw < 0 || iw >= p.W {
							continue
						}
						d := di[(ih*p.W+iw)*p.C : (ih*p.W+iw+1)*p.C]
						wk := w[(kh*p.KW+kw)*p.OC : (kh*p.KW+kw+1)*p.OC]
						if mult == 1 {
							dwAxpy(d, g, wk)
							continue
						}
						for c := range d {
							var s float32
							gc := g[c*mult : (c+1)*mult]
							for m, wv := range wk[c*mult : (c+1)*mult] {
								s += gc[m] * wv
							}
							d[c] += s
						}
					}
				}
			}
		}
	}
}

// DepthwiseConv2DGradFilter accumulates dw += ∂L/∂w and dbias += ∂L/∂bias.
// dy is (N,OH,OW,C*M); x is (N,H,W,C); dw is (KH,KW,C,M); dbias is (C*M) or nil.
func DepthwiseConv2DGradFilter(dw, dbias, dy, x []float32, p ConvParams) {
	p.check()
	mult := p.multiplier()
	p.checkLengths(x, dy, dw, p.KH*p.KW*p.OC)
	if dbias != nil && len(dbias) < p.OC {
		panic(errShortBias)
	}
	if mult == 1 {
		depthwise1GradFilter(dw, dy, x, p)
		if dbias != nil {
			addColumnSumsParallel(dbias[:p.OC], dy, p.N*p.OH*p.OW, p.OC)
		}
		return
	}
	for n := range p.N {
		xi := x[n*p.H*p.W*p.C : (n+1)*p.H*p.W*p.C]
		for oh := range p.OH {
			for ow := range p.OW {
				g := dy[((n*p.OH+oh)*p.OW+ow)*p.OC : ((n*p.OH+oh)*p.OW+ow+1)*p.OC]
				for kh := range p.KH {
					ih := oh*p.StrideH - p.PadTop + kh
					if ih < 0 || ih >= p.H {
						continue
					}
					for kw := range p.KW {
						iw := ow*p.StrideW - p.PadLeft + kw
						if iw < 0 || iw >= p.W {
							continue
						}
						in := xi[(ih*p.W+iw)*p.C : (ih*p.W+iw+1)*p.C]
						dk := dw[(kh*p.KW+kw)*p.OC : (kh*p.KW+kw+1)*p.OC]
						for c, v := range in {
							d := dk[c*mult : (c+1)*mult]
							for m, gv := range g[c*mult : (c+1)*mult] {
								d[m] += v * gv
							}
						}
					}
				}
			}
		}
	}
	if dbias != nil {
		addColumnSumsParallel(dbias[:p.OC], dy, p.N*p.OH*p.OW, p.OC)
	}
}
