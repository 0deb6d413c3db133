package jpeg

// Decoding smaller by 4 or 2: each 8×8 block as the means of its 4×4
// quarters or its 2×2 cells, computed exactly from its coefficients.
//
// The inverse DCT is separable: f(x, y) = Σ_u Σ_v F(v, u) k(u, x) k(v, y)
// with k(u, x) = C(u)/2 · cos((2x+1)uπ/16), C(0) = 1/√2 and C(u) = 1
// otherwise. The mean of f over the quarter of columns X and rows Y is
// then Σ_u Σ_v F(v, u) q(u, X) q(v, Y), where q(u, X) is k's mean over X.
// Over the left four columns, q is 1/(2√2) for u = 0, nought for the other
// even u (their cosines cancel in pairs), and quarterOdd for the odd ones;
// over the right four, the same with the odd u's signs flipped. So 25 of
// the 64 coefficients make the four means, in 35 multiplications. Over
// pairs of columns only u = 4 cancels, and the pairs mirrored about the
// middle have the same weights but for the odd u's signs: 49 coefficients
// make the sixteen means, in 154 multiplications: about the time of the
// full inverse DCT (BENCHMARKS.md), but 16 pixels to convert and average
// instead of 64.

// meanFrac is the fixed point of the weights: quarterDC, quarterOdd and
// the halfE and halfO constants are q scaled by 2^meanFrac and rounded
// (TestMeanWeights checks them); integers, so that the page's WebAssembly
// and a native build compute the same bytes.
const meanFrac = 16

// quarterDC is q(0, X): 2^16/(2√2).
const quarterDC = 23170

// quarterOdd is q(u, left half) for u = 1, 3, 5, 7: Σ_{x<4} cos((2x+1)uπ/16)/8.
var quarterOdd = [4]int64{20995, -7373, 4926, -4176}

// quarterFreq are the frequencies 0, 1, 3, 5 and 7 on one side: a block
// holds F(v, u) at 8v+u.
var quarterFreq = [5]int{0, 1, 3, 5, 7}

// natZig maps a natural (row-major) index to its zig-zag one, where the
// quantization table holds its step.
var natZig = func() (z [blockSize]int) {
	for zig, nat := range unzig {
		z[nat] = zig
	}
	return z
}()

// quarters writes the four quarter means of block b, in natural order and
// dequantized by qt (in zig-zag order) as it reads the 25 coefficients it
// needs, level shifted and clipped, as 2×2 pixels at dst with the given
// stride.
func quarters(b *block, qt *block, dst []byte, stride int) {
	// Rows first: for each vertical frequency v, the block's row of
	// coefficients averaged over the left and the right columns.
	var left, right [5]int64
	for i, v := range quarterFreq {
		even := int64(b[8*v]*qt[natZig[8*v]]) * quarterDC
		var odd int64
		for j, u := range quarterFreq[1:] {
			n := 8*v + u
			odd += int64(b[n]*qt[natZig[n]]) * quarterOdd[j]
		}
		left[i], right[i] = even+odd, even-odd
	}
	// Then columns: each half's top and bottom rows.
	const half = 1 << (2*meanFrac - 1)
	for x, col := range [2]*[5]int64{&left, &right} {
		even := col[0] * quarterDC
		var odd int64
		for j := range quarterOdd {
			odd += col[j+1] * quarterOdd[j]
		}
		dst[x] = level(even + odd + half)
		dst[stride+x] = level(even - odd + half)
	}
}

// The weights of the 2×2 means: q(u, X) over the first and the second
// pair of columns, the last two pairs mirroring them (the even u's the
// same, the odd u's of opposite signs), for the even u = 0, 2, 6 (u = 4
// gives nought) and the odd u = 1, 3, 5, 7.
const (
	halfE00, halfE02, halfE06          = 23170, 21407, -8867
	halfE10, halfE12, halfE16          = 23170, -21407, 8867
	halfO01, halfO03, halfO05, halfO07 = 29692, 10426, -6967, -5906
	halfO11, halfO13, halfO15, halfO17 = 12299, -25172, 16819, -2446
)

// halves writes the sixteen 2×2 means of block b, dequantized, in
// natural order, level shifted and clipped, as 4×4 pixels at dst with the
// given stride.
func halves(b *block, dst []byte, stride int) {
	// Rows first: each vertical frequency's row of coefficients averaged
	// over the four pairs of columns. The row of v = 4 averages to nought
	// over pairs of rows and is left out, and rows of noughts, most of a
	// photo's high frequencies, are skipped.
	var rows [8][4]int64
	for v := range 8 {
		r := (*[8]int32)(b[8*v:])
		if v == 4 || r[0]|r[1]|r[2]|r[3]|r[5]|r[6]|r[7] == 0 {
			continue
		}
		rows[v] = halfPass(int64(r[0]), int64(r[1]), int64(r[2]), int64(r[3]), int64(r[5]), int64(r[6]), int64(r[7]))
	}
	// Then columns.
	const half = 1 << (2*meanFrac - 1)
	for x := range 4 {
		c := halfPass(rows[0][x], rows[1][x], rows[2][x], rows[3][x], rows[5][x], rows[6][x], rows[7][x])
		dst[x] = level(c[0] + half)
		dst[stride+x] = level(c[1] + half)
		dst[2*stride+x] = level(c[2] + half)
		dst[3*stride+x] = level(c[3] + half)
	}
}

// halfPass is one side's pass: the means over the four pairs of the
// inverse DCT of the coefficients f0 … f7 (f4 adds nothing), in fixed
// point.
func halfPass(f0, f1, f2, f3, f5, f6, f7 int64) [4]int64 {
	e0 := f0*halfE00 + f2*halfE02 + f6*halfE06
	e1 := f0*halfE10 + f2*halfE12 + f6*halfE16
	o0 := f1*halfO01 + f3*halfO03 + f5*halfO05 + f7*halfO07
	o1 := f1*halfO11 + f3*halfO13 + f5*halfO15 + f7*halfO17
	return [4]int64{e0 + o0, e1 + o1, e1 - o1, e0 - o0}
}

// level is a mean in fixed point, with half a level added, as a pixel:
// rounded, shifted by +128 and clipped to [0, 255].
func level(v int64) byte {
	return uint8(min(max(v>>(2*meanFrac)+128, 0), 255))
}
