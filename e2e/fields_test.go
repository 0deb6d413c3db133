package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"plateau/spec"
)

// shows checks that a control shows a value: an input's or a select's
// value, a checkbox's "true" or "false". A render may still be on its way,
// so it waits a little before it reports what the control shows instead.
func shows(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return "(no %s)";
		return e.type === "checkbox" ? String(e.checked) : e.value; })()`, sel, sel)
	var got string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = eval[string](t, ctx, js); got == want {
			return
		}
	}
	t.Errorf("%s shows %q; the spec holds %q", sel, got, want)
}

// typeInto gives a field the focus, selects its text and types text over
// it with key events, as a user does, without committing it.
func typeInto(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) throw new Error("no %s"); e.focus(); e.select(); return true; })()`, sel, sel))
	if err := chromedp.Do(ctx, chromedp.KeyEvent(text)); err != nil {
		t.Fatal(err)
	}
}

// committed waits for the page's spec to hold what a change committed.
func committed(t *testing.T, ctx context.Context, what string, ok func(*spec.Spec) bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok(pageSpec(t, ctx)) {
			return
		}
	}
	t.Errorf("%s did not reach the spec", what)
}

func number(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Settings edited by hand, then changed by the page — another preset, an
// imported spec — show the new spec, not what was typed: the page never
// shows one setting while it trains with another.
func TestFieldsShowTheSpecAfterThePageChangesIt(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	first := pageSpec(t, ctx)
	shows(t, ctx, "#dataset", "tiny")
	shows(t, ctx, "#normalization", first.Data.Normalization)
	if first.Data.Imbalance == 0 {
		shows(t, ctx, "#imbalance", "1") // the last class keeps all its images
	}

	// A layer edited by hand, then another preset.
	click(t, ctx, "#tab-Model")
	shows(t, ctx, "#preset", first.Model.Name)
	set(t, ctx, "#layer-0-filters", "5")
	if got := pageSpec(t, ctx).Model.Layers[0].Filters; got != 5 {
		t.Fatalf("the edited layer has %d filters, not 5", got)
	}
	next := "mnist-cnn"
	if pageSpec(t, ctx).Model.Name == next {
		next = "fashion-cnn"
	}
	set(t, ctx, "#preset", next)
	waitFor(t, ctx, fmt.Sprintf(`document.querySelector("#preset").value === %q`, next), "the preset")
	s := pageSpec(t, ctx)
	if s.Model.Name != next {
		t.Fatalf("the page holds %s after choosing %s", s.Model.Name, next)
	}
	shows(t, ctx, "#layer-0-filters", strconv.Itoa(s.Model.Layers[0].Filters))
	shows(t, ctx, "#layer-0-kernel", strconv.Itoa(s.Model.Layers[0].Kernel))

	// Undo puts back the hand-edited model, then the first; the preset
	// again for what follows.
	click(t, ctx, "#undo")
	waitFor(t, ctx, fmt.Sprintf(`document.querySelector("#preset").value === %q && document.querySelector("#notice").textContent.includes("undone")`, first.Model.Name), "the preset before the change")
	shows(t, ctx, "#layer-0-filters", "5")
	click(t, ctx, "#undo")
	shows(t, ctx, "#layer-0-filters", strconv.Itoa(first.Model.Layers[0].Filters))
	set(t, ctx, "#preset", next)
	waitFor(t, ctx, fmt.Sprintf(`document.querySelector("#preset").value === %q`, next), "the preset again")

	// Settings edited by hand, a value refused, then an imported spec.
	click(t, ctx, "#tab-Data")
	set(t, ctx, "#validation", "0.3")
	set(t, ctx, "#train-limit", "400")
	set(t, ctx, "#normalization", "raw")
	set(t, ctx, "#normalization", "standardize")
	set(t, ctx, "#label-noise", "0.95")
	waitFor(t, ctx, `Array.from(document.querySelectorAll(".field-error")).some(p => p.textContent.includes("0.95 must be in [0, 0.9]"))`, "the refusal of label noise 0.95 at its field")
	set(t, ctx, "#label-noise", "0.2")
	waitFor(t, ctx, `document.querySelector("#samples-note") && document.querySelector("#samples-note").textContent.includes("20% of the training and validation images another class")`, "the samples' note on label noise")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#optimizer", "sgd")
	set(t, ctx, "#optimizer", "rmsprop")
	set(t, ctx, "#momentum", "0.5")
	set(t, ctx, "#l2", "0.01")
	set(t, ctx, "#lr", "0.02")
	set(t, ctx, "#batch", "8")
	set(t, ctx, "#seed", "7")
	set(t, ctx, "#patience", "3")
	set(t, ctx, "#monitor", "val_accuracy")
	set(t, ctx, "#monitor", "val_loss")
	click(t, ctx, "#restore-best")
	set(t, ctx, "#l1", "lots")
	waitFor(t, ctx, `Array.from(document.querySelectorAll(".errors li")).some(li => li.textContent.startsWith("train.l1"))`, "the refusal of the L1 text")
	// Another field's edit leaves the refused text and its reason.
	set(t, ctx, "#seed", "8")
	waitFor(t, ctx, `document.querySelector("#seed").value === "8"`, "the seed taken")
	waitFor(t, ctx, `document.querySelector("#l1").value === "lots" && Array.from(document.querySelectorAll(".errors li")).some(li => li.textContent.startsWith("train.l1"))`, "the L1 text still refused after the seed's edit")
	edited := pageSpec(t, ctx)
	if edited.Train.Momentum != 0.5 || edited.Train.L2 != 0.01 || !edited.Train.EarlyStopping.RestoreBest || edited.Data.LabelNoise != 0.2 {
		t.Fatalf("the edits did not reach the spec: %+v %+v", edited.Train, edited.Data)
	}

	imported := edited.Clone()
	imported.Train.Optimizer = "sgd"
	imported.Train.Momentum = 0.8
	imported.Train.L1 = 0
	imported.Train.L2 = 5e-4
	imported.Train.LR = 0.005
	imported.Train.BatchSize = 16
	imported.Train.Seed = 3
	imported.Train.EarlyStopping.Patience = 5
	imported.Train.EarlyStopping.Monitor = "val_accuracy"
	imported.Train.EarlyStopping.RestoreBest = false
	imported.Data.Validation = 0.2
	imported.Data.TrainLimit = 500
	imported.Data.Normalization = "raw"
	imported.Data.LabelNoise = 0.1
	importSpec(t, ctx, p, imported, "imported-spec.json")
	s = pageSpec(t, ctx)
	if s.Train.Momentum != 0.8 || s.Data.Validation != 0.2 {
		t.Fatalf("the page holds another spec than the imported one: %+v", s.Train)
	}
	for sel, want := range map[string]string{
		"#optimizer":    s.Train.Optimizer,
		"#momentum":     number(s.Train.Momentum),
		"#l1":           number(s.Train.L1),
		"#l2":           number(s.Train.L2),
		"#lr":           number(s.Train.LR),
		"#batch":        strconv.Itoa(s.Train.BatchSize),
		"#seed":         strconv.FormatInt(int64(s.Train.Seed), 10),
		"#patience":     strconv.Itoa(s.Train.EarlyStopping.Patience),
		"#monitor":      s.Train.EarlyStopping.Monitor,
		"#restore-best": strconv.FormatBool(s.Train.EarlyStopping.RestoreBest),
	} {
		shows(t, ctx, sel, want)
	}
	click(t, ctx, "#tab-Data")
	shows(t, ctx, "#validation", number(s.Data.Validation))
	shows(t, ctx, "#train-limit", strconv.Itoa(s.Data.TrainLimit))
	shows(t, ctx, "#normalization", s.Data.Normalization)
	shows(t, ctx, "#label-noise", number(s.Data.LabelNoise))
}

// Text being typed in a field stays there through the renders of a
// training run until its change commits it, in a text field and in a
// number field half-way through a decimal.
func TestTypingSurvivesTheRendersOfARun(t *testing.T) {
	p := start(t)
	ctx := p.tab(t)
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "200")
	click(t, ctx, "#start")
	waitFor(t, ctx, `document.querySelector("#progress-text") && +document.querySelector("#progress-text").dataset.step > 5`, "training steps")
	rendersWhile := func(what string) {
		t.Helper()
		at := step(t, ctx)
		waitFor(t, ctx, fmt.Sprintf(`+document.querySelector("#progress-text").dataset.step > %d`, at+5), "renders while "+what)
	}

	click(t, ctx, "#tab-Training")
	typeInto(t, ctx, "#momentum", "0.75")
	rendersWhile("typing the momentum")
	shows(t, ctx, "#momentum", "0.75")
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	committed(t, ctx, "the typed momentum", func(s *spec.Spec) bool { return s.Train.Momentum == 0.75 })

	click(t, ctx, "#tab-Data")
	typeInto(t, ctx, "#validation", "0.")
	rendersWhile("typing the validation fraction")
	if err := chromedp.Do(ctx, chromedp.KeyEvent("25")); err != nil {
		t.Fatal(err)
	}
	rendersWhile("typing the validation fraction")
	shows(t, ctx, "#validation", "0.25")
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	committed(t, ctx, "the typed validation fraction", func(s *spec.Spec) bool { return s.Data.Validation == 0.25 })
	shows(t, ctx, "#validation", "0.25")

	click(t, ctx, "#tab-Run")
	click(t, ctx, "#stop")
	waitFor(t, ctx, `document.querySelector("#run-result").textContent.includes("canceled")`, "the stop")
}
