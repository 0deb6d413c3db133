package train

import (
	"bytes"
	"hash/maphash"

	"plateau/data"
)

// Duplicates counts the images of other that have an exact copy (the
// same bytes) in reference. Run reports it for the validation and test
// splits against the training split: duplicates across a split make the
// held-out accuracy measure memory instead of generalization. Both splits
// must hold images of the same size.
func Duplicates(reference, other data.Split) int {
	if reference.Len() == 0 || other.Len() == 0 {
		return 0
	}
	size := len(reference.Images) / reference.Len()
	if len(other.Images) != other.Len()*size {
		panic("train: Duplicates of splits with different image sizes")
	}
	seed := maphash.MakeSeed()
	seen := make(map[uint64][]int, reference.Len())
	for i := range reference.Len() {
		h := maphash.Bytes(seed, reference.Images[i*size:(i+1)*size])
		seen[h] = append(seen[h], i)
	}
	count := 0
	for j := range other.Len() {
		img := other.Images[j*size : (j+1)*size]
		for _, i := range seen[maphash.Bytes(seed, img)] {
			if bytes.Equal(img, reference.Images[i*size:(i+1)*size]) {
				count++
				break
			}
		}
	}
	return count
}
