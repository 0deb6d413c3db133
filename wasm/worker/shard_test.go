package main

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"plateau/protocol"
	"plateau/spec"
)

// linkedShards gives s n more sessions to hand parts to, each reached
// through framed commands and messages as between two browser workers;
// fail, when set, replaces the answer to the k-th part command.
func linkedShards(t *testing.T, s *Session, fail func(k int) bool) {
	var mu sync.Mutex
	var shards []*remoteShard
	parts := 0
	s.shards = func(n int) ([]*remoteShard, error) {
		mu.Lock()
		defer mu.Unlock()
		for len(shards) < n {
			r := newRemoteShard(nil)
			other := peerSession(t, r.deliver)
			other.linearMemory = func() int64 { return 5 << 20 }
			r.send = func(c protocol.Command) error {
				got, err := reframe(c)
				if err != nil {
					return err
				}
				if c.Cmd == protocol.CmdPart {
					mu.Lock()
					parts++
					k := parts
					mu.Unlock()
					if fail != nil && fail(k) {
						r.deliver(protocol.ErrorMessage(c.Run, errors.New("the other worker ran out of memory")))
						return nil
					}
				}
				other.Handle(got)
				return nil
			}
			shards = append(shards, r)
		}
		return shards[:n], nil
	}
}

// peerSession is another session, reached as another browser worker is:
// its messages go to deliver framed and unframed.
func peerSession(t *testing.T, deliver func(protocol.Message)) *Session {
	return NewSession(func(m protocol.Message) {
		text, bin, err := protocol.Frame(&m)
		if err != nil {
			t.Errorf("framing a %s message: %v", m.Kind, err)
			return
		}
		got, err := protocol.UnframeMessage(text, append([]byte(nil), bin...))
		if err != nil {
			t.Errorf("unframing: %v", err)
			return
		}
		deliver(got)
	}, nil)
}

// reframe is c framed and unframed, as it reaches another worker.
func reframe(c protocol.Command) (protocol.Command, error) {
	text, bin, err := protocol.Frame(&c)
	if err != nil {
		return protocol.Command{}, err
	}
	return protocol.UnframeCommand(text, append([]byte(nil), bin...))
}

// runResult trains cmd's spec in s and returns the start and result events
// and the last progress.
func runResult(t *testing.T, s *Session, c *collector, cmd protocol.Command) (start, result protocol.Event, last protocol.Progress) {
	t.Helper()
	s.Handle(cmd)
	for {
		m := c.next(t, protocol.KindEvent, protocol.KindProgress, protocol.KindState)
		switch m.Kind {
		case protocol.KindProgress:
			last = *m.Progress
			continue
		case protocol.KindState:
			if m.State == protocol.StateDone {
				return start, result, last
			}
			continue
		}
		e, err := m.DecodeEvent()
		if err != nil {
			t.Fatal(err)
		}
		switch e.Event {
		case protocol.EventStart:
			start = e
		case protocol.EventResult:
			result = e
		}
	}
}

// A run with three workers trains what the run in one worker trains: the
// spec has neither batch norm nor dropout, so the parts' gradients add up
// to the batch's, and the results agree to rounding.
func TestWorkersTrainAsOne(t *testing.T) {
	s, c := newSession(t)
	linkedShards(t, s, nil)
	d := loadShapes(t, s, c)
	sp := shapesSpec(d, 2)
	sp.Train.BatchSize = 7
	results := map[int]protocol.Event{}
	for _, workers := range []int{1, 3} {
		cmd := protocol.NewCommand("w", protocol.CmdStart)
		cmd.Spec, cmd.Workers = sp, workers
		start, res, last := runResult(t, s, c, cmd)
		if want := map[int]int{1: 0, 3: 3}[workers]; start.Workers != want {
			t.Errorf("%d workers: the start event says %d", workers, start.Workers)
		}
		// The others' share of the time is measured with several workers.
		if (last.OthersBusy > 0) != (workers > 1) || last.OthersBusy > 1.5 || last.Waiting > 1.5 {
			t.Errorf("%d workers: progress says the others were busy %g and this one waited %g of the time", workers, last.OthersBusy, last.Waiting)
		}
		// The progress counts the other workers' memory, as they report it.
		if m := last.Memory; m == nil || m.OtherWorkers != workers-1 || m.Others != int64(workers-1)*5<<20 {
			t.Errorf("%d workers: progress says %+v of memory; want the other %d workers' 5 MiB each", workers, m, workers-1)
		}
		results[workers] = res
	}
	one, three := results[1], results[3]
	if math.Abs(one.TestLoss-three.TestLoss) > 1e-4*one.TestLoss || one.TestAccuracy != three.TestAccuracy {
		t.Errorf("three workers: test loss %g accuracy %g; one worker: %g %g", three.TestLoss, three.TestAccuracy, one.TestLoss, one.TestAccuracy)
	}
}

// A worker that fails mid-run ends the run with a message that says what
// to do, and the session trains again afterwards.
func TestAFailingWorkerEndsTheRun(t *testing.T) {
	s, c := newSession(t)
	linkedShards(t, s, func(k int) bool { return k == 2 })
	d := loadShapes(t, s, c)
	cmd := protocol.NewCommand("f", protocol.CmdStart)
	cmd.Spec, cmd.Workers = shapesSpec(d, 2), 2
	cmd.Spec.Train.BatchSize = 4
	s.Handle(cmd)
	timeout := time.After(20 * time.Second)
	for done := false; !done; {
		select {
		case m := <-c.ch:
			switch m.Kind {
			case protocol.KindError:
				if !strings.Contains(m.Error, "ran out of memory") {
					t.Errorf("error %q does not say why", m.Error)
				}
				done = true
			case protocol.KindEvent:
				if e, _ := m.DecodeEvent(); e.Event == protocol.EventResult {
					t.Fatal("the run ended as if nothing had failed")
				}
			}
		case <-timeout:
			t.Fatal("no error message")
		}
	}
	for c.next(t, protocol.KindState).State != protocol.StateDone {
	}
	cmd.Run = "g"
	if _, res, _ := runResult(t, s, c, cmd); res.Event != protocol.EventResult {
		t.Fatal("no result after the failure")
	}
}

// Workers out of range are refused with the range.
func TestWorkersOutOfRange(t *testing.T) {
	s, c := newSession(t)
	d := loadShapes(t, s, c)
	for _, n := range []int{-1, protocol.MaxWorkers + 1} {
		cmd := protocol.NewCommand("x", protocol.CmdStart)
		cmd.Spec, cmd.Workers = shapesSpec(d, 1), n
		s.Handle(cmd)
		if m := <-c.ch; m.Kind != protocol.KindError || !strings.Contains(m.Error, "1 to 8") {
			t.Errorf("%d workers: %s %q", n, m.Kind, m.Error)
		}
	}
	// A session that cannot start workers says so.
	cmd := protocol.NewCommand("y", protocol.CmdStart)
	cmd.Spec, cmd.Workers = shapesSpec(d, 1), 2
	s.Handle(cmd)
	if m := <-c.ch; m.Kind != protocol.KindError || !strings.Contains(m.Error, "one worker") {
		t.Errorf("2 workers without a way to start them: %s %q", m.Kind, m.Error)
	}
}

// A part that comes without its shard command, or with a short payload,
// is answered with an error, not a crash.
func TestBadPartsAreRefused(t *testing.T) {
	s, c := newSession(t)
	part := protocol.NewCommand("p", protocol.CmdPart)
	part.Part = &protocol.Part{Rows: 1, Values: 3}
	part.Bytes = make([]byte, 8)
	s.Handle(part)
	if m := c.next(t, protocol.KindError); !strings.Contains(m.Error, "before the shard") {
		t.Errorf("a part before shard: %q", m.Error)
	}
	sh := protocol.NewCommand("p", protocol.CmdShard)
	sh.Spec = spec.Default()
	sh.Spec.Model = spec.Model{Input: []int{4, 4, 1}, Classes: 2, Layers: []spec.Layer{{Type: spec.Flatten}, {Type: spec.Dense}}}
	sh.Part = &protocol.Part{Rows: 2}
	s.Handle(sh)
	c.next(t, protocol.KindSpecOK)
	s.Handle(part)
	if m := c.next(t, protocol.KindError); !strings.Contains(m.Error, "payload") {
		t.Errorf("a short part: %q", m.Error)
	}
	// A part of an evaluation without weights needs a part that had them.
	infer := protocol.NewCommand("p", protocol.CmdPart)
	infer.Part = &protocol.Part{Rows: 1, Inference: true}
	infer.Bytes = make([]byte, 4*16)
	s.Handle(infer)
	if m := c.next(t, protocol.KindError); !strings.Contains(m.Error, "without weights") {
		t.Errorf("a part of an evaluation without weights: %q", m.Error)
	}
	// With the weights (a 16×2 kernel and 2 biases) it answers logits.
	values := make([]float32, 16*2+2)
	values[32], values[33] = 1, -1
	infer.Part.Values = len(values)
	infer.Bytes = make([]byte, 4*(len(values)+16))
	protocol.PutFloats(infer.Bytes, values)
	s.Handle(infer)
	m := c.next(t, protocol.KindPart)
	logits := make([]float32, 2)
	if _, err := protocol.Floats(logits, m.Bytes); err != nil || m.Part == nil || !m.Part.Inference || logits[0] != 1 || logits[1] != -1 {
		t.Errorf("a part of an evaluation answered %+v with logits %v (%v), want [1 -1]", m.Part, logits, err)
	}
}
