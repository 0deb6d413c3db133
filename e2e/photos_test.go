package e2e

import (
	"image"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

// Photos dropped on the page are scaled down to 64 pixels on their longer
// side, and the Data tab's image size reads them again at another: the
// model takes the new shape, and the server, sent the run, reads the same
// file at the same size.
func TestPhotosAreScaledToTheImageSize(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	chosen := filepath.Join(p.dir, "photos.zip")
	err := writeImageZip(chosen, 10, 0, func(c, i int) image.Image {
		img := image.NewRGBA(image.Rect(0, 0, 320, 240))
		for y := range 240 {
			for x := range 320 {
				v := uint8(x * 255 / 320)
				if c == 1 {
					v = uint8(y * 255 / 240)
				}
				img.Set(x, y, color.RGBA{v, uint8(i * 20), 255 - v, 255})
			}
		}
		return img
	})
	if err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(p.dir, "data", "photos.zip")
	t.Cleanup(func() { os.Remove(kept) })
	chooseFile(t, ctx, chosen)
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("loaded: 16 training and 4 test images of 48×64×3")`, "the photos scaled to 48×64")
	waitFor(t, ctx, `Array.from(document.querySelectorAll(".notes li")).some(li => li.textContent.includes("they were 240×320"))`, "the note on the scaling")
	set(t, ctx, "#image-side", "32")
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("images of 24×32×3")`, "the photos read again at 24×32")
	if got := pageSpec(t, ctx); got.Data.ImageSide != 32 || len(got.Model.Input) != 3 || got.Model.Input[0] != 24 || got.Model.Input[1] != 32 {
		t.Fatalf("after image size 32: data.image_side %d, model.input %v; want 32 and [24 32 3]", got.Data.ImageSide, got.Model.Input)
	}
	set(t, ctx, "#image-side", "2")
	waitFor(t, ctx, `Array.from(document.querySelectorAll(".field-error")).some(e => e.textContent.includes("image_side 2 must be between 4 and 1024"))`, "the refusal of image size 2")
	set(t, ctx, "#image-side", "32")

	trainOneEpochOnServer(t, ctx, "the server's run on the photos at 24×32")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#run-name") && !document.querySelector("#run-name").textContent.includes("server") && document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the page's run on the photos at 24×32")
}

// A dataset of large photos is decoded by as many more workers as a run
// trains with, started for it and ended once the images are read; the
// status line says so while they work.
func TestPhotosAreDecodedBySeveralWorkers(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	chosen := filepath.Join(p.dir, "large.zip")
	// 16 images of 1024×768: 12.6 megapixels, over the 8 from which the
	// worker hands them out.
	err := writeImageZip(chosen, 8, 0, func(c, i int) image.Image {
		img := image.NewRGBA(image.Rect(0, 0, 1024, 768))
		for y := range 768 {
			for x := range 1024 {
				img.SetRGBA(x, y, color.RGBA{uint8(x / 4), uint8(y/3) + uint8(c*100), uint8(i * 30), 255})
			}
		}
		return img
	})
	if err != nil {
		t.Fatal(err)
	}
	workers := func() int {
		ts, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, x := range ts {
			if x.Type == "worker" {
				n++
			}
		}
		return n
	}
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#workers", "2")
	click(t, ctx, "#tab-Data")
	before := workers()
	chooseFile(t, ctx, chosen)
	most, said := before, false
	deadline := time.Now().Add(2 * time.Minute)
	for !eval[bool](t, ctx, `!!(document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("large loaded"))`) {
		if time.Now().After(deadline) {
			t.Fatal("the large photos did not load in 2 minutes")
		}
		most = max(most, workers())
		said = said || eval[bool](t, ctx, `document.body.innerText.includes("images read by 2 workers")`)
		time.Sleep(20 * time.Millisecond)
	}
	if most < before+2 {
		t.Errorf("%d workers while the photos were read, %d before: want two more", most, before)
	}
	if !said {
		t.Error("the status line never said that two workers read the images")
	}
	for end := time.Now().Add(10 * time.Second); workers() != before; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%d workers 10 s after the photos were read, want the %d of before", workers(), before)
		}
	}
	if notice := eval[string](t, ctx, `document.querySelector("#notice").textContent`); !strings.Contains(notice, "14 training and 2 test images of 48×64×3") {
		t.Errorf("notice %q", notice)
	}
}
