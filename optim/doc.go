// Package optim holds the optimizers (Adam, SGD), their differentiable
// continuations for unrolling, and learning-rate schedules.
//
// An Optimizer updates an nn.Params in place. Its Unroll method returns an
// Unrolled optimizer that starts from the real optimizer's state (step count
// and moments, detached) and whose Step is built from ad operations: the
// returned parameters are recorded functions of the gradients. Bi-level score
// matching takes N such steps from phi^0 and differentiates the outer loss
// through them with respect to theta (Eqs. 13-14 of the paper).
package optim
