package ui

import (
	"hash/fnv"

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
