//go:build !xla

package gomlx

// XLACompiled reports whether this binary can open the XLA backend; build
// with -tags xla for it.
const XLACompiled = false
