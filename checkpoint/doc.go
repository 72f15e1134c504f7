// Package checkpoint reads and writes model checkpoints in the safetensors
// format.
//
// # Format
//
// A safetensors file has three parts:
//
//	+--------+-------------------------------+------------------------------+
//	| N (8B) | header: N bytes of JSON       | byte buffer                  |
//	+--------+-------------------------------+------------------------------+
//
// where:
//
//   - N is an unsigned 64-bit little-endian integer, the length of the header.
//   - The header is a UTF-8 JSON object. Each key except "__metadata__" names
//     a tensor and maps to {"dtype": "F32", "shape": [2, 3],
//     "data_offsets": [begin, end]}. The optional "__metadata__" key maps to
//     an object of string keys and string values (nothing else is allowed).
//     The header may be padded with trailing spaces; writers pad it so the
//     byte buffer starts at a multiple of 8 bytes.
//   - The byte buffer holds every tensor's elements, row-major and
//     little-endian. data_offsets are relative to the start of the buffer;
//     the tensors tile the buffer exactly, with no gaps, no overlaps and no
//     trailing bytes, and end-begin equals the element count times the dtype
//     size.
//
// This package supports the dtypes F32, F64 (parameters, optimiser moments)
// and I64 (step counters, RNG state).
//
// # Why safetensors
//
// Loading a checkpoint never executes code: unlike Python pickles (PyTorch's
// default .pt files), a safetensors file is pure data, so a checkpoint from
// an untrusted source can at worst be rejected as malformed. The format is
// also the de-facto interchange format of the Python ecosystem: files written
// by [Save] are read by Python's safetensors package
// (safetensors.torch.load_file, safetensors.numpy.load_file) and files written
// there with supported dtypes are read by [Load], so models trained with bism
// can be inspected and compared against reference implementations.
//
// # Guarantees
//
// Writing is deterministic: tensors are laid out in sorted name order and
// the header is compact JSON with sorted keys, so equal inputs produce
// byte-identical files. [Save] is atomic: it writes a temporary file in the
// target's directory, syncs it to disk and renames it over the target, so
// a crash or an error never leaves a truncated checkpoint behind; all inputs
// are validated before any file is created.
//
// Reading validates everything — header length, JSON syntax, duplicate names,
// dtypes, shapes, offsets, file length — and reports the cause and the file
// in the error (a [*FormatError]). Malformed input never causes a panic and
// never causes allocations much larger than the input itself.
package checkpoint
