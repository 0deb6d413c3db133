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
		// Output rows in parts, each row's work about OW·C·KH·KW
		// products.
		runParts(&partTask{op: partDepthwise, dst: y, a: x, b: w, c: bias, conv: p},
			p.N*p.OH, 2*p.OW*p.C*p.KH*p.KW, 1)
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
	if mult == 1 && p.StrideH == 1 && p.StrideW == 1 && p.KH*p.KW*p.C <= Kc*Nc {
		depthwise1GradInput(dx, dy, w, p)
		return
	}
	// Images in parts: an output row's products land in several input
	// rows, an image's only in its own.
	runParts(&partTask{op: partDepthwiseGradInput, dst: dx, a: dy, b: w, conv: p},
		p.N, 2*p.OH*p.OW*p.OC*p.KH*p.KW, 1)
}

// depthwiseGradInputImages is DepthwiseConv2DGradInput for images
// [lo, hi): each output position adds its products to the input positions
// its window read, one kernel cell at a time.
func depthwiseGradInputImages(dx, dy, w []float32, p ConvParams, lo, hi int) {
	mult := p.multiplier()
	clear(dx[lo*p.H*p.W*p.C : hi*p.H*p.W*p.C])
	for n := lo; n < hi; n++ {
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
		// Channels in parts (each channel's sums in the serial order),
		// whole vectors of eight each.
		runParts(&partTask{op: partDepthwiseGradFilter, dst: dw, a: dy, b: x, conv: p},
			p.C, 2*p.N*p.OH*p.OW*p.KH*p.KW, 8)
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

// depthwise1GradInput is DepthwiseConv2DGradInput with multiplier 1 and
// stride 1, where dx is dy convolved with the kernel turned by 180°: input
// position i reads output position i + pad − k through cell k, that is
// i − (K−1−pad) + k′ through cell k′ = K−1−k. It runs the forward loops,
// which keep each element's sum in registers, instead of adding every
// product into dx.
func depthwise1GradInput(dx, dy, w []float32, p ConvParams) {
	ws := workspaces.get()
	turned := ws.packedB[:p.KH*p.KW*p.C]
	for k := range p.KH * p.KW {
		copy(turned[k*p.C:(k+1)*p.C], w[(p.KH*p.KW-1-k)*p.C:(p.KH*p.KW-k)*p.C])
	}
	// Padding past K−1 on a side turns negative here, which the forward
	// loops take as it comes: they read only PadTop and PadLeft, and the
	// output's size is given.
	q := ConvParams{
		N: p.N, H: p.OH, W: p.OW, C: p.C, KH: p.KH, KW: p.KW, OC: p.C, StrideH: 1, StrideW: 1,
		PadTop: p.KH - 1 - p.PadTop, PadLeft: p.KW - 1 - p.PadLeft,
		PadBottom: p.KH - 1 - p.PadBottom, PadRight: p.KW - 1 - p.PadRight,
		OH: p.H, OW: p.W, Multiplier: 1,
	}
	runParts(&partTask{op: partDepthwise, dst: dx, a: dy, b: turned, conv: q},
		q.N*q.OH, 2*q.OW*q.C*q.KH*q.KW, 1)
	workspaces.put(ws)
}
