package data

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	"plateau/spec"
)

// CIFAR-10 binary format: each record is one label byte followed by the
// red, green and blue planes of a 32×32 image, each plane row-major.
const (
	cifarSide         = 32
	cifarImageBytes   = cifarSide * cifarSide * 3
	cifarRecordBytes  = 1 + cifarImageBytes
	cifarBatchImages  = 10000 // records per batch in the official release
	cifarTrainBatches = 5
)

// cifarClasses are the official class names, used when batches.meta.txt is
// missing.
var cifarClasses = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// DecodeCIFARBatch reads one CIFAR-10 binary batch (data_batch_N.bin or
// test_batch.bin) and returns its images with the planes interleaved into
// NHWC (32×32×3). A batch may hold any number of whole records; a partial
// last record, or a label outside 0–9, is an error. lim may be nil.
func DecodeCIFARBatch(r io.Reader, lim *Limits) (Split, error) {
	return decodeCIFARBatch(r, -1, lim.withDefaults().MaxBytes)
}

// decodeCIFARBatch reads records until EOF. size, when known (≥ 0), sizes
// the output at once; maxBytes bounds the pixels kept.
func decodeCIFARBatch(r io.Reader, size int64, maxBytes int64) (Split, error) {
	return decodeCIFARBatchInto(Split{}, r, size, maxBytes)
}

// decodeCIFARBatchInto is decodeCIFARBatch appending to into, an empty
// split whose capacity holds the batch when size is known (a slot of a
// buffer shared by the batches); without that capacity it allocates.
func decodeCIFARBatchInto(into Split, r io.Reader, size int64, maxBytes int64) (Split, error) {
	var s Split
	if size >= 0 && size%cifarRecordBytes == 0 && int64(cap(into.Labels)) >= size/cifarRecordBytes && int64(cap(into.Images)) >= size/cifarRecordBytes*cifarImageBytes {
		s = Split{Images: into.Images[:0], Labels: into.Labels[:0]}
	} else if size >= 0 {
		if size%cifarRecordBytes != 0 {
			return Split{}, fmt.Errorf("CIFAR batch truncated: %s is not a whole number of %s records (%d records and %s over)",
				byteCount(size), byteCount(cifarRecordBytes), size/cifarRecordBytes, byteCount(size%cifarRecordBytes))
		}
		n := size / cifarRecordBytes
		if n*cifarImageBytes > maxBytes {
			return Split{}, fmt.Errorf("CIFAR batch of %s records would need more than the limit of %s", spec.Thousands(int(n)), byteCount(maxBytes))
		}
		s.Images = make([]uint8, 0, n*cifarImageBytes)
		s.Labels = make([]int32, 0, n)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var rec [cifarRecordBytes]byte
	for i := 0; ; i++ {
		n, err := io.ReadFull(br, rec[:])
		if err == io.EOF {
			break
		}
		if err == io.ErrUnexpectedEOF {
			return Split{}, fmt.Errorf("CIFAR batch truncated: record %d has %s, expected %s", i, byteCount(int64(n)), byteCount(cifarRecordBytes))
		}
		if err != nil {
			return Split{}, err
		}
		if rec[0] > 9 {
			return Split{}, fmt.Errorf("CIFAR batch record %d has label %d, not a CIFAR-10 class (0–9); CIFAR-100 files (two label bytes) are not supported", i, rec[0])
		}
		if int64(len(s.Images)+cifarImageBytes) > maxBytes {
			return Split{}, fmt.Errorf("CIFAR batch holds more than the limit of %s of pixels", byteCount(maxBytes))
		}
		s.Labels = append(s.Labels, int32(rec[0]))
		s.Images = appendPlanar(s.Images, rec[1:])
	}
	if s.Len() == 0 {
		return Split{}, fmt.Errorf("CIFAR batch is empty")
	}
	return s, nil
}

// appendPlanar appends one 32×32 image stored as R, G, B planes, interleaved.
func appendPlanar(dst []uint8, planes []byte) []uint8 {
	const plane = cifarSide * cifarSide
	dst = append(dst, make([]uint8, cifarImageBytes)...)
	out := dst[len(dst)-cifarImageBytes:]
	for p := 0; p < plane; p++ {
		out[3*p] = planes[p]
		out[3*p+1] = planes[plane+p]
		out[3*p+2] = planes[2*plane+p]
	}
	return dst
}

// parseCIFARMeta reads batches.meta.txt: one class name per line, blank
// lines ignored.
func parseCIFARMeta(r io.Reader) ([]string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<16))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if name := strings.TrimSpace(line); name != "" {
			names = append(names, name)
		}
	}
	if len(names) != 10 {
		return nil, fmt.Errorf("batches.meta.txt lists %d class names; want 10", len(names))
	}
	return names, nil
}

// cifarParts collects the files of a CIFAR-10 release as they are found in
// a folder or an archive, in any order.
type cifarParts struct {
	train   map[int]Split // by batch number 1–5
	test    *Split
	classes []string
	bytes   int64 // pixels kept so far, against Limits.MaxBytes
	// all is one buffer for five training batches of perBatch records,
	// batch b in slot b-1, made when a second training batch comes: the
	// official release's batches then decode straight into the training
	// set (the first one copied in), instead of into five buffers joined
	// by a copy that would hold the training pixels twice. A release of
	// one batch (the CIFAR-10 sample) keeps its batch as it is. inAll
	// marks the batches in the buffer.
	all      Split
	perBatch int
	inAll    map[int]bool
}

// slot returns the empty split of all that training batch b of size bytes
// decodes into, making all when a second batch comes; ok is false for the
// first batch, and where the batch does not fit the buffer's layout
// (another size, a number past 5) or the buffer would pass the pixel
// limit (maxBytes, what the limit leaves).
func (p *cifarParts) slot(b int, size, maxBytes int64) (into Split, ok bool) {
	if size <= 0 || size%cifarRecordBytes != 0 || b < 1 || b > cifarTrainBatches || len(p.train) == 0 {
		return Split{}, false
	}
	n := int(size / cifarRecordBytes)
	if p.all.Images == nil {
		// The batches decoded so far move in, so the buffer is only new
		// pixels for the batches to come.
		moving := int64(0)
		for k, s := range p.train {
			if k >= 1 && k <= cifarTrainBatches && s.Len() == n {
				moving += int64(len(s.Images))
			}
		}
		if int64(cifarTrainBatches*n*cifarImageBytes)-moving > maxBytes {
			return Split{}, false
		}
		p.perBatch = n
		p.all = Split{Images: make([]uint8, cifarTrainBatches*n*cifarImageBytes), Labels: make([]int32, cifarTrainBatches*n)}
		p.inAll = map[int]bool{}
		for k, s := range p.train {
			if k >= 1 && k <= cifarTrainBatches && s.Len() == n {
				dst := p.slotOf(k)
				copy(dst.Images[:len(s.Images)], s.Images)
				copy(dst.Labels[:n], s.Labels)
				p.train[k] = Split{Images: dst.Images[:len(s.Images)], Labels: dst.Labels[:n]}
				p.inAll[k] = true
			}
		}
	}
	if n != p.perBatch || p.inAll[b] {
		return Split{}, false
	}
	return p.slotOf(b), true
}

// slotOf is batch b's empty slot in all.
func (p *cifarParts) slotOf(b int) Split {
	n := p.perBatch
	img, lab := (b-1)*n*cifarImageBytes, (b-1)*n
	return Split{Images: p.all.Images[img : img : img+n*cifarImageBytes], Labels: p.all.Labels[lab : lab : lab+n]}
}

// cifarFileKind says what a file name (any folder) is in a CIFAR-10 release:
// "train" with its batch number, "test", "meta" or "".
func cifarFileKind(name string) (kind string, batch int) {
	base := path.Base(name)
	switch base {
	case "test_batch.bin":
		return "test", 0
	case "batches.meta.txt":
		return "meta", 0
	}
	if rest, ok := strings.CutPrefix(base, "data_batch_"); ok {
		if num, ok := strings.CutSuffix(rest, ".bin"); ok {
			if n, err := strconv.Atoi(num); err == nil && n >= 1 && n <= cifarTrainBatches {
				return "train", n
			}
		}
	}
	return "", 0
}

// add decodes one CIFAR file; name is its path, used in errors.
func (p *cifarParts) add(name string, r io.Reader, size int64, lim Limits) error {
	kind, batch := cifarFileKind(name)
	switch kind {
	case "meta":
		names, err := parseCIFARMeta(r)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		p.classes = names
		return nil
	case "":
		return nil
	}
	var into Split
	inAll := false
	if kind == "train" {
		into, inAll = p.slot(batch, size, lim.MaxBytes-p.bytes)
	}
	s, err := decodeCIFARBatchInto(into, r, size, lim.MaxBytes-p.bytes)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if inAll && s.Len() == p.perBatch {
		p.inAll[batch] = true
	}
	p.bytes += int64(len(s.Images))
	if kind == "test" {
		if p.test != nil {
			return fmt.Errorf("%s: a second test_batch.bin", name)
		}
		p.test = &s
		return nil
	}
	if p.train == nil {
		p.train = map[int]Split{}
	}
	if _, dup := p.train[batch]; dup {
		return fmt.Errorf("%s: a second data_batch_%d.bin", name, batch)
	}
	p.train[batch] = s
	return nil
}

func (p *cifarParts) found() bool { return len(p.train) > 0 || p.test != nil }

// dataset joins the batches in batch order and notes what differs from the
// official release (fewer or shorter batches, a missing class list).
func (p *cifarParts) dataset() (*Dataset, error) {
	if len(p.train) == 0 {
		return nil, fmt.Errorf("cifar-10: no data_batch_1.bin … data_batch_5.bin found")
	}
	if p.test == nil {
		return nil, fmt.Errorf("cifar-10: no test_batch.bin found")
	}
	d := &Dataset{Name: "cifar-10", H: cifarSide, W: cifarSide, C: 3, Classes: p.classes, Test: *p.test}
	if d.Classes == nil {
		d.Classes = cifarClasses
		d.Notes = append(d.Notes, "no batches.meta.txt: using the official class names")
	}
	batches := make([]int, 0, len(p.train))
	n := 0
	for b, s := range p.train {
		batches = append(batches, b)
		n += s.Len()
	}
	sort.Ints(batches)
	whole := len(batches) == cifarTrainBatches
	for _, b := range batches {
		whole = whole && p.inAll[b]
	}
	join := false
	switch {
	case whole:
		// The five batches filled the shared buffer, in batch order.
		d.Train = p.all
	case len(batches) == 1:
		// One batch is the training set as it is: a copy would double the
		// pixels held while loading.
		d.Train = p.train[batches[0]]
	default:
		join = true
		d.Train = Split{Images: make([]uint8, 0, n*cifarImageBytes), Labels: make([]int32, 0, n)}
	}
	var short []string
	for _, b := range batches {
		s := p.train[b]
		if join {
			d.Train.Images = append(d.Train.Images, s.Images...)
			d.Train.Labels = append(d.Train.Labels, s.Labels...)
		}
		if s.Len() != cifarBatchImages {
			short = append(short, fmt.Sprintf("data_batch_%d.bin holds %s", b, spec.Thousands(s.Len())))
		}
	}
	if len(batches) != cifarTrainBatches || len(short) > 0 {
		names := make([]string, len(batches))
		for i, b := range batches {
			names[i] = strconv.Itoa(b)
		}
		note := fmt.Sprintf("train from %d of %d batches (%s)", len(batches), cifarTrainBatches, strings.Join(names, ", "))
		if len(short) > 0 {
			note += ", " + strings.Join(short, ", ") + fmt.Sprintf(" of %s images", spec.Thousands(cifarBatchImages))
		}
		d.Notes = append(d.Notes, note)
	}
	if d.Test.Len() != cifarBatchImages {
		d.Notes = append(d.Notes, fmt.Sprintf("test_batch.bin holds %s of %s images", spec.Thousands(d.Test.Len()), spec.Thousands(cifarBatchImages)))
	}
	return d, nil
}
