package main

import (
	"errors"
	"fmt"
	"time"

	"plateau/data"
	"plateau/protocol"
	"plateau/spec"
)

// A worker reading a dataset of photos, which takes a fifth of a second a
// photo on its one thread, starts others to decode them (the load
// command's Workers) and hands each image file to one as it comes free:
// a remoteDecoder here, Session.decode there. They decode as the data
// package does here, so the dataset is the same byte for byte, and end
// once the images are read.

// remoteDecoder is a data.ImageDecoder in another worker. send delivers a
// command to it; its answers arrive on answers.
type remoteDecoder struct {
	send    func(protocol.Command) error
	answers chan protocol.Message
}

func newRemoteDecoder() *remoteDecoder {
	return &remoteDecoder{answers: make(chan protocol.Message, 1)}
}

// deliver takes one of the other worker's messages (from its message
// handler); messages other than answers (its ready) are dropped.
func (r *remoteDecoder) deliver(m protocol.Message) {
	if m.Kind != protocol.KindDecoded && m.Kind != protocol.KindError {
		return
	}
	select {
	case r.answers <- m:
	default:
	}
}

// decode is the data.ImageDecoder: it sends the file's bytes and waits
// for the pixels.
func (r *remoteDecoder) decode(dst []uint8, raw []byte, job data.ImageJob) error {
	c := protocol.NewCommand("", protocol.CmdDecode)
	c.Decode = &protocol.DecodeJob{Path: job.Path, Orientation: job.Orientation, H: job.H, W: job.W, C: job.C}
	c.Bytes = raw
	if err := r.send(c); err != nil {
		return fmt.Errorf("%s: handing it to another worker: %v", job.Path, err)
	}
	select {
	case m := <-r.answers:
		if m.Kind == protocol.KindError {
			return errors.New(m.Error)
		}
		if len(m.Bytes) != len(dst) {
			return fmt.Errorf("%s: another worker decoded it into %d bytes, not %d", job.Path, len(m.Bytes), len(dst))
		}
		copy(dst, m.Bytes)
		return nil
	case <-time.After(partTimeout):
		return fmt.Errorf("%s: the worker decoding it did not answer in %v", job.Path, partTimeout)
	}
}

// decode serves a decode command: one image file of another worker's
// dataset.
func (s *Session) decode(c protocol.Command) {
	j := c.Decode
	if j == nil || len(c.Bytes) == 0 {
		s.post(protocol.ErrorMessage(c.Run, errors.New("decode needs an image file in bin and its shape")))
		return
	}
	if j.H < 1 || j.W < 1 || j.H > spec.MaxImageSide || j.W > spec.MaxImageSide || (j.C != 1 && j.C != 3) {
		s.post(protocol.ErrorMessage(c.Run, fmt.Errorf("%s: cannot decode into %d×%d×%d", j.Path, j.H, j.W, j.C)))
		return
	}
	dst := make([]uint8, j.H*j.W*j.C)
	if err := data.DecodeImage(dst, c.Bytes, data.ImageJob{Path: j.Path, Orientation: j.Orientation, H: j.H, W: j.W, C: j.C}, nil); err != nil {
		s.post(protocol.ErrorMessage(c.Run, err))
		return
	}
	m := protocol.NewMessage(c.Run, protocol.KindDecoded)
	m.Bytes = dst
	s.post(m)
}
