package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A native job whose networks and data would not fit the server's memory
// is refused before it starts, with the batch size that fits, which is
// then accepted; a model too large for a batch of one says so.
func TestJobMemoryLimit(t *testing.T) {
	limits := defaultJobLimits
	limits.MaxMemory = 1 << 20
	e := newJobsEnv(t, limits, "")
	code, b := e.do("POST", "/api/jobs", `{"spec":`+tinySpec+`,"dataset":"tiny","set":{"train.batch_size":"4000"}}`)
	var refused struct {
		Error, Field string
	}
	json.Unmarshal(b, &refused)
	if code != http.StatusUnprocessableEntity || refused.Field != "train.batch_size" || !strings.Contains(refused.Error, "set train.batch_size to ") {
		t.Fatalf("batch 4000 in 1 MB: %d %s", code, b)
	}
	var fits int
	fmt.Sscanf(refused.Error[strings.Index(refused.Error, "set train.batch_size to ")+len("set train.batch_size to "):], "%d", &fits)
	if fits < 1 || fits >= 4000 {
		t.Fatalf("the batch that fits: %d (%s)", fits, refused.Error)
	}
	for _, batch := range []int{fits, fits + fits/10 + 1} {
		code, b := e.do("POST", "/api/jobs", fmt.Sprintf(`{"spec":%s,"dataset":"tiny","epochs":1,"set":{"train.batch_size":"%d"}}`, tinySpec, batch))
		if want := batch == fits; (code == http.StatusCreated) != want {
			t.Errorf("batch %d, said to fit up to %d: %d %s", batch, fits, code, b)
		}
	}

	e.stop()
	limits.MaxMemory = 1 << 10
	e.start(limits)
	code, b = e.do("POST", "/api/jobs", `{"spec":`+tinySpec+`,"dataset":"tiny"}`)
	if json.Unmarshal(b, &refused); code != http.StatusUnprocessableEntity || refused.Field != "spec.model" || !strings.Contains(refused.Error, "even for a batch of one") {
		t.Errorf("1 KB: %d %s", code, b)
	}
}

// plateau serve -limit changes the per-job limits by the names GET
// /api/server gives them, and refuses what is not one.
func TestParseLimits(t *testing.T) {
	got, err := parseLimits([]string{"max_epochs=1000", "max_memory=8e9", "max_queue=2"})
	if err != nil || got.MaxEpochs != 1000 || got.MaxMemory != 8e9 || got.MaxQueue != 2 || got.MaxBatch != defaultJobLimits.MaxBatch {
		t.Errorf("parseLimits: %+v, %v", got, err)
	}
	for _, bad := range []string{"max_epoch=3", "max_epochs", "max_epochs=0", "max_epochs=2.5", "max_epochs=many"} {
		if _, err := parseLimits([]string{bad}); err == nil || !errors.As(err, new(usageError)) {
			t.Errorf("-limit %s: %v", bad, err)
		}
	}
	if _, err := parseLimits([]string{"nope=1"}); err == nil || !strings.Contains(err.Error(), "max_memory") {
		t.Errorf("an unknown limit does not list the names: %v", err)
	}
}
