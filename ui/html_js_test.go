//go:build js

package ui

import (
	"testing"

	js "github.com/vugu/vugu/js"
)

// setHTML sets an element's inner HTML when it changes, and leaves it
// alone, whatever it holds, when the HTML is the one it set last.
func TestSetHTML(t *testing.T) {
	el := js.Global().Get("Object").New()
	setHTML(el, "<svg>a</svg>")
	if got := el.Get("innerHTML").String(); got != "<svg>a</svg>" {
		t.Fatalf("innerHTML %q after the first set", got)
	}
	el.Set("innerHTML", "untouched")
	setHTML(el, "<svg>a</svg>")
	if got := el.Get("innerHTML").String(); got != "untouched" {
		t.Errorf("the same HTML was set again: %q", got)
	}
	setHTML(el, "<svg>b</svg>")
	if got := el.Get("innerHTML").String(); got != "<svg>b</svg>" {
		t.Errorf("innerHTML %q after a change", got)
	}
}
