package ui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vugu/vugu"

	"plateau/protocol"
	"plateau/spec"
)

// DataView is the Data tab: the dataset, its samples and class counts,
// preprocessing, and augmentation with a live preview.
type DataView struct{ *Root }

// PickDataset handles the dataset select.
func (dv *DataView) PickDataset(e vugu.DOMEvent) { dv.LoadDataset(e.PropString("target", "value")) }

// DropFile handles a file chosen or dropped: the worker decodes it.
func (dv *DataView) DropFile(e vugu.DOMEvent) {
	if name, file, ok := dv.Host.ChosenFile(e); ok {
		dv.LoadFile(name, file)
	}
}

// ChooseFolder handles a folder chosen: the page packs it for the worker.
func (dv *DataView) ChooseFolder(e vugu.DOMEvent) { dv.Host.ChosenFolder(e) }

// InputStats describes the dataset's pixels.
func (dv *DataView) InputStats() string {
	d := dv.Dataset
	if d == nil {
		return ""
	}
	var parts []string
	for c := range d.Mean {
		parts = append(parts, fmt.Sprintf("mean %.1f, std %.1f", d.Mean[c], d.Std[c]))
	}
	return fmt.Sprintf("pixels 0–255; channel %s; %.1f MB in the worker", strings.Join(parts, " | "), float64(d.Bytes)/1e6)
}

// ClassBars is the class-count chart of the dataset.
func (dv *DataView) ClassBars() string {
	d := dv.Dataset
	if d == nil {
		return ""
	}
	bars := make([]Bar, len(d.ClassCounts))
	for i, n := range d.ClassCounts {
		bars[i] = Bar{className(d.Classes, i), float64(n)}
	}
	return BarChart("training images per class", bars, 360, false, func(v float64) string { return strconv.Itoa(int(v)) })
}

// SamplesHTML is the gallery of the dataset's samples, each captioned
// with its class.
func (dv *DataView) SamplesHTML() string {
	return galleryHTML(len(dv.sampleURLs), func(i int) ([]galleryImage, string) {
		caption := ""
		if dv.Samples != nil && i < len(dv.Samples.Labels) {
			caption = dv.ClassName(dv.Samples.Labels[i])
		}
		return []galleryImage{{URL: dv.sampleURLs[i], Alt: "sample"}}, caption
	})
}

// PreviewHTML is the gallery of the augmentation's preview.
func (dv *DataView) PreviewHTML() string {
	return galleryHTML(len(dv.previewURLs), func(i int) ([]galleryImage, string) {
		return []galleryImage{{URL: dv.previewURLs[i], Alt: "augmented"}}, ""
	})
}

// ClassName names class k of the loaded dataset.
func (dv *DataView) ClassName(k int) string {
	if dv.Dataset != nil {
		return className(dv.Dataset.Classes, k)
	}
	return strconv.Itoa(k)
}

// Augmentation lists the transforms the page offers, with the unit of
// their strength.
var Augmentation = []struct{ Field, Label, Strength string }{
	{"flip_horizontal", "Flip horizontally", ""},
	{"flip_vertical", "Flip vertically", ""},
	{"crop", "Random crop", "pixels of padding"},
	{"shift", "Shift", "fraction of the size"},
	{"rotation", "Rotation", "degrees"},
	{"zoom", "Zoom", "± fraction"},
	{"brightness", "Brightness", "± fraction of 255"},
	{"contrast", "Contrast", "± factor"},
	{"saturation", "Saturation", "± factor (colour)"},
	{"hue", "Hue", "± fraction of 180°"},
	{"cutout", "Cutout", "fraction of the size"},
}

// StrengthMax is the slider range of a transform's strength.
func StrengthMax(field string) string {
	switch field {
	case "crop":
		return "8"
	case "rotation":
		return "45"
	}
	return "1"
}

// Transform is a transform's current setting.
func (dv *DataView) Transform(field string) spec.Transform {
	return dv.Spec.Data.Augment.Transform(field)
}

// FlipNote says, on a flip's row, whether flipped images of the loaded
// dataset still look like their class, as the worker measured it (see
// protocol.MirrorStats): "" for the other transforms, or before a dataset
// is measured.
func (dv *DataView) FlipNote(field string) string {
	kept, ok := dv.flipKept(field)
	if !ok {
		return ""
	}
	m := dv.Dataset.Mirror
	view, flipped := "mirrored", m.Horizontal
	if field == "flip_vertical" {
		view, flipped = "upside down", m.Vertical
	}
	verdict := "images keep their class"
	if kept < protocol.FlipKeepBar {
		verdict = "images lose their class"
	}
	return fmt.Sprintf("%s, %s: %.0f%% lie nearest their class's mean image, %.0f%% as they are",
		view, verdict, 100*flipped, 100*m.Match)
}

// FlipLosesClass reports whether the flip of a row makes the loaded
// dataset's images unlike their class (the doctor names such a flip).
func (dv *DataView) FlipLosesClass(field string) bool {
	kept, ok := dv.flipKept(field)
	return ok && kept < protocol.FlipKeepBar
}

// FlipNoteClass is the style of a flip's note: a warning when the flip
// loses the class.
func FlipNoteClass(loses bool) string {
	if loses {
		return "flip-note layer-note"
	}
	return "flip-note"
}

func (dv *DataView) flipKept(field string) (float64, bool) {
	if dv.Dataset == nil || field != "flip_horizontal" && field != "flip_vertical" {
		return 0, false
	}
	return dv.Dataset.Mirror.Kept(len(dv.Dataset.Classes), field == "flip_vertical")
}

// Imbalance is the simulated imbalance as its field shows it: the
// fraction the last class keeps, 1 when the spec leaves it unset (0).
func (dv *DataView) Imbalance() string {
	if dv.Spec.Data.Imbalance == 0 {
		return "1"
	}
	return FormatFloat(dv.Spec.Data.Imbalance)
}

// TrainFraction is the fraction of the training images a run trains on,
// as its field shows it: 1 when it trains on all of them.
func (dv *DataView) TrainFraction() string {
	if dv.Spec.Data.TrainFraction == 0 {
		return "1"
	}
	return FormatFloat(dv.Spec.Data.TrainFraction)
}

// LabelNoise is the simulated label noise as its field shows it.
func (dv *DataView) LabelNoise() string {
	return FormatFloat(dv.Spec.Data.LabelNoise)
}

// LabelNoiseNote says that the samples carry their labels as collected,
// and what a run will do to them.
func (dv *DataView) LabelNoiseNote() string {
	return fmt.Sprintf("Labels as collected: a run gives %.0f%% of the training and validation images another class (simulated label noise); the test labels stay right.", 100*dv.Spec.Data.LabelNoise)
}

// Balance is the balancing the select shows; an empty one is none.
func (dv *DataView) Balance() string {
	if dv.Spec.Data.Balance == "" {
		return "none"
	}
	return dv.Spec.Data.Balance
}
