package ui

import (
	"fmt"
	"hash/fnv"
	"html"
	"strings"

	js "github.com/vugu/vugu/js"
)

// setHTML gives el the inner HTML html, from an element's vg-js-populate
// callback (which runs at every render), unless el already holds it.
// vg-html sets an element's inner HTML at every render, and the browser
// parses it and lays it out again even when it has not changed: while a
// run trains, the run view's charts and galleries four times a second,
// for curves that move about once a second. The element keeps a hash of
// its HTML beside it.
func setHTML(el js.Value, html string) {
	h := fnv.New64a()
	h.Write([]byte(html))
	sum := float64(h.Sum64() >> 11) // exact in a float64
	if old := el.Get("plateauHTML"); old.Type() == js.TypeNumber && old.Float() == sum {
		return
	}
	el.Set("innerHTML", html)
	el.Set("plateauHTML", sum)
}

// A galleryImage is one image of a gallery's figure.
type galleryImage struct{ URL, Class, Alt, Title string }

// galleryHTML writes a gallery's figures, each of its images and a caption
// (none when empty), as the inner HTML setHTML gives the gallery: its
// images' data URLs then cross to the browser when they change, not at
// every render.
func galleryHTML(n int, figure func(i int) (images []galleryImage, caption string)) string {
	var b strings.Builder
	for i := range n {
		images, caption := figure(i)
		b.WriteString("<figure>")
		for _, im := range images {
			b.WriteString(`<img`)
			for _, a := range [][2]string{{"class", im.Class}, {"src", im.URL}, {"alt", im.Alt}, {"title", im.Title}} {
				if a[1] != "" {
					fmt.Fprintf(&b, ` %s="%s"`, a[0], html.EscapeString(a[1]))
				}
			}
			b.WriteString(">")
		}
		if caption != "" {
			b.WriteString("<figcaption>" + html.EscapeString(caption) + "</figcaption>")
		}
		b.WriteString("</figure>")
	}
	return b.String()
}
