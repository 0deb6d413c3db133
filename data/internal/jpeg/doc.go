// Package jpeg is Go's image/jpeg decoder (Go 1.26; its LICENSE beside
// it) with one option: decoding smaller by 8, 4 or 2 on each side, each
// pixel of each component the mean of those it stands for, computed from
// the block's coefficients: at 8, each 8×8 block as its DC coefficient,
// without the inverse DCT; at 4, each block's four 4×4 quarters from 25
// of its 64 coefficients; at 2, its sixteen 2×2 cells from 49 (means.go).
// A photo scaled to a few dozen or a few hundred pixels a side then has
// 64, 16 or 4 times fewer pixels to convert and average, while the
// entropy decoding, which must read every coefficient, stays as it was.
// Decode at scale 1 is image/jpeg's Decode, pixel for pixel.
package jpeg
