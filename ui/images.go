package ui

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"

	"plateau/protocol"
)

// ImageURLs turns a set of images into PNG data URLs, scaled up by an
// integer factor so that small images (28×28, 3×3 filters) stay crisp.
func ImageURLs(im *protocol.Images, scale int) []string {
	if im == nil || im.N == 0 || im.H*im.W*im.C == 0 {
		return nil
	}
	size := im.H * im.W * im.C
	urls := make([]string, 0, im.N)
	for i := range im.N {
		if (i+1)*size > len(im.Pixels) {
			break
		}
		urls = append(urls, pngURL(im.Pixels[i*size:(i+1)*size], im.H, im.W, im.C, scale))
	}
	return urls
}

func pngURL(px []byte, h, w, c, scale int) string {
	return scaledURL(h, w, scale, func(p int) color.NRGBA {
		i := p * c
		if c >= 3 {
			return color.NRGBA{px[i], px[i+1], px[i+2], 255}
		}
		return color.NRGBA{px[i], px[i], px[i], 255}
	})
}

// scaledURL draws an h×w image whose pixel p (row-major) has the colour
// at(p), each pixel a square of scale×scale, as a PNG data URL.
func scaledURL(h, w, scale int, at func(p int) color.NRGBA) string {
	scale = max(scale, 1)
	img := image.NewNRGBA(image.Rect(0, 0, w*scale, h*scale))
	for y := range h * scale {
		for x := range w * scale {
			img.SetNRGBA(x, y, at((y/scale)*w+x/scale))
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	enc.Encode(&buf, img)
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// SaliencyURLs draws each misclassified image's saliency map
// (protocol.Images.Saliency) over the image as PNG data URLs, scaled as
// ImageURLs scales: the image dimmed to grey, and orange where hiding a
// patch lowers most the network's confidence in the class it predicted.
// Nil when the images carry no maps.
func SaliencyURLs(im *protocol.Images, scale int) []string {
	if im == nil || im.N == 0 || im.H*im.W*im.C == 0 || len(im.Saliency) < im.N*im.H*im.W {
		return nil
	}
	size, pixels := im.H*im.W*im.C, im.H*im.W
	urls := make([]string, 0, im.N)
	for i := range im.N {
		if (i+1)*size > len(im.Pixels) {
			break
		}
		urls = append(urls, saliencyURL(im.Pixels[i*size:(i+1)*size], im.Saliency[i*pixels:(i+1)*pixels], im.H, im.W, im.C, scale))
	}
	return urls
}

func saliencyURL(px, sal []byte, h, w, c, scale int) string {
	return scaledURL(h, w, scale, func(p int) color.NRGBA {
		lum := float64(px[p*c])
		if c >= 3 {
			lum = 0.299*float64(px[p*c]) + 0.587*float64(px[p*c+1]) + 0.114*float64(px[p*c+2])
		}
		grey, a := 0.5*lum, float64(sal[p])/255
		mix := func(hot float64) uint8 { return uint8(grey + a*(hot-grey) + 0.5) }
		return color.NRGBA{mix(255), mix(140), mix(0), 255}
	})
}
