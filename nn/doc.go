// Package nn holds what models are built from: named parameter sets (Params),
// their binding to autodiff values (Vals), layers and PyTorch-compatible
// initialisers.
//
// Models in bism are functions of their parameters' values rather than
// objects that own recorded state: a model's Energy takes Vals. This is what
// lets bi-level score matching evaluate the posterior at unrolled parameters
// phi^N(theta), which are computed values, exactly as it evaluates it at
// plain leaves.
package nn
