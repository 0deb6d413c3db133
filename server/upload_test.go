package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"plateau/protocol"
)

// zipFolder zips the files under dir, paths relative to it.
func zipFolder(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A dataset file sent to the server lands in its data folder, where jobs
// train on it; a file that does not decode, a name that is taken, a name
// that is not a name and a file over the limit are refused with what to
// change, and leave nothing behind.
func TestUploadADataset(t *testing.T) {
	limits := defaultJobLimits
	limits.MaxDatasetSize = 1 << 20
	e := newJobsEnv(t, limits, "secret")
	src := t.TempDir()
	tinyImages(t, src, "mine", 20)
	archive := zipFolder(t, filepath.Join(src, "mine"))

	code, b := e.do("PUT", protocol.DatasetsPath+"/mine.zip", string(archive))
	var l protocol.Listing
	if json.Unmarshal(b, &l); code != http.StatusCreated || l.Name != "mine.zip" || l.Classes != 2 || l.TrainSize+l.TestSize != 40 {
		t.Fatalf("PUT: %d %s", code, b)
	}
	if got, _ := os.ReadFile(filepath.Join(e.dataDir, "mine.zip")); !bytes.Equal(got, archive) {
		t.Error("the data folder does not hold the file sent")
	}
	_, b = e.do("GET", protocol.DatasetsPath, "")
	if !strings.Contains(string(b), `"mine.zip"`) {
		t.Errorf("the listing does not show the new dataset: %s", b)
	}
	id := e.submit(`{"spec":` + tinySpec + `,"dataset":"mine.zip","epochs":2}`)
	if st := e.waitState(id, jobDone, jobFailed); st.State != jobDone || st.Result == nil || !(st.Result.TestAccuracy >= 0) {
		t.Errorf("a job on the sent dataset: %s, %s", st.State, st.Error)
	}

	// The same bytes again are the dataset already there.
	if code, b := e.do("PUT", protocol.DatasetsPath+"/mine.zip", string(archive)); code != http.StatusOK {
		t.Errorf("the same file again: %d %s", code, b)
	}
	tinyImages(t, src, "other", 15)
	for _, tt := range []struct {
		name, path string
		body       []byte
		code       int
		want       string
	}{
		{"taken name", "/mine.zip", zipFolder(t, filepath.Join(src, "other")), http.StatusConflict, "another dataset called mine.zip"},
		{"not a dataset", "/broken.zip", []byte("PK\x03\x04 not a zip"), http.StatusBadRequest, "not a dataset"},
		{"a path", "/..%2Fup.zip", archive, http.StatusBadRequest, `e.g. \"up.zip\"`},
		{"no format", "/photos", archive, http.StatusBadRequest, `e.g. \"photos.zip\"`},
		{"over the limit", "/big.zip", make([]byte, 2<<20), http.StatusRequestEntityTooLarge, "over this server's"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, b := e.do("PUT", protocol.DatasetsPath+tt.path, string(tt.body))
			if code != tt.code || !strings.Contains(string(b), tt.want) {
				t.Errorf("%d %s; want %d mentioning %s", code, b, tt.code, tt.want)
			}
		})
	}
	entries, _ := os.ReadDir(e.dataDir)
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	if strings.Join(names, " ") != ".plateau-jobs mine.zip tiny" {
		t.Errorf("the data folder holds %v; want the jobs, mine.zip and tiny", names)
	}

	e.token = "wrong"
	if code, _ := e.do("PUT", protocol.DatasetsPath+"/x.zip", string(archive)); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}
}

// A dataset file goes from the data folder with DELETE, unless a job that
// waits or runs trains on it; folders stay.
func TestDeleteADataset(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	src := t.TempDir()
	tinyImages(t, src, "mine", 20)
	archive := zipFolder(t, filepath.Join(src, "mine"))
	if code, b := e.do("PUT", protocol.DatasetsPath+"/mine.zip", string(archive)); code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", code, b)
	}
	id := e.submit(`{"spec":` + tinySpec + `,"dataset":"mine.zip","epochs":400}`)
	e.waitState(id, jobRunning)
	if code, b := e.do("DELETE", protocol.DatasetsPath+"/mine.zip", ""); code != http.StatusConflict || !strings.Contains(string(b), id) {
		t.Errorf("DELETE while a job trains on it: %d %s", code, b)
	}
	e.do("DELETE", "/api/jobs/"+id, "")
	e.waitState(id, jobCanceled)
	if code, b := e.do("DELETE", protocol.DatasetsPath+"/mine.zip", ""); code != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", code, b)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "mine.zip")); !os.IsNotExist(err) {
		t.Errorf("the file is still there: %v", err)
	}
	// Sent again after the delete, other bytes under the name are taken.
	tinyImages(t, src, "other", 15)
	if code, b := e.do("PUT", protocol.DatasetsPath+"/mine.zip", string(zipFolder(t, filepath.Join(src, "other")))); code != http.StatusCreated {
		t.Errorf("PUT after DELETE: %d %s", code, b)
	}
	for _, name := range []string{"tiny", "nosuch.zip", "..%2Fmine.zip"} {
		if code, _ := e.do("DELETE", protocol.DatasetsPath+"/"+name, ""); code != http.StatusNotFound {
			t.Errorf("DELETE %s: %d", name, code)
		}
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "tiny")); err != nil {
		t.Errorf("the folder dataset: %v", err)
	}
}

// With ?rename=1 a name taken by other bytes is numbered, and the same
// bytes sent again find the numbered copy.
func TestUploadRenames(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	src := t.TempDir()
	tinyImages(t, src, "one", 20)
	tinyImages(t, src, "two", 15)
	tinyImages(t, src, "three", 10)
	one, two, three := zipFolder(t, filepath.Join(src, "one")), zipFolder(t, filepath.Join(src, "two")), zipFolder(t, filepath.Join(src, "three"))
	for _, tt := range []struct {
		body []byte
		code int
		name string
	}{
		{one, http.StatusCreated, "data.zip"},
		{two, http.StatusCreated, "data-2.zip"},
		{three, http.StatusCreated, "data-3.zip"},
		{two, http.StatusOK, "data-2.zip"},
		{one, http.StatusOK, "data.zip"},
	} {
		code, b := e.do("PUT", protocol.DatasetsPath+"/data.zip?rename=1", string(tt.body))
		var l protocol.Listing
		json.Unmarshal(b, &l)
		if code != tt.code || l.Name != tt.name {
			t.Errorf("%d %s; want %d naming %s", code, b, tt.code, tt.name)
		}
	}
	if got := numbered("x.tar.gz", 7); got != "x-7.tar.gz" {
		t.Errorf("numbered: %s", got)
	}
}

// A folder of the data folder goes to the page as a zip of the files a
// dataset can use: not the notes, videos and hidden folders beside them.
func TestFolderSentAsAZipOfItsImages(t *testing.T) {
	e := newJobsEnv(t, defaultJobLimits, "")
	for name, body := range map[string]string{"notes.txt": "notes", "left/clip.mp4": "video", ".thumbs/x.png": "thumb", "left/.DS_Store": "x"} {
		p := filepath.Join(e.dataDir, "tiny", filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, b := e.do("GET", "/datasets/tiny", "")
	if code != http.StatusOK {
		t.Fatalf("GET /datasets/tiny: %d %s", code, b)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".png") || strings.Contains(f.Name, ".thumbs") {
			t.Errorf("the zip holds %s", f.Name)
		}
	}
	if len(zr.File) != 40 {
		t.Errorf("the zip holds %d files, want the 40 images", len(zr.File))
	}
}
