package doctor

import (
	"plateau/spec"
	"plateau/train"
)

// Live returns a train.Config.Doctor hook for a run of s (expanded): the
// findings so far on every epoch and result event, each with its Fix, so
// a page that renders the events can offer the retry without running the
// doctor itself.
func Live(s *spec.Spec) func(train.Event) []train.Diagnosis {
	d := New(s)
	return func(e train.Event) []train.Diagnosis {
		found := d.Observe(e)
		for i := range found {
			found[i].Fix = Fix(found[i], s)
		}
		return found
	}
}
