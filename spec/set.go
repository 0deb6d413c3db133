package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Set changes one setting of s, named by its path in the JSON document, as
// the command line's -set flag does: "train.lr" and "0.01",
// "data.normalization" and "raw", "data.augment.flip_horizontal.p" and
// "0.5", "model.layers[2].filters" and "64" (model.layers.2.filters works
// too). The value is read as JSON when it parses as JSON (numbers, true,
// lists like [32,32,3], objects), otherwise as a string; string settings
// always take it as written. Set leaves s unchanged on error, and does not
// expand or validate; an error names the path and, for a wrong name, the
// fields allowed there.
func (s *Spec) Set(path, value string) error {
	segs, err := parsePath(path)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	var root any
	if err := decodeOne(raw, &root, false); err != nil {
		return err
	}
	root, err = setAt(root, reflect.TypeFor[Spec](), segs, "", value)
	if err != nil {
		return err
	}
	raw, err = json.Marshal(root)
	if err != nil {
		return err
	}
	var out Spec
	if err := decodeOne(raw, &out, true); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Errors{{Path: path, Message: fmt.Sprintf("want %s, not %s", KindWord(typeErr.Type), strconv.Quote(value))}}
		}
		return Errors{{Path: path, Message: strings.TrimPrefix(err.Error(), "json: ")}}
	}
	// In a spec file a batch size or epoch count left out (0) takes the
	// default; one set to 0 on purpose is a mistake, not a wish for it.
	switch {
	case path == "train.batch_size" && out.Train.BatchSize == 0:
		return Errors{{Path: path, Message: fmt.Sprintf("batch size 0 must be between 1 and %d (32 to 128 is usual)", MaxBatchSize)}}
	case path == "train.epochs" && out.Train.Epochs == 0:
		return Errors{{Path: path, Message: fmt.Sprintf("epochs 0 must be between 1 and %d", MaxEpochs)}}
	}
	*s = out
	return nil
}

// segment is one step of a path: a field name or a list index.
type segment struct {
	name  string
	index int // when name is ""
}

func parsePath(path string) ([]segment, error) {
	bad := func() error {
		return Errors{{Path: path, Message: "a path names fields with dots and list items with [i], e.g. train.lr or model.layers[2].filters"}}
	}
	if path == "" {
		return nil, bad()
	}
	var segs []segment
	for part := range strings.SplitSeq(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" && rest == "" {
			return nil, bad()
		}
		if n, err := strconv.Atoi(name); err == nil {
			segs = append(segs, segment{index: n})
		} else if name != "" {
			segs = append(segs, segment{name: name})
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			n, err := strconv.Atoi(num)
			if !ok || err != nil || n < 0 {
				return nil, bad()
			}
			segs = append(segs, segment{index: n})
			if after == "" {
				break
			}
			if !strings.HasPrefix(after, "[") {
				return nil, bad()
			}
			rest = after[1:]
		}
	}
	return segs, nil
}

// setAt returns node with value set at segs; t is the Go type node decodes
// into and done the path walked so far.
func setAt(node any, t reflect.Type, segs []segment, done, value string) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if len(segs) == 0 {
		v := parseValue(value, t)
		var errs Errors
		checkFieldNames(v, t, done, &errs)
		if len(errs) > 0 {
			return nil, errs
		}
		return v, nil
	}
	seg := segs[0]
	if seg.name == "" {
		here := done + "[" + strconv.Itoa(seg.index) + "]"
		if t.Kind() != reflect.Slice {
			return nil, Errors{{Path: here, Message: fmt.Sprintf("%s is not a list", done)}}
		}
		list, _ := node.([]any)
		if seg.index >= len(list) {
			return nil, Errors{{Path: here, Message: fmt.Sprintf("%s has %d items; index %d is out of range", done, len(list), seg.index)}}
		}
		v, err := setAt(list[seg.index], t.Elem(), segs[1:], here, value)
		if err != nil {
			return nil, err
		}
		list[seg.index] = v
		return list, nil
	}
	here := joinPath(done, seg.name)
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[Padding]() {
		return nil, Errors{{Path: here, Message: fmt.Sprintf("%s is a single setting with no field %q", done, seg.name)}}
	}
	f, ok := fieldByJSONName(t, seg.name)
	if !ok {
		return nil, Errors{unknownField(done, seg.name, t)}
	}
	obj, _ := node.(map[string]any)
	if obj == nil {
		obj = map[string]any{}
	}
	v, err := setAt(obj[seg.name], f.Type, segs[1:], here, value)
	if err != nil {
		return nil, err
	}
	obj[seg.name] = v
	return obj, nil
}

// parseValue reads a command-line value for a setting of type t.
func parseValue(value string, t reflect.Type) any {
	if t.Kind() == reflect.String {
		var s string
		if strings.HasPrefix(value, `"`) && json.Unmarshal([]byte(value), &s) == nil {
			return s
		}
		return value
	}
	if t == reflect.TypeFor[Padding]() {
		if _, err := strconv.Atoi(value); err == nil {
			return json.Number(value)
		}
		var s string
		if strings.HasPrefix(value, `"`) && json.Unmarshal([]byte(value), &s) == nil {
			return s
		}
		return value
	}
	var v any
	if decodeOne([]byte(value), &v, false) == nil {
		return v
	}
	return value
}

// RateSets returns the Set pairs that multiply the learning rate by f, and
// the schedule's own rates with it (one-cycle's peak, the floor of cosine
// and one-cycle): the same schedule, all of it f times, where changing
// train.lr alone would leave one-cycle's peak where it was (or below the
// new rate, which Validate refuses). Values have four significant digits:
// 1e-3 ÷ 10 is 0.0001, not 0.00010000000000000002.
func (s *Spec) RateSets(f float64) []string {
	num := func(v float64) string { return strconv.FormatFloat(v*f, 'g', 4, 64) }
	out := []string{"train.lr=" + num(s.Train.LR)}
	if sc := s.Train.Schedule; sc.MaxLR != 0 {
		out = append(out, "train.schedule.max_lr="+num(sc.MaxLR))
	}
	if sc := s.Train.Schedule; sc.MinLR != 0 {
		out = append(out, "train.schedule.min_lr="+num(sc.MinLR))
	}
	return out
}

// RangeTestRate is the rate an LR range test (train.LRFind) suggests for
// the spec's schedule, to two significant digits: suggested (its
// steepest descent, or a tenth of the rate of the lowest loss) for a
// schedule that starts at its highest rate; for one-cycle, whose peak is
// passed only briefly, a tenth of the rate of the lowest loss (Smith's
// and fast.ai's practice), never below suggested. RateSets(rate /
// PeakLR()) applies it.
func (s *Spec) RangeTestRate(suggested, minLoss float64) float64 {
	r := suggested
	if s.Train.Schedule.Type == "one_cycle" {
		r = max(r, minLoss/10)
	}
	r, _ = strconv.ParseFloat(strconv.FormatFloat(r, 'g', 2, 64), 64)
	return r
}

// PeakLR is the highest rate the schedule reaches before any decay:
// one-cycle's max_lr (ten times train.lr when unset), else train.lr. It
// is the rate an LR range test's suggestion stands for (fast.ai's
// practice for one-cycle), so RateSets(suggestion / PeakLR()) applies a
// suggestion to any schedule.
func (s *Spec) PeakLR() float64 {
	if sc := s.Train.Schedule; sc.Type == "one_cycle" {
		if sc.MaxLR > 0 {
			return sc.MaxLR
		}
		return 10 * s.Train.LR
	}
	return s.Train.LR
}
