package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Tensor is one named float32 array of a safetensors file.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// MaxSafetensorsHeader bounds the JSON header a reader accepts, as the
// reference implementation does, so a corrupt length cannot make the reader
// allocate without limit.
const MaxSafetensorsHeader = 100 << 20

const metadataKey = "__metadata__"

// WriteSafetensors writes tensors in the safetensors format: an 8-byte
// little-endian header length, a JSON header, then the raw little-endian
// float32 data. Tensors are laid out one after another in name order with no
// gaps, and the header is padded with spaces to a multiple of 8 bytes so the
// data is aligned; that is what the reference writer does, and its reader
// insists on contiguous data. metadata may be nil.
func WriteSafetensors(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	sorted := slices.Clone(tensors)
	slices.SortFunc(sorted, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	var header bytes.Buffer
	header.WriteByte('{')
	first := true
	if len(metadata) > 0 {
		meta, err := json.Marshal(metadata) // map keys come out sorted
		if err != nil {
			return err
		}
		header.WriteString(`"` + metadataKey + `":`)
		header.Write(meta)
		first = false
	}
	offset := 0
	for i, t := range sorted {
		if t.Name == metadataKey {
			return fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		}
		if i > 0 && sorted[i-1].Name == t.Name {
			return fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		if n := shapeSize(t.Shape); n != len(t.Data) {
			return fmt.Errorf("safetensors: %s: shape %v holds %d values, data has %d", t.Name, t.Shape, n, len(t.Data))
		}
		if !first {
			header.WriteByte(',')
		}
		first = false
		name, err := json.Marshal(t.Name)
		if err != nil {
			return err
		}
		header.Write(name)
		header.WriteString(`:{"dtype":"F32","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				header.WriteByte(',')
			}
			header.WriteString(strconv.Itoa(d))
		}
		end := offset + 4*len(t.Data)
		fmt.Fprintf(&header, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	header.WriteByte('}')
	for header.Len()%8 != 0 {
		header.WriteByte(' ')
	}

	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(header.Len()))
	if _, err := w.Write(prefix[:]); err != nil {
		return err
	}
	if _, err := w.Write(header.Bytes()); err != nil {
		return err
	}
	// Write in bounded chunks so a large model does not need a second copy.
	buf := make([]byte, 0, 64<<10)
	for _, t := range sorted {
		for _, v := range t.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

type tensorEntry struct {
	DType       string   `json:"dtype"`
	Shape       []uint64 `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// ReadSafetensors reads a safetensors file of F32 tensors. It returns the
// tensors sorted by name and the file's metadata (nil when it has none).
// It checks the header length bound, that every tensor is F32, that its
// byte span matches its shape, lies inside the data and overlaps no other.
// Bytes after the last tensor are not read.
func ReadSafetensors(r io.Reader) ([]Tensor, map[string]string, error) {
	var prefix [8]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading header length: %w", truncated(err))
	}
	size := binary.LittleEndian.Uint64(prefix[:])
	if size > MaxSafetensorsHeader {
		return nil, nil, fmt.Errorf("safetensors: header length %d exceeds the limit of %d bytes", size, MaxSafetensorsHeader)
	}
	header, err := readAtMost(r, size)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	if uint64(len(header)) < size {
		return nil, nil, fmt.Errorf("safetensors: header is %d bytes, file ends after %d", size, len(header))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header is not a JSON object: %v", err)
	}

	var metadata map[string]string
	type span struct {
		name       string
		begin, end uint64
		shape      []int
	}
	spans := make([]span, 0, len(raw))
	var dataSize uint64
	for name, msg := range raw {
		if name == metadataKey {
			if err := json.Unmarshal(msg, &metadata); err != nil {
				return nil, nil, fmt.Errorf("safetensors: %s must map strings to strings: %v", metadataKey, err)
			}
			continue
		}
		var e tensorEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fmt.Errorf("safetensors: %s: %v", name, err)
		}
		if e.DType != "F32" {
			return nil, nil, fmt.Errorf("safetensors: %s: dtype %q is not supported (only F32)", name, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("safetensors: %s: data_offsets must hold two numbers", name)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin > end {
			return nil, nil, fmt.Errorf("safetensors: %s: data_offsets [%d %d] are reversed", name, begin, end)
		}
		// Compare the element count against the span as it grows so that
		// an absurd shape cannot overflow.
		count := (end - begin) / 4
		elements := uint64(1)
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			if d > math.MaxInt32 {
				return nil, nil, fmt.Errorf("safetensors: %s: dimension %d of shape %v is too large", name, i, e.Shape)
			}
			if d != 0 && elements > count/d {
				elements = count + 1
				break
			}
			elements *= d
			shape[i] = int(d)
		}
		if (end-begin)%4 != 0 || elements != count {
			return nil, nil, fmt.Errorf("safetensors: %s: shape %v needs %d bytes, data_offsets span %d", name, e.Shape, elementsBytes(e.Shape), end-begin)
		}
		spans = append(spans, span{name, begin, end, shape})
		dataSize = max(dataSize, end)
	}
	slices.SortFunc(spans, func(a, b span) int {
		if a.begin != b.begin {
			if a.begin < b.begin {
				return -1
			}
			return 1
		}
		if a.end != b.end {
			if a.end < b.end {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	for i := 1; i < len(spans); i++ {
		if spans[i].begin < spans[i-1].end {
			return nil, nil, fmt.Errorf("safetensors: %s and %s overlap", spans[i-1].name, spans[i].name)
		}
	}

	data, err := readAtMost(r, dataSize)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading data: %w", err)
	}
	if uint64(len(data)) < dataSize {
		return nil, nil, fmt.Errorf("safetensors: data is truncated: tensors need %d bytes, file has %d", dataSize, len(data))
	}
	tensors := make([]Tensor, len(spans))
	for i, s := range spans {
		values := make([]float32, (s.end-s.begin)/4)
		b := data[s.begin:s.end]
		for j := range values {
			values[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
		tensors[i] = Tensor{Name: s.name, Shape: s.shape, Data: values}
	}
	slices.SortFunc(tensors, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	return tensors, metadata, nil
}

// readAtMost reads up to n bytes. It grows its buffer as data arrives rather
// than trusting n, so a header that claims a huge tensor in a short file
// fails without a huge allocation.
func readAtMost(r io.Reader, n uint64) ([]byte, error) {
	if n > math.MaxInt64 {
		n = math.MaxInt64
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(n)))
	return b, err
}

func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("file is truncated")
	}
	return err
}

// elementsBytes is the byte size of a shape for error messages; it
// saturates instead of overflowing.
func elementsBytes(shape []uint64) uint64 {
	n := uint64(4)
	for _, d := range shape {
		if d != 0 && n > math.MaxUint64/d {
			return math.MaxUint64
		}
		n *= d
	}
	return n
}

// shapeSize is the number of elements of a shape (1 for a scalar).
func shapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
