package doctor

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"testing"

	"plateau/protocol"
)

// TestMain fails the package's tests when a finding in them reports a
// number the page has no label for (protocol.EvidenceLabelled), so that a
// new rule's evidence reads as words and units, not as a key.
func TestMain(m *testing.M) {
	seen := map[string]string{}
	testHookEvidence = func(cause, key string, _ float64) { seen[key] = cause }
	code := m.Run()
	var missing []string
	for key, cause := range seen {
		if !protocol.EvidenceLabelled(key) {
			missing = append(missing, fmt.Sprintf("%s (from %s)", key, cause))
		}
	}
	slices.Sort(missing)
	switch {
	case code != 0:
	case len(seen) < 50 && flag.Lookup("test.run").Value.String() == "":
		// All the tests ran (no -run) and saw few keys: the hook is lost.
		fmt.Printf("FAIL: the rules' tests reported only %d evidence keys; is testHookEvidence called?\n", len(seen))
		code = 1
	case len(missing) > 0:
		fmt.Printf("FAIL: evidence keys without a label in protocol's evidence table: %v\n", missing)
		code = 1
	}
	os.Exit(code)
}
