// Package model holds the energy-based models of the paper and their
// variational posteriors.
//
// An energy-based latent variable model (EBLVM, Eq. 6) is
//
//	p(v, h; θ) = exp(-E(v, h; θ)) / Z(θ),
//
// with visible v and latent h. Its marginal p(v; θ) and posterior
// p(h|v; θ) are intractable in general; bi-level score matching learns a
// variational posterior q(h|v; φ) alongside θ (package objective).
//
// The interfaces are small: an [EBLVM] gives θ and E(v, h); a
// [FreeEnergyModel] gives F(v) = -log ∫ exp(-E(v, h)) dh, whose negative
// v-gradient is the marginal score (what the classic estimators need); a
// [Posterior] samples h ~ q(h|v; φ), reparameterised so that h is a
// function of φ, and evaluates log q(h|v; φ). Every method takes the
// parameters as bound values (nn.Vals), so the same model computes with
// variables (to differentiate) or constants (to evaluate).
//
// The models:
//
//   - [GRBM], the Gaussian-Bernoulli RBM of Sec. 5.1, h ∈ {0,1}^H:
//     E(v,h) = ½ Σ_i (v_i - b_i)²/σ_i² - cᵀh - vᵀWh, with a tractable free
//     energy F(v) = ½ Σ (v-b)²/σ² - Σ_j softplus(c + Wᵀv)_j, block Gibbs
//     sampling, and the paper's scalar-σ variant as an option.
//   - [BernoulliPosterior], its variational posterior: logits vA + a,
//     sampled with the relaxed Bernoulli (Gumbel-sigmoid, τ = 0.1).
//   - [DeepEBLVM], the deep EBLVM of Sec. 5.2:
//     E(v,h) = Σ_k ELU([g1(v) + h, h] W + b)_k², g1 a ResNet ([ResNet])
//     followed by a linear layer, h ∈ R^H; [CNNPosterior], its Gaussian
//     posterior, a 3-layer CNN with mean and log-std heads.
//   - [ResNetEBM], the fully visible E(v) = Σ ELU(Linear(ResNet(v)))², the
//     MDSM baseline of Sec. 5.2.
//   - [LinearGaussian], an EBLVM in which everything is analytic (p(v),
//     p(h|v), the scores), and its exact posterior family
//     [GaussianPosterior]: the closed forms the objectives are tested
//     against, Theorem 1 included.
//
// [EnergyGivenV] lets a model compute the parts of E(v, h) that depend on
// v alone once for many draws of h (the inner steps of Algorithm 1).
package model
