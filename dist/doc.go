// Package dist is data-parallel training across processes: one run whose
// every global minibatch is split across P processes (ranks), each holding
// a copy of the parameters, with the gradients summed across them.
//
// A Comm is the transport: Single (one process), Local (P ranks as
// goroutines of one process, for tests) or, in a build with the mpi tag,
// MPI (Open MPI, launched by mpirun or srun). World returns the one the
// process was launched with.
//
// A Group wraps a Comm as an ad.Reducer, so that ad.AllReduce sums values
// across ranks inside recorded computations: the unrolled inner steps of
// bi-level score matching average φ's gradient over the global batch, and
// their backward pass (itself an all-reduce of the cotangents) carries θ's
// gradient through them. A Shard is a rank's rows of the global batch: a
// rank's losses are means over its rows, and Σ_r w_r ℓ_r with w_r its share
// of the rows is the global batch's mean.
//
// Every sum is the same on every rank (the replicated parameters and
// optimizer states never drift apart) and deterministic for a given number
// of ranks. With P ranks a sum is taken in a different order than with one
// process, so P-rank training agrees with one-process training on the same
// global batch to floating-point round-off, not bit for bit.
package dist
