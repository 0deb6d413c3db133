package data_test

import (
	"fmt"
	"log"

	"plateau/data"
	"plateau/spec"
)

func Example() {
	ds, err := data.Load("testdata/cifar-10-binary.tar.gz", data.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	train, val := data.SplitValidation(ds.Train, 0.2, 1)
	norm, err := data.NewNormalizer(data.Standardize, train, ds.C)
	if err != nil {
		log.Fatal(err)
	}
	aug, err := data.NewAugmenter(spec.Augment{FlipHorizontal: spec.Transform{P: 0.5}}, ds.H, ds.W, ds.C)
	if err != nil {
		log.Fatal(err)
	}
	loader := data.NewLoader(train, 2, norm, aug, data.LoaderOptions{Shuffle: true, Seed: 1, H: ds.H, W: ds.W, C: ds.C})
	x := make([]float32, 2*ds.H*ds.W*ds.C)
	y := make([]int32, 2)
	batches := 0
	for loader.Epoch(0); loader.Next(x, y) > 0; {
		batches++
	}
	fmt.Println(ds.Name, train.Len(), "train,", val.Len(), "validation,", batches, "batches")
	// Output: cifar-10 4 train, 1 validation, 2 batches
}
