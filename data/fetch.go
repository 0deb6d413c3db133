package data

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// RemoteFile is one file of a dataset's official release and its MD5.
type RemoteFile struct {
	Name string
	MD5  string
}

// Source is where Fetch downloads a registry dataset from: BaseURL + Name
// for each file.
type Source struct {
	BaseURL string
	Files   []RemoteFile
	// Package is a Debian package that installs the files, for a machine
	// that cannot download them ("" for none).
	Package string
}

// Sources are the official downloads of the registry datasets with their
// published checksums. Tests point BaseURL at a local server.
var Sources = map[string]Source{
	MNIST: {
		BaseURL: "https://storage.googleapis.com/cvdf-datasets/mnist/",
		Files: []RemoteFile{
			{"train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
			{"train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"},
			{"t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"},
			{"t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"},
		},
	},
	FashionMNIST: {
		BaseURL: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
		Files: []RemoteFile{
			{"train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
			{"train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"},
			{"t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"},
			{"t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"},
		},
		Package: "dataset-fashion-mnist",
	},
	CIFAR10: {
		BaseURL: "https://www.cs.toronto.edu/~kriz/",
		Files: []RemoteFile{
			{"cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"},
		},
	},
}

// maxDownload bounds one downloaded file (the CIFAR-10 archive is 163 MiB).
const maxDownload = 1 << 30

// Fetch downloads a registry dataset's official files into
// <dataDir>/<name>/ (dataDir "" means DefaultDataDir()), checking each
// file's MD5. Files already there with the right checksum are kept. Each
// file is written to a temporary file in the same folder and renamed when
// complete and verified, so an interrupted download never leaves a file
// that Load would read. progress, when not nil, is called with the bytes
// done and the total so far (the total grows as each file's size becomes
// known; it is -1 while none is).
func Fetch(name, dataDir string, progress func(done, total int64)) error {
	key := canonical(name)
	src, ok := Sources[key]
	if !ok {
		return fmt.Errorf("no download known for dataset %q; the registry has %s", name, strings.Join(Names, ", "))
	}
	if dataDir == "" {
		dataDir = DefaultDataDir()
	}
	dir := filepath.Join(dataDir, key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("fetch %s: %w", key, err)
	}
	p := &fetchProgress{report: progress, total: -1}
	for _, f := range src.Files {
		dst := filepath.Join(dir, f.Name)
		if sum, err := fileMD5(dst); err == nil && sum == f.MD5 {
			continue
		}
		if err := download(dst, src.BaseURL+f.Name, f.MD5, p); err != nil {
			return fmt.Errorf("fetch %s: %w (%s)", key, err, src.byHand(key, dir))
		}
	}
	return nil
}

// byHand says how to get a dataset whose download failed: its files put
// in dir by hand, or its Debian package.
func (src Source) byHand(key, dir string) string {
	names := make([]string, len(src.Files))
	for i, f := range src.Files {
		names[i] = f.Name
	}
	hint := fmt.Sprintf("without a connection to %s, put %s in %s by hand", src.BaseURL, strings.Join(names, ", "), dir)
	if src.Package != "" {
		hint += fmt.Sprintf(", or install them with apt-get install %s", src.Package)
	}
	return hint
}

type fetchProgress struct {
	report      func(done, total int64)
	done, total int64
}

func (p *fetchProgress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.report != nil {
		p.report(p.done, p.total)
	}
	return len(b), nil
}

func fileMD5(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func download(dst, url, wantMD5 string, p *fetchProgress) (err error) {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if resp.ContentLength > maxDownload {
		return fmt.Errorf("GET %s: %s is more than the limit of %s", url, byteCount(resp.ContentLength), byteCount(maxDownload))
	}
	if resp.ContentLength >= 0 {
		p.total = max(p.total, 0) + resp.ContentLength
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".*.part")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(tmp, h, p), io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return fmt.Errorf("GET %s: after %s: %w", url, byteCount(n), err)
	}
	if n > maxDownload {
		return fmt.Errorf("GET %s: more than the limit of %s", url, byteCount(maxDownload))
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("GET %s: download truncated: expected %s, got %s", url, byteCount(resp.ContentLength), byteCount(n))
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != wantMD5 {
		return fmt.Errorf("GET %s: MD5 of the download is %s, want %s (%s received); the download is damaged or the file changed upstream", url, sum, wantMD5, byteCount(n))
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
