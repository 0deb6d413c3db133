//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"simd/archsimd"
)

// The micro-kernel's tile with AVX2 (native builds with GOEXPERIMENT=simd,
// which make build uses where the CPU has AVX2 and FMA): four rows of two
// 8-wide vectors, eight accumulators, two vectors of B and a broadcast
// value of A, eleven of the sixteen YMM registers. A 6×16 tile measured
// slower here, and unrolling k by two no faster. It reaches about 33
// GFLOP/s on one core here, about 40% of the 78 GFLOP/s two 8-wide FMA
// units give at the 2.45 GHz /proc/cpuinfo reports: archsimd's MulAdd
// is VFMADD213PS, whose result replaces a multiplicand, so the compiler
// moves each accumulator back into its register every step, and a
// broadcast from memory is two instructions.
const (
	Mr = 4
	Nr = 16
)

// simdKernel says whether this CPU runs the vector micro-kernel; without
// AVX2 and FMA the scalar one does the same work.
var simdKernel = archsimd.X86.AVX2() && archsimd.X86.FMA()

// GemmKernel names the GEMM's micro-kernel in this build on this CPU.
func GemmKernel() string {
	if simdKernel {
		return "AVX2 4×16"
	}
	return "scalar 4×16 (no AVX2 and FMA)"
}

// microKernel computes rows/Mr tiles of Mr×Nr (4×16): for each four rows
// of A (starting lda apart in a, each kc long), acc = A₄·Bₛ over kc in
// registers, each element of C a fused multiply-add per k in order, then
// C = alpha·acc + beta·C on the first k-panel (C unread when beta is 0) or
// C += alpha·acc on later ones, C's rows ldc apart.
func microKernel(kc, rows int, a []float32, lda int, sliver, c []float32, ldc int, alpha, beta float32, first bool) {
	if !simdKernel {
		microKernelScalar(kc, rows, a, lda, sliver, c, ldc, alpha, beta, first)
		return
	}
	// The scalar code that runs next (Go's float code is SSE) would pay
	// for the upper halves of the YMM registers left set: false
	// dependencies that made Adam's step ten times slower here.
	defer archsimd.ClearAVXUpperBits()
	mode := scale
	switch {
	case !first || beta == 1:
		mode = accumulate
	case beta == 0:
		mode = overwrite
	}
	av, bv := archsimd.BroadcastFloat32x8(alpha), archsimd.BroadcastFloat32x8(beta)
	sliver = sliver[:kc*Nr]
	for i := 0; i+Mr <= rows; i += Mr {
		var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
		a0 := a[i*lda : i*lda+kc]
		a1 := a[(i+1)*lda : (i+1)*lda+kc]
		a2 := a[(i+2)*lda : (i+2)*lda+kc]
		a3 := a[(i+3)*lda : (i+3)*lda+kc]
		// Indexing rather than re-slicing five slices each step: twice
		// as fast here.
		for p := range kc {
			b := sliver[p*Nr : p*Nr+Nr : p*Nr+Nr]
			b0 := archsimd.LoadFloat32x8Slice(b[0:8])
			b1 := archsimd.LoadFloat32x8Slice(b[8:16])
			x := archsimd.BroadcastFloat32x8(a0[p])
			c00 = x.MulAdd(b0, c00)
			c01 = x.MulAdd(b1, c01)
			x = archsimd.BroadcastFloat32x8(a1[p])
			c10 = x.MulAdd(b0, c10)
			c11 = x.MulAdd(b1, c11)
			x = archsimd.BroadcastFloat32x8(a2[p])
			c20 = x.MulAdd(b0, c20)
			c21 = x.MulAdd(b1, c21)
			x = archsimd.BroadcastFloat32x8(a3[p])
			c30 = x.MulAdd(b0, c30)
			c31 = x.MulAdd(b1, c31)
		}
		r0 := (*[Nr]float32)(c[i*ldc:])
		r1 := (*[Nr]float32)(c[(i+1)*ldc:])
		r2 := (*[Nr]float32)(c[(i+2)*ldc:])
		r3 := (*[Nr]float32)(c[(i+3)*ldc:])
		switch mode {
		case accumulate:
			av.MulAdd(c00, load(r0, 0)).Store(half(r0, 0))
			av.MulAdd(c01, load(r0, 8)).Store(half(r0, 8))
			av.MulAdd(c10, load(r1, 0)).Store(half(r1, 0))
			av.MulAdd(c11, load(r1, 8)).Store(half(r1, 8))
			av.MulAdd(c20, load(r2, 0)).Store(half(r2, 0))
			av.MulAdd(c21, load(r2, 8)).Store(half(r2, 8))
			av.MulAdd(c30, load(r3, 0)).Store(half(r3, 0))
			av.MulAdd(c31, load(r3, 8)).Store(half(r3, 8))
		case overwrite:
			av.Mul(c00).Store(half(r0, 0))
			av.Mul(c01).Store(half(r0, 8))
			av.Mul(c10).Store(half(r1, 0))
			av.Mul(c11).Store(half(r1, 8))
			av.Mul(c20).Store(half(r2, 0))
			av.Mul(c21).Store(half(r2, 8))
			av.Mul(c30).Store(half(r3, 0))
			av.Mul(c31).Store(half(r3, 8))
		default:
			av.MulAdd(c00, bv.Mul(load(r0, 0))).Store(half(r0, 0))
			av.MulAdd(c01, bv.Mul(load(r0, 8))).Store(half(r0, 8))
			av.MulAdd(c10, bv.Mul(load(r1, 0))).Store(half(r1, 0))
			av.MulAdd(c11, bv.Mul(load(r1, 8))).Store(half(r1, 8))
			av.MulAdd(c20, bv.Mul(load(r2, 0))).Store(half(r2, 0))
			av.MulAdd(c21, bv.Mul(load(r2, 8))).Store(half(r2, 8))
			av.MulAdd(c30, bv.Mul(load(r3, 0))).Store(half(r3, 0))
			av.MulAdd(c31, bv.Mul(load(r3, 8))).Store(half(r3, 8))
		}
	}
}

// The three ways a tile's sums reach C: C += alpha·acc (a later k-panel,
// or beta 1), C = alpha·acc (C unread), C = alpha·acc + beta·C.
const (
	accumulate = iota
	overwrite
	scale
)

// half is the 8 values of row r at offset 0 or 8.
func half(r *[Nr]float32, at int) *[8]float32 { return (*[8]float32)(r[at : at+8]) }

// load is half(r, at) as a vector.
func load(r *[Nr]float32, at int) archsimd.Float32x8 { return archsimd.LoadFloat32x8(half(r, at)) }

// microKernelScalar is microKernel's work in scalar code, for a CPU
// without AVX2 or FMA: the same sums in the same order, one row of the
// tile at a time.
func microKernelScalar(kc, rows int, a []float32, lda int, sliver, c []float32, ldc int, alpha, beta float32, first bool) {
	sliver = sliver[:kc*Nr]
	for i := range rows - rows%Mr {
		var acc [Nr]float32
		ai := a[i*lda : i*lda+kc]
		for p, x := range ai {
			b := sliver[p*Nr : p*Nr+Nr]
			for j := range acc {
				acc[j] += x * b[j]
			}
		}
		r := c[i*ldc : i*ldc+Nr]
		for j, v := range acc {
			switch {
			case !first || beta == 1:
				r[j] += alpha * v
			case beta == 0:
				r[j] = alpha * v
			default:
				r[j] = alpha*v + beta*r[j]
			}
		}
	}
}

// winogradInputTile writes Bᵀ d B of one tile, eight channels at a time
// (per channel the same additions in the same order as
// winogradInputTileScalar, which does the channels left over): one row of
// Bᵀ d at a time, then · B, so that a row's vectors stay in registers.
func winogradInputTile(o []float32, d *[16][]float32) {
	c := len(d[0])
	v := c &^ 7
	if !simdKernel || v == 0 {
		winogradInputTileScalar(o, d, 0)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	o = o[:16*c]
	for k := 0; k < v; k += 8 {
		// The rows of Bᵀ d are d0−d2, d1+d2, d2−d1 and d1−d3, d_i being
		// row i of the tile (inputs 4i to 4i+3).
		for r := range 4 {
			var r0, r1, r2, r3 archsimd.Float32x8
			switch r {
			case 0:
				r0 = load8(d[0], k).Sub(load8(d[8], k))
				r1 = load8(d[1], k).Sub(load8(d[9], k))
				r2 = load8(d[2], k).Sub(load8(d[10], k))
				r3 = load8(d[3], k).Sub(load8(d[11], k))
			case 1:
				r0 = load8(d[4], k).Add(load8(d[8], k))
				r1 = load8(d[5], k).Add(load8(d[9], k))
				r2 = load8(d[6], k).Add(load8(d[10], k))
				r3 = load8(d[7], k).Add(load8(d[11], k))
			case 2:
				r0 = load8(d[8], k).Sub(load8(d[4], k))
				r1 = load8(d[9], k).Sub(load8(d[5], k))
				r2 = load8(d[10], k).Sub(load8(d[6], k))
				r3 = load8(d[11], k).Sub(load8(d[7], k))
			default:
				r0 = load8(d[4], k).Sub(load8(d[12], k))
				r1 = load8(d[5], k).Sub(load8(d[13], k))
				r2 = load8(d[6], k).Sub(load8(d[14], k))
				r3 = load8(d[7], k).Sub(load8(d[15], k))
			}
			// · B: x0−x2, x1+x2, x2−x1, x1−x3.
			out := 4 * r * c
			r0.Sub(r2).StoreSlice(o[out+k : out+k+8])
			r1.Add(r2).StoreSlice(o[out+c+k : out+c+k+8])
			r2.Sub(r1).StoreSlice(o[out+2*c+k : out+2*c+k+8])
			r1.Sub(r3).StoreSlice(o[out+3*c+k : out+3*c+k+8])
		}
	}
	winogradInputTileScalar(o, d, v)
}

// winogradOutputTile writes Aᵀ M A (+ bias) of one tile into its four
// output vectors, eight channels at a time (per channel the same additions
// in the same order as winogradOutputTileScalar, a zero bias included,
// which does the channels left over).
func winogradOutputTile(o *[4][]float32, m, bias []float32) {
	c := len(o[0])
	v := c &^ 7
	if !simdKernel || v == 0 {
		winogradOutputTileScalar(o, m, bias, 0)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	m = m[:16*c]
	for k := 0; k < v; k += 8 {
		var add archsimd.Float32x8
		if bias != nil {
			add = load8(bias, k)
		}
		// Aᵀ M: two rows of four.
		a0 := load8(m, k).Add(load8(m, 4*c+k)).Add(load8(m, 8*c+k))
		a1 := load8(m, c+k).Add(load8(m, 5*c+k)).Add(load8(m, 9*c+k))
		a2 := load8(m, 2*c+k).Add(load8(m, 6*c+k)).Add(load8(m, 10*c+k))
		a3 := load8(m, 3*c+k).Add(load8(m, 7*c+k)).Add(load8(m, 11*c+k))
		a0.Add(a1).Add(a2).Add(add).StoreSlice(o[0][k : k+8])
		a1.Sub(a2).Sub(a3).Add(add).StoreSlice(o[1][k : k+8])
		b0 := load8(m, 4*c+k).Sub(load8(m, 8*c+k)).Sub(load8(m, 12*c+k))
		b1 := load8(m, 5*c+k).Sub(load8(m, 9*c+k)).Sub(load8(m, 13*c+k))
		b2 := load8(m, 6*c+k).Sub(load8(m, 10*c+k)).Sub(load8(m, 14*c+k))
		b3 := load8(m, 7*c+k).Sub(load8(m, 11*c+k)).Sub(load8(m, 15*c+k))
		b0.Add(b1).Add(b2).Add(add).StoreSlice(o[2][k : k+8])
		b1.Sub(b2).Sub(b3).Add(add).StoreSlice(o[3][k : k+8])
	}
	winogradOutputTileScalar(o, m, bias, v)
}

// relu sets y = x where x > 0 and +0 elsewhere (NaN included), eight
// elements at a time: the comparison keeps what reluScalar's sign and
// exponent test keeps, to the bit.
func relu(y, x []float32) {
	v := len(y) &^ 7
	if !simdKernel || v == 0 {
		reluScalar(y, x)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	x = x[:len(y)]
	var zero archsimd.Float32x8
	for i := 0; i < v; i += 8 {
		e := load8(x, i)
		e.Masked(e.Greater(zero)).StoreSlice(y[i : i+8])
	}
	reluScalar(y[v:], x[v:])
}

// reluGrad sets dx = dy where y > 0 and +0 elsewhere, eight elements at a
// time.
func reluGrad(dx, dy, y []float32) {
	v := len(dx) &^ 7
	if !simdKernel || v == 0 {
		reluGradScalar(dx, dy, y)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	dy, y = dy[:len(dx)], y[:len(dx)]
	var zero archsimd.Float32x8
	for i := 0; i < v; i += 8 {
		load8(dy, i).Masked(load8(y, i).Greater(zero)).StoreSlice(dx[i : i+8])
	}
	reluGradScalar(dx[v:], dy[v:], y[v:])
}

// maxPoolWindow writes the maximum of the window's cells, channel by
// channel, and where it was; a 2×2 window (four cells) eight channels at a
// time, by maxPoolWindowScalar's rule: the first cell starts the maximum,
// a later one replaces it where greater, or where it is a NaN and the
// maximum is not yet one (ties keep the earlier cell).
func maxPoolWindow(out []float32, arg []int32, x []float32, cells []int) {
	v := len(out) &^ 7
	if !simdKernel || len(cells) != 4 || v == 0 {
		maxPoolWindowScalar(out, arg, x, cells)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	arg = arg[:len(out)]
	lanes := archsimd.LoadInt32x8Slice(laneIndex[:])
	for c := 0; c < v; c += 8 {
		best := load8(x, cells[0]+c)
		at := lanes.Add(archsimd.BroadcastInt32x8(int32(cells[0] + c)))
		for _, cell := range cells[1:] {
			e := load8(x, cell+c)
			// Greater, or a NaN over a maximum that is not one (a
			// value equals itself unless it is a NaN).
			take := e.Greater(best).Or(e.IsNaN().And(best.Equal(best)))
			best = e.Merge(best, take)
			at = lanes.Add(archsimd.BroadcastInt32x8(int32(cell+c))).Merge(at, take)
		}
		best.StoreSlice(out[c : c+8])
		at.StoreSlice(arg[c : c+8])
	}
	rest := [4]int{cells[0] + v, cells[1] + v, cells[2] + v, cells[3] + v}
	maxPoolWindowScalar(out[v:], arg[v:], x, rest[:])
}

// laneIndex is each lane's place in a vector.
var laneIndex = [8]int32{0, 1, 2, 3, 4, 5, 6, 7}

// winogradGradTile writes A dY Aᵀ of one tile, A = [1 0; 1 1; 1 -1;
// 0 -1], eight channels at a time (per channel the same operations as
// winogradGradTileScalar, negation a flip of the sign bit as Go's is).
func winogradGradTile(o []float32, d *[4][]float32) {
	c := len(d[0])
	v := c &^ 7
	if !simdKernel || v == 0 {
		winogradGradTileScalar(o, d, 0)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	o = o[:16*c]
	sign := archsimd.BroadcastInt32x8(math.MinInt32)
	neg := func(x archsimd.Float32x8) archsimd.Float32x8 { return x.AsInt32x8().Xor(sign).AsFloat32x8() }
	put := func(i, k int, x archsimd.Float32x8) { x.StoreSlice(o[i*c+k : i*c+k+8]) }
	for k := 0; k < v; k += 8 {
		a, b, e, f := load8(d[0], k), load8(d[1], k), load8(d[2], k), load8(d[3], k)
		// Rows of A dY: (a,b), (a+e,b+f), (a-e,b-f), (-e,-f); each row
		// (u,v) becomes (u, u+v, u-v, -v).
		p, q := a.Add(e), b.Add(f)
		r, s := a.Sub(e), b.Sub(f)
		put(0, k, a)
		put(1, k, a.Add(b))
		put(2, k, a.Sub(b))
		put(3, k, neg(b))
		put(4, k, p)
		put(5, k, p.Add(q))
		put(6, k, p.Sub(q))
		put(7, k, neg(q))
		put(8, k, r)
		put(9, k, r.Add(s))
		put(10, k, r.Sub(s))
		put(11, k, neg(s))
		put(12, k, neg(e))
		put(13, k, neg(e).Sub(f))
		put(14, k, f.Sub(e))
		put(15, k, f)
	}
	winogradGradTileScalar(o, d, v)
}

// load8 is s[k:k+8] as a vector.
func load8(s []float32, k int) archsimd.Float32x8 { return archsimd.LoadFloat32x8Slice(s[k : k+8]) }

// columnSums adds each row's x[j] to sums[j], four channels at a time in
// float64 (per channel the same additions in the same order as
// columnSumsScalar, which does the channels left over).
func columnSums(sums []float64, x []float32, rows, c int) {
	v := len(sums) &^ 3
	if !simdKernel || v == 0 {
		columnSumsScalar(sums, x, rows, c, 0)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	for r := range rows {
		in := x[r*c : r*c+v]
		for j := 0; j < v; j += 4 {
			e := archsimd.LoadFloat32x4Slice(in[j : j+4]).ConvertToFloat64()
			archsimd.LoadFloat64x4Slice(sums[j : j+4]).Add(e).StoreSlice(sums[j : j+4])
		}
	}
	columnSumsScalar(sums, x, rows, c, v)
}

// bnSquares adds each row's (x[j]−m[j])² to sums[j], four channels at a
// time (bnSquaresScalar's operations).
func bnSquares(sums []float64, x, m []float32, rows, c int) {
	v := len(sums) &^ 3
	if !simdKernel || v == 0 {
		bnSquaresScalar(sums, x, m, rows, c, 0)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	mv := m[:v]
	for r := range rows {
		in := x[r*c : r*c+v]
		for j := 0; j < v; j += 4 {
			d := archsimd.LoadFloat32x4Slice(in[j : j+4]).Sub(archsimd.LoadFloat32x4Slice(mv[j : j+4])).ConvertToFloat64()
			archsimd.LoadFloat64x4Slice(sums[j : j+4]).Add(d.Mul(d)).StoreSlice(sums[j : j+4])
		}
	}
	bnSquaresScalar(sums, x, m, rows, c, v)
}

// bnNormalize writes y = sc·xhat + of, xhat = (x−m)·is, eight channels at
// a time (bnNormalizeScalar's operations: the product rounded, then the
// sum).
func bnNormalize(y, x, m, is, sc, of []float32, rows, c int) {
	width := len(m)
	v := width &^ 7
	if !simdKernel || v == 0 {
		bnNormalizeScalar(y, x, m, is, sc, of, rows, c, 0)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	for r := range rows {
		at := r * c
		in, out := x[at:at+v], y[at:at+v]
		for j := 0; j < v; j += 8 {
			n := load8(in, j).Sub(load8(m, j)).Mul(load8(is, j))
			load8(sc, j).Mul(n).Add(load8(of, j)).StoreSlice(out[j : j+8])
		}
	}
	bnNormalizeScalar(y, x, m, is, sc, of, rows, c, v)
}

// bnInfer writes y = (x−m)·s + o, eight channels at a time
// (bnInferScalar's operations).
func bnInfer(y, x, m, s, o []float32, rows, c int) {
	v := len(m) &^ 7
	if !simdKernel || v == 0 {
		bnInferScalar(y, x, m, s, o, rows, c, 0)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	for r := range rows {
		at := r * c
		in, out := x[at:at+v], y[at:at+v]
		for j := 0; j < v; j += 8 {
			load8(in, j).Sub(load8(m, j)).Mul(load8(s, j)).Add(load8(o, j)).StoreSlice(out[j : j+8])
		}
	}
	bnInferScalar(y, x, m, s, o, rows, c, v)
}

// bnGradSums adds each row's dy[j] to sd[j] and dy[j]·xhat[j] to sdx[j],
// xhat = (x−m)·is, four channels at a time (bnGradSumsScalar's
// operations).
func bnGradSums(sd, sdx []float64, dy, x, m, is []float32, rows, c int) {
	v := len(sd) &^ 3
	if !simdKernel || v == 0 {
		bnGradSumsScalar(sd, sdx, dy, x, m, is, rows, c, 0)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	s, t, mv, iv := sd[:v], sdx[:v], m[:v], is[:v]
	for r := range rows {
		at := r * c
		g, in := dy[at:at+v], x[at:at+v]
		for j := 0; j < v; j += 4 {
			e := archsimd.LoadFloat32x4Slice(g[j : j+4]).ConvertToFloat64()
			h := archsimd.LoadFloat32x4Slice(in[j : j+4]).Sub(archsimd.LoadFloat32x4Slice(mv[j : j+4])).
				Mul(archsimd.LoadFloat32x4Slice(iv[j : j+4])).ConvertToFloat64()
			archsimd.LoadFloat64x4Slice(s[j : j+4]).Add(e).StoreSlice(s[j : j+4])
			archsimd.LoadFloat64x4Slice(t[j : j+4]).Add(e.Mul(h)).StoreSlice(t[j : j+4])
		}
	}
	bnGradSumsScalar(sd, sdx, dy, x, m, is, rows, c, v)
}

// bnGrad writes dx = p·dy − q − e·xhat, xhat = (x−m)·is, eight channels at
// a time (bnGradScalar's operations: each product rounded, then the
// differences from the left).
func bnGrad(dx, dy, x, m, is, p, q, e []float32, rows, c int) {
	v := len(p) &^ 7
	if !simdKernel || v == 0 {
		bnGradScalar(dx, dy, x, m, is, p, q, e, rows, c, 0)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	for r := range rows {
		at := r * c
		g, in, d := dy[at:at+v], x[at:at+v], dx[at:at+v]
		for j := 0; j < v; j += 8 {
			h := load8(in, j).Sub(load8(m, j)).Mul(load8(is, j))
			load8(p, j).Mul(load8(g, j)).Sub(load8(q, j)).Sub(load8(e, j).Mul(h)).StoreSlice(d[j : j+8])
		}
	}
	bnGradScalar(dx, dy, x, m, is, p, q, e, rows, c, v)
}

// depthwise1 is DepthwiseConv2D with multiplier 1 for the output rows
// [lo, hi) of N·OH, 32 and then 8 channels at a time, each output
// element's sum over the kernel cells in a vector register (per channel
// depthwise1Scalar's operations in the same order, each product rounded
// before it is added; it does the channels left over).
func depthwise1(y, x, w, bias []float32, p ConvParams, lo, hi int) {
	C := p.C
	v := C &^ 7
	if !simdKernel || v == 0 {
		depthwise1Scalar(y, x, w, bias, p, lo, hi, 0)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	for r := lo; r < hi; r++ {
		n, oh := r/p.OH, r%p.OH
		xi := x[n*p.H*p.W*C : (n+1)*p.H*p.W*C]
		khLo, khHi := span(oh, p.StrideH, p.PadTop, p.KH, p.H)
		for ow := range p.OW {
			kwLo, kwHi := span(ow, p.StrideW, p.PadLeft, p.KW, p.W)
			out := y[((n*p.OH+oh)*p.OW+ow)*C : ((n*p.OH+oh)*p.OW+ow+1)*C]
			for c := 0; c < v; {
				// Four vectors when four are left, to keep four
				// chains of additions in flight; else one.
				wide := c+32 <= v
				var a0, a1, a2, a3 archsimd.Float32x8
				if bias != nil {
					a0 = load8(bias, c)
					if wide {
						a1, a2, a3 = load8(bias, c+8), load8(bias, c+16), load8(bias, c+24)
					}
				}
				for kh := khLo; kh < khHi; kh++ {
					ih := oh*p.StrideH - p.PadTop + kh
					for kw := kwLo; kw < kwHi; kw++ {
						xo := (ih*p.W+ow*p.StrideW-p.PadLeft+kw)*C + c
						wo := (kh*p.KW+kw)*C + c
						a0 = a0.Add(load8(xi, xo).Mul(load8(w, wo)))
						if wide {
							a1 = a1.Add(load8(xi, xo+8).Mul(load8(w, wo+8)))
							a2 = a2.Add(load8(xi, xo+16).Mul(load8(w, wo+16)))
							a3 = a3.Add(load8(xi, xo+24).Mul(load8(w, wo+24)))
						}
					}
				}
				a0.StoreSlice(out[c : c+8])
				if !wide {
					c += 8
					continue
				}
				a1.StoreSlice(out[c+8 : c+16])
				a2.StoreSlice(out[c+16 : c+24])
				a3.StoreSlice(out[c+24 : c+32])
				c += 32
			}
		}
	}
	if v < C {
		depthwise1Scalar(y, x, w, bias, p, lo, hi, v)
	}
}

// depthwise1GradFilter accumulates dw with multiplier 1 for channels
// [c1, c2), 32 and then 8 at a time: for each run (dwFilterRuns), the
// products summed over the run in vector registers, then added to dw (per
// channel depthwise1GradFilterScalar's operations in the same order; it
// does the channels left over).
func depthwise1GradFilter(dw, dy, x []float32, p ConvParams, c1, c2 int) {
	C := p.C
	v := c1 + (c2-c1)&^7
	if !simdKernel || v == c1 {
		depthwise1GradFilterScalar(dw, dy, x, p, c1, c2)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	for r := range dwFilterRuns(dw, dy, x, p) {
		row, g, dk := r.row, r.g, r.dk
		for c := c1; c < v; {
			wide := c+32 <= v
			var a0, a1, a2, a3 archsimd.Float32x8
			for ow := r.owLo; ow < r.owHi; ow++ {
				xo := (ow*p.StrideW-p.PadLeft+r.kw)*C + c
				gi := ow*C + c
				a0 = a0.Add(load8(row, xo).Mul(load8(g, gi)))
				if wide {
					a1 = a1.Add(load8(row, xo+8).Mul(load8(g, gi+8)))
					a2 = a2.Add(load8(row, xo+16).Mul(load8(g, gi+16)))
					a3 = a3.Add(load8(row, xo+24).Mul(load8(g, gi+24)))
				}
			}
			load8(dk, c).Add(a0).StoreSlice(dk[c : c+8])
			if !wide {
				c += 8
				continue
			}
			load8(dk, c+8).Add(a1).StoreSlice(dk[c+8 : c+16])
			load8(dk, c+16).Add(a2).StoreSlice(dk[c+16 : c+24])
			load8(dk, c+24).Add(a3).StoreSlice(dk[c+24 : c+32])
			c += 32
		}
	}
	if v < c2 {
		depthwise1GradFilterScalar(dw, dy, x, p, v, c2)
	}
}

// dwAxpy adds g·w to d, eight elements at a time (dwAxpyScalar's
// operations, which does the elements left over).
func dwAxpy(d, g, w []float32) {
	v := len(d) &^ 7
	if !simdKernel || v == 0 {
		dwAxpyScalar(d, g, w)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	for c := 0; c < v; c += 8 {
		load8(d, c).Add(load8(g, c).Mul(load8(w, c))).StoreSlice(d[c : c+8])
	}
	dwAxpyScalar(d[v:], g[v:], w[v:])
}

// transposeA copies op(A)[i0:i0+mc, p0:p0+kc] = A[p0:p0+kc, i0:i0+mc]ᵀ
// into dst as an mc×kc row-major matrix, in 8×8 blocks transposed in
// registers (two rounds of VSHUFPS within the 128-bit halves, then
// VPERM2F128 across them); transposeAScalar copies the rows and columns
// past the last whole block.
func transposeA(dst, a []float32, lda, i0, p0, mc, kc int) {
	mv, kv := mc&^7, kc&^7
	if !simdKernel || mv == 0 || kv == 0 {
		transposeAScalar(dst, kc, a, lda, i0, p0, mc, kc)
		return
	}
	defer archsimd.ClearAVXUpperBits()
	dst = dst[:mc*kc]
	for p := 0; p < kv; p += 8 {
		at := (p0+p)*lda + i0
		for i := 0; i < mv; i += 8 {
			// Rows p..p+7 of A, columns i..i+7.
			r0, r1 := load8(a, at+i), load8(a, at+lda+i)
			r2, r3 := load8(a, at+2*lda+i), load8(a, at+3*lda+i)
			r4, r5 := load8(a, at+4*lda+i), load8(a, at+5*lda+i)
			r6, r7 := load8(a, at+6*lda+i), load8(a, at+7*lda+i)
			// In each half: s0 = (r0₀ r0₁ r1₀ r1₁), s1 = (r0₂ r0₃ r1₂ r1₃), …
			s0, s1 := r0.SelectFromPairGrouped(0, 1, 4, 5, r1), r0.SelectFromPairGrouped(2, 3, 6, 7, r1)
			s2, s3 := r2.SelectFromPairGrouped(0, 1, 4, 5, r3), r2.SelectFromPairGrouped(2, 3, 6, 7, r3)
			s4, s5 := r4.SelectFromPairGrouped(0, 1, 4, 5, r5), r4.SelectFromPairGrouped(2, 3, 6, 7, r5)
			s6, s7 := r6.SelectFromPairGrouped(0, 1, 4, 5, r7), r6.SelectFromPairGrouped(2, 3, 6, 7, r7)
			// u0 = (r0₀ r1₀ r2₀ r3₀) in the low half and the same of
			// column 4 in the high one; u1 columns 1 and 5, …
			u0, u1 := s0.SelectFromPairGrouped(0, 2, 4, 6, s2), s0.SelectFromPairGrouped(1, 3, 5, 7, s2)
			u2, u3 := s1.SelectFromPairGrouped(0, 2, 4, 6, s3), s1.SelectFromPairGrouped(1, 3, 5, 7, s3)
			u4, u5 := s4.SelectFromPairGrouped(0, 2, 4, 6, s6), s4.SelectFromPairGrouped(1, 3, 5, 7, s6)
			u6, u7 := s5.SelectFromPairGrouped(0, 2, 4, 6, s7), s5.SelectFromPairGrouped(1, 3, 5, 7, s7)
			// Column j of the block, rows p..p+7, is row i+j of dst.
			put := func(j int, x archsimd.Float32x8) { x.StoreSlice(dst[(i+j)*kc+p : (i+j)*kc+p+8]) }
			put(0, u0.Select128FromPair(0, 2, u4))
			put(1, u1.Select128FromPair(0, 2, u5))
			put(2, u2.Select128FromPair(0, 2, u6))
			put(3, u3.Select128FromPair(0, 2, u7))
			put(4, u0.Select128FromPair(1, 3, u4))
			put(5, u1.Select128FromPair(1, 3, u5))
			put(6, u2.Select128FromPair(1, 3, u6))
			put(7, u3.Select128FromPair(1, 3, u7))
		}
	}
	transposeAScalar(dst[mv*kc:], kc, a, lda, i0+mv, p0, mc-mv, kc)
	transposeAScalar(dst[kv:], kc, a, lda, i0, p0+kv, mv, kc-kv)
}

// packSliver copies kc rows of Nr values, starting ldb apart in b, into
// sliver: op(B)[p][j] = b[p*ldb+j] for a whole sliver, each row of sixteen
// floats copied as one array, four rows per iteration.
func packSliver(sliver, b []float32, ldb, kc int) {
	p := 0
	for ; p+4 <= kc; p += 4 {
		d := sliver[p*Nr : (p+4)*Nr : (p+4)*Nr]
		*(*[Nr]float32)(d) = *(*[Nr]float32)(b[p*ldb:])
		*(*[Nr]float32)(d[Nr:]) = *(*[Nr]float32)(b[(p+1)*ldb:])
		*(*[Nr]float32)(d[2*Nr:]) = *(*[Nr]float32)(b[(p+2)*ldb:])
		*(*[Nr]float32)(d[3*Nr:]) = *(*[Nr]float32)(b[(p+3)*ldb:])
	}
	for ; p < kc; p++ {
		*(*[Nr]float32)(sliver[p*Nr:]) = *(*[Nr]float32)(b[p*ldb:])
	}
}
