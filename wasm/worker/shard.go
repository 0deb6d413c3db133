package main

import (
	"errors"
	"fmt"
	"math"
	"time"

	"plateau/nn"
	"plateau/protocol"
	"plateau/spec"
	"plateau/train"
)

// A worker training with several workers (protocol.Command.Workers) cuts
// every batch into parts and hands all but the first to workers it starts
// itself, one part each: a remoteShard here, a Session serving shard and
// part commands there. The parts' gradients come back and are combined
// before the update, which only the first worker makes (train.Shard).

// partTimeout bounds the wait for a part: far more than a part takes, so
// that a worker that died (out of memory, a crash) ends the run with a
// message instead of hanging it.
const partTimeout = 2 * time.Minute

// remoteShard is a train.Shard computed by another worker. send delivers a
// command to it; its answers arrive on answers.
type remoteShard struct {
	// waited is the time the run spent in Wait, busy the parts' own time
	// in the other worker; forRun sets both to 0.
	waited, busy time.Duration
	// linear is the other worker's linear memory as its last part said.
	linear int64

	run     string
	sp      *spec.Spec
	send    func(protocol.Command) error
	answers chan protocol.Message
	payload []byte
	sent    bool
	sendErr error
}

func newRemoteShard(send func(protocol.Command) error) *remoteShard {
	return &remoteShard{send: send, answers: make(chan protocol.Message, 4)}
}

// deliver takes one of the other worker's messages (from its message
// handler); messages other than answers are dropped.
func (r *remoteShard) deliver(m protocol.Message) {
	if m.Kind != protocol.KindPart && m.Kind != protocol.KindSpecOK && m.Kind != protocol.KindError {
		return
	}
	select {
	case r.answers <- m:
	default:
	}
}

// forRun sets the run and spec of the next Init, and starts the run's
// clocks.
func (r *remoteShard) forRun(run string, sp *spec.Spec) {
	r.run, r.sp = run, sp
	r.waited, r.busy = 0, 0
}

func (r *remoteShard) Init(model spec.Model, maxRows int, opts train.ShardOptions) error {
	// Answers of an earlier run that ended while a part was out.
	for len(r.answers) > 0 {
		<-r.answers
	}
	c := protocol.NewCommand(r.run, protocol.CmdShard)
	sp := r.sp.Clone()
	sp.Model = model
	sp.Train.LabelSmoothing = opts.LabelSmoothing
	c.Spec = sp
	c.Part = &protocol.Part{Rows: maxRows, ClassWeights: opts.ClassWeights}
	if err := r.send(c); err != nil {
		return err
	}
	m, err := r.answer()
	if err != nil {
		return err
	}
	if m.Kind != protocol.KindSpecOK {
		return fmt.Errorf("the worker answered %s", m.Kind)
	}
	return nil
}

// answer waits for the other worker's next answer.
func (r *remoteShard) answer() (protocol.Message, error) {
	select {
	case m := <-r.answers:
		if m.Kind == protocol.KindError {
			return m, errors.New(m.Error)
		}
		return m, nil
	case <-time.After(partTimeout):
		return protocol.Message{}, fmt.Errorf("another worker did not answer in %v: reload the page, or train with one worker", partTimeout)
	}
}

func (r *remoteShard) Start(values, x []float32, y []int32, n int, dropout nn.DropoutKey) {
	r.post(&protocol.Part{Rows: n, DropoutKey: dropout.Step, FirstRow: dropout.FirstRow, Values: len(values)}, values, x, y[:n])
}

func (r *remoteShard) StartInference(values, x []float32, n int) {
	r.post(&protocol.Part{Rows: n, Values: len(values), Inference: true}, values, x, nil)
}

// post sends a part command whose payload is values, x and y in turn.
func (r *remoteShard) post(p *protocol.Part, values, x []float32, y []int32) {
	size := 4 * (len(values) + len(x) + len(y))
	if cap(r.payload) < size {
		r.payload = make([]byte, size)
	}
	b := protocol.PutFloats(r.payload[:size], values)
	b = protocol.PutFloats(b, x)
	protocol.PutInts(b, y)
	c := protocol.NewCommand(r.run, protocol.CmdPart)
	c.Part = p
	c.Bytes = r.payload[:size]
	r.sendErr = r.send(c)
	r.sent = r.sendErr == nil
}

// receive waits for the answer to the part post sent (an evaluation's
// when inference is set) and counts the wait and the other worker's time
// and memory.
func (r *remoteShard) receive(inference bool) (protocol.Message, error) {
	if !r.sent {
		return protocol.Message{}, r.sendErr
	}
	r.sent = false
	start := time.Now()
	m, err := r.answer()
	r.waited += time.Since(start)
	if err != nil {
		return m, err
	}
	if m.Part == nil || m.Kind != protocol.KindPart || m.Part.Inference != inference {
		return m, fmt.Errorf("the worker answered %s to a part", m.Kind)
	}
	r.busy += time.Duration(m.Part.Seconds * float64(time.Second))
	r.linear = m.Part.Linear
	return m, nil
}

func (r *remoteShard) WaitLogits(logits []float32) error {
	m, err := r.receive(true)
	if err != nil {
		return err
	}
	if len(m.Bytes) != 4*len(logits) {
		return fmt.Errorf("a part of an evaluation came back with %d bytes of logits, want %d", len(m.Bytes), 4*len(logits))
	}
	_, err = protocol.Floats(logits, m.Bytes)
	return err
}

func (r *remoteShard) Wait(grads []float32) (train.ShardResult, error) {
	m, err := r.receive(false)
	if err != nil {
		return train.ShardResult{}, err
	}
	if _, err := protocol.Floats(grads, m.Bytes); err != nil {
		return train.ShardResult{}, fmt.Errorf("a part's gradient: %v", err)
	}
	p := m.Part
	loss := p.Loss
	if p.NotFinite {
		loss = math.NaN()
	}
	return train.ShardResult{Loss: loss, Weight: p.Weight, Correct: p.Correct, ConfidentWrong: p.ConfidentWrong}, nil
}

// shardServer is what a Session keeps to serve parts: the replica and its
// buffers.
type shardServer struct {
	replica *train.Replica
	values  []float32
	x       []float32
	y       []int32
	input   int
	grads   []byte
	logits  []byte
	// hasValues says the replica holds the weights of a part.
	hasValues bool
}

// unpack reads a part's payload: its weights (none when Values is 0:
// the replica keeps those of the last part), its rows' inputs and, but
// for a part of an evaluation, their labels.
func (srv *shardServer) unpack(c protocol.Command) (values, x []float32, y []int32, err error) {
	p := c.Part
	if p.Values > 0 {
		if cap(srv.values) < p.Values {
			srv.values = make([]float32, p.Values)
		}
		values = srv.values[:p.Values]
	} else if !srv.hasValues {
		return nil, nil, nil, errors.New("a part came without weights before any part that had them")
	}
	x = srv.x[:p.Rows*srv.input]
	rest, err := protocol.Floats(values, c.Bytes)
	if err == nil {
		rest, err = protocol.Floats(x, rest)
	}
	if err == nil && !p.Inference {
		y = srv.y[:p.Rows]
		rest, err = protocol.Ints(y, rest)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("a part's payload: %v", err)
	}
	if len(rest) != 0 {
		return nil, nil, nil, fmt.Errorf("a part's payload has %d bytes too many", len(rest))
	}
	return values, x, y, nil
}

// out writes xs into the buffer *buf, grown when it is too small, and
// returns the bytes written.
func (srv *shardServer) out(buf *[]byte, xs []float32) []byte {
	if cap(*buf) < 4*len(xs) {
		*buf = make([]byte, 4*len(xs))
	}
	b := (*buf)[:4*len(xs)]
	protocol.PutFloats(b, xs)
	return b
}

// shard prepares this worker's replica for parts of another worker's run.
func (s *Session) shard(c protocol.Command) {
	if c.Spec == nil || c.Part == nil || c.Part.Rows < 1 {
		s.post(protocol.ErrorMessage(c.Run, errors.New("a shard command needs a spec and the rows of a part")))
		return
	}
	sp := c.Spec.Clone()
	if err := sp.Validate(); err != nil {
		s.post(protocol.ErrorMessage(c.Run, err))
		return
	}
	sp.Expand()
	r, err := train.NewReplica(sp.Model, c.Part.Rows, train.ShardOptions{ClassWeights: c.Part.ClassWeights, LabelSmoothing: sp.Train.LabelSmoothing})
	if err != nil {
		s.post(protocol.ErrorMessage(c.Run, err))
		return
	}
	in := sp.Model.Input
	srv := &shardServer{replica: r, input: in[0] * in[1] * in[2]}
	srv.x = make([]float32, c.Part.Rows*srv.input)
	srv.y = make([]int32, c.Part.Rows)
	s.mu.Lock()
	s.shardSrv = srv
	s.mu.Unlock()
	s.post(protocol.NewMessage(c.Run, protocol.KindSpecOK))
}

// part computes a part of a batch on the replica shard prepared: its
// gradient, or for a part of an evaluation its logits.
func (s *Session) part(c protocol.Command) {
	arrived := time.Now()
	s.mu.Lock()
	srv := s.shardSrv
	s.mu.Unlock()
	err := func() error {
		if srv == nil {
			return errors.New("a part came before the shard command")
		}
		p := c.Part
		if p == nil || p.Rows < 1 || p.Rows > len(srv.y) || p.Values < 0 {
			return errors.New("a part command without its rows")
		}
		values, x, y, err := srv.unpack(c)
		if err != nil {
			return err
		}
		m := protocol.NewMessage(c.Run, protocol.KindPart)
		if p.Inference {
			logits, err := srv.replica.Infer(values, x, p.Rows)
			if err != nil {
				return err
			}
			m.Part = &protocol.Part{Rows: p.Rows, Inference: true}
			m.Bytes = srv.out(&srv.logits, logits)
		} else {
			res, err := srv.replica.Compute(values, x, y, p.Rows, nn.DropoutKey{Step: p.DropoutKey, FirstRow: p.FirstRow})
			if err != nil {
				return err
			}
			m.Part = &protocol.Part{Rows: p.Rows, Weight: res.Weight, Correct: res.Correct, ConfidentWrong: res.ConfidentWrong}
			// JSON has no NaN or Inf: a loss that is not finite is a flag.
			if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
				m.Part.NotFinite = true
			} else {
				m.Part.Loss = res.Loss
			}
			m.Bytes = srv.out(&srv.grads, srv.replica.Grads())
		}
		srv.hasValues = true
		if s.linearMemory != nil {
			m.Part.Linear = s.linearMemory()
		}
		m.Part.Seconds = time.Since(arrived).Seconds()
		s.post(m)
		return nil
	}()
	if err != nil {
		s.post(protocol.ErrorMessage(c.Run, err))
	}
}
