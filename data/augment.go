package data

import (
	"fmt"
	"math"
	"math/rand/v2"

	"plateau/spec"
)

// Augmenter applies the training-time transforms of a spec.Augment to one
// image at a time. It holds scratch space, so one Augmenter serves one
// goroutine; Apply allocates nothing.
type Augmenter struct {
	spec    spec.Augment
	h, w, c int
	tmp     []uint8 // the image after the geometric transforms
}

// NewAugmenter checks the transforms against the image size h×w×c and
// returns an Augmenter for them. Hue and saturation need 3 channels; on
// grayscale images they do nothing.
func NewAugmenter(a spec.Augment, h, w, c int) (*Augmenter, error) {
	if h <= 0 || w <= 0 || c <= 0 {
		return nil, fmt.Errorf("augment: image size %d×%d×%d is empty", h, w, c)
	}
	checks := []struct {
		name string
		t    spec.Transform
		max  float64 // largest strength that makes sense
		why  string
	}{
		{"flip_horizontal", a.FlipHorizontal, math.Inf(1), ""},
		{"flip_vertical", a.FlipVertical, math.Inf(1), ""},
		{"crop", a.Crop, float64(max(h, w)), "pixels of padding, at most the image size"},
		{"shift", a.Shift, 1, "a fraction of the image size"},
		{"rotation", a.Rotation, 180, "degrees"},
		{"zoom", a.Zoom, 0.99, "below 1, so the scale 1-strength stays positive"},
		{"brightness", a.Brightness, 1, "a fraction of 255"},
		{"contrast", a.Contrast, 1, "at most 1, so the factor 1-strength is not negative"},
		{"saturation", a.Saturation, 1, "at most 1, so the factor 1-strength is not negative"},
		{"hue", a.Hue, 1, "a fraction of 180 degrees"},
		{"cutout", a.Cutout, 1, "a fraction of the image size"},
	}
	for _, ch := range checks {
		if !(ch.t.P >= 0 && ch.t.P <= 1) {
			return nil, fmt.Errorf("augment.%s.p is %g; want a probability in [0, 1]", ch.name, ch.t.P)
		}
		if !(ch.t.Strength >= 0 && ch.t.Strength <= ch.max) {
			return nil, fmt.Errorf("augment.%s.strength is %g; want 0 to %g (%s)", ch.name, ch.t.Strength, ch.max, ch.why)
		}
	}
	return &Augmenter{spec: a, h: h, w: w, c: c, tmp: make([]uint8, h*w*c)}, nil
}

// fires draws whether a transform applies to this image. Transforms that
// are off draw nothing, so turning one on does not change the draws of the
// others before it.
func fires(t spec.Transform, rng *rand.Rand) bool {
	return t.P > 0 && rng.Float64() < t.P
}

// uniform draws from [-1, 1).
func uniform(rng *rand.Rand) float64 { return 2*rng.Float64() - 1 }

// affine maps centred pixel coordinates: p' = M·p + t.
type affine struct{ a, b, c, d, tx, ty float64 }

// then returns the map that applies m and then n.
func (m affine) then(n affine) affine {
	return affine{
		a: n.a*m.a + n.b*m.c, b: n.a*m.b + n.b*m.d,
		c: n.c*m.a + n.d*m.c, d: n.c*m.b + n.d*m.d,
		tx: n.a*m.tx + n.b*m.ty + n.tx, ty: n.c*m.tx + n.d*m.ty + n.ty,
	}
}

// Apply writes an augmented copy of src into dst (both h×w×c; they may be
// the same slice). The transforms run in the order of spec.Augment, each
// with its probability; everything random is drawn from rng, so the same
// rng state gives the same bytes. Flips, crops and shifts move whole
// pixels; rotation and zoom sample bilinearly; pixels from outside the
// image are 0.
func (a *Augmenter) Apply(dst, src []uint8, rng *rand.Rand) {
	d := a.draw(rng)
	a.render(dst, src, a.tmp, &d)
}

// drawn is everything Apply draws for one image, before it touches a
// pixel: drawing is sequential and cheap, rendering is where the time goes
// and can run on many images at once (Loader's Workers).
type drawn struct {
	m                 affine
	geometric, smooth bool
	photo             photometric
	cutout            bool
	cutoutY, cutoutX  int
}

// draw takes one image's random choices from rng, in the order Apply has
// always drawn them.
func (a *Augmenter) draw(rng *rand.Rand) (d drawn) {
	s := &a.spec
	d.m = affine{a: 1, d: 1}
	if fires(s.FlipHorizontal, rng) {
		d.m, d.geometric = d.m.then(affine{a: -1, d: 1}), true
	}
	if fires(s.FlipVertical, rng) {
		d.m, d.geometric = d.m.then(affine{a: 1, d: -1}), true
	}
	if fires(s.Crop, rng) {
		// Padding by p and cropping back at a random offset is a shift by
		// a whole number of pixels in [-p, p] with zeros coming in.
		p := int(math.Round(s.Crop.Strength))
		dx, dy := rng.IntN(2*p+1)-p, rng.IntN(2*p+1)-p
		d.m, d.geometric = d.m.then(affine{a: 1, d: 1, tx: float64(dx), ty: float64(dy)}), true
	}
	if fires(s.Shift, rng) {
		dx := math.Round(uniform(rng) * s.Shift.Strength * float64(a.w))
		dy := math.Round(uniform(rng) * s.Shift.Strength * float64(a.h))
		d.m, d.geometric = d.m.then(affine{a: 1, d: 1, tx: dx, ty: dy}), true
	}
	if fires(s.Rotation, rng) {
		theta := uniform(rng) * s.Rotation.Strength * math.Pi / 180
		sin, cos := math.Sincos(theta)
		d.m, d.geometric, d.smooth = d.m.then(affine{a: cos, b: -sin, c: sin, d: cos}), true, true
	}
	if fires(s.Zoom, rng) {
		z := 1 + uniform(rng)*s.Zoom.Strength
		d.m, d.geometric, d.smooth = d.m.then(affine{a: z, d: z}), true, true
	}
	photo := &d.photo
	if fires(s.Brightness, rng) {
		photo.on, photo.brightness = true, float32(uniform(rng)*s.Brightness.Strength*255)
	}
	photo.contrast, photo.saturation = 1, 1
	if fires(s.Contrast, rng) {
		photo.on, photo.doContrast, photo.contrast = true, true, float32(1+uniform(rng)*s.Contrast.Strength)
	}
	if fires(s.Saturation, rng) && a.c == 3 {
		photo.on, photo.doSaturation, photo.saturation = true, true, float32(1+uniform(rng)*s.Saturation.Strength)
	}
	if fires(s.Hue, rng) && a.c == 3 {
		photo.on, photo.doHue = true, true
		photo.hue = hueMatrix(uniform(rng) * s.Hue.Strength * math.Pi)
	}
	d.cutout = fires(s.Cutout, rng)
	if d.cutout {
		d.cutoutY, d.cutoutX = rng.IntN(a.h), rng.IntN(a.w)
	}
	return d
}

// render writes src under d's transforms into dst, with tmp (h·w·c bytes,
// not dst) for the geometric stage. It reads the Augmenter's settings
// only, so goroutines with their own tmp may render at once.
func (a *Augmenter) render(dst, src, tmp []uint8, d *drawn) {
	n := a.h * a.w * a.c
	if len(dst) != n || len(src) != n || len(tmp) != n {
		panic("data: Augmenter.Apply needs dst and src of h*w*c bytes")
	}
	cur := src
	if d.geometric {
		a.warp(tmp, src, d.m, d.smooth)
		cur = tmp
	}
	switch {
	case d.photo.on:
		d.photo.apply(dst, cur, a.c)
	case &cur[0] != &dst[0]:
		copy(dst, cur)
	}
	if d.cutout {
		side := int(math.Round(a.spec.Cutout.Strength * float64(min(a.h, a.w))))
		cy, cx := d.cutoutY, d.cutoutX
		y0, x0 := max(cy-side/2, 0), max(cx-side/2, 0)
		y1, x1 := min(cy-side/2+side, a.h), min(cx-side/2+side, a.w)
		for y := y0; y < y1; y++ {
			clear(dst[(y*a.w+x0)*a.c : (y*a.w+x1)*a.c])
		}
	}
}

// warp writes src transformed by the forward map m (in coordinates centred
// on the image) into dst, by pulling each output pixel from the inverse
// map: nearest pixel when the map moves whole pixels, bilinear otherwise.
func (a *Augmenter) warp(dst, src []uint8, m affine, smooth bool) {
	h, w, c := a.h, a.w, a.c
	det := m.a*m.d - m.b*m.c
	ia, ib, ic, id := m.d/det, -m.b/det, -m.c/det, m.a/det
	cx, cy := float64(w-1)/2, float64(h-1)/2
	for y := 0; y < h; y++ {
		py := float64(y) - cy - m.ty
		for x := 0; x < w; x++ {
			px := float64(x) - cx - m.tx
			sx := ia*px + ib*py + cx
			sy := ic*px + id*py + cy
			out := dst[(y*w+x)*c : (y*w+x+1)*c]
			if !smooth {
				ix, iy := int(math.Round(sx)), int(math.Round(sy))
				if ix < 0 || ix >= w || iy < 0 || iy >= h {
					clear(out)
				} else {
					copy(out, src[(iy*w+ix)*c:(iy*w+ix+1)*c])
				}
				continue
			}
			fx, fy := math.Floor(sx), math.Floor(sy)
			x0, y0 := int(fx), int(fy)
			wx, wy := float32(sx-fx), float32(sy-fy)
			// Early out when all four neighbours are outside the image.
			if x0 < -1 || x0 >= w || y0 < -1 || y0 >= h {
				clear(out)
				continue
			}
			if x0 >= 0 && x0+1 < w && y0 >= 0 && y0+1 < h {
				// All four neighbours inside: no bounds checks per channel.
				i00 := (y0*w + x0) * c
				i10 := i00 + w*c
				w00, w01 := (1-wy)*(1-wx), (1-wy)*wx
				w10, w11 := wy*(1-wx), wy*wx
				for k := 0; k < c; k++ {
					v := w00*float32(src[i00+k]) + w01*float32(src[i00+c+k]) +
						w10*float32(src[i10+k]) + w11*float32(src[i10+c+k])
					out[k] = clampByte(v)
				}
				continue
			}
			for k := 0; k < c; k++ {
				v := (1-wy)*((1-wx)*pixel(src, x0, y0, k, h, w, c)+wx*pixel(src, x0+1, y0, k, h, w, c)) +
					wy*((1-wx)*pixel(src, x0, y0+1, k, h, w, c)+wx*pixel(src, x0+1, y0+1, k, h, w, c))
				out[k] = clampByte(v)
			}
		}
	}
}

// pixel reads channel k at (x, y), 0 outside the image.
func pixel(src []uint8, x, y, k, h, w, c int) float32 {
	if x < 0 || x >= w || y < 0 || y >= h {
		return 0
	}
	return float32(src[(y*w+x)*c+k])
}

// clamp255 uses comparisons rather than min and max, whose NaN and signed
// zero rules make them several times slower on floats.
func clamp255(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return v
}

func clampByte(v float32) uint8 { return uint8(clamp255(v) + 0.5) }

// photometric holds the colour changes drawn for one image.
type photometric struct {
	on                              bool
	brightness                      float32
	doContrast, doSaturation, doHue bool
	contrast, saturation            float32
	hue                             [9]float32
}

// hueMatrix rotates the chroma plane of YIQ by theta radians, expressed as
// one RGB→RGB matrix.
func hueMatrix(theta float64) [9]float32 {
	toYIQ := [9]float64{0.299, 0.587, 0.114, 0.596, -0.274, -0.322, 0.211, -0.523, 0.312}
	toRGB := [9]float64{1, 0.956, 0.621, 1, -0.272, -0.647, 1, -1.106, 1.703}
	sin, cos := math.Sincos(theta)
	rot := [9]float64{1, 0, 0, 0, cos, -sin, 0, sin, cos}
	mul := func(p, q [9]float64) (r [9]float64) {
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				for k := 0; k < 3; k++ {
					r[3*i+j] += p[3*i+k] * q[3*k+j]
				}
			}
		}
		return r
	}
	full := mul(toRGB, mul(rot, toYIQ))
	var out [9]float32
	for i, v := range full {
		out[i] = float32(v)
	}
	return out
}

// apply runs brightness, contrast, saturation and hue in that order, each
// clamped to 0–255, and rounds once at the end. Contrast scales around the
// image's mean after brightness (over all channels); saturation blends each
// pixel with its luma.
func (p *photometric) apply(dst, src []uint8, c int) {
	var mean float32
	if p.doContrast {
		var sum float64
		for _, v := range src {
			sum += float64(clamp255(float32(v) + p.brightness))
		}
		mean = float32(sum / float64(len(src)))
	}
	if c != 3 {
		for i, v := range src {
			f := clamp255(float32(v) + p.brightness)
			if p.doContrast {
				f = clamp255((f-mean)*p.contrast + mean)
			}
			dst[i] = uint8(f + 0.5)
		}
		return
	}
	for i := 0; i < len(src); i += 3 {
		r := clamp255(float32(src[i]) + p.brightness)
		g := clamp255(float32(src[i+1]) + p.brightness)
		b := clamp255(float32(src[i+2]) + p.brightness)
		if p.doContrast {
			r = clamp255((r-mean)*p.contrast + mean)
			g = clamp255((g-mean)*p.contrast + mean)
			b = clamp255((b-mean)*p.contrast + mean)
		}
		if p.doSaturation {
			gray := 0.299*r + 0.587*g + 0.114*b
			r = clamp255(gray + (r-gray)*p.saturation)
			g = clamp255(gray + (g-gray)*p.saturation)
			b = clamp255(gray + (b-gray)*p.saturation)
		}
		if p.doHue {
			m := &p.hue
			r, g, b = clamp255(m[0]*r+m[1]*g+m[2]*b), clamp255(m[3]*r+m[4]*g+m[5]*b), clamp255(m[6]*r+m[7]*g+m[8]*b)
		}
		dst[i], dst[i+1], dst[i+2] = uint8(r+0.5), uint8(g+0.5), uint8(b+0.5)
	}
}
