package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/gif"  // registers the GIF decoder (the first frame)
	_ "image/jpeg" // registers the JPEG decoder
	_ "image/png"  // registers the PNG decoder
	"io"
	"io/fs"
	"math"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	_ "golang.org/x/image/bmp"  // registers the BMP decoder
	_ "golang.org/x/image/tiff" // registers the TIFF decoder
	_ "golang.org/x/image/webp" // registers the WebP decoder

	"plateau/data/internal/jpeg"
	"plateau/spec"
)

// testEvery is the fraction of each class held out for test when an image
// folder has no train/ and test/ folders: every testEvery-th image.
const testEvery = 5

// ImageFormats names the image files a dataset can hold, for messages.
const ImageFormats = "PNG, JPEG, WebP, GIF, BMP or TIFF"

// imageExts are the extensions of the image files a dataset can hold.
var imageExts = []string{".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}

// unreadablePhotoExts are the extensions of photos that cannot be read
// (no decoder in Go for HEIF's HEVC or AVIF's AV1, nor cameras' raw
// files): a folder keeps them so that the dataset's notes can say what
// was left out and how to convert it.
var unreadablePhotoExts = []string{".heic", ".heif", ".avif", ".jxl", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf"}

// isImageName reports whether a file name has the extension of an image
// a dataset can hold.
func isImageName(name string) bool {
	return hasExt(name, imageExts)
}

// hasExt reports whether name ends in one of exts, in any case.
func hasExt(name string, exts []string) bool {
	lower := strings.ToLower(name)
	for _, e := range exts {
		if strings.HasSuffix(lower, e) {
			return true
		}
	}
	return false
}

// skippedNote is the note on the files of a folder of images that were not
// images it could read: how many of each extension, the first of them,
// and what to do with photos it cannot read.
func skippedNote(skipped []string) string {
	count := map[string]int{}
	first := map[string]string{}
	var kinds []string
	unreadable := false
	for _, f := range skipped {
		ext := strings.ToUpper(strings.TrimPrefix(path.Ext(f), "."))
		if ext == "" {
			ext = "without an extension"
		}
		if count[ext] == 0 {
			kinds = append(kinds, ext)
			first[ext] = f
		}
		count[ext]++
		unreadable = unreadable || hasExt(f, unreadablePhotoExts)
	}
	sort.SliceStable(kinds, func(i, j int) bool { return count[kinds[i]] > count[kinds[j]] })
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		more := ""
		if count[k] > 1 {
			more = ", …"
		}
		parts[i] = fmt.Sprintf("%s %s (%s%s)", spec.Thousands(count[k]), k, first[k], more)
	}
	verb := "are"
	if len(skipped) == 1 {
		verb = "is"
	}
	note := fmt.Sprintf("skipped %s that %s not %s: %s", spec.Count(len(skipped), "file"), verb, ImageFormats, strings.Join(parts, ", "))
	if unreadable {
		note += "; export HEIC, AVIF or raw photos as JPEG to use them (an iPhone takes new photos as JPEG with Settings › Camera › Formats › Most Compatible)"
	}
	return note
}

// imageFile is one image found in the class folders.
type imageFile struct {
	path  string
	label int32
	test  bool
	w, h  int // as shown, turned upright by the EXIF orientation
	gray  bool
	// orientation is the EXIF orientation of a JPEG, 1 when upright.
	orientation int
}

// decodeImageFolders reads images (ImageFormats) laid out one folder per class:
//
//	[top/]cat/1.png, [top/]dog/2.jpg, …                  split made here
//	[top/]train/cat/1.png, [top/]test/cat/9.png, …       split as given
//
// Classes are the folder names in sorted order. The most common shape among
// the training images (the first one's, in sorted order, among equals)
// is the dataset's, scaled so that its longer side is
// lim.imageSide, or, when that is 0, at most DefaultImageSide (photos
// become 64×48, not 4032×3024); an image of another shape is cropped at
// the centre to that shape before it is scaled, so nothing is squashed.
// Images are scaled down by averaging the pixels each output pixel covers
// and up bilinearly; a JPEG is first turned upright by its EXIF
// orientation. The channel count is the majority's: grayscale images
// become RGB by copying, colour images become gray by luma (ITU-R BT.601,
// as image/color does). Alpha is dropped (transparent pixels become
// black).
func decodeImageFolders(fsys fs.FS, name string, files []string, lim decoding, b *budget) (*Dataset, error) {
	var paths, other []string
	for _, f := range files {
		if isImageName(f) {
			paths = append(paths, f)
		} else {
			other = append(other, f)
		}
	}
	if len(paths) == 0 {
		msg := fmt.Sprintf("%s: no dataset found: no IDX files (train-images-idx3-ubyte…), no CIFAR-10 batches (data_batch_1.bin…) and no %s images in class folders", name, ImageFormats)
		if len(other) > 0 {
			msg += "; " + skippedNote(other)
		}
		return nil, errors.New(msg)
	}
	// Drop the folders every image shares (a zip of "mydata/…").
	parts := make([][]string, len(paths))
	for i, p := range paths {
		parts[i] = strings.Split(p, "/")
	}
	common := 0
	for {
		ok := true
		for _, pp := range parts {
			if len(pp) <= common+1 || pp[common] != parts[0][common] {
				ok = false
				break
			}
		}
		if !ok {
			break
		}
		common++
	}
	// A single class folder would be swallowed by the common prefix.
	if len(parts[0]) == common+1 && common > 0 {
		common--
	}
	rel := make([][]string, len(parts))
	hasTrain := false
	for i, pp := range parts {
		rel[i] = pp[common:]
		if len(rel[i]) >= 3 && rel[i][0] == "train" {
			hasTrain = true
		}
	}
	d := Dataset{FromImages: true}
	var images []imageFile
	classIndex := map[string]int32{}
	ignored := 0
	if hasTrain {
		// Classes come from train/; test/ must use the same names.
		for _, r := range rel {
			if len(r) >= 3 && r[0] == "train" {
				classIndex[r[1]] = 0
			}
		}
	} else {
		for i, r := range rel {
			if len(r) < 2 {
				return nil, fmt.Errorf("%s: image %s is not inside a class folder; put each class's images in a folder named after the class", name, paths[i])
			}
			classIndex[r[0]] = 0
		}
	}
	d.Classes = make([]string, 0, len(classIndex))
	for c := range classIndex {
		d.Classes = append(d.Classes, c)
	}
	sort.Strings(d.Classes)
	for i, c := range d.Classes {
		classIndex[c] = int32(i)
	}
	if len(d.Classes) < 2 {
		return nil, fmt.Errorf("%s: found %d class folder (%s); need at least 2", name, len(d.Classes), strings.Join(d.Classes, ""))
	}
	perClass := make([]int, len(d.Classes))
	for i, r := range rel {
		f := imageFile{path: paths[i]}
		if hasTrain {
			if len(r) < 3 || (r[0] != "train" && r[0] != "test") {
				ignored++
				continue
			}
			label, ok := classIndex[r[1]]
			if !ok {
				return nil, fmt.Errorf("%s: %s is in test class %q, which train/ does not have (classes: %s)", name, paths[i], r[1], strings.Join(d.Classes, ", "))
			}
			f.label, f.test = label, r[0] == "test"
		} else {
			f.label = classIndex[r[0]]
			perClass[f.label]++
			f.test = perClass[f.label]%testEvery == 0
		}
		images = append(images, f)
	}
	// Pass 1: headers only, to check sizes and pick the channel count
	// before decoding any pixels.
	// Images whose headers are not an image's are left out, with a note,
	// unless they are half or more of them (then something is wrong with
	// them all) or all of a class's; so are those whose pixels turn out
	// broken below.
	grays := 0
	head := bufio.NewReaderSize(nil, exifHead) // one for every header
	var unreadable []error
	readable := images[:0]
	for _, f := range images {
		cfg, o, err := readImageConfig(fsys, f.path, lim.Limits, b, head)
		if errors.As(err, new(unreadableImage)) {
			unreadable = append(unreadable, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		f.w, f.h, f.gray, f.orientation = cfg.Width, cfg.Height, isGrayModel(cfg.ColorModel), o
		if f.gray {
			grays++
		}
		readable = append(readable, f)
	}
	// enough says whether the images that could be read are enough to go
	// on with, and why not.
	enough := func(readable []imageFile) error {
		n := len(unreadable)
		if n == 0 {
			return nil
		}
		if 2*n >= n+len(readable) {
			return fmt.Errorf("%s: %d of %s could not be read (%s): are they %s files?", name, n, spec.Count(n+len(readable), "image"), unreadableList(unreadable), ImageFormats)
		}
		has := make([]bool, len(d.Classes))
		for _, f := range readable {
			has[f.label] = has[f.label] || !f.test
		}
		for c, ok := range has {
			if !ok {
				return fmt.Errorf("%s: class %s has no training image that could be read (%s)", name, d.Classes[c], unreadableList(unreadable))
			}
		}
		return nil
	}
	if err := enough(readable); err != nil {
		return nil, err
	}
	images = readable
	d.C = 3
	if 2*grays > len(images) {
		d.C = 1
	}
	// The most common shape among the training images wins, the first
	// image's among equals: a phone's photos are mostly of one shape, the
	// few held the other way cropped to it, whichever comes first.
	shape := images[0]
	counts := map[[2]int]int{}
	best := 0
	for _, f := range images {
		if f.test {
			continue
		}
		k := [2]int{f.w, f.h}
		if counts[k]++; counts[k] > best {
			shape, best = f, counts[k]
		}
	}
	if side := lim.imageSide; side != 0 && (side < spec.MinImageSide || side > spec.MaxImageSide) {
		return nil, fmt.Errorf("%s: data.image_side %d must be between %d and %d pixels, or 0 to scale images larger than %d down to %d", name, side, spec.MinImageSide, spec.MaxImageSide, DefaultImageSide, DefaultImageSide)
	}
	d.H, d.W = scaledShape(shape.h, shape.w, lim.imageSide)
	size := int64(d.H * d.W * d.C)
	if size*int64(len(images)) > lim.MaxBytes {
		return nil, fmt.Errorf("%s: %s images of %d×%d×%d would need more than the limit of %s", name, spec.Thousands(len(images)), d.H, d.W, d.C, byteCount(lim.MaxBytes))
	}
	var train, test []imageFile
	for _, f := range images {
		if f.test {
			test = append(test, f)
		} else {
			train = append(train, f)
		}
	}
	// The images are decoded on the cores there are (photos take a tenth
	// of a second or more each), at most maxDecoders at once, or by the
	// decoders elsewhere that lim.decoders gives for a dataset of large
	// images; each into its own place, the first error in the split's
	// order the one said.
	local := func(dst []uint8, raw []byte, job ImageJob) error { return DecodeImage(dst, raw, job, &lim.Limits) }
	decoders := make([]ImageDecoder, min(runtime.GOMAXPROCS(0), maxDecoders))
	for i := range decoders {
		decoders[i] = local
	}
	var pixels int64
	for _, f := range images {
		pixels += int64(f.w) * int64(f.h)
	}
	remote := false
	if lim.decoders != nil && pixels >= remoteDecodePixels {
		elsewhere, release := lim.decoders()
		if release != nil {
			defer release()
		}
		if len(elsewhere) > 0 {
			decoders, remote = elsewhere, true
		}
	}
	dead := make([]atomic.Bool, len(decoders)) // decoders elsewhere that failed
	var (
		mu   sync.Mutex // done and the progress calls
		done int
	)
	// decodeSplit decodes list's images into a split; those whose pixels
	// cannot be decoded (a file cut short) are left out, and it gives back
	// the images kept.
	decodeSplit := func(list []imageFile) (Split, []imageFile, error) {
		s := Split{Images: make([]uint8, len(list)*int(size)), Labels: make([]int32, len(list))}
		for i, f := range list {
			s.Labels[i] = f.label
		}
		errs := make([]error, len(list))
		var next atomic.Int64
		var failed atomic.Bool
		var wg sync.WaitGroup
		for k, decode := range decoders[:min(len(decoders), len(list))] {
			wg.Go(func() {
				if dead[k].Load() {
					decode = local
				}
				for !failed.Load() {
					i := int(next.Add(1) - 1)
					if i >= len(list) {
						return
					}
					f := list[i]
					raw, err := readFile(fsys, f.path, lim.Limits, b)
					if err == nil {
						// Turned as the first pass read its header, which
						// gave the shapes.
						job := ImageJob{Path: f.path, Orientation: f.orientation, H: d.H, W: d.W, C: d.C}
						dst := s.Images[i*int(size) : (i+1)*int(size)]
						if err = decode(dst, raw, job); err != nil && remote && !dead[k].Swap(true) {
							// A decoder elsewhere failed (its worker
							// died, or never started): this one decodes
							// the image, and those after it, and says
							// what is wrong with the file, if anything.
							decode = local
							err = local(dst, raw, job)
						}
					}
					if err != nil {
						errs[i] = err
						if !errors.As(err, new(unreadableImage)) {
							failed.Store(true)
							return
						}
					}
					mu.Lock()
					if done++; lim.progress != nil {
						lim.progress(done, len(images))
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil && !errors.As(err, new(unreadableImage)) {
				return Split{}, nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		// Close the gaps the images left out leave.
		var kept []imageFile
		for i, f := range list {
			if errs[i] != nil {
				unreadable = append(unreadable, errs[i])
				continue
			}
			if j := len(kept); j != i {
				copy(s.Images[j*int(size):(j+1)*int(size)], s.Images[i*int(size):(i+1)*int(size)])
				s.Labels[j] = s.Labels[i]
			}
			kept = append(kept, f)
		}
		s.Images, s.Labels = s.Images[:len(kept)*int(size)], s.Labels[:len(kept)]
		return s, kept, nil
	}
	var err error
	var keptTrain, keptTest []imageFile
	if d.Train, keptTrain, err = decodeSplit(train); err != nil {
		return nil, err
	}
	if d.Test, keptTest, err = decodeSplit(test); err != nil {
		return nil, err
	}
	images = append(keptTrain, keptTest...)
	if err := enough(images); err != nil {
		return nil, err
	}
	resized, cropped, converted, turned := 0, 0, 0, 0
	for _, f := range images {
		if f.w != d.W || f.h != d.H {
			resized++
		}
		if _, _, cw, ch := centreCrop(f.w, f.h, d.W, d.H); cw != f.w || ch != f.h {
			cropped++
		}
		if f.gray != (d.C == 1) {
			converted++
		}
		if f.orientation > 1 {
			turned++
		}
	}

	if !hasTrain {
		d.Notes = append(d.Notes, fmt.Sprintf("no train/ and test/ folders: every %dth image of each class is held out for test", testEvery))
	}
	if resized > 0 {
		note := fmt.Sprintf("resized %s to %d×%d", spec.Count(resized, "image"), d.H, d.W)
		if d.H != shape.h || d.W != shape.w {
			were := "they were"
			if cropped > 0 {
				were = "most were"
			}
			if lim.imageSide == 0 {
				note += fmt.Sprintf(" (%s %d×%d: images larger than %d pixels on their longer side are scaled down to it; data.image_side chooses another size)", were, shape.h, shape.w, DefaultImageSide)
			} else {
				note += fmt.Sprintf(" (%s %d×%d; data.image_side %d)", were, shape.h, shape.w, lim.imageSide)
			}
		}
		if cropped > 0 {
			note += fmt.Sprintf(", %s of another shape first cropped to it at the centre", spec.Count(cropped, "image"))
		}
		d.Notes = append(d.Notes, note)
	}
	if turned > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("turned %s upright, as their EXIF orientation says a camera held them", spec.Count(turned, "image")))
	}
	if converted > 0 {
		kind := "RGB"
		if d.C == 1 {
			kind = "grayscale"
		}
		d.Notes = append(d.Notes, fmt.Sprintf("converted %s to %s", spec.Count(converted, "image"), kind))
	}
	if ignored > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("ignored %s images outside train/ and test/", spec.Thousands(ignored)))
	}
	if len(other) > 0 {
		d.Notes = append(d.Notes, skippedNote(other))
	}
	if len(unreadable) > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("skipped %s that could not be read (%s)", spec.Count(len(unreadable), "image"), unreadableList(unreadable)))
	}
	return &d, nil
}

func openLimited(fsys fs.FS, p string, lim Limits, b *budget) (io.ReadCloser, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.Size() > lim.MaxFileBytes {
		f.Close()
		return nil, fmt.Errorf("%s holds %s, more than the limit of %s per file", p, byteCount(st.Size()), byteCount(lim.MaxFileBytes))
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(b.wrap(f), lim.MaxFileBytes), f}, nil
}

// readImageConfig reads an image's header: its size as shown (turned
// upright by its EXIF orientation, which it returns too) and colour model.
// br, of exifHead bytes, is reused from image to image.
func readImageConfig(fsys fs.FS, p string, lim Limits, b *budget, br *bufio.Reader) (image.Config, int, error) {
	f, err := openLimited(fsys, p, lim, b)
	if err != nil {
		return image.Config{}, 0, err
	}
	defer f.Close()
	br.Reset(f)
	defer br.Reset(nil)          // holds no file between images
	head, _ := br.Peek(exifHead) // all of a shorter file
	o := jpegOrientation(head)
	cfg, _, err := image.DecodeConfig(br)
	if err != nil {
		if b == nil || b.left.Load() >= 0 {
			if what := sniffNonImage(head); what != "" {
				err = errors.New(what)
			}
			err = unreadableImage{err}
		}
		return image.Config{}, 0, fmt.Errorf("%s: %w", p, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > lim.MaxImageSide || cfg.Height > lim.MaxImageSide {
		return image.Config{}, 0, fmt.Errorf("%s: image is %d×%d; the limit is %d on each side", p, cfg.Width, cfg.Height, lim.MaxImageSide)
	}
	cfg.Width, cfg.Height = orientedSize(cfg.Width, cfg.Height, o)
	return cfg, o, nil
}

// unreadableImage is the error of an image file that cannot be decoded:
// its header is not an image's (an empty file, a web page or a HEIC photo
// saved as .jpg), or its pixels are cut short or broken. A folder of
// images leaves it out with a note, unless such files are half or more of
// its images or all of a class's.
type unreadableImage struct{ err error }

func (u unreadableImage) Error() string { return u.err.Error() }
func (u unreadableImage) Unwrap() error { return u.err }

// sniffNonImage names what a file that is not an image it can read seems
// to be, from its first bytes: an empty file, a HEIC or AVIF photo, a web
// page; "" when it cannot tell.
func sniffNonImage(head []byte) string {
	switch {
	case len(head) == 0:
		return "an empty file"
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		switch string(head[8:12]) {
		case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1":
			return "a HEIC photo"
		case "avif", "avis":
			return "an AVIF photo"
		}
	}
	if t := strings.ToLower(strings.TrimSpace(string(head[:min(len(head), 64)]))); strings.HasPrefix(t, "<!doctype html") || strings.HasPrefix(t, "<html") {
		return "a web page"
	}
	return ""
}

// unreadableList names the first three images left out for their headers,
// with why.
func unreadableList(errs []error) string {
	var list []string
	for _, err := range errs[:min(len(errs), 3)] {
		list = append(list, err.Error())
	}
	if len(errs) > 3 {
		list = append(list, "…")
	}
	return strings.Join(list, "; ")
}

// readFile reads one file whole, at most MaxFileBytes.
func readFile(fsys fs.FS, p string, lim Limits, b *budget) ([]byte, error) {
	f, err := openLimited(fsys, p, lim, b)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return raw, nil
}

// An ImageJob is one image of a dataset of image files to decode, and where
// it goes: what an ImageDecoder is given beside the file's bytes.
type ImageJob struct {
	// Path is the file's path in the dataset, for messages.
	Path string `json:"path"`
	// Orientation is its EXIF orientation (1–8) as its header said.
	Orientation int `json:"orientation"`
	// H, W and C are the dataset's image shape.
	H int `json:"h"`
	W int `json:"w"`
	C int `json:"c"`
}

// An ImageDecoder decodes an image file's bytes into dst (job.H×job.W×
// job.C) as DecodeImage does, blocking until it is done; one call at a
// time.
type ImageDecoder func(dst []uint8, raw []byte, job ImageJob) error

// DecodeImage decodes an image file's bytes into dst (job.H×job.W×job.C):
// turned upright by job.Orientation, its channels converted, cropped at
// the centre to the shape and scaled to it, as the images of a dataset
// are. Its header is checked against lim (nil: DefaultLimits) before
// anything is decoded: the file may have changed since it was first read,
// and the check is what keeps a forged header from allocating gigabytes.
func DecodeImage(dst []uint8, raw []byte, job ImageJob, lim *Limits) error {
	if n := job.H * job.W * job.C; job.H <= 0 || job.W <= 0 || (job.C != 1 && job.C != 3) || len(dst) != n {
		return fmt.Errorf("%s: cannot decode into %d bytes as %d×%d×%d", job.Path, len(dst), job.H, job.W, job.C)
	}
	l := lim.withDefaults()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%s: %w", job.Path, unreadableImage{err})
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > l.MaxImageSide || cfg.Height > l.MaxImageSide {
		return fmt.Errorf("%s: image is %d×%d; the limit is %d on each side", job.Path, cfg.Width, cfg.Height, l.MaxImageSide)
	}
	var img image.Image
	if scale := jpegScale(cfg.Width, cfg.Height, job); format == "jpeg" && scale > 1 {
		img, err = jpeg.Decode(bytes.NewReader(raw), scale)
	} else {
		img, _, err = image.Decode(bytes.NewReader(raw))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", job.Path, unreadableImage{err})
	}
	putImage(dst, img, job.Orientation, job.H, job.W, job.C)
	return nil
}

// jpegScale is how much smaller than stored a JPEG of w×h is decoded to
// be scaled to job's shape: by 8 when its crop is 16 or more times the
// shape on each side, by 4 when 8 or more, by 2 when 4 or more, else
// whole. Smaller by 8, each 8×8 block is decoded as its mean, skipping the
// inverse DCT; by 4 or 2, as the means of its 4×4 quarters or its 2×2
// cells, from 25 or 49 of its coefficients; either way with 64, 16 or 4
// times fewer pixels to convert and average. The averages differ from the
// full decoding's only where such a cell straddles an output pixel's
// edge, which then takes its mean for the part it covers (and where the
// full decoding clips a pixel): at these factors each output pixel covers
// two cells or more a side, and colour subsampled by 2, as most photos
// have it, still has a sample or more for each.
func jpegScale(w, h int, job ImageJob) int {
	ow, oh := orientedSize(w, h, job.Orientation)
	_, _, cw, ch := centreCrop(ow, oh, job.W, job.H)
	for _, s := range []int{8, 4, 2} {
		if cw >= 2*s*job.W && ch >= 2*s*job.H {
			return s
		}
	}
	return 1
}

// isGrayModel reports whether images of the colour model hold only gray.
func isGrayModel(m color.Model) bool {
	switch m {
	case color.GrayModel, color.Gray16Model:
		return true
	}
	if p, ok := m.(color.Palette); ok {
		for _, c := range p {
			r, g, b, _ := c.RGBA()
			if r != g || g != b {
				return false
			}
		}
		return len(p) > 0
	}
	return false
}

// maxDecoders bounds the images decoded at once: each may hold a photo's
// pixels, 48 MB for 12 megapixels in RGBA.
const maxDecoders = 8

// DefaultImageSide is the longest side the images of a dataset of image
// files keep unless told otherwise (spec.Data.ImageSide): larger ones,
// photos for one, are scaled down to it, which a CNN trained in a browser
// can take.
const DefaultImageSide = 64

// scaledShape is the shape h×w scaled so that its longer side is side, or,
// for side 0, at most DefaultImageSide.
func scaledShape(h, w, side int) (int, int) {
	long := max(h, w)
	if side == 0 {
		if long <= DefaultImageSide {
			return h, w
		}
		side = DefaultImageSide
	}
	if long == side {
		return h, w
	}
	f := float64(side) / float64(long)
	return max(1, int(math.Round(float64(h)*f))), max(1, int(math.Round(float64(w)*f)))
}

// centreCrop is the largest rectangle at the centre of a sw×sh image
// (x0, y0, its width and height) with the shape of w×h, to a pixel.
func centreCrop(sw, sh, w, h int) (x0, y0, cw, ch int) {
	cw, ch = sw, sh
	if sw*h > sh*w { // wider than the target
		cw = max(1, int(math.Round(float64(sh)*float64(w)/float64(h))))
	} else if sw*h < sh*w {
		ch = max(1, int(math.Round(float64(sw)*float64(h)/float64(w))))
	}
	return (sw - cw) / 2, (sh - ch) / 2, cw, ch
}

// putImage writes img, as stored, into dst (h×w×c) as its EXIF orientation
// o shows it: turned upright, its channels converted, cropped at the
// centre to h×w's shape and scaled to it, down by averaging and up
// bilinearly. An image scaled down, a photo for one, is read a row at a
// time as stored and turned once small, which gives the same pixels as
// turning it first (the box filter is the same mirrored or transposed, and
// its sums are whole numbers), without a copy of it at full size.
func putImage(dst []uint8, img image.Image, o, h, w, c int) {
	if o < 1 || o > 8 {
		o = 1
	}
	b := img.Bounds()
	ow, oh := orientedSize(b.Dx(), b.Dy(), o)
	x0, y0, cw, ch := centreCrop(ow, oh, w, h)
	if cw < w || ch < h || (cw == w && ch == h) {
		// Scaled up or kept: a small image, turned first.
		if o > 1 {
			img = orient(img, o)
			b = img.Bounds()
		}
		rows := newRowReader(img, image.Rect(x0, y0, x0+cw, y0+ch).Add(b.Min), c)
		if cw == w && ch == h {
			for y := range h {
				copy(dst[y*w*c:(y+1)*w*c], rows.row(y))
			}
			return
		}
		src := make([]uint8, cw*ch*c)
		for y := range ch {
			copy(src[y*cw*c:(y+1)*cw*c], rows.row(y))
		}
		resizeBilinear(dst, src, ch, cw, h, w, c)
		return
	}
	// The crop as stored, scaled to h×w as stored, then turned.
	ax, ay := storedAt(x0, y0, b.Dx(), b.Dy(), o)
	bx, by := storedAt(x0+cw-1, y0+ch-1, b.Dx(), b.Dy(), o)
	crop := image.Rect(min(ax, bx), min(ay, by), max(ax, bx)+1, max(ay, by)+1).Add(b.Min)
	rows := newRowReader(img, crop, c)
	if o == 1 {
		scaleArea(dst, rows.row, crop.Dy(), crop.Dx(), h, w, c)
		return
	}
	sw, sh := orientedSize(w, h, o) // o turns a quarter both ways
	small := make([]uint8, sw*sh*c)
	scaleArea(small, rows.row, crop.Dy(), crop.Dx(), sh, sw, c)
	orientPix(dst, small, sw, sh, c, o)
}

// rowReader reads a rectangle of an image a row at a time, as bytes of c
// channels: gray copied to RGB, colour to gray by luma with the weights
// and rounding of color.GrayModel, alpha dropped (premultiplied, so
// transparent pixels are black).
type rowReader struct {
	img  image.Image
	r    image.Rectangle
	c    int
	rgba *image.RGBA // one row
	buf  []uint8
}

func newRowReader(img image.Image, r image.Rectangle, c int) *rowReader {
	rr := &rowReader{img: img, r: r, c: c}
	if _, ok := img.(*image.Gray); !ok || c != 1 {
		rr.rgba = image.NewRGBA(image.Rect(0, 0, r.Dx(), 1))
		rr.buf = make([]uint8, r.Dx()*c)
	}
	return rr
}

// row is row y of the rectangle, valid until the next call.
func (rr *rowReader) row(y int) []uint8 {
	if rr.rgba == nil {
		g := rr.img.(*image.Gray)
		o := g.PixOffset(rr.r.Min.X, rr.r.Min.Y+y)
		return g.Pix[o : o+rr.r.Dx()]
	}
	// draw.Draw has fast paths into RGBA for the common source types.
	draw.Draw(rr.rgba, rr.rgba.Rect, rr.img, image.Pt(rr.r.Min.X, rr.r.Min.Y+y), draw.Src)
	px := rr.rgba.Pix
	if rr.c == 1 {
		for i := range rr.buf {
			r, g, b := uint32(px[4*i]), uint32(px[4*i+1]), uint32(px[4*i+2])
			rr.buf[i] = uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 16)
		}
		return rr.buf
	}
	for i := 0; i < len(rr.buf); i += 3 {
		p := px[i/3*4 : i/3*4+3 : i/3*4+3]
		q := rr.buf[i : i+3 : i+3]
		q[0], q[1], q[2] = p[0], p[1], p[2]
	}
	return rr.buf
}

// scaleArea scales an sh×sw×c image, whose rows row gives, down to dst
// (h×w×c): each output pixel is the mean of the source pixels its
// footprint covers, those cut by its edges weighted by the part covered
// (a box filter, which keeps the fine detail of a photo from aliasing as
// point sampling would). The sums are exact integers, rounded once at the
// end.
func scaleArea(dst []uint8, row func(y int) []uint8, sh, sw, h, w, c int) {
	cols, rows := areaTaps(sw, w), areaTaps(sh, h)
	mid := make([]uint32, w*c) // one source row scaled along x
	acc := make([]uint64, w*c)
	den := uint64(sw) * uint64(sh) // the weights' sums: sw along x, sh along y
	last := -1
	for y, taps := range rows {
		clear(acc)
		for _, t := range taps {
			if t.at != last {
				scaleRow(mid, row(t.at), cols, c)
				last = t.at
			}
			wt := uint64(t.weight)
			for i, v := range mid {
				acc[i] += wt * uint64(v)
			}
		}
		out := dst[y*w*c : (y+1)*w*c]
		for i, v := range acc {
			out[i] = uint8((v + den/2) / den)
		}
	}
}

// scaleRow sums each output pixel's taps of a source row.
func scaleRow(mid []uint32, row []uint8, cols [][]tap, c int) {
	if c == 3 {
		for x, taps := range cols {
			var r, g, b uint32
			for _, t := range taps {
				p := row[3*t.at : 3*t.at+3 : 3*t.at+3]
				r += t.weight * uint32(p[0])
				g += t.weight * uint32(p[1])
				b += t.weight * uint32(p[2])
			}
			m := mid[3*x : 3*x+3 : 3*x+3]
			m[0], m[1], m[2] = r, g, b
		}
		return
	}
	for x, taps := range cols {
		for k := 0; k < c; k++ {
			var s uint32
			for _, t := range taps {
				s += t.weight * uint32(row[t.at*c+k])
			}
			mid[x*c+k] = s
		}
	}
}

// tap is one source pixel's weight in an output pixel.
type tap struct {
	at     int
	weight uint32
}

// areaTaps lists, for each of n output pixels along an axis of m ≥ n
// source pixels, the source pixels its footprint covers and how much of
// it: in units of 1/n of a source pixel, output i covers [i·m, (i+1)·m)
// and source pixel j [j·n, (j+1)·n), so the weights are whole and each
// output's sum to m.
func areaTaps(m, n int) [][]tap {
	out := make([][]tap, n)
	for i := range out {
		lo, hi := i*m, (i+1)*m
		for j := lo / n; j < m && j*n < hi; j++ {
			if cover := min(hi, (j+1)*n) - max(lo, j*n); cover > 0 {
				out[i] = append(out[i], tap{j, uint32(cover)})
			}
		}
	}
	return out
}

// resizeBilinear scales src (sh×sw×c) to dst (h×w×c), sampling at pixel
// centres and clamping at the edges.
func resizeBilinear(dst, src []uint8, sh, sw, h, w, c int) {
	sy := float64(sh) / float64(h)
	sx := float64(sw) / float64(w)
	for y := 0; y < h; y++ {
		fy := max((float64(y)+0.5)*sy-0.5, 0)
		y0 := min(int(fy), sh-1)
		y1 := min(y0+1, sh-1)
		wy := fy - float64(y0)
		for x := 0; x < w; x++ {
			fx := max((float64(x)+0.5)*sx-0.5, 0)
			x0 := min(int(fx), sw-1)
			x1 := min(x0+1, sw-1)
			wx := fx - float64(x0)
			for k := 0; k < c; k++ {
				a := float64(src[(y0*sw+x0)*c+k])*(1-wx) + float64(src[(y0*sw+x1)*c+k])*wx
				bb := float64(src[(y1*sw+x0)*c+k])*(1-wx) + float64(src[(y1*sw+x1)*c+k])*wx
				dst[(y*w+x)*c+k] = uint8(a*(1-wy) + bb*wy + 0.5)
			}
		}
	}
}
