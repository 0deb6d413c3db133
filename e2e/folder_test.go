package e2e

import (
	"archive/zip"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// A folder of class folders, chosen in the Data tab, loads as a zip of it
// would: the page packs its image files (not the others) into a zip that
// the worker reads and that a run on the server is sent.
func TestFolderOfClassFolders(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	dir := filepath.Join(p.dir, "my pets")
	for c, class := range []string{"cats", "dogs"} {
		if err := os.MkdirAll(filepath.Join(dir, class), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			img := image.NewGray(image.Rect(0, 0, 12, 12))
			for y := range 12 {
				for x := range 12 {
					v := uint8(40 + 9*x + i)
					if c == 1 {
						v = uint8(40 + 9*y + i)
					}
					img.SetGray(x, y, color.Gray{v})
				}
			}
			// One of them a GIF, which reads as the PNGs do.
			name, encode := fmt.Sprintf("%02d.png", i), func(w io.Writer) error { return png.Encode(w, img) }
			if c == 1 && i == 3 {
				name, encode = "03.gif", func(w io.Writer) error { return gif.Encode(w, img, nil) }
			}
			f, err := os.Create(filepath.Join(dir, class, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := encode(f); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	// What a file manager leaves beside them is not packed; a photo that
	// cannot be read is, and the dataset's notes name it.
	os.WriteFile(filepath.Join(dir, ".DS_Store"), []byte("not an image"), 0o644)
	os.WriteFile(filepath.Join(dir, "cats", "notes.txt"), []byte("not an image"), 0o644)
	os.WriteFile(filepath.Join(dir, "cats", "IMG_0001.HEIC"), []byte("\x00\x00\x00\x18ftypheic"), 0o644)
	// A photo cut short by a copy that stopped is left out, and named.
	cut := filepath.Join(dir, "cats", "07.png")
	if b, err := os.ReadFile(cut); err != nil {
		t.Fatal(err)
	} else {
		os.WriteFile(cut, b[:len(b)/2], 0o644)
	}
	kept := filepath.Join(p.dir, "data", "my-pets.zip")
	t.Cleanup(func() { os.Remove(kept) })

	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#folder"), []string{dir})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("my pets loaded: 15 training and 4 test images of 12×12×1")`, "the folder to load")
	waitFor(t, ctx, `Array.from(document.querySelectorAll(".notes li")).some(li => li.textContent.includes("skipped 1 image that could not be read (cats/07.png: "))`, "the note on the photo cut short")
	waitFor(t, ctx, `Array.from(document.querySelectorAll(".notes li")).some(li => li.textContent.includes("skipped 1 file that is not PNG, JPEG, WebP, GIF, BMP or TIFF: 1 HEIC (cats/IMG_0001.HEIC); export HEIC"))`, "the note on the HEIC photo")
	trainOneEpochOnServer(t, ctx, "the server's run on the folder")
	// The zip the server keeps reads as any other, checksums and all,
	// and holds the images alone.
	zr, err := zip.OpenReader(kept)
	if err != nil {
		t.Fatalf("the folder, sent as a zip, in the server's data folder: %v", err)
	}
	defer zr.Close()
	if len(zr.File) != 21 {
		t.Errorf("the zip holds %d files, want the 20 images and the HEIC photo", len(zr.File))
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
		rc.Close()
	}
}

// A folder dropped anywhere on the page loads as one chosen does: the page
// walks its entries.
func TestFolderDropped(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	dir := filepath.Join(p.dir, "dropped")
	for c, class := range []string{"left", "right"} {
		if err := os.MkdirAll(filepath.Join(dir, "set", class), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			img := image.NewGray(image.Rect(0, 0, 10, 10))
			for y := range 10 {
				for x := range 10 {
					if (x < 5) == (c == 0) {
						img.SetGray(x, y, color.Gray{uint8(200 + i)})
					}
				}
			}
			f, err := os.Create(filepath.Join(dir, "set", class, fmt.Sprintf("%d.png", i)))
			if err != nil {
				t.Fatal(err)
			}
			png.Encode(f, img)
			f.Close()
		}
	}
	// The drag goes to the tab in front, the pointer over the page.
	if _, err := chromedp.Call(ctx, cdppage.BringToFront, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved, X: 200, Y: 300}); err != nil {
		t.Fatal(err)
	}
	// The drop is sent once the page has taken the drag over it, and sent
	// again when the browser let none of it reach the page: a drag
	// injected through the DevTools protocol is sometimes lost when many
	// tabs have come and gone in the browser before (the page's own
	// counts say which events it saw).
	eval[bool](t, ctx, `(window.drags = {dragenter: 0, dragover: 0, drop: 0},
		["dragenter", "dragover", "drop"].forEach(k => document.addEventListener(k, () => window.drags[k]++)), true)`)
	data := &input.DragData{Files: []string{dir}, DragOperationsMask: 1}
	drag := func(typ input.DispatchDragEventType) {
		t.Helper()
		if _, err := chromedp.Call(ctx, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: 200, Y: 300, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	for try := 1; ; try++ {
		drag(input.DispatchDragEventTypeDragEnter)
		drag(input.DispatchDragEventTypeDragOver)
		if err := poll(ctx, `window.drags.dragover > 0`, 5*time.Second); err == nil {
			drag(input.DispatchDragEventTypeDrop)
			if err := poll(ctx, `window.drags.drop > 0`, 5*time.Second); err == nil {
				break
			}
		}
		counts := eval[string](t, ctx, `JSON.stringify(window.drags)`)
		if try == 3 {
			t.Fatalf("the page saw no drop in 3 drags: %s", counts)
		}
		t.Logf("drag %d did not reach the page (%s); again", try, counts)
	}
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("dropped loaded: 8 training and 2 test images of 10×10×1")`, "the dropped folder to load")
}

// poll reports whether a JavaScript condition came to hold within d.
func poll(ctx context.Context, cond string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`)); err == nil && ok {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not hold within %v", cond, d)
}
