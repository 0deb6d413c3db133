package train

import (
	"fmt"
	"strconv"
	"time"
)

// A TimeLimit keeps a run within spec.Train.TimeLimitSeconds: it measures
// the run's time with the pauses left out (Stop and Start around them),
// says when the time is up, and gives the schedule the run's position.
// Every trainer keeps one, so a limit means the same on each.
type TimeLimit struct {
	limit   time.Duration // 0: none
	now     func() time.Time
	used    time.Duration // before the running stretch
	since   time.Time     // the running stretch's start
	running bool
	reserve time.Duration
}

// NewTimeLimit is a limit of seconds (0: none) for a run that has used
// usedSeconds so far (a resumed run's Progress.TimeUsed) and last took
// reserveSeconds to validate an epoch (Progress.TimeReserve). now reads
// the clock (nil: time.Now). It starts stopped.
func NewTimeLimit(seconds, usedSeconds, reserveSeconds float64, now func() time.Time) *TimeLimit {
	if now == nil {
		now = time.Now
	}
	return &TimeLimit{limit: fromSeconds(seconds), now: now, used: fromSeconds(usedSeconds), reserve: fromSeconds(reserveSeconds)}
}

func fromSeconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Start counts the time from now on; Stop stops counting it (a pause).
func (l *TimeLimit) Start() {
	if !l.running {
		l.since, l.running = l.now(), true
	}
}

// Stop stops counting the time, until the next Start.
func (l *TimeLimit) Stop() {
	if l.running {
		l.used += l.now().Sub(l.since)
		l.running = false
	}
}

// Now reads the limit's clock, for timing what Reserve keeps.
func (l *TimeLimit) Now() time.Time { return l.now() }

// Used is the time counted so far.
func (l *TimeLimit) Used() time.Duration {
	if l.running {
		return l.used + l.now().Sub(l.since)
	}
	return l.used
}

// Reserve keeps d, the time an epoch's validation took, for the last
// epoch's validation: the training stops that much before the limit.
func (l *TimeLimit) Reserve(d time.Duration) { l.reserve = d }

// Reserved is the time kept for the last validation (Reserve).
func (l *TimeLimit) Reserved() time.Duration { return l.reserve }

// Up says whether the run has reached its limit, less the reserve.
func (l *TimeLimit) Up() bool {
	return l.limit > 0 && l.Used()+l.reserve >= l.limit
}

// Position is where a run of epochs stands for its schedule, given the
// fractional epoch its steps have reached: without a limit, that epoch;
// with one, the further along of that epoch and the share of the time
// (less the reserve) used, in epochs. A schedule planned over the epochs
// thus ends at the limit when the time runs out first.
func (l *TimeLimit) Position(epoch float64, epochs int) float64 {
	if l.limit <= 0 {
		return epoch
	}
	budget := l.limit - l.reserve
	if budget <= 0 {
		return max(epoch, float64(epochs))
	}
	return max(epoch, float64(epochs)*min(1, float64(l.Used())/float64(budget)))
}

// Reason is a result's Reason when the limit ended a run after epoch of
// epochs (counted from 1).
func (l *TimeLimit) Reason(epoch, epochs int) string {
	return fmt.Sprintf("the time limit of %s was reached in epoch %d of %d (train.time_limit_seconds)", formatSeconds(l.limit), epoch, epochs)
}

// formatSeconds writes a duration the way a user sets a limit: 2.5 s,
// 3 min, 2 min 30 s, 1 h 5 min.
func formatSeconds(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return strconv.FormatFloat(d.Seconds(), 'g', 3, 64) + " s"
	case s < 3600 && s%60 == 0:
		return fmt.Sprintf("%d min", s/60)
	case s < 3600:
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	case s%3600 == 0:
		return fmt.Sprintf("%d h", s/3600)
	default:
		return fmt.Sprintf("%d h %d min", s/3600, s%3600/60)
	}
}
