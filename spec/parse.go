package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// MaxSize is the largest spec document Parse reads. Real specs are a few
// kilobytes; the bound keeps a pasted or uploaded file from tying up the page.
const MaxSize = 1 << 20

// Default returns a spec with the training and data settings a run starts
// from: adam at 1e-3, batch 32, 10 epochs, a constant rate, inputs scaled
// to [0,1], 10% of the training set held out, no early stopping, seed 1.
// The model is empty; presets fill it.
func Default() *Spec {
	return &Spec{
		Train: Train{
			Optimizer:       "adam",
			LR:              1e-3,
			BatchSize:       32,
			Epochs:          10,
			Schedule:        Schedule{Type: "constant"},
			Seed:            1,
			LogEvery:        50,
			ValCheckSeconds: DefaultValCheckSeconds,
		},
		Data: Data{
			Normalization: "scale01",
			Validation:    0.1,
		},
	}
}

// Parse reads a JSON spec over Default, so omitted settings keep their
// defaults. It is strict: a field the spec does not define is an error that
// names it, with its path and the fields allowed there, and so is a field
// spelled with other capitals (encoding/json would accept "LR" for "lr"
// silently). Parse neither expands nor validates; see Spec.Expand and
// Spec.Validate. A returned error is an Errors value when it concerns fields.
func Parse(data []byte) (*Spec, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("spec is %d bytes; the limit is %d", len(data), MaxSize)
	}
	var generic any
	if err := decodeOne(data, &generic, false); err != nil {
		return nil, describeDecodeError(data, err)
	}
	if _, ok := generic.(map[string]any); !ok {
		return nil, errors.New("spec must be a JSON object with model, train and data")
	}
	var unknown Errors
	checkFieldNames(generic, reflect.TypeFor[Spec](), "", &unknown)
	if len(unknown) > 0 {
		return nil, unknown
	}
	s := Default()
	if err := decodeOne(data, s, true); err != nil {
		return nil, describeDecodeError(data, err)
	}
	return s, nil
}

// Marshal writes s as indented JSON that Parse reads back to the same spec.
func Marshal(s *Spec) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Clone returns a deep copy of s, so that expanding or editing the copy
// never changes s.
func (s *Spec) Clone() *Spec {
	c := *s
	c.Model = s.Model.Clone()
	return &c
}

// Clone returns a deep copy of m.
func (m Model) Clone() Model {
	c := m
	c.Input = cloneSlice(m.Input)
	if m.Layers != nil {
		c.Layers = make([]Layer, len(m.Layers))
		for i, l := range m.Layers {
			c.Layers[i] = l.clone()
		}
	}
	return c
}

func (l Layer) clone() Layer {
	c := l
	c.Inputs = cloneSlice(l.Inputs)
	if l.UseBias != nil {
		b := *l.UseBias
		c.UseBias = &b
	}
	return c
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// decodeOne decodes exactly one JSON value from data into v.
func decodeOne(data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			return errors.New("spec is empty")
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("spec has data after its closing brace")
	}
	return nil
}

// describeDecodeError rewrites encoding/json errors into messages a person
// can act on: a line and column for syntax errors, a field path and the
// wanted kind of value for type errors.
func describeDecodeError(data []byte, err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		line, col := lineColumn(data, syntax.Offset)
		return fmt.Errorf("spec is not valid JSON: line %d, column %d: %s", line, col, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typeErr):
		path := typeErr.Field
		if path == "" {
			path = "spec"
		}
		return Errors{{Path: path, Message: fmt.Sprintf("want %s, not a JSON %s", KindWord(typeErr.Type), typeErr.Value)}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("spec is not valid JSON: it ends too early")
	}
	return fmt.Errorf("spec: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func lineColumn(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line, col = 1, 1
	for _, c := range data[:offset] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// KindWord names the JSON value a Go type wants ("a whole number", "a
// list"), for messages about a value of the wrong kind.
func KindWord(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return KindWord(t.Elem())
	}
	return t.String()
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkFieldNames walks a decoded JSON value alongside the Go type it will
// be decoded into and reports every object key the type does not have and
// every value of the wrong kind, each with its full path (encoding/json
// stops at the first and drops list indices from the path).
func checkFieldNames(v any, t reflect.Type, path string, errs *Errors) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return // null leaves a setting as it is
	}
	if t == reflect.TypeFor[Padding]() {
		if !paddingValueOK(v) {
			*errs = append(*errs, &FieldError{Path: path, Message: fmt.Sprintf("padding must be \"same\", \"valid\" or a whole number of pixels, not %s", describeValue(v))})
		}
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	wrongKind := func() {
		*errs = append(*errs, &FieldError{Path: path, Message: fmt.Sprintf("want %s, not %s", KindWord(t), describeValue(v))})
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			wrongKind()
			return
		}
		// Report in the order the type declares its fields, unknown keys last.
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		order := func(k string) int {
			for i := range t.NumField() {
				if jsonName(t.Field(i)) == k {
					return i
				}
			}
			return t.NumField()
		}
		sort.Slice(keys, func(a, b int) bool {
			oa, ob := order(keys[a]), order(keys[b])
			if oa != ob {
				return oa < ob
			}
			return keys[a] < keys[b]
		})
		for _, k := range keys {
			f, ok := fieldByJSONName(t, k)
			if !ok {
				*errs = append(*errs, unknownField(path, k, t))
				continue
			}
			checkFieldNames(obj[k], f.Type, joinPath(path, k), errs)
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			wrongKind()
			return
		}
		for i, e := range list {
			checkFieldNames(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", errs)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			wrongKind()
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			wrongKind()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			wrongKind()
		} else if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			msg := fmt.Sprintf("want a whole number, not %s", n)
			if errors.Is(err, strconv.ErrRange) {
				msg = fmt.Sprintf("%s is out of range", n)
			}
			*errs = append(*errs, &FieldError{Path: path, Message: msg})
		}
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			wrongKind()
		} else if _, err := strconv.ParseFloat(string(n), t.Bits()); err != nil {
			*errs = append(*errs, &FieldError{Path: path, Message: fmt.Sprintf("%s is out of range", n)})
		}
	}
}

func unknownField(path, key string, t reflect.Type) *FieldError {
	names := jsonFieldNames(t)
	where := path
	if where == "" {
		where = "the spec"
	}
	fields := fmt.Sprintf("the fields of %s are %s", where, strings.Join(names, ", "))
	msg := fmt.Sprintf("unknown field %q; %s", key, fields)
	if s := closest(key, names); s != "" {
		msg = fmt.Sprintf("unknown field %q; did you mean %q? (%s)", key, s, fields)
	}
	return &FieldError{Path: joinPath(path, key), Message: msg}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonName returns the JSON key of a struct field, or "" when the field is
// not encoded.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}

func fieldByJSONName(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if jsonName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func jsonFieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if n := jsonName(t.Field(i)); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// closest returns the candidate nearest to s by edit distance when it is
// near enough to be a likely typo, else "".
func closest(s string, candidates []string) string {
	if a, ok := aliases[strings.ToLower(s)]; ok && contains(candidates, a) {
		return a
	}
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist <= 2 || (bestDist <= 3 && len(s) >= 8) {
		return best
	}
	for _, c := range candidates {
		if len(c) >= 2 && strings.HasPrefix(strings.ToLower(s), c) {
			return c // "lrate" for "lr"
		}
	}
	return ""
}

// aliases maps names that other libraries use to ours.
var aliases = map[string]string{
	"learning_rate": "lr",
	"batch":         "batch_size",
	"num_classes":   "classes",
	"input_shape":   "input",
	"kernel_size":   "kernel",
	"pool_size":     "kernel",
	"strides":       "stride",
	"dropout":       "rate",
	"bias":          "use_bias",
	"initializer":   "init",
	"scheduler":     "schedule",
	"lr_schedule":   "schedule",
	"clipnorm":      "grad_clip",
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20 // not worth comparing; keeps fuzzed keys cheap
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func paddingValueOK(v any) bool {
	switch v := v.(type) {
	case nil, string:
		return true
	case json.Number:
		_, err := strconv.Atoi(string(v))
		return err == nil
	}
	return false
}

// describeValue prints a decoded JSON value briefly for an error message.
func describeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return strconv.Quote(v)
	}
	return fmt.Sprint(v)
}
