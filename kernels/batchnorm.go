package kernels

import "math"

// checkBatchNorm panics when a batch-norm slice is shorter than its shape.
func checkBatchNorm(rows, c int, data [][]float32, channels [][]float32) {
	if rows < 0 || c <= 0 {
		panic(errBadSize)
	}
	for _, d := range data {
		if len(d) < rows*c {
			panic(errShortInput)
		}
	}
	for _, v := range channels {
		if len(v) < c {
			panic(errShortInput)
		}
	}
}

// batchNormArgs are the arguments of a batch-norm kernel; its methods run
// the kernel over channels [c1, c2). Every channel's sums run over all the
// rows in order, so splitting the channels across threads changes no bits.
type batchNormArgs struct {
	rows, c         int
	momentum, eps   float32
	x, y            []float32 // (rows, c)
	dy, dx          []float32 // (rows, c)
	mean, invStd    []float32 // (c)
	scale, offset   []float32 // (c)
	runMean, runVar []float32 // (c)
	dscale, doffset []float32 // (c)
}

// BatchNormTrain normalizes each channel with the statistics of the batch.
// x, y are (rows, c) with rows = N*H*W; mean, invStd, scale, offset,
// runMean, runVar are (c).
//
//	mean = Σx/rows, var = Σ(x-mean)²/rows (biased), invStd = 1/√(var+eps)
//	xhat = (x-mean)·invStd, y = scale·xhat + offset
//	runMean = momentum·runMean + (1-momentum)·mean
//	runVar  = momentum·runVar + (1-momentum)·var·rows/(rows-1)
//
// Sums run in float64 so that large batches keep float32 precision.
//
// xhat is not kept: BatchNormGrad computes it again from x, mean and
// invStd (a subtraction and a product per element in both of its
// passes), which trains as fast as writing it here and reading it there
// did, with a tensor less to hold per layer.
func BatchNormTrain(y, mean, invStd []float32, x, scale, offset, runMean, runVar []float32, rows, c int, momentum, eps float32) {
	checkBatchNorm(rows, c, [][]float32{y, x}, [][]float32{mean, invStd, scale, offset, runMean, runVar})
	if rows == 0 {
		return
	}
	// Four passes over (rows, c) floats per channel: two sums, then x in
	// and y out.
	runParts(&partTask{op: partBatchNormTrain, bn: batchNormArgs{
		rows: rows, c: c, momentum: momentum, eps: eps, y: y, x: x,
		mean: mean, invStd: invStd, scale: scale, offset: offset, runMean: runMean, runVar: runVar,
	}}, c, 4*rows, 1)
}

// train is BatchNormTrain over channels [c1, c2).
func (a *batchNormArgs) train(c1, c2 int) {
	rows, c := a.rows, a.c
	var acc [columnBlock]float64
	for c0 := c1; c0 < c2; c0 += columnBlock {
		width := min(columnBlock, c2-c0)
		x := a.x[c0:]
		sums := acc[:width]
		clear(sums)
		columnSums(sums, x, rows, c)
		for j := range sums {
			a.mean[c0+j] = float32(sums[j] / float64(rows))
			sums[j] = 0
		}
		m := a.mean[c0 : c0+width]
		bnSquares(sums, x, m, rows, c)
		for j, s := range sums {
			variance := s / float64(rows)
			a.invStd[c0+j] = float32(1 / math.Sqrt(variance+float64(a.eps)))
			unbiased := variance
			if rows > 1 {
				unbiased = s / float64(rows-1)
			}
			ch := c0 + j
			a.runMean[ch] = a.momentum*a.runMean[ch] + (1-a.momentum)*m[j]
			a.runVar[ch] = a.momentum*a.runVar[ch] + (1-a.momentum)*float32(unbiased)
		}
		bnNormalize(a.y[c0:], x, m, a.invStd[c0:c0+width], a.scale[c0:c0+width], a.offset[c0:c0+width], rows, c)
	}
}

// The row loops of batch norm. Each walks a block of len(sums) (or
// len(m), len(p)) channels, starting at the slices' first element, in rows
// c apart; the Scalar forms do channels [from, width), so that a vector
// form can leave them the channels past its last whole vector. Products
// are rounded before they are added (float32(a*b) + c, never fused), so
// the native builds, with or without fused multiply-adds or vectors, and
// WebAssembly all compute the same bits. (A product of two float32s is
// exact in float64, so the sums in float64 are the same either way.) The
// sums over rows and the inference pass take four channels per iteration,
// for wasm, where each iteration costs a branch through the function's
// dispatch table: in node the sums 3.7× and the squares 2.6× as fast. The
// loops with more slices gained nothing measurable that way and keep one
// channel per iteration.

// columnSumsScalar adds each row's x[j] to sums[j] (batch norm's mean, and
// the bias gradients' sums over rows, addColumnSumsRange).
func columnSumsScalar(sums []float64, x []float32, rows, c, from int) {
	s := sums[from:]
	for r := range rows {
		in := x[r*c+from : r*c+len(sums)]
		s := s[:len(in)]
		j := 0
		for ; j+4 <= len(in); j += 4 {
			t, v := s[j:j+4:j+4], in[j:j+4:j+4]
			t[0], t[1], t[2], t[3] = t[0]+float64(v[0]), t[1]+float64(v[1]), t[2]+float64(v[2]), t[3]+float64(v[3])
		}
		for ; j < len(in); j++ {
			s[j] += float64(in[j])
		}
	}
}

// bnSquaresScalar adds each row's (x[j]−m[j])² to sums[j].
func bnSquaresScalar(sums []float64, x, m []float32, rows, c, from int) {
	s, mean := sums[from:], m[from:len(sums)]
	for r := range rows {
		in := x[r*c+from : r*c+len(sums)]
		s, mean := s[:len(in)], mean[:len(in)]
		j := 0
		for ; j+4 <= len(in); j += 4 {
			t, v, u := s[j:j+4:j+4], in[j:j+4:j+4], mean[j:j+4:j+4]
			t[0] += square(v[0] - u[0])
			t[1] += square(v[1] - u[1])
			t[2] += square(v[2] - u[2])
			t[3] += square(v[3] - u[3])
		}
		for ; j < len(in); j++ {
			s[j] += square(in[j] - mean[j])
		}
	}
}

// square is d² in float64, exact for a float32 d.
func square(d float32) float64 { return float64(d) * float64(d) }

// bnNormalizeScalar writes y = sc·xhat + of, xhat = (x−m)·is.
func bnNormalizeScalar(y, x, m, is, sc, of []float32, rows, c, from int) {
	width := len(m)
	m, is, sc, of = m[from:width], is[from:width], sc[from:width], of[from:width]
	for r := range rows {
		in := x[r*c+from : r*c+width]
		out := y[r*c+from : r*c+width]
		out = out[:len(in)]
		m, is, sc, of := m[:len(in)], is[:len(in)], sc[:len(in)], of[:len(in)]
		for j, v := range in {
			out[j] = float32(sc[j]*normalized(v, m[j], is[j])) + of[j]
		}
	}
}

// normalized is xhat = (x−m)·is, the same float32 operations wherever
// batch norm computes it.
func normalized(x, m, is float32) float32 { return (x - m) * is }

// bnInferScalar writes y = (x−m)·s + o.
func bnInferScalar(y, x, m, s, o []float32, rows, c, from int) {
	width := len(m)
	m, s, o = m[from:width], s[from:width], o[from:width]
	for r := range rows {
		in := x[r*c+from : r*c+width]
		out := y[r*c+from : r*c+width]
		out = out[:len(in)]
		m, s, o := m[:len(in)], s[:len(in)], o[:len(in)]
		j := 0
		for ; j+4 <= len(in); j += 4 {
			d, v := out[j:j+4:j+4], in[j:j+4:j+4]
			mm, ss, oo := m[j:j+4:j+4], s[j:j+4:j+4], o[j:j+4:j+4]
			d[0] = float32((v[0]-mm[0])*ss[0]) + oo[0]
			d[1] = float32((v[1]-mm[1])*ss[1]) + oo[1]
			d[2] = float32((v[2]-mm[2])*ss[2]) + oo[2]
			d[3] = float32((v[3]-mm[3])*ss[3]) + oo[3]
		}
		for ; j < len(in); j++ {
			out[j] = float32((in[j]-m[j])*s[j]) + o[j]
		}
	}
}

// bnGradSumsScalar adds each row's dy[j] to sd[j] and dy[j]·xhat[j] to
// sdx[j], xhat = (x−m)·is as bnNormalizeScalar computes it.
func bnGradSumsScalar(sd, sdx []float64, dy, x, m, is []float32, rows, c, from int) {
	width := len(sd)
	s, t := sd[from:width], sdx[from:width]
	m, is = m[from:width], is[from:width]
	for r := range rows {
		g := dy[r*c+from : r*c+width]
		in := x[r*c+from : r*c+width]
		in, s, t, m, is := in[:len(g)], s[:len(g)], t[:len(g)], m[:len(g)], is[:len(g)]
		for j, v := range g {
			s[j] += float64(v)
			t[j] += float64(v) * float64(normalized(in[j], m[j], is[j]))
		}
	}
}

// bnGradScalar writes dx = p·dy − q − e·xhat, xhat = (x−m)·is.
func bnGradScalar(dx, dy, x, m, is, p, q, e []float32, rows, c, from int) {
	width := len(p)
	m, is, p, q, e = m[from:width], is[from:width], p[from:width], q[from:width], e[from:width]
	for r := range rows {
		g := dy[r*c+from : r*c+width]
		in := x[r*c+from : r*c+width]
		d := dx[r*c+from : r*c+width]
		in, d = in[:len(g)], d[:len(g)]
		m, is, p, q, e := m[:len(g)], is[:len(g)], p[:len(g)], q[:len(g)], e[:len(g)]
		for j, v := range g {
			d[j] = float32(p[j]*v) - q[j] - float32(e[j]*normalized(in[j], m[j], is[j]))
		}
	}
}

// BatchNormInference normalizes with the running statistics:
// y = scale·(x-runMean)/√(runVar+eps) + offset.
// x, y are (rows, c); scale, offset, runMean, runVar are (c).
func BatchNormInference(y, x, scale, offset, runMean, runVar []float32, rows, c int, eps float32) {
	checkBatchNorm(rows, c, [][]float32{y, x}, [][]float32{scale, offset, runMean, runVar})
	runParts(&partTask{op: partBatchNormInference, bn: batchNormArgs{
		rows: rows, c: c, eps: eps, y: y, x: x, scale: scale, offset: offset, runMean: runMean, runVar: runVar,
	}}, c, 2*rows, 1)
}

// inference is BatchNormInference over channels [c1, c2).
func (a *batchNormArgs) inference(c1, c2 int) {
	// Fold the per-channel constants once per block of channels, on the
	// stack, instead of a square root per element.
	var inv [columnBlock]float32
	for c0 := c1; c0 < c2; c0 += columnBlock {
		width := min(columnBlock, c2-c0)
		for j := range width {
			inv[j] = float32(1/math.Sqrt(float64(a.runVar[c0+j])+float64(a.eps))) * a.scale[c0+j]
		}
		bnInfer(a.y[c0:], a.x[c0:], a.runMean[c0:c0+width], inv[:width], a.offset[c0:c0+width], a.rows, a.c)
	}
}

// BatchNormGrad computes dx (assigned) and accumulates dscale, doffset,
// for the x, mean and invStd of a BatchNormTrain. dy, x, dx are (rows, c);
// mean, scale, invStd, dscale, doffset are (c).
//
//	xhat = (x-mean)·invStd (to the bit as BatchNormTrain computed it)
//	doffset += Σdy, dscale += Σdy·xhat
//	dx = scale·invStd/rows · (rows·dy - Σdy - xhat·Σdy·xhat)
func BatchNormGrad(dx, dscale, doffset, dy, x, mean, scale, invStd []float32, rows, c int) {
	checkBatchNorm(rows, c, [][]float32{dx, dy, x}, [][]float32{dscale, doffset, mean, scale, invStd})
	if rows == 0 {
		return
	}
	// Five passes: dy and x for the sums, then again with dx out.
	runParts(&partTask{op: partBatchNormGrad, bn: batchNormArgs{
		rows: rows, c: c, dx: dx, dy: dy, x: x, mean: mean, scale: scale, invStd: invStd,
		dscale: dscale, doffset: doffset,
	}}, c, 5*rows, 1)
}

// grad is BatchNormGrad over channels [c1, c2).
func (a *batchNormArgs) grad(c1, c2 int) {
	rows, c := a.rows, a.c
	dx, dy, x, dscale, doffset := a.dx, a.dy, a.x, a.dscale, a.doffset
	var sumDy, sumDyXhat [columnBlock]float64
	var k1, k2, k3 [columnBlock]float32
	for c0 := c1; c0 < c2; c0 += columnBlock {
		width := min(columnBlock, c2-c0)
		sd, sdx := sumDy[:width], sumDyXhat[:width]
		clear(sd)
		clear(sdx)
		m, is := a.mean[c0:c0+width], a.invStd[c0:c0+width]
		bnGradSums(sd, sdx, dy[c0:], x[c0:], m, is, rows, c)
		for j := range width {
			ch := c0 + j
			doffset[ch] += float32(sd[j])
			dscale[ch] += float32(sdx[j])
			f := float64(a.scale[ch]) * float64(a.invStd[ch])
			k1[j] = float32(f)
			k2[j] = float32(f * sd[j] / float64(rows))
			k3[j] = float32(f * sdx[j] / float64(rows))
		}
		bnGrad(dx[c0:], dy[c0:], x[c0:], m, is, k1[:width], k2[:width], k3[:width], rows, c)
	}
}
