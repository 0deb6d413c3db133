package e2e

import (
	"testing"

	"plateau/doctor"
	"plateau/ui"
)

// The page names every finding the doctor can give (the page may not
// import the doctor, so the names live in ui.Causes).
func TestEveryCauseHasATitle(t *testing.T) {
	for _, r := range doctor.Rules {
		if _, ok := ui.Causes[r.Cause]; !ok {
			t.Errorf("the page has no title for %s", r.Cause)
		}
	}
}
