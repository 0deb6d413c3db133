package data

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync/atomic"

	"plateau/spec"
)

// budget counts the uncompressed bytes read from one archive, so that no
// mix of members, headers and skipped entries can expand past the limit.
// It is safe for concurrent use: images are decoded in parallel.
type budget struct {
	left  atomic.Int64
	limit int64
}

func newBudget(limit int64) *budget {
	b := &budget{limit: limit}
	b.left.Store(limit)
	return b
}

type budgetReader struct {
	r io.Reader
	b *budget
}

func (r budgetReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if r.b.left.Add(-int64(n)) < 0 {
		return n, fmt.Errorf("archive expands to more than the limit of %s", byteCount(r.b.limit))
	}
	return n, err
}

// wrap counts reads from r against the budget; a nil budget counts nothing.
func (b *budget) wrap(r io.Reader) io.Reader {
	if b == nil {
		return r
	}
	return budgetReader{r, b}
}

// Decode reads a dataset from one archive held in r: a zip (of class
// folders, IDX files or CIFAR batches), or a tar or tar.gz (IDX files or
// CIFAR batches, such as the official cifar-10-binary.tar.gz). The format is
// detected from the content, not the name; name names the dataset and its
// errors. This is the entry point for bytes that did not come from a file
// system, such as a file dropped into the page.
func Decode(name string, r io.ReaderAt, size int64, opt LoadOptions) (*Dataset, error) {
	d, err := decodeArchive(name, r, size, opt.decoding())
	if err != nil {
		return nil, err
	}
	return finish(d, name, name, opt)
}

// Sniffed archive formats.
const (
	formatZip   = "zip"
	formatTar   = "tar"
	formatTarGz = "tar.gz"
	formatGzip  = "gzip" // gzip of something that is not a tar
)

// sniff names the archive format of the first bytes of a file, or "".
func sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return formatZip
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return formatGzip
	case isTarHeader(head):
		return formatTar
	}
	return ""
}

// isTarHeader reports whether head starts with a POSIX or GNU tar header.
func isTarHeader(head []byte) bool {
	return len(head) >= 262 && string(head[257:262]) == "ustar"
}

func decodeArchive(name string, r io.ReaderAt, size int64, lim decoding) (*Dataset, error) {
	head := make([]byte, 512)
	n, err := r.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	head = head[:n]
	switch sniff(head) {
	case formatZip:
		return decodeZip(name, r, size, lim)
	case formatTar:
		return decodeTar(name, io.NewSectionReader(r, 0, size), lim)
	case formatGzip:
		return decodeTar(name, io.NewSectionReader(r, 0, size), lim)
	}
	if bytes.HasPrefix(head, []byte{0, 0, 8}) {
		return nil, fmt.Errorf("%s: a single IDX file is not a dataset: give the folder holding train-images-idx3-ubyte and the three other files", name)
	}
	if cfg, format, err := image.DecodeConfig(io.NewSectionReader(r, 0, size)); err == nil {
		return nil, fmt.Errorf("%s: one image (%s, %d×%d) is not a dataset: give a folder, or a zip of one, with a folder of images for each class (cats/1.jpg, dogs/1.jpg, …)", name, strings.ToUpper(format), cfg.Width, cfg.Height)
	}
	if hasExt(name, imageExts) || hasExt(name, unreadablePhotoExts) {
		return nil, fmt.Errorf("%s: one image file is not a dataset: give a folder, or a zip of one, with a folder of images for each class (cats/1.jpg, dogs/1.jpg, …)", name)
	}
	return nil, fmt.Errorf("%s: not a dataset archive (want a zip, tar or tar.gz; the first bytes are % x)", name, head[:min(len(head), 8)])
}

// decodeZip checks every member's declared size and compression ratio
// before reading anything, then reads the zip as a file system.
func decodeZip(name string, r io.ReaderAt, size int64, lim decoding) (*Dataset, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: zip: %w", name, err)
	}
	if len(zr.File) > lim.MaxFiles {
		return nil, fmt.Errorf("%s: zip holds %s members, more than the limit of %s", name, spec.Thousands(len(zr.File)), spec.Thousands(lim.MaxFiles))
	}
	var total uint64
	for _, f := range zr.File {
		u, c := f.UncompressedSize64, f.CompressedSize64
		if u > uint64(lim.MaxFileBytes) {
			return nil, fmt.Errorf("%s: zip member %s expands to %s, more than the limit of %s per file", name, f.Name, byteCount(int64(min(u, 1<<62))), byteCount(lim.MaxFileBytes))
		}
		if u > 1<<20 && u/uint64(lim.MaxRatio) > c {
			return nil, fmt.Errorf("%s: zip member %s expands %d times (%s from %s), more than the limit of %d; refusing a likely zip bomb", name, f.Name, u/max(c, 1), byteCount(int64(u)), byteCount(int64(c)), lim.MaxRatio)
		}
		total += u
		if total > uint64(lim.MaxArchiveBytes) {
			return nil, fmt.Errorf("%s: zip expands to more than the limit of %s; zip fewer files, or photos scaled down first (a CNN here trains on images of %d pixels a side unless data.image_side asks for more)", name, byteCount(lim.MaxArchiveBytes), DefaultImageSide)
		}
	}
	return decodeFS(zr, name, lim, newBudget(lim.MaxArchiveBytes))
}

// decodeTar streams a tar or tar.gz: only IDX files and CIFAR batches are
// read from a tar, because images in class folders need random access.
func decodeTar(name string, r io.Reader, lim decoding) (*Dataset, error) {
	b := newBudget(lim.MaxArchiveBytes)
	br := bufio.NewReader(r)
	var stream io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		defer zr.Close()
		stream = zr
	}
	// The budget counts every decompressed byte, including entries that are
	// skipped, since skipping still decompresses them.
	tr := tar.NewReader(b.wrap(stream))
	var (
		cifar  cifarParts
		idx    idxParts
		images int
		files  int
	)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if files == 0 {
				return nil, fmt.Errorf("%s: not a tar archive (%w); a single IDX file is not a dataset: give the folder holding train-images-idx3-ubyte.gz and the three other files", name, err)
			}
			return nil, fmt.Errorf("%s: tar: %w", name, err)
		}
		files++
		if files > lim.MaxFiles {
			return nil, fmt.Errorf("%s: tar holds more than the limit of %s members", name, spec.Thousands(lim.MaxFiles))
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > lim.MaxFileBytes {
			return nil, fmt.Errorf("%s: tar member %s holds %s, more than the limit of %s per file", name, h.Name, byteCount(h.Size), byteCount(lim.MaxFileBytes))
		}
		switch {
		case idxRole(h.Name) >= 0:
			err = idx.add(h.Name, tr, h.Size, lim.Limits)
		case isImageName(h.Name):
			images++
		default:
			err = cifar.add(h.Name, tr, h.Size, lim.Limits)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	switch {
	case idx.found():
		return idx.dataset(name)
	case cifar.found():
		return cifar.dataset()
	case images > 0:
		return nil, fmt.Errorf("%s: a tar of image folders is not supported; use a zip or a folder", name)
	}
	return nil, fmt.Errorf("%s: no dataset found in the tar (want IDX files such as train-images-idx3-ubyte.gz, or CIFAR-10 batches such as data_batch_1.bin)", name)
}

// LoadFS reads a dataset from a file system: a folder on disk (os.DirFS), a
// zip (zip.Reader), or files held in memory. It recognizes, anywhere in the
// tree, the four IDX files of MNIST and Fashion-MNIST, the CIFAR-10 batches,
// or a CIFAR-10 tar.gz; otherwise it reads images (ImageFormats) in one folder
// per class (with train/ and test/ folders above them if present).
func LoadFS(fsys fs.FS, name string, opt LoadOptions) (*Dataset, error) {
	d, err := decodeFS(fsys, name, opt.decoding(), nil)
	if err != nil {
		return nil, err
	}
	return finish(d, name, name, opt)
}

// skipName reports whether a file or folder is metadata an archiver or a
// file manager left behind (hidden files, __MACOSX).
func skipName(name string) bool {
	return strings.HasPrefix(name, ".") && name != "." || name == "__MACOSX"
}

// DatasetFile reports whether a file at path (names joined by "/") can be
// part of a dataset that LoadFS reads: an image (ImageFormats), an IDX
// file, a CIFAR-10 batch or its metadata, or a tar of them; not a file
// that a file manager left behind. A photo that cannot be read (HEIC,
// AVIF, a camera's raw file) counts too, so that the dataset's notes say
// it was left out. The page packs only these of a folder.
func DatasetFile(p string) bool {
	for name := range strings.SplitSeq(p, "/") {
		if skipName(name) {
			return false
		}
	}
	kind, _ := cifarFileKind(p)
	return isImageName(p) || hasExt(p, unreadablePhotoExts) || idxRole(p) >= 0 || kind != "" ||
		strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".tgz") || strings.HasSuffix(p, ".tar")
}

func decodeFS(fsys fs.FS, name string, lim decoding, b *budget) (*Dataset, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skipName(e.Name()) {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if e.Type().IsRegular() {
			files = append(files, p)
			if len(files) > lim.MaxFiles {
				return fmt.Errorf("more than the limit of %s files", spec.Thousands(lim.MaxFiles))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sort.Strings(files)
	var idxFiles, cifarFiles, tars []string
	for _, f := range files {
		cifarKind, _ := cifarFileKind(f)
		switch {
		case idxRole(f) >= 0:
			idxFiles = append(idxFiles, f)
		case cifarKind != "":
			cifarFiles = append(cifarFiles, f)
		case strings.HasSuffix(f, ".tar.gz") || strings.HasSuffix(f, ".tgz") || strings.HasSuffix(f, ".tar"):
			tars = append(tars, f)
		}
	}
	read := func(p string, add func(string, io.Reader, int64, Limits) error) error {
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		size := int64(-1)
		if st, err := f.Stat(); err == nil {
			size = st.Size()
			if size > lim.MaxFileBytes && !strings.HasSuffix(p, ".gz") {
				return fmt.Errorf("%s holds %s, more than the limit of %s per file", p, byteCount(size), byteCount(lim.MaxFileBytes))
			}
		}
		return add(p, b.wrap(f), size, lim.Limits)
	}
	switch {
	case len(idxFiles) > 0:
		// A folder may hold both the .gz and its extracted copy; the sorted
		// order puts the extracted one first, and it is the faster to read.
		chosen := map[int]string{}
		for _, f := range idxFiles {
			role := idxRole(f)
			prev, ok := chosen[role]
			if ok && path.Dir(prev) == path.Dir(f) {
				continue
			}
			if ok {
				return nil, fmt.Errorf("%s: holds two copies of %s (%s and %s)", name, idxFileNames[role], prev, f)
			}
			chosen[role] = f
		}
		var idx idxParts
		for _, f := range chosen {
			if err := read(f, idx.add); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		return idx.dataset(name)
	case len(cifarFiles) > 0:
		var cifar cifarParts
		for _, f := range cifarFiles {
			if err := read(f, cifar.add); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		return cifar.dataset()
	case len(tars) == 1:
		f, err := fsys.Open(tars[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer f.Close()
		return decodeTar(path.Join(name, tars[0]), b.wrap(f), lim)
	case len(tars) > 1:
		return nil, fmt.Errorf("%s: holds several tar archives (%s); give the path of one", name, strings.Join(tars, ", "))
	}
	return decodeImageFolders(fsys, name, files, lim, b)
}

// finish applies the load options, names the dataset and checks the result.
func finish(d *Dataset, name, source string, opt LoadOptions) (*Dataset, error) {
	if d.Name == "" {
		d.Name = name
	}
	d.Source = source
	d.applyLimits(opt)
	if err := d.check(); err != nil {
		return nil, err
	}
	return d, nil
}
