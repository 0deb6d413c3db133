package protocol

import (
	"bufio"
	"bytes"
	"io"
)

// ReadEvents reads a server-sent event stream as the jobs API writes it
// and hands f each data line with the name of the event it belongs to: ""
// for a run's events (one JSON event each), "end" for the job's end.
// Comments (heartbeats) are skipped. data is valid only during the call.
// Reading stops at the end of the stream or at f's first error, which
// ReadEvents returns.
func ReadEvents(r io.Reader, f func(event string, data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	event := ""
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			event = ""
		case bytes.HasPrefix(line, []byte("event: ")):
			event = string(line[len("event: "):])
		case bytes.HasPrefix(line, []byte("data: ")):
			if err := f(event, line[len("data: "):]); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}
