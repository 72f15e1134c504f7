// Package study holds research studies of trained runs, beyond the
// metrics of package eval: the gradient bias of Algorithm 1 against the
// number of unrolled steps as the paper's Fig. 1 defines it (Theorem 2:
// [Fig1Bias], [Fig1]) and a frozen-noise variant ([GradientBias]);
// the θ-gradient of bi-level score matching taken apart into its marginal,
// posterior-path and fixed-posterior parts ([GradientSplit], [GradSplit]);
// and probes of deep runs' scores and samplers ([ScoreVar], [LatentNorm]).
// `bism study NAME` runs them.
package study
