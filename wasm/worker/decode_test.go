package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"sync"
	"testing"

	"plateau/data"
	"plateau/protocol"
)

// photosZip is a zip of two class folders of n JPEG photos w×h each, 8
// megapixels or more in all when they are to be decoded by other workers.
func photosZip(t *testing.T, n, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range 2 * n {
		for y := range h {
			for x := range w {
				img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(40 * i), 255})
			}
		}
		f, err := z.Create(fmt.Sprintf("photos/c%d/IMG_%d.jpg", i%2, i))
		if err != nil {
			t.Fatal(err)
		}
		if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 80}); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// linkedDecoders gives s sessions to decode images, each reached through
// framed commands and messages as between two browser workers, and counts
// the decode commands they get and the times they are ended.
func linkedDecoders(t *testing.T, s *Session) (decoded, ended func() int) {
	var mu sync.Mutex
	nDecoded, nEnded := 0, 0
	s.decoders = func(n int) ([]data.ImageDecoder, func()) {
		var decoders []data.ImageDecoder
		for range n {
			r := newRemoteDecoder()
			other := peerSession(t, r.deliver)
			r.send = func(c protocol.Command) error {
				got, err := reframe(c)
				if err != nil {
					return err
				}
				mu.Lock()
				nDecoded++
				mu.Unlock()
				other.Handle(got)
				return nil
			}
			decoders = append(decoders, r.decode)
		}
		return decoders, func() {
			mu.Lock()
			nEnded++
			mu.Unlock()
		}
	}
	locked := func(p *int) func() int {
		return func() int {
			mu.Lock()
			defer mu.Unlock()
			return *p
		}
	}
	return locked(&nDecoded), locked(&nEnded)
}

// A load command with two workers has a dataset of photos decoded by two
// other workers, which are ended after, and gives the dataset this worker
// would have read alone; with one worker, or photos too few to be worth
// it, no worker is started.
func TestPhotosAreDecodedByOtherWorkers(t *testing.T) {
	raw := photosZip(t, 4, 1024, 1024) // 8 megapixels
	want, err := data.Decode("photos.zip", bytes.NewReader(raw), int64(len(raw)), data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	load := func(workers int, raw []byte) (*Session, int, int, *protocol.Loading) {
		s, c := newSession(t)
		decoded, ended := linkedDecoders(t, s)
		cmd := protocol.NewCommand("r1", protocol.CmdLoad)
		cmd.Dataset = &protocol.DatasetRef{Name: "photos.zip"}
		cmd.Bytes = raw
		cmd.Workers = workers
		s.Handle(cmd)
		var last *protocol.Loading
		for m := c.next(t, protocol.KindLoading, protocol.KindDataset); m.Kind == protocol.KindLoading; m = c.next(t, protocol.KindLoading, protocol.KindDataset) {
			last = m.Loading
		}
		return s, decoded(), ended(), last
	}
	s, decoded, ended, loading := load(2, raw)
	if decoded != 8 || ended != 1 {
		t.Errorf("with two workers, %d images went to other workers and they were ended %d times; want 8 and 1", decoded, ended)
	}
	if loading == nil || *loading != (protocol.Loading{Done: 8, Total: 8, Workers: 2}) {
		t.Errorf("the last loading message says %+v, want 8 of 8 by 2 workers", loading)
	}
	if !bytes.Equal(s.dataset.Train.Images, want.Train.Images) || !bytes.Equal(s.dataset.Test.Images, want.Test.Images) {
		t.Error("the images decoded by other workers differ from those decoded here")
	}
	if _, decoded, _, loading := load(1, raw); decoded != 0 || loading.Workers != 0 {
		t.Errorf("with one worker, %d images went to other workers (%+v)", decoded, loading)
	}
	if _, decoded, _, _ := load(2, photosZip(t, 1, 640, 480)); decoded != 0 {
		t.Errorf("two photos went to other workers: %d", decoded)
	}
}

// A decode command answers the pixels data.DecodeImage gives, or an error
// that names the file; the session goes on answering.
func TestDecodeCommand(t *testing.T) {
	s, c := newSession(t)
	var buf bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	png.Encode(&buf, img)
	job := protocol.DecodeJob{Path: "a/1.png", Orientation: 6, H: 8, W: 6, C: 3}
	cmd := protocol.NewCommand("", protocol.CmdDecode)
	cmd.Decode, cmd.Bytes = &job, buf.Bytes()
	s.Handle(cmd)
	got := c.next(t, protocol.KindDecoded).Bytes
	want := make([]uint8, 8*6*3)
	if err := data.DecodeImage(want, buf.Bytes(), data.ImageJob{Path: job.Path, Orientation: 6, H: 8, W: 6, C: 3}, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("decode answered other pixels than data.DecodeImage")
	}
	for _, tc := range []struct {
		job   *protocol.DecodeJob
		bytes []byte
		want  string
	}{
		{nil, buf.Bytes(), "decode needs an image file"},
		{&job, nil, "decode needs an image file"},
		{&protocol.DecodeJob{Path: "a/1.png", H: 1 << 20, W: 1 << 20, C: 3}, buf.Bytes(), "a/1.png: cannot decode into"},
		{&protocol.DecodeJob{Path: "a/1.png", H: 8, W: 6, C: 2}, buf.Bytes(), "a/1.png: cannot decode into"},
		{&job, buf.Bytes()[:30], "a/1.png: "},
	} {
		cmd := protocol.NewCommand("", protocol.CmdDecode)
		cmd.Decode, cmd.Bytes = tc.job, tc.bytes
		s.Handle(cmd)
		if m := c.next(t, protocol.KindError, protocol.KindDecoded); m.Kind != protocol.KindError || !strings.Contains(m.Error, tc.want) {
			t.Errorf("%+v with %d bytes: %s %q, want an error with %q", tc.job, len(tc.bytes), m.Kind, m.Error, tc.want)
		}
	}
}
