// Package tensor provides bism's dense n-dimensional arrays and the CPU
// kernels that compute on them.
//
// # Layout and dtypes
//
// A Tensor is contiguous and row-major (the last index varies fastest). It
// holds float32 (the default, used for training) or float64 (used by the
// finite-difference gradient checks, where precision matters). Operations
// require their operands to share a dtype and panic otherwise.
//
// # Ownership
//
// Functions return new tensors and never modify their inputs; Reshape
// returns a view sharing the data. Methods and functions that mutate say so:
// Fill, Set, SetFlat, CopyFrom, AxpyInPlace. Optimizers use these on
// parameters; nothing else should.
//
// # Broadcasting
//
// Binary elementwise operations (Add, Sub, Mul, Div) follow numpy's rules:
// shapes are right-aligned and a dimension of size 1 (or a missing one)
// stretches to match. SumTo is the adjoint: it sums a broadcast result back
// down to the original shape. Dimensions are coalesced before looping, so a
// row vector added to a matrix runs as one tight loop per row.
//
// # Kernels and threads
//
// Matrix products go through internal/blas (packed, blocked, assembly
// micro-kernels where the CPU allows). Elementwise loops over large tensors
// are split across cores with internal/parallel; small ones run inline, since
// goroutine start-up would cost more than the work.
//
// # Misuse
//
// Shape mismatches are programmer errors: they panic with a message that
// names the operation and both shapes, e.g.
//
//	tensor.Add: shape mismatch [3 4] and [5]
//
// # Randomness
//
// RNG is a seeded generator passed explicitly to whoever needs randomness
// (uniform, normal, Rademacher, Gumbel, Bernoulli); a seed reproduces a run
// exactly.
package tensor
