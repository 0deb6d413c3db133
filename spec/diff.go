package spec

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Diff lists what b changes from a, one "path=value" per setting in Set's
// syntax (strings bare, other values as JSON), in the order of the spec's
// JSON: "train.lr=0.01", "data.augment.crop.p=0.5",
// "model.layers[3].filters=64". A setting b leaves out that a has reads as
// its zero ("train.l2=0"). Layers are compared by position; when the
// models have different numbers of layers, one entry says so
// ("model.layers: 10 → 12") and the rest of the model is not compared; a
// layer of another type is given whole ("model.layers[6]={…}"), and so
// is a schedule of another type ("train.schedule={…,"type":"step"}").
// Specs that are equal give nil. Both should be expanded, so that defaults
// do not read as changes.
func Diff(a, b *Spec) []string {
	var av, bv any
	if !decodeJSON(a, &av) || !decodeJSON(b, &bv) {
		return nil
	}
	var out []string
	diffValues(&out, "", av, bv)
	return out
}

func decodeJSON(s *Spec, v *any) bool {
	raw, err := json.Marshal(s)
	return err == nil && json.Unmarshal(raw, v) == nil
}

func diffValues(out *[]string, path string, a, b any) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok && am["type"] != nil && bm["type"] != nil && am["type"] != bm["type"] {
		// Another kind of schedule: given whole, as a layer of another
		// type is, not as the fields of one set beside the other's.
		*out = append(*out, path+"="+jsonText(b))
		return
	}
	if aok && bok || aok && b == nil || a == nil && bok {
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			diffValues(out, join(path, k), am[k], bm[k])
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && strings.HasSuffix(path, "layers") {
		if len(al) != len(bl) {
			*out = append(*out, fmt.Sprintf("%s: %d → %d", path, len(al), len(bl)))
			return
		}
		for i := range al {
			p := fmt.Sprintf("%s[%d]", path, i)
			am, _ := al[i].(map[string]any)
			bm, _ := bl[i].(map[string]any)
			if am == nil || bm == nil || am["type"] != bm["type"] {
				// Another kind of layer: the whole layer, not a
				// field-by-field comparison of unrelated settings.
				if jsonText(al[i]) != jsonText(bl[i]) {
					*out = append(*out, p+"="+jsonText(bl[i]))
				}
				continue
			}
			diffValues(out, p, al[i], bl[i])
		}
		return
	}
	if jsonText(a) == jsonText(b) {
		return
	}
	if b == nil {
		b = zeroLike(a)
		if jsonText(a) == jsonText(b) {
			return
		}
	}
	*out = append(*out, path+"="+settingText(b))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// zeroLike is the zero of v's kind: what an omitted setting means.
func zeroLike(v any) any {
	switch v.(type) {
	case float64:
		return 0.0
	case bool:
		return false
	case string:
		return ""
	case []any:
		return []any{}
	}
	return map[string]any{}
}

// settingText writes a value as Set reads it: a string bare, anything
// else as JSON.
func settingText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonText(v)
}
