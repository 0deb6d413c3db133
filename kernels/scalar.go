//go:build !(goexperiment.simd && amd64)

package kernels

// The micro-kernel's tile in scalar code (wasm, and native builds without
// GOEXPERIMENT=simd): eight accumulators in Go's sixteen float registers.
const (
	Mr = 2
	Nr = 4
)

// GemmKernel names the GEMM's micro-kernel in this build.
func GemmKernel() string { return "scalar 2×4" }

// winogradInputTile writes Bᵀ d B of one tile, channel by channel.
func winogradInputTile(o []float32, d *[16][]float32) { winogradInputTileScalar(o, d, 0) }

// maxPoolWindow writes the maximum of the window's cells, channel by
// channel, and where it was (maxPoolWindowScalar).
func maxPoolWindow(out []float32, arg []int32, x []float32, cells []int) {
	maxPoolWindowScalar(out, arg, x, cells)
}

// winogradGradTile writes A dY Aᵀ of one tile.
func winogradGradTile(o []float32, d *[4][]float32) { winogradGradTileScalar(o, d, 0) }

// relu sets y = x where x > 0 and +0 elsewhere (NaN included).
func relu(y, x []float32) { reluScalar(y, x) }

// reluGrad sets dx = dy where y > 0 and +0 elsewhere.
func reluGrad(dx, dy, y []float32) { reluGradScalar(dx, dy, y) }

// winogradOutputTile writes Aᵀ M A (+ bias) of one tile into its four
// output vectors.
func winogradOutputTile(o *[4][]float32, m, bias []float32) { winogradOutputTileScalar(o, m, bias, 0) }

// microKernel computes rows/Mr tiles of Mr×Nr (2×4): for each pair of rows
// i, i+1 of A (starting lda apart in a, each kc long), acc = [a_i; a_i+1]·Bₛ
// over kc in registers, then C = alpha·acc + beta·C on the first k-panel
// (C unread when beta is 0) or C += alpha·acc on later ones, C's rows ldc
// apart. One call covers a sliver's whole column of tiles: under wasm a
// call passes its arguments through memory, which costs as much as the
// products of a tile when k is short (the Winograd path's products have k
// = input channels, 8 for a small network).
//
// Eight accumulators, four values of B and two of A fit the sixteen float
// registers of amd64 and of Go's wasm backend without spilling; a 4×4 tile
// does not, and 3×4 is no faster. The k loop is unrolled eight times (the
// rest one at a time) and walks the slivers by re-slicing, which removes
// every bounds check from the loop body: under wasm each loop iteration is
// a branch through the function's dispatch table, about 25 machine
// instructions in V8 (a loop that copies one float per iteration costs 28
// per float), so unrolling four times doubled the speed there and eight
// took another 6–7% off the instructions of fashion-fast's and mnist-cnn's
// training steps (BENCHMARKS.md, "Counting instructions"); natively it lets
// the eight fused multiply-adds per step overlap. With GOAMD64=v3 the
// compiler fuses each c += a*b into one VFMADD231SS.
func microKernel(kc, rows int, a []float32, lda int, sliver, c []float32, ldc int, alpha, beta float32, first bool) {
	sliver = sliver[:kc*Nr]
	for i := 0; i+Mr <= rows; i += Mr {
		var c00, c01, c02, c03 float32
		var c10, c11, c12, c13 float32
		a0 := a[i*lda : i*lda+kc]
		a1 := a[(i+1)*lda : (i+1)*lda+kc]
		pb := sliver
		for len(a0) >= 8 && len(a1) >= 8 && len(pb) >= 8*Nr {
			x := a0[:8:8]
			y := a1[:8:8]
			b := pb[: 8*Nr : 8*Nr]
			c00 += x[0] * b[0]
			c01 += x[0] * b[1]
			c02 += x[0] * b[2]
			c03 += x[0] * b[3]
			c10 += y[0] * b[0]
			c11 += y[0] * b[1]
			c12 += y[0] * b[2]
			c13 += y[0] * b[3]
			c00 += x[1] * b[4]
			c01 += x[1] * b[5]
			c02 += x[1] * b[6]
			c03 += x[1] * b[7]
			c10 += y[1] * b[4]
			c11 += y[1] * b[5]
			c12 += y[1] * b[6]
			c13 += y[1] * b[7]
			c00 += x[2] * b[8]
			c01 += x[2] * b[9]
			c02 += x[2] * b[10]
			c03 += x[2] * b[11]
			c10 += y[2] * b[8]
			c11 += y[2] * b[9]
			c12 += y[2] * b[10]
			c13 += y[2] * b[11]
			c00 += x[3] * b[12]
			c01 += x[3] * b[13]
			c02 += x[3] * b[14]
			c03 += x[3] * b[15]
			c10 += y[3] * b[12]
			c11 += y[3] * b[13]
			c12 += y[3] * b[14]
			c13 += y[3] * b[15]
			c00 += x[4] * b[16]
			c01 += x[4] * b[17]
			c02 += x[4] * b[18]
			c03 += x[4] * b[19]
			c10 += y[4] * b[16]
			c11 += y[4] * b[17]
			c12 += y[4] * b[18]
			c13 += y[4] * b[19]
			c00 += x[5] * b[20]
			c01 += x[5] * b[21]
			c02 += x[5] * b[22]
			c03 += x[5] * b[23]
			c10 += y[5] * b[20]
			c11 += y[5] * b[21]
			c12 += y[5] * b[22]
			c13 += y[5] * b[23]
			c00 += x[6] * b[24]
			c01 += x[6] * b[25]
			c02 += x[6] * b[26]
			c03 += x[6] * b[27]
			c10 += y[6] * b[24]
			c11 += y[6] * b[25]
			c12 += y[6] * b[26]
			c13 += y[6] * b[27]
			c00 += x[7] * b[28]
			c01 += x[7] * b[29]
			c02 += x[7] * b[30]
			c03 += x[7] * b[31]
			c10 += y[7] * b[28]
			c11 += y[7] * b[29]
			c12 += y[7] * b[30]
			c13 += y[7] * b[31]
			a0, a1, pb = a0[8:], a1[8:], pb[8*Nr:]
		}
		for len(a0) >= 1 && len(a1) >= 1 && len(pb) >= Nr {
			x, y := a0[0], a1[0]
			b0, b1, b2, b3 := pb[0], pb[1], pb[2], pb[3]
			c00 += x * b0
			c01 += x * b1
			c02 += x * b2
			c03 += x * b3
			c10 += y * b0
			c11 += y * b1
			c12 += y * b2
			c13 += y * b3
			a0, a1, pb = a0[1:], a1[1:], pb[Nr:]
		}
		r0 := c[i*ldc : i*ldc+4 : i*ldc+4]
		r1 := c[(i+1)*ldc : (i+1)*ldc+4 : (i+1)*ldc+4]
		switch {
		case !first || beta == 1:
			r0[0] += alpha * c00
			r0[1] += alpha * c01
			r0[2] += alpha * c02
			r0[3] += alpha * c03
			r1[0] += alpha * c10
			r1[1] += alpha * c11
			r1[2] += alpha * c12
			r1[3] += alpha * c13
		case beta == 0:
			r0[0] = alpha * c00
			r0[1] = alpha * c01
			r0[2] = alpha * c02
			r0[3] = alpha * c03
			r1[0] = alpha * c10
			r1[1] = alpha * c11
			r1[2] = alpha * c12
			r1[3] = alpha * c13
		default:
			r0[0] = alpha*c00 + beta*r0[0]
			r0[1] = alpha*c01 + beta*r0[1]
			r0[2] = alpha*c02 + beta*r0[2]
			r0[3] = alpha*c03 + beta*r0[3]
			r1[0] = alpha*c10 + beta*r1[0]
			r1[1] = alpha*c11 + beta*r1[1]
			r1[2] = alpha*c12 + beta*r1[2]
			r1[3] = alpha*c13 + beta*r1[3]
		}
	}
}

// packSliver copies kc rows of Nr values, starting ldb apart in b, into
// sliver: op(B)[p][j] = b[p*ldb+j] for a whole sliver. Four rows per
// iteration: under wasm an iteration costs a branch through the dispatch
// table (about 1.5× the speed of one row per iteration, in node). Each row
// is four assignments, not a copy of a [4]float32: Go's wasm backend
// makes that copy a call to runtime.memmove, which cost more than the
// copy itself (15% of a Winograd convolution's weight gradient's time in
// node's profile).
func packSliver(sliver, b []float32, ldb, kc int) {
	p := 0
	for ; p+4 <= kc; p += 4 {
		d := sliver[p*Nr : (p+4)*Nr : (p+4)*Nr]
		s0 := b[p*ldb : p*ldb+4 : p*ldb+4]
		s1 := b[(p+1)*ldb : (p+1)*ldb+4 : (p+1)*ldb+4]
		s2 := b[(p+2)*ldb : (p+2)*ldb+4 : (p+2)*ldb+4]
		s3 := b[(p+3)*ldb : (p+3)*ldb+4 : (p+3)*ldb+4]
		d[0], d[1], d[2], d[3] = s0[0], s0[1], s0[2], s0[3]
		d[4], d[5], d[6], d[7] = s1[0], s1[1], s1[2], s1[3]
		d[8], d[9], d[10], d[11] = s2[0], s2[1], s2[2], s2[3]
		d[12], d[13], d[14], d[15] = s3[0], s3[1], s3[2], s3[3]
	}
	for ; p < kc; p++ {
		d := sliver[p*Nr : (p+1)*Nr : (p+1)*Nr]
		s := b[p*ldb : p*ldb+4 : p*ldb+4]
		d[0], d[1], d[2], d[3] = s[0], s[1], s[2], s[3]
	}
}

// columnSums adds each row's x[j] to sums[j] (columnSumsScalar).
func columnSums(sums []float64, x []float32, rows, c int) { columnSumsScalar(sums, x, rows, c, 0) }

// bnSquares adds each row's (x[j]−m[j])² to sums[j] (bnSquaresScalar).
func bnSquares(sums []float64, x, m []float32, rows, c int) { bnSquaresScalar(sums, x, m, rows, c, 0) }

// bnNormalize writes y = sc·xhat + of, xhat = (x−m)·is
// (bnNormalizeScalar).
func bnNormalize(y, x, m, is, sc, of []float32, rows, c int) {
	bnNormalizeScalar(y, x, m, is, sc, of, rows, c, 0)
}

// bnInfer writes y = (x−m)·s + o (bnInferScalar).
func bnInfer(y, x, m, s, o []float32, rows, c int) { bnInferScalar(y, x, m, s, o, rows, c, 0) }

// bnGradSums adds each row's dy[j] to sd[j] and dy[j]·xhat[j] to sdx[j],
// xhat = (x−m)·is (bnGradSumsScalar).
func bnGradSums(sd, sdx []float64, dy, x, m, is []float32, rows, c int) {
	bnGradSumsScalar(sd, sdx, dy, x, m, is, rows, c, 0)
}

// bnGrad writes dx = p·dy − q − e·xhat, xhat = (x−m)·is (bnGradScalar).
func bnGrad(dx, dy, x, m, is, p, q, e []float32, rows, c int) {
	bnGradScalar(dx, dy, x, m, is, p, q, e, rows, c, 0)
}

// depthwise1 is DepthwiseConv2D with multiplier 1 for the output rows
// [lo, hi) of N·OH (depthwise1Scalar).
func depthwise1(y, x, w, bias []float32, p ConvParams, lo, hi int) {
	depthwise1Scalar(y, x, w, bias, p, lo, hi, 0)
}

// depthwise1GradFilter accumulates dw with multiplier 1 for channels
// [c1, c2) (depthwise1GradFilterScalar).
func depthwise1GradFilter(dw, dy, x []float32, p ConvParams, c1, c2 int) {
	depthwise1GradFilterScalar(dw, dy, x, p, c1, c2)
}

// dwAxpy adds g·w to d, element by element (dwAxpyScalar).
func dwAxpy(d, g, w []float32) { dwAxpyScalar(d, g, w) }

// transposeA copies op(A)[i0:i0+mc, p0:p0+kc] = A[p0:p0+kc, i0:i0+mc]ᵀ
// into dst as an mc×kc row-major matrix (transposeAScalar).
func transposeA(dst, a []float32, lda, i0, p0, mc, kc int) {
	transposeAScalar(dst, kc, a, lda, i0, p0, mc, kc)
}
