package protocol

import (
	"fmt"
	"strings"
)

// EarlierFinding is a cause the doctor named at some epochs of a run and
// does not name now, with those epochs (0 for before the first).
type EarlierFinding struct {
	Cause  string
	Epochs []int
}

// Earlier lists the findings made before the first epoch's end (before:
// the start event's and the first epoch's validation checks') and at the
// epoch events whose cause is not among now (the latest findings), in the
// order they were first made: a finding near its bar that came and went
// while the run trained is seen to have done so.
func Earlier(before []Diagnosis, epochs []Event, now []Diagnosis) []EarlierFinding {
	current := map[string]bool{}
	for _, d := range now {
		current[d.Cause] = true
	}
	var out []EarlierFinding
	at := map[string]int{} // cause → index in out
	note := func(ds []Diagnosis, epoch int) {
		for _, d := range ds {
			if current[d.Cause] {
				continue
			}
			i, ok := at[d.Cause]
			if !ok {
				i = len(out)
				at[d.Cause] = i
				out = append(out, EarlierFinding{Cause: d.Cause})
			}
			if k := len(out[i].Epochs); k == 0 || out[i].Epochs[k-1] != epoch {
				out[i].Epochs = append(out[i].Epochs, epoch)
			}
		}
	}
	note(before, 0)
	for i, e := range epochs {
		note(e.Diagnoses, i+1)
	}
	return out
}

// EpochSpans writes ascending epoch numbers as runs: "epoch 6", "epochs
// 2–4 and 6", "before the first epoch and epoch 1" (0 is before the first
// epoch).
func EpochSpans(epochs []int) string {
	var before bool
	if len(epochs) > 0 && epochs[0] == 0 {
		before, epochs = true, epochs[1:]
	}
	var spans []string
	for i := 0; i < len(epochs); {
		j := i
		for j+1 < len(epochs) && epochs[j+1] == epochs[j]+1 {
			j++
		}
		if j > i {
			spans = append(spans, fmt.Sprintf("%d–%d", epochs[i], epochs[j]))
		} else {
			spans = append(spans, fmt.Sprint(epochs[i]))
		}
		i = j + 1
	}
	var out string
	switch {
	case len(spans) == 0:
	case len(spans) == 1 && !strings.Contains(spans[0], "–"):
		out = "epoch " + spans[0]
	case len(spans) == 1:
		out = "epochs " + spans[0]
	default:
		out = "epochs " + strings.Join(spans[:len(spans)-1], ", ") + " and " + spans[len(spans)-1]
	}
	switch {
	case before && out == "":
		return "before the first epoch"
	case before:
		return "before the first epoch and " + out
	}
	return out
}
