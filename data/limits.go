package data

// Limits bound what a decoder will read and allocate, so a hostile or broken
// file (a zip bomb, a header claiming billions of images) fails with an error
// instead of exhausting memory. The zero value of a field means its default.
type Limits struct {
	// MaxBytes bounds the decoded pixels of a dataset and of one IDX array
	// (default 2 GiB).
	MaxBytes int64
	// MaxArchiveBytes bounds the uncompressed bytes read from one archive
	// (zip, tar, tar.gz), all members together (default 1 GiB).
	MaxArchiveBytes int64
	// MaxFileBytes bounds one archive member or one image file
	// (default 256 MiB; a full CIFAR-10 batch is 30 MiB).
	MaxFileBytes int64
	// MaxRatio bounds the compression ratio of a zip member larger than
	// 1 MiB (default 100; images and IDX files compress far less).
	MaxRatio int64
	// MaxFiles bounds the members of an archive and the files of a folder
	// (default 1,000,000).
	MaxFiles int
	// MaxImageSide bounds the width and height of one image (default 4096).
	MaxImageSide int
}

// DefaultLimits are the limits used when LoadOptions.Limits is nil.
var DefaultLimits = Limits{
	MaxBytes:        2 << 30,
	MaxArchiveBytes: 1 << 30,
	MaxFileBytes:    256 << 20,
	MaxRatio:        100,
	MaxFiles:        1_000_000,
	MaxImageSide:    4096,
}

// withDefaults fills unset fields from DefaultLimits.
func (l *Limits) withDefaults() Limits {
	var out Limits
	if l != nil {
		out = *l
	}
	d := DefaultLimits
	if out.MaxBytes <= 0 {
		out.MaxBytes = d.MaxBytes
	}
	if out.MaxArchiveBytes <= 0 {
		out.MaxArchiveBytes = d.MaxArchiveBytes
	}
	if out.MaxFileBytes <= 0 {
		out.MaxFileBytes = d.MaxFileBytes
	}
	if out.MaxRatio <= 0 {
		out.MaxRatio = d.MaxRatio
	}
	if out.MaxFiles <= 0 {
		out.MaxFiles = d.MaxFiles
	}
	if out.MaxImageSide <= 0 {
		out.MaxImageSide = d.MaxImageSide
	}
	return out
}
