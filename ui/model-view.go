package ui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vugu/vugu"

	"plateau/protocol"
	"plateau/spec"
)

// ModelView is the Model tab: presets, the layer editor with shapes,
// parameter counts and errors at the field, and the weights import.
type ModelView struct{ *Root }

func presetNames() []string { return spec.PresetNames() }

func presetDescription(name string) string { return spec.PresetDescription(name) }

func layerTypes() []string { return spec.LayerTypes }

// PickPreset handles the preset select.
func (mv *ModelView) PickPreset(e vugu.DOMEvent) { mv.ChoosePreset(e.PropString("target", "value")) }

// Scalable reports whether the model is a preset with a width and depth.
func (mv *ModelView) Scalable() bool { return slices.Contains(spec.ScalablePresets(), mv.Preset) }

// Scale is the width and depth the model was built with, zeros when its
// layers were edited since.
func (mv *ModelView) Scale() (width, depth int) {
	if mv.scaleOf != mv.Spec {
		w, d, _ := spec.PresetScale(mv.Spec.Model)
		mv.scale, mv.scaleOf = [2]int{w, d}, mv.Spec
	}
	return mv.scale[0], mv.scale[1]
}

// ScaleText is what the width ("width") or depth field shows: empty when
// the layers were edited since the preset built them.
func (mv *ModelView) ScaleText(field string) string {
	w, d := mv.Scale()
	v := w
	if field == "depth" {
		v = d
	}
	if v == 0 {
		return ""
	}
	return strconv.Itoa(v)
}

// ScaleNote says what the width and depth are, or that the layers no
// longer follow them.
func (mv *ModelView) ScaleNote() string {
	if w, _ := mv.Scale(); w == 0 {
		return "The layers were edited since the preset built them: a width or depth builds them again, without the edits."
	}
	note := "Width: the channels of the first stage; each later stage doubles them. Depth: the stages; each after the first halves the image."
	if mv.Preset == "resnet-bottleneck" {
		note = "Width: the channels of the first stage's 3×3 conv (its block's output has four times as many); each later stage doubles them. Depth: the stages; each after the first halves the image."
	}
	return note
}

// SetScale builds the preset's layers again at the width or depth
// ("width", "depth") the event's field gives, keeping the training and
// data settings; a number the preset cannot take stays in the field with
// the reason.
func (mv *ModelView) SetScale(field string, e vugu.DOMEvent) {
	text := strings.TrimSpace(e.PropString("target", "value"))
	path := "preset." + field
	kept := mv.refused
	refuse := func(msg string) { mv.refuse(kept, path, text, msg) }
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 {
		refuse(fmt.Sprintf("%s must be a whole number, 1 or more", field))
		return
	}
	w, d := mv.Scale()
	o := spec.PresetOptions{Width: w, Depth: d, Input: mv.Spec.Model.Input, Classes: mv.Spec.Model.Classes}
	if field == "depth" {
		o.Depth = n
	} else {
		o.Width = n
	}
	p, err := spec.Preset(mv.Preset, o)
	if err != nil {
		refuse(strings.TrimPrefix(err.Error(), "preset "+mv.Preset+": "))
		return
	}
	s := mv.Spec.Clone()
	s.Model = p.Model
	s.Expand()
	mv.Spec = s
	mv.validate()
}

// LayerRow is one layer of the model with its output shape and size.
type LayerRow struct {
	Index  int
	Layer  spec.Layer
	Shape  string
	Params int
	// Reads names the layers it reads when it names them (an add, a
	// shortcut), rather than the layer above it.
	Reads string
	// Note warns of a layer that will hold the network back: a hidden
	// dense layer narrower than the classes, or a pooling to 1×1 of local
	// features.
	Note string
}

// LayerRows describes every layer of the model as shape inference sees it.
func (mv *ModelView) LayerRows() []LayerRow {
	infos, _ := mv.Spec.Model.Shapes()
	rows := make([]LayerRow, len(mv.Spec.Model.Layers))
	for i, l := range mv.Spec.Model.Layers {
		rows[i] = LayerRow{Index: i, Layer: l, Shape: "?"}
		if len(l.Inputs) > 0 {
			rows[i].Reads = "← " + strings.Join(l.Inputs, " + ")
			if l.Type != spec.Add {
				rows[i].Reads = "← " + strings.Join(l.Inputs, ", ")
			}
		}
		if i < len(infos) && infos[i].Shape != nil {
			rows[i].Shape = shapeText(infos[i].Shape)
			rows[i].Params = infos[i].Params
		}
	}
	for _, i := range mv.Spec.Model.Bottlenecks() {
		k := mv.Spec.Model.Classes
		rows[i].Note = fmt.Sprintf("fewer units than the %d classes: a bottleneck every class must pass through (%d or more)", k, 2*k)
	}
	for _, p := range mv.Spec.Model.LocalPools() {
		if p.Index < len(rows) {
			rows[p.Index].Note = fmt.Sprintf("pools %d×%d maps to 1×1 while each feature sees %d×%d of the %d pixels: which patterns, not where (flatten instead, or add conv blocks first)",
				p.Map, p.Map, p.Field, p.Field, p.Side)
		}
	}
	return rows
}

// RowClass marks a layer whose settings do not fit together.
func (mv *ModelView) RowClass(i int) string {
	if mv.FieldError(fmtLayerPath(i)) != "" {
		return "invalid-row"
	}
	return ""
}

func fmtLayerPath(i int) string { return fmt.Sprintf("model.layers[%d]", i) }

// Cost is what one image costs the model: forward MFLOP (two per
// multiply-add, as shape inference counts them), and about three times
// that to train on it (forward, and the two products of the backward
// pass); empty while the model's shapes do not fit.
func (mv *ModelView) Cost() string {
	infos, err := mv.Spec.Model.Shapes()
	if err != nil {
		return ""
	}
	var flops int64
	for _, l := range infos {
		flops += l.FLOPs
	}
	return fmt.Sprintf("%s MFLOP per image forward, about %s MFLOP to train on it", mflop(flops), mflop(3*flops))
}

// mflop writes FLOPs in millions with two or three significant digits.
func mflop(f int64) string {
	m := float64(f) / 1e6
	if m >= 100 {
		return strconv.FormatFloat(m, 'f', 0, 64)
	}
	return strconv.FormatFloat(m, 'g', 2, 64)
}

// TotalParams counts the model's trainable parameters.
func (mv *ModelView) TotalParams() int {
	n, _ := mv.Spec.Model.ParamCount()
	return n
}

func shapeText(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, "×")
}

// LayerField is the path of a layer's field.
func LayerField(i int, field string) string { return fmt.Sprintf("model.layers[%d].%s", i, field) }

// LayerInputID is the id of the input of a layer's field, such as
// layer-0-filters.
func LayerInputID(i int, field string) string { return fmt.Sprintf("layer-%d-%s", i, field) }

// LayerFields lists the editable fields of a layer type.
func LayerFields(typ string) []string {
	switch typ {
	case spec.Conv2D:
		return []string{"filters", "kernel", "stride", "padding", "activation", "init", "use_bias"}
	case spec.DepthwiseConv2D:
		return []string{"multiplier", "kernel", "stride", "padding", "activation", "init", "use_bias"}
	case spec.MaxPool, spec.AvgPool:
		return []string{"kernel", "stride"}
	case spec.Dense:
		return []string{"units", "activation", "init", "use_bias"}
	case spec.Dropout:
		return []string{"rate"}
	case spec.LeakyReLU, spec.ELU:
		return []string{"alpha"}
	}
	return nil
}

// LayerValue is a layer field's value as text.
func LayerValue(l spec.Layer, field string) string {
	switch field {
	case "filters":
		return intText(l.Filters)
	case "multiplier":
		return intText(l.Multiplier)
	case "kernel":
		return intText(l.Kernel)
	case "stride":
		return intText(l.Stride)
	case "units":
		return intText(l.Units)
	case "padding":
		return l.Padding.String()
	case "rate":
		return FormatFloat(l.Rate)
	case "alpha":
		return FormatFloat(l.AlphaValue())
	case "activation":
		return l.Activation
	case "init":
		return l.Init
	case "use_bias":
		return strconv.FormatBool(l.Bias())
	}
	return ""
}

// LayerChoices lists the values a layer field takes when they are a few
// names, for a select: nil for a number or a flag. A value the spec holds
// that is not among them (an imported spec's mistake) is listed too, so
// that the field shows it beside its error.
func LayerChoices(l spec.Layer, field string) []string {
	var choices []string
	switch field {
	case "padding":
		choices = []string{"same", "valid"}
	case "activation":
		choices = append([]string{""}, spec.Activations...)
	case "init":
		choices = append([]string{""}, spec.Initializers...)
	default:
		return nil
	}
	if v := LayerValue(l, field); !slices.Contains(choices, v) {
		choices = append(choices, v)
	}
	return choices
}

// ChoiceLabel is how a select shows a choice of LayerChoices.
func ChoiceLabel(field, v string) string {
	if v != "" {
		return v
	}
	if field == "init" {
		return "default"
	}
	return "none"
}

func intText(v int) string {
	if v == 0 {
		return ""
	}
	return strconv.Itoa(v)
}

// AddLayer inserts a layer of a type before the final dense layer.
func (mv *ModelView) AddLayer(e vugu.DOMEvent) {
	typ := e.PropString("target", "value")
	if typ == "" {
		return
	}
	l := spec.Layer{Type: typ}
	switch typ {
	case spec.Conv2D:
		l.Filters, l.Kernel, l.Padding = 16, 3, spec.Padding{Mode: spec.PadSame}
	case spec.DepthwiseConv2D:
		l.Kernel = 3
	case spec.MaxPool, spec.AvgPool:
		l.Kernel = 2
	case spec.Dense:
		l.Units = 64
	case spec.Dropout:
		l.Rate = 0.25
	}
	s := mv.Spec.Clone()
	layers := s.Model.Layers
	at := max(0, len(layers)-1)
	s.Model.Layers = append(layers[:at:at], append([]spec.Layer{l}, layers[at:]...)...)
	for i := range s.Model.Layers {
		// New layers get names from Expand; keep the others'.
		if i == at {
			s.Model.Layers[i].Name = uniqueName(s.Model.Layers, typ)
		}
	}
	mv.Spec = s
	mv.validate()
}

func uniqueName(layers []spec.Layer, typ string) string {
	base := strings.ReplaceAll(typ, "_", "")
	for n := 1; ; n++ {
		name := fmt.Sprintf("%s_%d", base, n)
		taken := false
		for _, l := range layers {
			taken = taken || l.Name == name
		}
		if !taken {
			return name
		}
	}
}

// RemoveLayer deletes layer i; the layers that read it read its input
// (spec.Model.RemoveLayer).
func (mv *ModelView) RemoveLayer(i int) {
	s := mv.Spec.Clone()
	if i < 0 || i >= len(s.Model.Layers) {
		return
	}
	s.Model.RemoveLayer(i)
	mv.Spec = s
	mv.validate()
}

// MoveLayer swaps layer i with its neighbour by (−1 up, +1 down).
func (mv *ModelView) MoveLayer(i, by int) {
	s := mv.Spec.Clone()
	j := i + by
	if i < 0 || j < 0 || i >= len(s.Model.Layers) || j >= len(s.Model.Layers) {
		return
	}
	s.Model.Layers[i], s.Model.Layers[j] = s.Model.Layers[j], s.Model.Layers[i]
	mv.Spec = s
	mv.validate()
}

// ImportWeights reads a safetensors file chosen in the weights input and
// has the worker check it against the current spec.
func (mv *ModelView) ImportWeights(e vugu.DOMEvent) {
	mv.Host.ReadFile(e, func(name string, b []byte, err error) {
		if err != nil {
			mv.Message = fmt.Sprintf("reading %s: %v", name, err)
			return
		}
		if !mv.Valid() {
			mv.Message = "fix the spec first: the weights are checked against it"
			return
		}
		mv.counter++
		p := &pendingImport{id: fmt.Sprintf("import-%d-%d", time.Now().UnixMilli(), mv.counter), file: name, spec: mv.Spec.Clone(), bytes: b}
		mv.importing, mv.Message = p, ""
		c := protocol.NewCommand(p.id, protocol.CmdImport)
		c.Spec, c.Bytes, c.File = p.spec, b, name
		mv.Host.Send(c)
	})
}

// Importing reports whether a weights file is being checked.
func (mv *ModelView) Importing() bool { return mv.importing != nil }
