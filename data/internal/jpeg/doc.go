// Package jpeg is Go's image/jpeg decoder (Go 1.26; its LICENSE beside
// it) with one option: decoding at an eighth of the width and height, each
// 8×8 block of each component as the one pixel of its mean, which its DC
// coefficient is. A photo scaled to a few dozen pixels a side then skips
// the inverse DCT and is a sixty-fourth of the pixels to convert and
// average, while the entropy decoding, which must read every
// coefficient, stays as it was. Decode without the option is
// image/jpeg's Decode, pixel for pixel.
package jpeg
