package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"plateau/spec"
)

// A scalable preset's width and depth build its layers again in the Model
// tab, for the loaded data, keeping the training settings; a depth the
// input cannot take stays in its field with the reason; an edited model
// shows no width or depth, and a new one builds the preset again.
func TestPresetWidthAndDepthInThePage(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#lr", "0.005")
	click(t, ctx, "#tab-Model")
	set(t, ctx, "#preset", "resnet-bottleneck")
	waitFor(t, ctx, `document.querySelector("#preset-width")`, "the width field")
	shows(t, ctx, "#preset-width", "16")
	shows(t, ctx, "#preset-depth", "3")
	// The layers that name what they read say so: the skip connections.
	waitFor(t, ctx, `[...document.querySelectorAll(".layers .reads")].some(e => e.textContent === "← stage1_expand_bn + stage1_shortcut")`, "the first add's inputs")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#lr", "0.005") // the preset brought its own training settings
	click(t, ctx, "#tab-Model")

	// The tiny dataset's 28×28×1 images, as the page fits presets to them.
	in := pageSpec(t, ctx).Model.Input
	for _, o := range []spec.PresetOptions{{Width: 8, Depth: 3}, {Width: 8, Depth: 2}} {
		if o.Depth == 3 {
			set(t, ctx, "#preset-width", "8")
		} else {
			set(t, ctx, "#preset-depth", "2")
		}
		o.Input, o.Classes = in, 10
		want, err := spec.Preset("resnet-bottleneck", o)
		if err != nil {
			t.Fatal(err)
		}
		wantParams, _ := want.Model.ParamCount()
		waitFor(t, ctx, fmt.Sprintf(`document.querySelector("#total-params").textContent.replaceAll(",", "") === "%d"`, wantParams),
			fmt.Sprintf("the parameters of width %d, depth %d", o.Width, o.Depth))
		s := pageSpec(t, ctx)
		if len(s.Model.Layers) != len(want.Model.Layers) || s.Train.LR != 0.005 {
			t.Errorf("width %d, depth %d: the page's spec has %d layers (want %d) and lr %g (want the 0.005 set before)",
				o.Width, o.Depth, len(s.Model.Layers), len(want.Model.Layers), s.Train.LR)
		}
	}
	shows(t, ctx, "#preset-width", "8")
	shows(t, ctx, "#preset-depth", "2")

	// 28 halves four times at most: depth 6 would pool below one pixel.
	layers := len(pageSpec(t, ctx).Model.Layers)
	set(t, ctx, "#preset-depth", "6")
	waitFor(t, ctx, `document.querySelector(".scale .field-error") && document.querySelector(".scale .field-error").textContent.includes("below one pixel")`, "the depth's error")
	shows(t, ctx, "#preset-depth", "6")
	if n := len(pageSpec(t, ctx).Model.Layers); n != layers {
		t.Errorf("a refused depth changed the model: %d layers, not %d", n, layers)
	}
	set(t, ctx, "#preset-depth", "1")
	waitFor(t, ctx, `!document.querySelector(".scale .field-error")`, "the error to go with a depth that fits")

	// A layer edited by hand: the model no longer has a width or depth; a
	// width builds the preset again, at its own depth.
	set(t, ctx, "#layer-0-filters", "5")
	shows(t, ctx, "#preset-width", "")
	waitFor(t, ctx, `document.querySelector(".scale").textContent.includes("edited")`, "the note that the layers were edited")
	set(t, ctx, "#preset-width", "4")
	shows(t, ctx, "#preset-width", "4")
	shows(t, ctx, "#preset-depth", "3")
	if f := pageSpec(t, ctx).Model.Layers[0].Filters; f != 4 {
		t.Errorf("width 4 gave a first conv of %d filters", f)
	}

	// Data of another shape keeps an unedited scalable preset at its width
	// and depth, built for the new images, with the training settings.
	set(t, ctx, "#preset", "vgg-small")
	waitFor(t, ctx, `document.querySelector("#preset-width")`, "the width field")
	set(t, ctx, "#preset-width", "8")
	set(t, ctx, "#preset-depth", "2")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#lr", "0.004")
	click(t, ctx, "#tab-Data")
	archive := filepath.Join(p.dir, "presets-cifar.tar.gz")
	if err := writeCIFARArchive(archive, 200, 50); err != nil {
		t.Fatal(err)
	}
	chooseFile(t, ctx, archive)
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("of 32×32×3")`, "the archive to load")
	s := pageSpec(t, ctx)
	want, err := spec.Preset("vgg-small", spec.PresetOptions{Width: 8, Depth: 2, Input: []int{32, 32, 3}, Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(s.Model.Layers)
	wb, _ := json.Marshal(want.Model.Layers)
	if s.Model.Name != "vgg-small" || string(gb) != string(wb) || s.Train.LR != 0.004 {
		t.Errorf("after the CIFAR archive the model is %s with layers\n%s\nand lr %g; want vgg-small at width 8, depth 2:\n%s\nand lr 0.004",
			s.Model.Name, gb, s.Train.LR, wb)
	}
	click(t, ctx, "#tab-Model")
	shows(t, ctx, "#preset", "vgg-small")
	shows(t, ctx, "#preset-width", "8")
	shows(t, ctx, "#preset-depth", "2")

	// Presets without a width and depth show no fields.
	set(t, ctx, "#preset", "mnist-cnn")
	waitFor(t, ctx, `!document.querySelector("#preset-width")`, "the width field to go")
}

// cifarTab opens a tab on 2,400 CIFAR-sized training images (and 100 test
// images), chosen as a user would, from an archive of that name: a first
// epoch of many seconds in the worker.
func cifarTab(t *testing.T, name string) context.Context {
	p := start(t)
	ctx := p.tab(t)
	archive := filepath.Join(p.dir, name)
	if err := writeCIFARArchive(archive, 2400, 100); err != nil {
		t.Fatal(err)
	}
	chooseFile(t, ctx, archive)
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("loaded: 2,400 training")`, "the archive to load")
	return ctx
}

// What the data shows before any training is said before the first epoch:
// raw 0–255 inputs, on 2,400 CIFAR-sized images whose first epoch takes
// many seconds in the worker.
func TestFindingsBeforeTheFirstEpoch(t *testing.T) {
	ctx := cifarTab(t, "raw-cifar.tar.gz")
	set(t, ctx, "#normalization", "raw")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector('#doctor .finding[data-cause="unnormalized_input"]')`, "the raw inputs' finding")
	status := eval[string](t, ctx, `document.querySelector("#doctor-status").textContent`)
	epochs := eval[string](t, ctx, `document.querySelector("#progress-text").textContent`)
	if !strings.Contains(status, "before the first epoch") {
		t.Errorf("the finding showed with the status %q (progress %q), not before the first epoch", status, epochs)
	}
	click(t, ctx, "#stop")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("canceled")`, "the stop")
}

// Blank images (here every pixel black, as a loader that reads zeros
// gives) are named before the first epoch, first, and the rate is not
// blamed for the weights that do not move.
func TestBlankImages(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	archive := filepath.Join(p.dir, "black-cifar.tar.gz")
	if err := writeCIFARArchiveOf(archive, 300, 100, func(int, int) byte { return 0 }); err != nil {
		t.Fatal(err)
	}
	chooseFile(t, ctx, archive)
	waitFor(t, ctx, `document.querySelector("#notice") && document.querySelector("#notice").textContent.includes("loaded: 300 training")`, "the archive to load")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "2")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector('#doctor .finding[data-cause="blank_inputs"]')`, "the blank images' finding")
	if got := eval[string](t, ctx, `document.querySelector('#doctor .finding').dataset.cause + ": " + document.querySelector('#doctor .finding').textContent.trim().replace(/\s+/g, " ")`); !strings.HasPrefix(got, "blank_inputs: Images are blank") {
		t.Errorf("the first finding: %q", got)
	}
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the run to end")
	if got := eval[string](t, ctx, `Array.from(document.querySelectorAll('#doctor .finding')).map(f => f.dataset.cause).join(" ")`); !strings.HasPrefix(got, "blank_inputs") || strings.Contains(got, "lr_too_low") {
		t.Errorf("the findings at the end: %q, want blank_inputs first and no lr_too_low", got)
	}
	// No setting cures it: the panel offers to show the images.
	click(t, ctx, "#doctor .look-at-images[data-cause=blank_inputs]")
	waitFor(t, ctx, `document.querySelector("#tab-Data").classList.contains("active") && document.querySelectorAll("#samples img").length > 0`, "the Data tab's samples")
}

// trainUntilThrown trains Adam at 0.1, checks after every 50 ms, until
// the doctor names the rate: on cifarTab's images, before the first
// epoch's end.
func trainUntilThrown(t *testing.T, ctx context.Context) {
	// 48 validation images: a check takes little, so the next follows soon.
	set(t, ctx, "#validation", "0.02")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#lr", "0.1")
	set(t, ctx, "#batch", "16")
	set(t, ctx, "#val-check", "0.05")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector('#doctor .finding[data-cause="lr_too_high"]')`, "the rate's finding")
}

// A rate that throws the network to a constant guess is named before the
// first epoch's end, from the validation checks and the step losses, with
// the place on the loss curve where the checks went to chance and a fix
// to try, which learns; here at Adam 0.1 on 2,400 CIFAR-sized images, a
// first epoch of many seconds in the worker.
func TestLRTooHighBeforeTheFirstEpochEnds(t *testing.T) {
	ctx := cifarTab(t, "thrown-cifar.tar.gz")
	trainUntilThrown(t, ctx)
	status := eval[string](t, ctx, `document.querySelector("#doctor-status").textContent`)
	progress := eval[string](t, ctx, `document.querySelector("#progress-text").textContent`)
	if !strings.Contains(status, "before the first epoch's end") || !strings.Contains(progress, "epoch 1/") {
		t.Errorf("the finding showed with the status %q (progress %q), not before the first epoch's end", status, progress)
	}
	finding := eval[string](t, ctx, `document.querySelector('#doctor .finding[data-cause="lr_too_high"]').textContent`)
	if !strings.Contains(finding, "validation checks (steps") || !strings.Contains(finding, "train.lr=0.01") {
		t.Errorf("the finding says %q", finding)
	}
	waitFor(t, ctx, `document.querySelector("#loss-chart").textContent.includes("a constant guess from here")`, "the mark on the loss curve")
	// The fix stops the run and trains its fork at a tenth of the rate,
	// whose checks leave chance.
	click(t, ctx, "#doctor .try-fix[data-cause=lr_too_high]")
	waitFor(t, ctx, `document.querySelector("#run-name").textContent.includes("fix lr_too_high")`, "the fix's run")
	waitFor(t, ctx, `(m => m && parseFloat(m[1]) > 30)(document.querySelector("#progress-text").textContent.match(/validation ([0-9.]+)%/))`, "the fix's checks above chance")
	click(t, ctx, "#stop")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("canceled")`, "the stop")
}
