//go:build race

package kernels

// raceEnabled skips the allocation tests: under the race detector
// allocation counts include the detector's own bookkeeping.
const raceEnabled = true
