// Package eval evaluates trained models: exact and annealed-importance-
// sampling log-likelihoods of the GRBM, the "Fisher" metric of the paper's
// tables, and the gradient-bias study of Fig. 1 (Theorem 2).
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
// All chains advance together: per step one [n,D]x[D,H] and one [n,H]x[H,D]
// matrix product (internal/blas, accumulating into preloaded biases and
// noise) and one parallel sweep over the chains that adds the weight
// increments, draws h and refills v with b + σ⊙z. The sweep is split over
// blocks of 64 chains, each with its own random stream, so results depend on
// the seed only, not on the number of workers. Each increment needs one
// exponential: with e1 = exp(-β_{k-1}|a|) and t = (β_k - β_{k-1})|a|,
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
//
// # Gradient bias (Theorem 2, Fig. 1)
//
// GradientBias fixes a minibatch and all noise (perturbation, inner-loss
// noise, reused at every inner step, and outer-loss noise), so that Ĝ(θ,φ)
// and Ĵ_Bi(θ,φ) are deterministic, as in Theorem 2. For each K and N it runs
// Algorithm 1 (the same computation as objective.BiLevel.Step) from the same
// φ and a copy of the optimizer state and reports
//
//	||g_{K,N} - g_ref|| / ||g_ref||,   g_{K,N} = ∂Ĵ_Bi(θ, φ^N(θ))/∂θ,
//	||φ^0 - φ*||,
//
// where φ* is φ after KStar kept inner steps and g_ref ≈ ∂Ĵ_Bi(θ, φ*(θ))/∂θ
// (the implicit gradient) comes from NRef unrolled gradient-descent steps
// from φ*, step 1/λ_max(∂²Ĝ/∂φ²) by power iteration unless RefLR is given.
package eval
