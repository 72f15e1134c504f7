package data

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package that falls in one
// of these categories wraps the matching sentinel, so callers can test
// with errors.Is; the message names the file and the precise cause.
var (
	// ErrFormat means the input is not in the expected file format
	// (not a MAT v5 file, wrong IDX magic number, ...).
	ErrFormat = errors.New("unrecognised file format")

	// ErrUnsupported means the input is well formed but uses a feature
	// this package does not implement (complex, cell, struct or sparse
	// MATLAB arrays, non-ubyte IDX data, ...).
	ErrUnsupported = errors.New("unsupported feature")

	// ErrCompressed means a MAT file holds compressed (miCOMPRESSED)
	// data elements, as written by MATLAB's default -v7 format. It wraps
	// ErrUnsupported.
	ErrCompressed = fmt.Errorf("compressed MAT-file data elements (miCOMPRESSED) are not supported; re-save the file uncompressed with save(..., '-v6'): %w", ErrUnsupported)

	// ErrTruncated means the input ended before the data it announced.
	ErrTruncated = errors.New("truncated data")

	// ErrCorrupt means the input is internally inconsistent: a byte count
	// that does not match the dimensions, trailing garbage, a bad gzip
	// checksum, a label out of range, image and label counts that differ.
	ErrCorrupt = errors.New("corrupt data")

	// ErrNotFound means a requested variable is not present in a MAT file.
	ErrNotFound = errors.New("variable not found")

	// ErrChecksum means a file's SHA-256 (or MD5 where that is the only
	// published checksum) differs from the known value.
	ErrChecksum = errors.New("checksum mismatch")
)
