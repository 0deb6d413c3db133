package data

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/draw"
)

// exifHead is how many of a JPEG's first bytes are searched for its EXIF
// orientation: the APP1 segment that holds it comes first and is at most
// 64 KiB.
const exifHead = 1 << 16

// jpegOrientation reads the EXIF orientation (1–8: how a camera turned the
// picture it stored) from the first bytes of a JPEG; 1, upright as stored,
// when there is none or it cannot be read. It reads only what head holds,
// and any length or offset in it that leads outside is taken for "none".
func jpegOrientation(head []byte) int {
	if len(head) < 4 || head[0] != 0xFF || head[1] != 0xD8 {
		return 1
	}
	i := 2
	for i+4 <= len(head) {
		if head[i] != 0xFF {
			return 1
		}
		marker := head[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0xD9 || marker == 0xDA: // end of image, start of scan
			return 1
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD7: // no length
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(head[i+2:]))
		if n < 2 || i+2+n > len(head) {
			return 1
		}
		seg := head[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 of the first IFD of a TIFF header (the
// body of an EXIF segment).
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 1
	}
	entries := int64(bo.Uint16(t[off:]))
	for k := int64(0); k < entries; k++ {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 1
		}
		tag, typ := bo.Uint16(t[e:]), bo.Uint16(t[e+2:])
		if tag != 0x0112 {
			continue
		}
		if typ != 3 { // SHORT
			return 1
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// orientedSize is the size of a w×h picture once turned upright by EXIF
// orientation o: orientations 5–8 turn it a quarter.
func orientedSize(w, h, o int) (int, int) {
	if o >= 5 && o <= 8 {
		return h, w
	}
	return w, h
}

// orient turns img upright by its EXIF orientation o, as a photo viewer
// shows it: a mirror (2, 4), a half turn (3), a quarter turn either way (6
// clockwise, 8 anticlockwise) or a reflection about a diagonal (5, 7).
// Gray images stay gray; others become RGBA.
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := orientedSize(w, h, o)
	if g, ok := img.(*image.Gray); ok {
		s := image.NewGray(image.Rect(0, 0, w, h))
		draw.Draw(s, s.Bounds(), g, b.Min, draw.Src)
		d := image.NewGray(image.Rect(0, 0, ow, oh))
		orientPix(d.Pix, s.Pix, w, h, 1, o)
		return d
	}
	s := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(s, s.Bounds(), img, b.Min, draw.Src)
	d := image.NewRGBA(image.Rect(0, 0, ow, oh))
	orientPix(d.Pix, s.Pix, w, h, 4, o)
	return d
}

// orientPix writes src, w×h pixels of px bytes each as stored, into dst
// as orientation o shows it.
func orientPix(dst, src []uint8, w, h, px, o int) {
	ow, oh := orientedSize(w, h, o)
	for y := range oh {
		for x := range ow {
			sx, sy := storedAt(x, y, w, h, o)
			copy(dst[(y*ow+x)*px:(y*ow+x+1)*px], src[(sy*w+sx)*px:])
		}
	}
}

// storedAt is the pixel of a w×h picture as stored that orientation o
// shows at (x, y).
func storedAt(x, y, w, h, o int) (sx, sy int) {
	switch o {
	case 2:
		return w - 1 - x, y
	case 3:
		return w - 1 - x, h - 1 - y
	case 4:
		return x, h - 1 - y
	case 5:
		return y, x
	case 6:
		return y, h - 1 - x
	case 7:
		return w - 1 - y, h - 1 - x
	case 8:
		return w - 1 - y, x
	}
	return x, y
}
