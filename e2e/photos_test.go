package e2e

import (
	"image"
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
