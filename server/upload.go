package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"plateau/data"
	"plateau/protocol"
)

// upload is PUT /api/datasets/{name}: a dataset file (a zip of class
// folders, a CIFAR-10 tar.gz, any archive data.Load reads) into the data
// folder, where jobs name it, so a dataset a user has (dropped into the
// page, on the command line's machine) trains on the server. The name is
// protocol.UploadName's; the file is read whole before it counts: one that
// does not decode is refused with the decoder's reason and leaves nothing
// behind. A name that is taken by another file is refused, or with
// ?rename=1 numbered (numbered); the same bytes again are the dataset
// already there. Answers 201 (200 when it was there) with the dataset's
// listing, whose name is the one jobs give it.
func (s *jobServer) upload(w http.ResponseWriter, r *http.Request, name string) {
	if name == "" || name != protocol.UploadName(name) || !isArchive(name) {
		like := protocol.UploadName(name)
		if !isArchive(like) {
			like += ".zip"
		}
		fail(w, http.StatusBadRequest, "name", "dataset name %q: use letters, digits, '.', '_' and '-', ending in .zip, .tar, .tar.gz or .tgz (the archive's format), e.g. %q", name, like)
		return
	}
	limit := s.limits.MaxDatasetSize
	if r.ContentLength > limit {
		fail(w, http.StatusRequestEntityTooLarge, "", "the file is %d bytes, over this server's %d for a dataset", r.ContentLength, limit)
		return
	}
	tmp, err := os.CreateTemp(s.dataDir, ".upload-*-"+name)
	if err != nil {
		fail(w, http.StatusInternalServerError, "", "the server cannot write to its data folder: %v", err)
		return
	}
	defer os.Remove(tmp.Name()) // a no-op once it is renamed
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, sum), http.MaxBytesReader(w, r.Body, limit))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		fail(w, http.StatusRequestEntityTooLarge, "", "the file is over this server's %d bytes for a dataset", limit)
		return
	case err != nil:
		fail(w, http.StatusBadRequest, "", "reading the file: %v", err)
		return
	}
	ds, err := data.Load(tmp.Name(), data.LoadOptions{DataDir: s.dataDir})
	if err != nil {
		fail(w, http.StatusBadRequest, "dataset", "%s is not a dataset this server reads: %v", name, err)
		return
	}
	listing := protocol.Listing{Name: name, Title: name + " (data folder)", URL: "/datasets/" + name,
		Shape: []int{ds.H, ds.W, ds.C}, Classes: len(ds.Classes), TrainSize: ds.Train.Len(), TestSize: ds.Test.Len()}

	s.uploadMu.Lock()
	defer s.uploadMu.Unlock()
	// With ?rename=1 a name taken by other bytes gives way to name-2,
	// name-3, … (a classroom's many data.zip), the first free one or the
	// one holding these bytes already.
	rename, asked := r.URL.Query().Get("rename") != "", name
	for k := 2; ; k++ {
		final := filepath.Join(s.dataDir, name)
		st, err := os.Stat(final)
		if err != nil {
			break
		}
		if !st.IsDir() && sameSum(final, sum.Sum(nil)) {
			writeJSON(w, http.StatusOK, listing)
			return
		}
		if !rename || k > 99 {
			fail(w, http.StatusConflict, "name", "the server has another dataset called %s; rename the file and send it again, or delete the server's first (DELETE %s/%s)", name, protocol.DatasetsPath, name)
			return
		}
		name = numbered(asked, k)
		listing.Name, listing.Title, listing.URL = name, name+" (data folder)", "/datasets/"+name
	}
	final := filepath.Join(s.dataDir, name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		fail(w, http.StatusInternalServerError, "", "the server cannot keep the file: %v", err)
		return
	}
	s.logf("jobs: dataset %s received (%d bytes: %d training and %d test images)", name, n, listing.TrainSize, listing.TestSize)
	writeJSON(w, http.StatusCreated, listing)
}

// deleteDataset is DELETE /api/datasets/{name}: a dataset file of the data
// folder (one sent with PUT, or an archive put there) goes, unless a job
// that waits or runs trains on it. Folders, the registry's datasets among
// them, stay. Answers 204.
func (s *jobServer) deleteDataset(w http.ResponseWriter, name string) {
	p := filepath.Join(s.dataDir, name)
	st, err := os.Lstat(p)
	if name != protocol.UploadName(name) || !isArchive(name) || err != nil || !st.Mode().IsRegular() {
		fail(w, http.StatusNotFound, "name", "no dataset file %q in the server's data folder (folders are not deleted here)", name)
		return
	}
	s.mu.Lock()
	jobs := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	for _, j := range jobs {
		j.mu.Lock()
		st := j.status
		j.mu.Unlock()
		if (st.State == jobQueued || st.State == jobRunning) && st.Request.Dataset == name {
			fail(w, http.StatusConflict, "name", "job %s trains on %s; cancel it first (DELETE /api/jobs/%s)", st.ID, name, st.ID)
			return
		}
	}
	s.uploadMu.Lock()
	defer s.uploadMu.Unlock()
	if err := os.Remove(p); err != nil {
		fail(w, http.StatusInternalServerError, "", "the server cannot delete %s: %v", name, err)
		return
	}
	s.logf("jobs: dataset %s deleted", name)
	w.WriteHeader(http.StatusNoContent)
}

// numbered is an archive's name with -k before its extension:
// data.tar.gz, 2 → data-2.tar.gz.
func numbered(name string, k int) string {
	for _, ext := range []string{".tar.gz", ".tgz", ".zip", ".tar"} {
		if base, ok := strings.CutSuffix(name, ext); ok {
			return base + "-" + strconv.Itoa(k) + ext
		}
	}
	return name + "-" + strconv.Itoa(k)
}

// sameSum reports whether the file at path has the SHA-256 sum want.
func sameSum(path string, want []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return bytes.Equal(h.Sum(nil), want)
}

// isDatasetWrite reports whether r sends a dataset to the server or
// deletes one, which the jobs API takes (behind its token) rather than the
// page server.
func isDatasetWrite(r *http.Request) bool {
	return (r.Method == http.MethodPut || r.Method == http.MethodDelete) && strings.HasPrefix(r.URL.Path, protocol.DatasetsPath+"/")
}
