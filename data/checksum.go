package data

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// Known SHA-256 checksums of the files, by path relative to the data root.
// The MNIST and Frey values are those of the published files (and of
// shared/datasets/SHA256SUMS); the Fashion-MNIST values are those of the
// Debian package dataset-fashion-mnist.
const (
	SHA256Frey = "265a83a23adb081755cd3de375509828e690324d1d60f076b8ecebc840d59c64"

	SHA256MNISTTrainImages = "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
	SHA256MNISTTrainLabels = "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
	SHA256MNISTTestImages  = "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
	SHA256MNISTTestLabels  = "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
)

// knownSHA256 maps a file (relative to the data root) to the SHA-256 of
// its bytes.
var knownSHA256 = map[string]string{
	"frey/frey_rawface.mat":                    SHA256Frey,
	"mnist/train-images-idx3-ubyte.gz":         SHA256MNISTTrainImages,
	"mnist/train-labels-idx1-ubyte.gz":         SHA256MNISTTrainLabels,
	"mnist/t10k-images-idx3-ubyte.gz":          SHA256MNISTTestImages,
	"mnist/t10k-labels-idx1-ubyte.gz":          SHA256MNISTTestLabels,
	"fashion-mnist/train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
	"fashion-mnist/train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
	"fashion-mnist/t10k-images-idx3-ubyte.gz":  "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
	"fashion-mnist/t10k-labels-idx1-ubyte.gz":  "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}

// knownContentSHA256 maps an IDX file (relative to the data root, without
// the .gz suffix) to the SHA-256 of its uncompressed bytes. It accepts
// uncompressed copies and copies gzip'ed by other tools, whose compressed
// bytes differ.
var knownContentSHA256 = map[string]string{
	"mnist/train-images-idx3-ubyte":         "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
	"mnist/train-labels-idx1-ubyte":         "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
	"mnist/t10k-images-idx3-ubyte":          "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
	"mnist/t10k-labels-idx1-ubyte":          "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
	"fashion-mnist/train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
	"fashion-mnist/train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
	"fashion-mnist/t10k-images-idx3-ubyte":  "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
	"fashion-mnist/t10k-labels-idx1-ubyte":  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// verify checks raw, the bytes of the file at path (rel relative to the
// data root, possibly with a .gz suffix), against the known checksums. A
// file passes when its own SHA-256 is the known one, or when its
// (decompressed) contents have the known content SHA-256. Files with no
// known checksum pass.
func verify(path, rel string, raw []byte) error {
	wantFile, hasFile := knownSHA256[rel]
	wantContent, hasContent := knownContentSHA256[trimGz(rel)]
	if !hasFile && !hasContent {
		return nil
	}
	got := sha256Hex(raw)
	if hasFile && got == wantFile {
		return nil
	}
	if !hasContent {
		return fmt.Errorf("data: %s: SHA-256 is %s, want %s: %w", path, got, wantFile, ErrChecksum)
	}
	gotContent := got
	if isGzip(raw) {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("data: %s: gzip: %w: %w", path, ErrCorrupt, err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, zr); err != nil {
			return fmt.Errorf("data: %s: gzip: %w: %w", path, ErrCorrupt, err)
		}
		gotContent = hex.EncodeToString(h.Sum(nil))
	}
	if gotContent == wantContent {
		return nil
	}
	if hasFile {
		return fmt.Errorf("data: %s: SHA-256 is %s (uncompressed contents %s), want %s (uncompressed contents %s): %w",
			path, got, gotContent, wantFile, wantContent, ErrChecksum)
	}
	return fmt.Errorf("data: %s: SHA-256 of the uncompressed contents is %s, want %s: %w", path, gotContent, wantContent, ErrChecksum)
}

func trimGz(s string) string {
	if len(s) > 3 && s[len(s)-3:] == ".gz" {
		return s[:len(s)-3]
	}
	return s
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }
