package jpeg

// Decoding at a quarter: each 8×8 block as the four means of its 4×4
// quarters, computed exactly from its coefficients.
//
// The inverse DCT is separable: f(x, y) = Σ_u Σ_v F(v, u) k(u, x) k(v, y)
// with k(u, x) = C(u)/2 · cos((2x+1)uπ/16), C(0) = 1/√2 and C(u) = 1
// otherwise. The mean of f over the quarter of columns X and rows Y is
// then Σ_u Σ_v F(v, u) q(u, X) q(v, Y), where q(u, X) is k's mean over X.
// Over the left four columns, q is 1/(2√2) for u = 0, nought for the other
// even u (their cosines cancel in pairs), and quarterOdd for the odd ones;
// over the right four, the same with the odd u's signs flipped. So 25 of
// the 64 coefficients make the four means, in 35 multiplications.

// quarterFrac is the fixed point of the weights: quarterDC and quarterOdd
// are q scaled by 2^quarterFrac and rounded (TestQuarterWeights checks
// them), so that the page's WebAssembly and a native build compute the
// same bytes.
const quarterFrac = 14

// quarterDC is q(0, X): 2^14/(2√2).
const quarterDC = 5793

// quarterOdd is q(u, left half) for u = 1, 3, 5, 7: Σ_{x<4} cos((2x+1)uπ/16)/8.
var quarterOdd = [4]int64{5249, -1843, 1232, -1044}

// quarterFreq are the frequencies 0, 1, 3, 5 and 7 on one side: a block
// holds F(v, u) at 8v+u.
var quarterFreq = [5]int{0, 1, 3, 5, 7}

// quarterZig maps a natural index to its zig-zag one, where the
// quantization table holds its step.
var quarterZig = func() (z [blockSize]int) {
	for zig, nat := range unzig {
		z[nat] = zig
	}
	return z
}()

// quarters writes the four quarter means of block b, dequantized by qt,
// level shifted and clipped, as 2×2 pixels at dst with the given stride.
func quarters(b *block, qt *block, dst []byte, stride int) {
	// Rows first: for each vertical frequency v, the block's row of
	// coefficients averaged over the left and the right columns.
	var left, right [5]int64
	for i, v := range quarterFreq {
		even := int64(b[8*v]) * int64(qt[quarterZig[8*v]]) * quarterDC
		var odd int64
		for j, u := range quarterFreq[1:] {
			n := 8*v + u
			odd += int64(b[n]) * int64(qt[quarterZig[n]]) * quarterOdd[j]
		}
		left[i], right[i] = even+odd, even-odd
	}
	// Then columns: each half's top and bottom rows.
	const half = 1 << (2*quarterFrac - 1)
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

// level is a mean in fixed point, with half a level added, as a pixel:
// rounded, shifted by +128 and clipped to [0, 255].
func level(v int64) byte {
	return uint8(min(max(v>>(2*quarterFrac)+128, 0), 255))
}
