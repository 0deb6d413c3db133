package ui

import (
	"fmt"

	"plateau/spec"
)

func tabClass(current, tab string) string {
	if current == tab {
		return "tab active"
	}
	return "tab"
}

func inputClass(r *Root, path string) string {
	if r.FieldError(path) != "" {
		return "invalid"
	}
	return ""
}

func rowClass(r *Root, i int) string {
	if r.FieldError(fmtLayerPath(i)) != "" {
		return "invalid-row"
	}
	return ""
}

func fmtLayerPath(i int) string { return fmt.Sprintf("model.layers[%d]", i) }

func presetNames() []string { return spec.PresetNames() }

func presetDescription(name string) string { return spec.PresetDescription(name) }

func layerTypes() []string { return spec.LayerTypes }

func optimizers() []string { return spec.Optimizers }

func schedules() []string {
	return []string{"constant", "step", "exponential", "cosine", "one_cycle", "reduce_on_plateau"}
}
