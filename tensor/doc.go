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
// # Storage reuse
//
// A training step creates the same tensors, of the same shapes, every
// iteration. A computation that owns an Arena makes its inputs belong to it
// (SetArena, InArena, RNG.SetArena); every result of an operation belongs to
// the arena of its inputs, and while the arena runs a Step the results take
// their storage from buffers the previous step released, so a loop in
// steady state allocates no storage at all. Anything created during a step
// that must outlive it is created with New (the heap) or copied with Keep;
// parameters are updated in place. There is no process-wide arena: two
// computations with arenas of their own run side by side. Library users who
// call operations directly get ordinary heap tensors.
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
// goroutine start-up would cost more than the work. On AVX-512 CPUs float32
// exp, log, sigmoid, softplus and + - * / run in vector assembly
// (vmath_amd64.s, varith_amd64.s); elsewhere, and with -tags purego, scalar
// Go computes the same functions.
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
