package data

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeSource serves files for a fake "mnist" release; broken names a file
// the server mangles: "404", "truncate" (promises more than it sends) or
// "corrupt" (sends other bytes).
func fakeSource(t *testing.T, files map[string][]byte, broken map[string]string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/files/")
		b, ok := files[name]
		if !ok || broken[name] == "404" {
			http.NotFound(w, r)
			return
		}
		switch broken[name] {
		case "truncate":
			w.Header().Set("Content-Length", strconv.Itoa(len(b)+100))
		case "corrupt":
			b = append([]byte("x"), b[1:]...)
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	saved := Sources[MNIST]
	t.Cleanup(func() { Sources[MNIST] = saved })
	src := Source{BaseURL: srv.URL + "/files/"}
	for _, f := range saved.Files {
		sum := md5.Sum(files[f.Name])
		src.Files = append(src.Files, RemoteFile{f.Name, hex.EncodeToString(sum[:])})
	}
	Sources[MNIST] = src
}

func fixtureIDXFiles() map[string][]byte {
	return map[string][]byte{
		"train-images-idx3-ubyte.gz": gzipBytes(encodeIDX([]int{7, idxH, idxW}, idxImages(7, 0))),
		"train-labels-idx1-ubyte.gz": gzipBytes(encodeIDX([]int{7}, idxLabels(7, 0))),
		"t10k-images-idx3-ubyte.gz":  gzipBytes(encodeIDX([]int{4, idxH, idxW}, idxImages(4, 50))),
		"t10k-labels-idx1-ubyte.gz":  gzipBytes(encodeIDX([]int{4}, idxLabels(4, 50))),
	}
}

func TestFetch(t *testing.T) {
	files := fixtureIDXFiles()
	t.Run("success", func(t *testing.T) {
		fakeSource(t, files, nil)
		dir := t.TempDir()
		var last, total int64
		if err := Fetch("MNIST", dir, func(done, tot int64) { last, total = done, tot }); err != nil {
			t.Fatal(err)
		}
		var want int64
		for _, b := range files {
			want += int64(len(b))
		}
		if last != want || total != want {
			t.Errorf("progress ended at %d of %d, want %d of %d", last, total, want, want)
		}
		d, err := Load(MNIST, LoadOptions{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if d.Train.Len() != 7 || d.Name != MNIST || d.Source != filepath.Join(dir, MNIST) {
			t.Errorf("loaded %s from %s", d.Summary(), d.Source)
		}
		// A second fetch finds the files and downloads nothing.
		called := false
		if err := Fetch(MNIST, dir, func(int64, int64) { called = true }); err != nil || called {
			t.Errorf("second fetch: err %v, downloaded %v", err, called)
		}
	})
	for _, tt := range []struct{ mode, want string }{
		{"404", "404 Not Found"},
		{"truncate", "unexpected EOF"},
		{"corrupt", "MD5 of the download is"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			fakeSource(t, files, map[string]string{"t10k-images-idx3-ubyte.gz": tt.mode})
			dir := t.TempDir()
			err := Fetch(MNIST, dir, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
			if byHand := "put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz in " + filepath.Join(dir, MNIST) + " by hand"; !strings.Contains(err.Error(), byHand) {
				t.Errorf("err = %v, want it to say how to put the files there by hand", err)
			}
			entries, _ := os.ReadDir(filepath.Join(dir, MNIST))
			for _, e := range entries {
				if e.Name() == "t10k-images-idx3-ubyte.gz" || strings.HasSuffix(e.Name(), ".part") {
					t.Errorf("left %s behind", e.Name())
				}
			}
		})
	}
	t.Run("load with fetch", func(t *testing.T) {
		fakeSource(t, files, nil)
		t.Setenv("GOMODCACHE", t.TempDir())
		d, err := Load(MNIST, LoadOptions{DataDir: t.TempDir(), Fetch: true})
		if err != nil || d.Test.Len() != 4 {
			t.Errorf("Load with Fetch: %v", err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if err := Fetch("imagenet", t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "no download known") {
			t.Errorf("err = %v", err)
		}
	})
}
