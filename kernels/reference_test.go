package kernels

import "math"

// Naive references: the textbook loops, summing in float64, that the fast
// kernels are checked against. They favour obviousness over speed.

func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(v)
		}
	}
}

// refInput returns the input cell read by output (oh, ow) at kernel cell
// (kh, kw), and whether it lies inside the image.
func refInput(p ConvParams, oh, ow, kh, kw int) (ih, iw int, ok bool) {
	ih = oh*p.StrideH - p.PadTop + kh
	iw = ow*p.StrideW - p.PadLeft + kw
	return ih, iw, ih >= 0 && ih < p.H && iw >= 0 && iw < p.W
}

func refConv2D(y, x, w, bias []float32, p ConvParams) {
	for n := range p.N {
		for oh := range p.OH {
			for ow := range p.OW {
				for oc := range p.OC {
					var s float64
					if bias != nil {
						s = float64(bias[oc])
					}
					for kh := range p.KH {
						for kw := range p.KW {
							ih, iw, ok := refInput(p, oh, ow, kh, kw)
							if !ok {
								continue
							}
							for c := range p.C {
								s += float64(x[((n*p.H+ih)*p.W+iw)*p.C+c]) * float64(w[((kh*p.KW+kw)*p.C+c)*p.OC+oc])
							}
						}
					}
					y[((n*p.OH+oh)*p.OW+ow)*p.OC+oc] = float32(s)
				}
			}
		}
	}
}

func refConv2DGradInput(dx, dy, w []float32, p ConvParams) {
	acc := make([]float64, p.N*p.H*p.W*p.C)
	for n := range p.N {
		for oh := range p.OH {
			for ow := range p.OW {
				for kh := range p.KH {
					for kw := range p.KW {
						ih, iw, ok := refInput(p, oh, ow, kh, kw)
						if !ok {
							continue
						}
						for c := range p.C {
							for oc := range p.OC {
								acc[((n*p.H+ih)*p.W+iw)*p.C+c] += float64(dy[((n*p.OH+oh)*p.OW+ow)*p.OC+oc]) * float64(w[((kh*p.KW+kw)*p.C+c)*p.OC+oc])
							}
						}
					}
				}
			}
		}
	}
	for i, v := range acc {
		dx[i] = float32(v)
	}
}

func refConv2DGradFilter(dw, dbias, dy, x []float32, p ConvParams) {
	acc := make([]float64, p.KH*p.KW*p.C*p.OC)
	bacc := make([]float64, p.OC)
	for n := range p.N {
		for oh := range p.OH {
			for ow := range p.OW {
				for oc := range p.OC {
					g := float64(dy[((n*p.OH+oh)*p.OW+ow)*p.OC+oc])
					bacc[oc] += g
					for kh := range p.KH {
						for kw := range p.KW {
							ih, iw, ok := refInput(p, oh, ow, kh, kw)
							if !ok {
								continue
							}
							for c := range p.C {
								acc[((kh*p.KW+kw)*p.C+c)*p.OC+oc] += g * float64(x[((n*p.H+ih)*p.W+iw)*p.C+c])
							}
						}
					}
				}
			}
		}
	}
	for i, v := range acc {
		dw[i] += float32(v)
	}
	if dbias != nil {
		for i, v := range bacc {
			dbias[i] += float32(v)
		}
	}
}

func refDepthwise(y, x, w, bias []float32, p ConvParams, mult int) {
	for n := range p.N {
		for oh := range p.OH {
			for ow := range p.OW {
				for c := range p.C {
					for m := range mult {
						oc := c*mult + m
						var s float64
						if bias != nil {
							s = float64(bias[oc])
						}
						for kh := range p.KH {
							for kw := range p.KW {
								if ih, iw, ok := refInput(p, oh, ow, kh, kw); ok {
									s += float64(x[((n*p.H+ih)*p.W+iw)*p.C+c]) * float64(w[((kh*p.KW+kw)*p.C+c)*mult+m])
								}
							}
						}
						y[((n*p.OH+oh)*p.OW+ow)*p.OC+oc] = float32(s)
					}
				}
			}
		}
	}
}

func refDepthwiseGrad(dx, dw, dbias, dy, x, w []float32, p ConvParams, mult int) {
	ax := make([]float64, p.N*p.H*p.W*p.C)
	aw := make([]float64, p.KH*p.KW*p.OC)
	ab := make([]float64, p.OC)
	for n := range p.N {
		for oh := range p.OH {
			for ow := range p.OW {
				for c := range p.C {
					for m := range mult {
						oc := c*mult + m
						g := float64(dy[((n*p.OH+oh)*p.OW+ow)*p.OC+oc])
						ab[oc] += g
						for kh := range p.KH {
							for kw := range p.KW {
								if ih, iw, ok := refInput(p, oh, ow, kh, kw); ok {
									xi := ((n*p.H+ih)*p.W+iw)*p.C + c
									wi := ((kh*p.KW+kw)*p.C+c)*mult + m
									ax[xi] += g * float64(w[wi])
									aw[wi] += g * float64(x[xi])
								}
							}
						}
					}
				}
			}
		}
	}
	for i, v := range ax {
		dx[i] = float32(v)
	}
	for i, v := range aw {
		dw[i] += float32(v)
	}
	if dbias != nil {
		for i, v := range ab {
			dbias[i] += float32(v)
		}
	}
}

// refPoolCells calls f with the flat x index of every non-padding cell of
// the window of output (n, oh, ow), channel c.
func refPoolCells(p PoolParams, n, oh, ow, c int, f func(i int)) {
	for kh := range p.KH {
		for kw := range p.KW {
			ih := oh*p.StrideH - p.PadTop + kh
			iw := ow*p.StrideW - p.PadLeft + kw
			if ih >= 0 && ih < p.H && iw >= 0 && iw < p.W {
				f(((n*p.H+ih)*p.W+iw)*p.C + c)
			}
		}
	}
}

func refPool(y, dx, dy, x []float32, p PoolParams, isMax bool) {
	var ax []float64
	if dx != nil {
		ax = make([]float64, p.N*p.H*p.W*p.C)
	}
	for n := range p.N {
		for oh := range p.OH {
			for ow := range p.OW {
				for c := range p.C {
					o := ((n*p.OH+oh)*p.OW+ow)*p.C + c
					best, count, sum := -1, 0, 0.0
					refPoolCells(p, n, oh, ow, c, func(i int) {
						count++
						sum += float64(x[i])
						if best < 0 || x[i] > x[best] {
							best = i
						}
					})
					if y != nil {
						switch {
						case count == 0:
							y[o] = 0
						case isMax:
							y[o] = x[best]
						default:
							y[o] = float32(sum / float64(count))
						}
					}
					if dx == nil || count == 0 {
						continue
					}
					if isMax {
						ax[best] += float64(dy[o])
					} else {
						refPoolCells(p, n, oh, ow, c, func(i int) { ax[i] += float64(dy[o]) / float64(count) })
					}
				}
			}
		}
	}
	for i, v := range ax {
		dx[i] = float32(v)
	}
}

func refBatchNormTrain(y, x, scale, offset []float32, rows, c int, eps float32) (mean, variance []float64) {
	mean, variance = make([]float64, c), make([]float64, c)
	for j := range c {
		for r := range rows {
			mean[j] += float64(x[r*c+j])
		}
		mean[j] /= float64(rows)
		for r := range rows {
			d := float64(x[r*c+j]) - mean[j]
			variance[j] += d * d
		}
		variance[j] /= float64(rows)
		for r := range rows {
			xhat := (float64(x[r*c+j]) - mean[j]) / math.Sqrt(variance[j]+float64(eps))
			y[r*c+j] = float32(float64(scale[j])*xhat + float64(offset[j]))
		}
	}
	return mean, variance
}

// refBatchNormTrainGrad differentiates y = scale·(x-mean)/√(var+eps) +
// offset through the batch mean and variance, term by term.
func refBatchNormTrainGrad(dx, dscale, doffset, dy, x, scale []float32, rows, c int, eps float32) {
	for j := range c {
		var mean, variance float64
		for r := range rows {
			mean += float64(x[r*c+j])
		}
		mean /= float64(rows)
		for r := range rows {
			d := float64(x[r*c+j]) - mean
			variance += d * d
		}
		variance /= float64(rows)
		inv := 1 / math.Sqrt(variance+float64(eps))
		var dvar, dmean, ds, do float64
		for r := range rows {
			d := float64(x[r*c+j]) - mean
			g := float64(dy[r*c+j])
			ds += g * d * inv
			do += g
			dxhat := g * float64(scale[j])
			dvar += dxhat * d * -0.5 * inv * inv * inv
			dmean += -dxhat * inv
		}
		for r := range rows {
			d := float64(x[r*c+j]) - mean
			dxhat := float64(dy[r*c+j]) * float64(scale[j])
			dx[r*c+j] = float32(dxhat*inv + dvar*2*d/float64(rows) + dmean/float64(rows))
		}
		dscale[j] += float32(ds)
		doffset[j] += float32(do)
	}
}

func refBatchNormInference(y, x, scale, offset, runMean, runVar []float32, rows, c int, eps float32) {
	for r := range rows {
		for j := range c {
			xhat := (float64(x[r*c+j]) - float64(runMean[j])) / math.Sqrt(float64(runVar[j])+float64(eps))
			y[r*c+j] = float32(float64(scale[j])*xhat + float64(offset[j]))
		}
	}
}

// refActivation returns f(x) and f'(x) of the named activation.
func refActivation(name string, x, alpha float64) (y, dydx float64) {
	switch name {
	case "ReLU":
		if x > 0 {
			return x, 1
		}
		return 0, 0
	case "LeakyReLU":
		if x > 0 {
			return x, 1
		}
		return alpha * x, alpha
	case "ELU":
		if x > 0 {
			return x, 1
		}
		return alpha * (math.Exp(x) - 1), alpha * math.Exp(x)
	case "Sigmoid":
		s := 1 / (1 + math.Exp(-x))
		return s, s * (1 - s)
	case "Tanh":
		t := math.Tanh(x)
		return t, 1 - t*t
	}
	panic("unknown activation " + name)
}

func refSoftmaxCrossEntropy(dlogits, logits []float32, labels []int32, weights []float32, smoothing float64, n, classes int) float64 {
	var total, sum float64
	for i := range n {
		w := 1.0
		if weights != nil {
			w = float64(weights[labels[i]])
		}
		total += w
	}
	for i := range n {
		w := 1.0
		if weights != nil {
			w = float64(weights[labels[i]])
		}
		var z float64
		for j := range classes {
			z += math.Exp(float64(logits[i*classes+j]))
		}
		for j := range classes {
			p := math.Exp(float64(logits[i*classes+j])) / z
			t := smoothing / float64(classes)
			if j == int(labels[i]) {
				t += 1 - smoothing
			}
			sum -= w * t * math.Log(p)
			dlogits[i*classes+j] = float32(w * (p - t) / total)
		}
	}
	return sum / total
}
