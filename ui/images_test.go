package ui

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"strings"
	"testing"

	"plateau/protocol"
)

// A saliency map is drawn over its image: grey where the map is 0, the
// hot colour where it is 255.
func TestSaliencyURLs(t *testing.T) {
	im := &protocol.Images{N: 2, H: 2, W: 2, C: 1, Pixels: []byte{200, 200, 200, 200, 10, 20, 30, 40},
		Saliency: []byte{0, 255, 0, 0, 0, 0, 0, 0}}
	urls := SaliencyURLs(im, 1)
	if len(urls) != 2 {
		t.Fatalf("%d URLs, want 2", len(urls))
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(urls[0], "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r, g, bl, _ := img.At(0, 0).RGBA()
	if r>>8 != 100 || g>>8 != 100 || bl>>8 != 100 {
		t.Errorf("a pixel of 200 with no saliency drawn (%d, %d, %d), want the grey 100", r>>8, g>>8, bl>>8)
	}
	r, g, bl, _ = img.At(1, 0).RGBA()
	if r>>8 != 255 || g>>8 != 140 || bl>>8 != 0 {
		t.Errorf("the salient pixel drawn (%d, %d, %d), want the hot colour", r>>8, g>>8, bl>>8)
	}
	im.Saliency = nil
	if SaliencyURLs(im, 1) != nil {
		t.Error("images without maps gave saliency URLs")
	}
}
