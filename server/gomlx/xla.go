//go:build xla

package gomlx

// The XLA backend loads PJRT plugins with dlopen through cgo, so it is
// built only with -tags xla (see README: Training on a GPU).
import _ "github.com/gomlx/gomlx/backends/xla"

// XLACompiled reports whether this binary can open the XLA backend.
const XLACompiled = true
