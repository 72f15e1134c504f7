// Package eval evaluates trained models: exact and annealed-importance-
// sampling log-likelihoods of the GRBM and the "Fisher" metric of the
// paper's tables (the studies of trained runs are in package study).
//
// # GRBM partition function, exactly (small H)
//
// Both GRBM parameterisations fit one form once the scalar variant's 1/σ is
// folded into the coupling, W' = W (default, per-dimension σ) or W' = W/σ
// (paper variant, scalar σ):
//
//	E(v,h) = 1/2 Σ_i (v_i - b_i)²/σ_i² - cᵀh - vᵀW'h.
//
// For fixed h the v-part is a Gaussian with mean b + σ²⊙u, u = W'h, and
// variance σ²; completing the square,
//
//	∫ exp(-E(v,h)) dv = exp(cᵀh) Π_i √(2π) σ_i exp(b_i u_i + σ_i² u_i²/2),
//
// so ExactLogZ sums over all 2^H hidden states (Gray-code order, streaming
// log-sum-exp, float64):
//
//	log Z = Σ_i log σ_i + D/2 log 2π + logsumexp_h [cᵀh + Σ_i (b_i u_i + σ_i² u_i²/2)].
//
// It refuses H > MaxExactHidden (24). LogProbs and LogLikelihood give
// log p(v) = -F(v) - log Z per row and its mean, with F from the model's
// FreeEnergy (θ constant, no graph, 1000 rows at a time).
//
// # Annealed importance sampling (large H)
//
// AIS is the standard estimator of Salakhutdinov and Murray (2008) for RBMs. The base model has W = 0, c = 0 and the
// same b and σ, so log Z0 = Σ_i log σ_i + D/2 log 2π + H log 2 (D log σ for
// the scalar variant). The intermediate models scale W and c by
// β_k = k/K, k = 0..K (K+1 = AISOptions.Betas):
//
//	F_β(v)    = 1/2 Σ (v-b)²/σ² - Σ_j softplus(β a_j(v)),  a(v) = c + W'ᵀv
//	p_β(h|v)  = sigmoid(β a(v))
//	p_β(v|h)  = N(b + β σ² ⊙ (W'h), σ²)      (σ²W' = σW in the scalar variant)
//
// Each chain starts exactly from the base model, v_1 ~ N(b, σ²), and
//
//	w = Σ_{k=1..K} F_{β_{k-1}}(v_k) - F_{β_k}(v_k)
//	  = Σ_k Σ_j softplus(β_k a_j(v_k)) - softplus(β_{k-1} a_j(v_k)),
//
// with v_{k+1} drawn by one Gibbs sweep v -> h -> v of the β_k-model
// (K-1 sweeps in all; the last increment needs none). The estimate is
// log Ẑ = log mean_n exp(w_n) + log Z0 with the delta-method standard error
// std_n(exp(w_n - max w)) / mean_n(exp(w_n - max w)) / √n.
//
// The chains are followed through a = c + W'ᵀv alone, the only function of
// v that the weights and the Gibbs step v -> h read: v = b + σ⊙z + β σ²⊙(W'h)
// gives a = c + W'ᵀb + W'ᵀ(σ⊙z) + β Mh with M = W'ᵀdiag(σ²)W', and the noise
// W'ᵀ(σ⊙z) ~ N(0, M) is drawn as Lᵀu from r = min(H, D) standard normals
// (L the Cholesky factor of M when H < D). Per step all chains take one
// [n, r+H] x [r+H, H] matrix product (internal/blas) and one parallel sweep
// that adds the weight increments and draws h (an AVX-512 kernel where
// available) and the next noise (ziggurat normals, internal/randn). The
// sweep is split over blocks of 64 chains, each with its own random stream,
// so results depend on the seed only, not on the number of workers. Each
// increment needs one exponential: with e1 = exp(-β_{k-1}|a|) and
// t = (β_k - β_{k-1})|a|,
//
//	softplus(β_k a) - softplus(β_{k-1} a) = (β_k - β_{k-1}) max(a,0) + log1p(e1 expm1(-t)/(1+e1)),
//
// where expm1 and log1p are short series for the small t of a fine schedule
// (no cancellation in e2 - e1), and e2 = e1(1 + expm1(-t)) = exp(-β_k|a|)
// gives the Bernoulli probability, 1/(1+e2) or 1 - 1/(1+e2) by the sign of
// a, without data-dependent branches.
//
// # Fisher metric
//
// FisherSSM is the SSM objective of the exact marginal on clean data, one
// Rademacher projection u per row:
//
//	mean_v 1/2 |s(v)|² + uᵀ ∇_v (s(v)·u),  s = -∇_v F,
//
// an unbiased estimate of the SM objective 1/2|s|² + tr(∇_v s), which is the
// Fisher divergence to the data distribution minus a constant of the data
// (hence the negative numbers of Table 1).
package eval
