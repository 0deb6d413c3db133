package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"plateau/spec"
)

// IDX is one array read from an IDX file, the format of MNIST and
// Fashion-MNIST: Dims from outermost to innermost and the elements in
// row-major order.
type IDX struct {
	Dims []int
	Data []uint8
}

// idxTypeNames names the element types of the IDX format, for error messages.
var idxTypeNames = map[byte]string{
	0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16",
	0x0C: "int32", 0x0D: "float32", 0x0E: "float64",
}

// DecodeIDX reads an IDX file, raw or gzip-compressed (detected from the
// first bytes). Only unsigned-byte arrays of 1 to 4 dimensions are accepted;
// a header whose array would exceed lim.MaxBytes is refused before anything
// is allocated, and a file shorter than its header promises is an error
// saying how many bytes were expected and how many were found. lim may be
// nil for DefaultLimits.
func DecodeIDX(r io.Reader, lim *Limits) (*IDX, error) {
	return decodeIDX(r, -1, lim.withDefaults())
}

// decodeIDX reads an IDX stream of size bytes (-1 when unknown). A known
// size lets a raw file's header be checked against it before allocating.
func decodeIDX(r io.Reader, size int64, lim Limits) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		// The decompressed size is unknown; reads grow the buffer only as
		// data arrives, so a lying header costs no more than the real data.
		return decodeIDXRaw(bufio.NewReader(zr), -1, lim)
	}
	return decodeIDXRaw(br, size, lim)
}

func decodeIDXRaw(r io.Reader, size int64, lim Limits) (*IDX, error) {
	var head [4]byte
	if n, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("not an IDX file: %s long, shorter than the 4-byte header", byteCount(int64(n)))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("not an IDX file: magic number % x does not start with 00 00", head)
	}
	if head[2] != 0x08 {
		name, ok := idxTypeNames[head[2]]
		if !ok {
			return nil, fmt.Errorf("not an IDX file: unknown element type 0x%02x", head[2])
		}
		return nil, fmt.Errorf("IDX element type 0x%02x (%s) is not supported; images and labels must be unsigned bytes (0x08)", head[2], name)
	}
	ndims := int(head[3])
	if ndims < 1 || ndims > 4 {
		return nil, fmt.Errorf("IDX file has %d dimensions; want 1 to 4", ndims)
	}
	raw := make([]byte, 4*ndims)
	if n, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("IDX header truncated: expected %s of dimensions, got %s", byteCount(int64(len(raw))), byteCount(int64(n)))
	}
	dims := make([]int, ndims)
	total := int64(1)
	for i := range dims {
		d := int64(binary.BigEndian.Uint32(raw[4*i:]))
		if d == 0 {
			return nil, fmt.Errorf("IDX dimension %d is 0", i)
		}
		dims[i] = int(d)
		// Each dimension is below 2^32, so the product stays below 2^63 as
		// long as it is checked against the limit (≤ 2^62) after each step.
		total *= d
		if total > lim.MaxBytes {
			return nil, fmt.Errorf("IDX array of shape %s would need more than the limit of %s", shapeString(dims[:i+1]), byteCount(lim.MaxBytes))
		}
	}
	if size >= 0 {
		have := size - int64(4+4*ndims)
		if have < total {
			return nil, fmt.Errorf("IDX file truncated: shape %s needs %s of data, the file holds %s", shapeString(dims), byteCount(total), byteCount(max(have, 0)))
		}
		if have > total {
			return nil, fmt.Errorf("IDX file has %s after the %s that shape %s describes", byteCount(have-total), byteCount(total), shapeString(dims))
		}
	}
	buf, err := readN(r, total, size >= 0)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("IDX file truncated: shape %s needs %s of data, got %s", shapeString(dims), byteCount(total), byteCount(int64(len(buf))))
		}
		return nil, err
	}
	var extra [1]byte
	if n, _ := io.ReadFull(r, extra[:]); n > 0 {
		return nil, fmt.Errorf("IDX file has data after the %s that shape %s describes", byteCount(total), shapeString(dims))
	}
	return &IDX{Dims: dims, Data: buf}, nil
}

// readN reads exactly n bytes. When the source is known to hold them the
// buffer is allocated at once; otherwise it grows as data arrives, so a
// header that lies about the size costs no more memory than the real data.
// On a short read it returns what it got and io.ErrUnexpectedEOF.
func readN(r io.Reader, n int64, known bool) ([]byte, error) {
	if known {
		buf := make([]byte, n)
		got, err := io.ReadFull(r, buf)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return buf[:got], err
	}
	buf := make([]byte, 0, min(n, 1<<20))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), n))
			copy(grown, buf)
			buf = grown
		}
		got, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+got]
		if err == io.EOF {
			if int64(len(buf)) < n {
				return buf, io.ErrUnexpectedEOF
			}
			break
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func shapeString(dims []int) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = fmt.Sprint(d)
	}
	return "(" + strings.Join(parts, "×") + ")"
}

// idxSplit pairs an image array (N,H,W) or (N,H,W,C) with a label array (N).
func idxSplit(images, labels *IDX) (s Split, h, w, c int, err error) {
	switch len(images.Dims) {
	case 3:
		h, w, c = images.Dims[1], images.Dims[2], 1
	case 4:
		h, w, c = images.Dims[1], images.Dims[2], images.Dims[3]
	default:
		return Split{}, 0, 0, 0, fmt.Errorf("image file has shape %s; want (N×H×W) or (N×H×W×C)", shapeString(images.Dims))
	}
	if len(labels.Dims) != 1 {
		return Split{}, 0, 0, 0, fmt.Errorf("label file has shape %s; want one dimension", shapeString(labels.Dims))
	}
	if images.Dims[0] != labels.Dims[0] {
		return Split{}, 0, 0, 0, fmt.Errorf("image file holds %s images but label file holds %s labels", spec.Thousands(images.Dims[0]), spec.Thousands(labels.Dims[0]))
	}
	s.Images = images.Data
	s.Labels = make([]int32, len(labels.Data))
	for i, l := range labels.Data {
		s.Labels[i] = int32(l)
	}
	return s, h, w, c, nil
}

// The four files of an IDX dataset, by their official names (without .gz).
var idxFileNames = [4]string{
	"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
}

// idxRole returns which of idxFileNames a path is (0–3), or -1. Copies
// that replace a dash with a dot (train-images.idx3-ubyte) are accepted too.
func idxRole(name string) int {
	base := strings.TrimSuffix(path.Base(name), ".gz")
	base = strings.ReplaceAll(base, ".", "-")
	for i, n := range idxFileNames {
		if base == n {
			return i
		}
	}
	return -1
}

// idxParts collects the four files of an IDX dataset in any order.
type idxParts struct {
	arrays [4]*IDX
	bytes  int64
}

func (p *idxParts) found() bool {
	for _, a := range p.arrays {
		if a != nil {
			return true
		}
	}
	return false
}

func (p *idxParts) add(name string, r io.Reader, size int64, lim Limits) error {
	role := idxRole(name)
	if role < 0 {
		return nil
	}
	if p.arrays[role] != nil {
		return fmt.Errorf("%s: a second copy of %s", name, idxFileNames[role])
	}
	lim.MaxBytes -= p.bytes
	a, err := decodeIDX(r, size, lim)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	p.bytes += int64(len(a.Data))
	p.arrays[role] = a
	return nil
}

// dataset pairs images with labels; name picks the class names (Fashion-MNIST
// has its own; other IDX datasets are labelled by number).
func (p *idxParts) dataset(name string) (*Dataset, error) {
	var missing []string
	for i, a := range p.arrays {
		if a == nil {
			missing = append(missing, idxFileNames[i]+"(.gz)")
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: IDX dataset is missing %s", name, strings.Join(missing, ", "))
	}
	train, h, w, c, err := idxSplit(p.arrays[0], p.arrays[1])
	if err != nil {
		return nil, fmt.Errorf("%s: training files: %w", name, err)
	}
	test, th, tw, tc, err := idxSplit(p.arrays[2], p.arrays[3])
	if err != nil {
		return nil, fmt.Errorf("%s: test files: %w", name, err)
	}
	if th != h || tw != w || tc != c {
		return nil, fmt.Errorf("%s: training images are %d×%d×%d but test images are %d×%d×%d", name, h, w, c, th, tw, tc)
	}
	d := &Dataset{H: h, W: w, C: c, Train: train, Test: test}
	if canonical(name) == "fashion-mnist" {
		d.Name = "fashion-mnist"
		d.Classes = fashionClasses
	} else {
		maxLabel := int32(0)
		if canonical(name) == MNIST {
			// All ten digits, even when a cut-down copy lacks some.
			d.Name, maxLabel = MNIST, 9
		}
		for _, s := range []Split{train, test} {
			for _, l := range s.Labels {
				maxLabel = max(maxLabel, l)
			}
		}
		d.Classes = make([]string, maxLabel+1)
		for i := range d.Classes {
			d.Classes[i] = fmt.Sprint(i)
		}
	}
	return d, nil
}
