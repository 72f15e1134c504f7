// Package data provides the data sets of the bi-level score matching
// experiments, as float32 matrices ready for training.
//
// A data set is a [Set]: N examples stored row-major in one []float32,
// each of a fixed Shape ([2] for the checkerboard, [1, 28, 20] for Frey
// faces, [1, 32, 32] for MNIST and Fashion-MNIST, [3, 32, 32] for
// CIFAR-10), with optional integer labels. [Set.Batch] gathers a minibatch
// into a reusable buffer. A [Split] groups the Train, Val and Test parts.
//
// The data sets, as the paper uses them (Sec. 5.1 and 5.2):
//
//   - [CheckerboardSplit]: 2-D points uniform on two opposite quarters of
//     the unit square, generated from a seed (60,000 train including the
//     10,000 validation points, 10,000 test); [CheckerboardDensity] is the
//     exact density.
//   - [LoadFrey]: the 1965 Frey faces of frey_rawface.mat in [0, 1],
//     split unshuffled 1400 / 300 / 265. [ReadMat] and [ReadMatVar] read
//     uncompressed Level 5 MAT-files.
//   - [LoadMNIST], [LoadFashionMNIST]: IDX files ([ReadIDX]) scaled to
//     [0, 1] and zero-padded to 32x32, 60,000 train and 10,000 test.
//   - [LoadCIFAR10]: the binary batches ([ReadCIFAR10]) in [0, 1], 50,000
//     train and 10,000 test.
//
// Files are looked up under a data root given by [Dir]: an explicit value
// (a flag), else $BISM_DATA, else a shared/datasets folder next to the
// repository. Files with a published checksum are verified. A [Loader]
// adds options: Download fetches missing files from their usual public
// locations ([Fetch]), never implicitly.
//
// Errors wrap the sentinels [ErrFormat], [ErrUnsupported],
// [ErrCompressed], [ErrTruncated], [ErrCorrupt], [ErrNotFound] and
// [ErrChecksum]; the readers never panic on malformed input.
//
// Randomness (the checkerboard) always comes from an explicit
// *rand.Rand; the package has no global random state. It imports no other
// package of this module.
package data
