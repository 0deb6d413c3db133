//go:build race

package train

// raceEnabled skips allocation counts, which the race detector inflates.
const raceEnabled = true
