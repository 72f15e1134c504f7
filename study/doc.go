// Package study holds research studies of trained runs, beyond the
// metrics of package eval: the gradient bias of Algorithm 1 against the
// number of unrolled steps (Theorem 2, Fig. 1: [GradientBias], [Fig1]);
// the θ-gradient of bi-level score matching taken apart into its marginal,
// posterior-path and fixed-posterior parts ([GradientSplit], [GradSplit]);
// and probes of deep runs' scores and samplers ([ScoreVar], [LatentNorm]).
// `bism study NAME` runs them.
package study
