package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// tinyTensors is the content of testdata/tiny.safetensors.
func tinyTensors() ([]Tensor, map[string]string) {
	return []Tensor{
			{Name: "dense1/kernel", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 0, float32(math.Inf(1)), -0.25}},
			{Name: "dense1/bias", Shape: []int{3}, Data: []float32{0.5, 0, -1}},
			{Name: "bn1/variance", Shape: []int{1}, Data: []float32{1}},
			{Name: "scalar", Shape: []int{}, Data: []float32{42}},
			{Name: "empty", Shape: []int{0, 4}, Data: []float32{}},
		}, map[string]string{
			MetadataFormat: FormatPlateau,
			MetadataSpec:   `{"input":[1,1,2],"classes":3}`,
		}
}

func writeTensors(t testing.TB, tensors []Tensor, metadata map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, metadata); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSafetensorsGolden(t *testing.T) {
	tensors, metadata := tinyTensors()
	got := writeTensors(t, tensors, metadata)
	path := filepath.Join("testdata", "tiny.safetensors")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("WriteSafetensors output differs from %s (run with -update if the change is intended)", path)
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	tensors, metadata := tinyTensors()
	file := writeTensors(t, tensors, metadata)
	got, gotMeta, err := ReadSafetensors(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(tensors)
	sort.Slice(want, func(i, j int) bool { return want[i].Name < want[j].Name })
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Name != want[i].Name || !slices.Equal(got[i].Shape, want[i].Shape) || !sameBits(got[i].Data, want[i].Data) {
			t.Errorf("tensor %d: got %v, want %v", i, got[i], want[i])
		}
	}
	if !equalMaps(gotMeta, metadata) {
		t.Errorf("metadata: got %v, want %v", gotMeta, metadata)
	}
}

// TestSafetensorsLayout checks the rules the reference reader enforces on
// top of the format: the header is a JSON object padded to 8 bytes, every
// tensor's bytes follow the previous one's from offset 0, and the data ends
// where the last tensor does.
func TestSafetensorsLayout(t *testing.T) {
	tensors, metadata := tinyTensors()
	file := writeTensors(t, tensors, metadata)
	size := binary.LittleEndian.Uint64(file)
	if size%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", size)
	}
	header := file[8 : 8+size]
	if header[0] != '{' {
		t.Errorf("header starts with %q, want '{'", header[0])
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	if err := json.Unmarshal(raw[metadataKey], &meta); err != nil {
		t.Errorf("__metadata__ is not a map of strings: %v", err)
	}
	type entry struct {
		name  string
		begin uint64
		end   uint64
	}
	var entries []entry
	for name, msg := range raw {
		if name == metadataKey {
			continue
		}
		var e tensorEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{name, e.DataOffsets[0], e.DataOffsets[1]})
	}
	sort.Slice(entries, func(i, j int) bool {
		return entries[i].begin < entries[j].begin || entries[i].begin == entries[j].begin && entries[i].name < entries[j].name
	})
	var offset uint64
	for _, e := range entries {
		if e.begin != offset {
			t.Errorf("%s starts at %d, want %d (no gaps)", e.name, e.begin, offset)
		}
		offset = e.end
	}
	if data := uint64(len(file)) - 8 - size; data != offset {
		t.Errorf("data is %d bytes, tensors end at %d", data, offset)
	}
	if got := string(header[bytes.LastIndexByte(header, '}')+1:]); strings.Trim(got, " ") != "" {
		t.Errorf("header padding %q is not spaces", got)
	}
}

func TestWriteSafetensorsErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
	}{
		{"shape does not match data", []Tensor{{Name: "a", Shape: []int{2, 2}, Data: make([]float32, 3)}}},
		{"duplicate name", []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{2}}}},
		{"reserved name", []Tensor{{Name: metadataKey, Shape: []int{1}, Data: []float32{1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := WriteSafetensors(&bytes.Buffer{}, tt.tensors, nil); err == nil {
				t.Error("got no error")
			}
		})
	}
}

// rawFile assembles a safetensors file from a header and data as given.
func rawFile(header string, data []byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestReadSafetensorsErrors(t *testing.T) {
	good, _ := tinyTensors()
	file := writeTensors(t, good, nil)
	huge := binary.LittleEndian.AppendUint64(nil, MaxSafetensorsHeader+1)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty file", nil, "truncated"},
		{"short length", []byte{1, 2, 3}, "truncated"},
		{"header over the limit", huge, "exceeds the limit"},
		{"header cut short", file[:20], "header is"},
		{"data cut short", file[:len(file)-3], "truncated"},
		{"header not JSON", rawFile("not json", nil), "not a JSON object"},
		{"header an array", rawFile("[]", nil), "not a JSON object"},
		{"unsupported dtype", rawFile(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), `dtype "F16"`},
		{"shape and span differ", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), "needs 12 bytes"},
		{"span not whole floats", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,5]}}`, make([]byte, 5)), "needs 4 bytes"},
		{"huge shape", rawFile(`{"a":{"dtype":"F32","shape":[65536,65536,65536,16],"data_offsets":[0,8]}}`, make([]byte, 8)), "data_offsets span 8"},
		{"dimension too large", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,0],"data_offsets":[0,0]}}`, nil), "too large"},
		{"reversed offsets", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, make([]byte, 8)), "reversed"},
		{"one offset", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0]}}`, nil), "two numbers"},
		{"negative shape", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), "a:"},
		{"offsets past the data", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4)), "truncated"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "overlap"},
		{"metadata not strings", rawFile(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadSafetensors(bytes.NewReader(tt.file))
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want one containing %q", err, tt.want)
			}
		})
	}
}

// FuzzReadSafetensors checks that the reader never panics and that whatever
// it accepts survives a write and a second read unchanged.
func FuzzReadSafetensors(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "tiny.safetensors"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)))
	f.Add(rawFile(`{}`, nil))
	f.Fuzz(func(t *testing.T, file []byte) {
		tensors, metadata, err := ReadSafetensors(bytes.NewReader(file))
		if err != nil {
			return
		}
		again := writeTensors(t, tensors, metadata)
		tensors2, metadata2, err := ReadSafetensors(bytes.NewReader(again))
		if err != nil {
			t.Fatalf("re-reading what was written: %v", err)
		}
		if len(tensors2) != len(tensors) || !equalMaps(metadata, metadata2) {
			t.Fatalf("round trip changed the file")
		}
		for i := range tensors {
			if tensors[i].Name != tensors2[i].Name || !slices.Equal(tensors[i].Shape, tensors2[i].Shape) || !sameBits(tensors[i].Data, tensors2[i].Data) {
				t.Fatalf("round trip changed %s", tensors[i].Name)
			}
		}
	})
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
