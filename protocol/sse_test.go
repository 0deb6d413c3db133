package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestReadEvents(t *testing.T) {
	stream := ": heartbeat\n\ndata: {\"event\":\"start\"}\n\n: heartbeat\n\ndata: {\"event\":\"epoch\"}\n\nevent: end\ndata: {\"state\":\"done\"}\n\ndata: {\"after\":\"end\"}\n\n"
	var got []string
	err := ReadEvents(strings.NewReader(stream), func(event string, data []byte) error {
		got = append(got, event+"|"+string(data))
		return nil
	})
	want := []string{`|{"event":"start"}`, `|{"event":"epoch"}`, `end|{"state":"done"}`, `|{"after":"end"}`}
	if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q (%v), want %q", got, err, want)
	}
	stop := errors.New("stop")
	n := 0
	err = ReadEvents(strings.NewReader(stream), func(string, []byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("stopping: %v after %d lines", err, n)
	}
	long := "data: " + strings.Repeat("x", 1<<20) + "\n\n"
	if err := ReadEvents(strings.NewReader(long), func(_ string, d []byte) error {
		if len(d) != 1<<20 {
			t.Errorf("a 1 MiB line came as %d bytes", len(d))
		}
		return nil
	}); err != nil {
		t.Errorf("a 1 MiB line: %v", err)
	}
}
