package data

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"
)

// withOrientation puts an EXIF segment saying orientation o right after
// the start of a JPEG, in the byte order given ("II" or "MM"), as cameras
// write it: a TIFF header and one IFD of two entries, the orientation the
// second.
func withOrientation(jpg []byte, o int, order string) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	if order == "MM" {
		bo = binary.BigEndian
	}
	t := []byte(order)
	t = bo.AppendUint16(t, 42)
	t = bo.AppendUint32(t, 8)
	t = bo.AppendUint16(t, 2)
	// 0x010F (Make), ASCII, 4 bytes in place: "cam\0".
	t = bo.AppendUint16(t, 0x010F)
	t = bo.AppendUint16(t, 2)
	t = bo.AppendUint32(t, 4)
	t = append(t, "cam\x00"...)
	t = bo.AppendUint16(t, 0x0112)
	t = bo.AppendUint16(t, 3)
	t = bo.AppendUint32(t, 1)
	t = bo.AppendUint16(t, uint16(o))
	t = append(t, 0, 0)
	t = bo.AppendUint32(t, 0) // no next IFD
	seg := append([]byte("Exif\x00\x00"), t...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestJPEGOrientation(t *testing.T) {
	plain := encodeJPEG(t, image.NewGray(image.Rect(0, 0, 8, 8)))
	if o := jpegOrientation(plain); o != 1 {
		t.Errorf("a JPEG without EXIF: orientation %d, want 1", o)
	}
	for _, order := range []string{"II", "MM"} {
		for o := 1; o <= 8; o++ {
			b := withOrientation(plain, o, order)
			if got := jpegOrientation(b); got != o {
				t.Errorf("%s orientation %d read as %d", order, o, got)
			}
			// Cut short anywhere, it reads as upright or as written, and
			// never reads past the end.
			for n := range len(b) {
				if got := jpegOrientation(b[:n]); got != 1 && got != o {
					t.Fatalf("%s orientation %d cut to %d bytes read as %d", order, o, n, got)
				}
			}
		}
	}
	for _, bad := range [][]byte{nil, {0xFF}, []byte("\x89PNG\r\n\x1a\n"), {0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01}, {0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E'}} {
		if o := jpegOrientation(bad); o != 1 {
			t.Errorf("% x: orientation %d, want 1", bad, o)
		}
	}
}

// The reference turns a grid of numbers with three plain operations: the
// EXIF orientations are mirrors and anticlockwise quarter turns of them
// (2 mirror, 3 two turns, 4 flip, 5 mirror and a turn, 6 three turns, 7
// flip and a turn, 8 one turn).
func TestOrientAsAViewerShowsIt(t *testing.T) {
	const w, h = 3, 2
	grid := [][]uint8{{1, 2, 3}, {4, 5, 6}} // [y][x]
	mirror := func(g [][]uint8) [][]uint8 {
		out := make([][]uint8, len(g))
		for y, row := range g {
			for x := range row {
				out[y] = append(out[y], row[len(row)-1-x])
			}
		}
		return out
	}
	flip := func(g [][]uint8) [][]uint8 {
		out := make([][]uint8, len(g))
		for y := range g {
			out[y] = g[len(g)-1-y]
		}
		return out
	}
	turn := func(g [][]uint8) [][]uint8 { // a quarter anticlockwise
		out := make([][]uint8, len(g[0]))
		for y := range out {
			for x := range g {
				out[y] = append(out[y], g[x][len(g[0])-1-y])
			}
		}
		return out
	}
	want := map[int][][]uint8{
		1: grid, 2: mirror(grid), 3: turn(turn(grid)), 4: flip(grid),
		5: turn(mirror(grid)), 6: turn(turn(turn(grid))), 7: turn(flip(grid)), 8: turn(grid),
	}
	gray := image.NewGray(image.Rect(0, 0, w, h))
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	for y, row := range grid {
		for x, v := range row {
			gray.SetGray(x, y, color.Gray{v})
			rgba.Set(x, y, color.RGBA{v, 100 + v, 200 + v, 255})
		}
	}
	for o := 1; o <= 8; o++ {
		for _, img := range []image.Image{gray, rgba} {
			got := orient(img, o)
			wh := want[o]
			if b := got.Bounds(); b.Dx() != len(wh[0]) || b.Dy() != len(wh) {
				t.Fatalf("orientation %d of %T: %v, want %d×%d", o, img, b, len(wh[0]), len(wh))
			}
			if ow, oh := orientedSize(w, h, o); ow != len(wh[0]) || oh != len(wh) {
				t.Errorf("orientedSize(%d, %d, %d) = %d, %d", w, h, o, ow, oh)
			}
			for y, row := range wh {
				for x, v := range row {
					if r, _, _, _ := got.At(x, y).RGBA(); uint8(r>>8) != v {
						t.Errorf("orientation %d of %T: pixel (%d, %d) is %d, want %d", o, img, x, y, r>>8, v)
					}
				}
			}
			if _, isGray := got.(*image.Gray); o > 1 && isGray != (img == image.Image(gray)) {
				t.Errorf("orientation %d of %T gave a %T", o, img, got)
			}
		}
	}
}

// A phone's picture stored on its side with orientation 6 loads upright:
// its shape and its pixels as a viewer shows them.
func TestPhotosLoadUpright(t *testing.T) {
	// Stored 40 wide and 24 high, red on its left half: shown turned a
	// quarter clockwise, 24 wide and 40 high, red on its top half.
	stored := image.NewRGBA(image.Rect(0, 0, 40, 24))
	for y := range 24 {
		for x := range 40 {
			c := color.RGBA{0, 0, 220, 255}
			if x < 20 {
				c = color.RGBA{220, 0, 0, 255}
			}
			stored.Set(x, y, c)
		}
	}
	raw := encodeJPEG(t, stored)
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, class := range []string{"a", "b"} {
		for i := range 2 {
			f, err := z.Create(class + "/" + string(rune('0'+i)) + ".jpg")
			if err != nil {
				t.Fatal(err)
			}
			f.Write(withOrientation(raw, 6, "MM"))
		}
	}
	z.Close()
	d, err := Decode("phone.zip", bytes.NewReader(buf.Bytes()), int64(buf.Len()), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.H != 40 || d.W != 24 {
		t.Fatalf("shape %d×%d, want 40×24 (upright)", d.H, d.W)
	}
	if notes := strings.Join(d.Notes, "; "); !strings.Contains(notes, "turned 4 images upright") {
		t.Errorf("notes %q do not say the images were turned", notes)
	}
	img := d.Train.Images[:d.H*d.W*3]
	for _, p := range []struct{ x, y int }{{12, 5}, {3, 15}, {20, 2}} { // top half
		if r, b := img[(p.y*d.W+p.x)*3], img[(p.y*d.W+p.x)*3+2]; r < 180 || b > 40 {
			t.Errorf("pixel (%d, %d) = red %d, blue %d: want red (the stored left half is the top once upright)", p.x, p.y, r, b)
		}
	}
	for _, p := range []struct{ x, y int }{{12, 30}, {3, 37}} { // bottom half
		if r, b := img[(p.y*d.W+p.x)*3], img[(p.y*d.W+p.x)*3+2]; r > 40 || b < 180 {
			t.Errorf("pixel (%d, %d) = red %d, blue %d: want blue", p.x, p.y, r, b)
		}
	}
}
