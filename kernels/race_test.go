//go:build race

package kernels

// raceEnabled skips the allocation tests: under the race detector
// sync.Pool drops a share of what it is given, on purpose.
const raceEnabled = true
