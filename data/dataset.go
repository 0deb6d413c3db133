package data

import (
	"fmt"
	"strings"

	"plateau/spec"
)

// Dataset is a labelled image dataset held as uint8 pixels, NHWC.
type Dataset struct {
	Name    string
	Classes []string // class names; label k is Classes[k]
	H, W, C int
	Train   Split
	Test    Split
	// Source says where the dataset was read from (a folder, an archive).
	Source string
	// Notes says what a decoder found that differs from the official
	// release or needed fixing: fewer batches, resized images, a split made
	// up because the folder had none.
	Notes []string
	// FromImages says the dataset was read from image files (PNG, JPEG, …), whose
	// size LoadOptions.ImageSide (spec.Data.ImageSide) chooses.
	FromImages bool
}

// Split is one part of a dataset: Len() images of H×W×C bytes each,
// interleaved channels (NHWC), and one label per image.
type Split struct {
	Images []uint8
	Labels []int32
}

// Len returns the number of examples.
func (s Split) Len() int { return len(s.Labels) }

// Summary describes the dataset in one line, e.g.
// "cifar-10: 2,000 train and 1,000 test images, 32×32×3, 10 classes (from 1 of 5 batches)".
func (d *Dataset) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s train and %s test images, %d×%d×%d, %d classes",
		d.Name, spec.Thousands(d.Train.Len()), spec.Thousands(d.Test.Len()), d.H, d.W, d.C, len(d.Classes))
	if len(d.Notes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(d.Notes, "; "))
	}
	return b.String()
}

// limit keeps the first n examples of s (all when n <= 0 or n >= Len). The
// result owns fresh storage so the rest of a large split can be collected.
func (s Split) limit(n, imageSize int) Split {
	if n <= 0 || n >= s.Len() {
		return s
	}
	return Split{
		Images: append([]uint8(nil), s.Images[:n*imageSize]...),
		Labels: append([]int32(nil), s.Labels[:n]...),
	}
}

// applyLimits applies TrainLimit and TestLimit and records what they cut.
func (d *Dataset) applyLimits(opt LoadOptions) {
	size := d.H * d.W * d.C
	if opt.TrainLimit > 0 && opt.TrainLimit < d.Train.Len() {
		d.Notes = append(d.Notes, fmt.Sprintf("kept the first %s of %s training images", spec.Thousands(opt.TrainLimit), spec.Thousands(d.Train.Len())))
		d.Train = d.Train.limit(opt.TrainLimit, size)
	}
	if opt.TestLimit > 0 && opt.TestLimit < d.Test.Len() {
		d.Notes = append(d.Notes, fmt.Sprintf("kept the first %s of %s test images", spec.Thousands(opt.TestLimit), spec.Thousands(d.Test.Len())))
		d.Test = d.Test.limit(opt.TestLimit, size)
	}
}

// check verifies the invariants every decoder promises, so a bug in one
// shows up as an error rather than an index panic later in training.
func (d *Dataset) check() error {
	if d.H <= 0 || d.W <= 0 || d.C <= 0 {
		return fmt.Errorf("%s: image size %d×%d×%d is empty", d.Name, d.H, d.W, d.C)
	}
	if len(d.Classes) == 0 {
		return fmt.Errorf("%s: no classes", d.Name)
	}
	size := d.H * d.W * d.C
	for _, p := range []struct {
		name string
		s    Split
	}{{"train", d.Train}, {"test", d.Test}} {
		if len(p.s.Images) != p.s.Len()*size {
			return fmt.Errorf("%s: %s split has %d bytes of pixels for %d images of %d bytes", d.Name, p.name, len(p.s.Images), p.s.Len(), size)
		}
		for i, l := range p.s.Labels {
			if l < 0 || int(l) >= len(d.Classes) {
				return fmt.Errorf("%s: %s label %d of image %d is outside 0..%d", d.Name, p.name, l, i, len(d.Classes)-1)
			}
		}
	}
	if d.Train.Len() == 0 {
		return fmt.Errorf("%s: no training images", d.Name)
	}
	return nil
}

// byteCount formats a size for error messages: 47040000 → "47,040,000 bytes".
func byteCount(n int64) string {
	if n == 1 {
		return "1 byte"
	}
	return spec.Thousands(int(n)) + " bytes"
}
