// Package objective holds the learning objectives: score matching and its
// variants on a tractable marginal, bi-level score matching (BiSM,
// Algorithm 1 of the paper), and the GRBM baselines that are not score
// matching.
//
// # Score matching (Sec. 2)
//
// With the model's score s(v) = ∇_v log p(v) = -∇_v F(v), each [Outer]
// objective is a per-example loss summed over dimensions and averaged over
// the batch, on fresh noise at every call ([Outer.Perturb]):
//
//	SM   ½|s(v)|² + tr ∇_v s(v)                       (Eq. 2)
//	SSM  ½|s(v)|² + uᵀ ∇_v (s(v)·u),  u Rademacher     (Eq. 3)
//	DSM  ½|s(ṽ) + ε/σ|²,  ṽ = v + σε                   (Eq. 4)
//	MDSM ½|s(ṽ)/σ_i + ε/σ0²|²,  ṽ = v + σ_i ε          (Eq. 5)
//
// MDSM's σ_i runs over the batch positions from SigmaBegin to SigmaEnd.
// [Score] differentiates an [EnergyFn] with a recorded graph, so the loss
// can be differentiated again in θ.
//
// # Bi-level score matching (Sec. 3)
//
// For an EBLVM the marginal score is intractable; BiSM replaces it by
//
//	∇_v log p(v) ≈ -∇_v [E(v, h; θ) + log q(h|v; φ)],  h ~ q(h|v; φ)   (Eq. 8)
//
// with h reparameterised in φ but independent of v ([BiEnergy]). The
// posterior is learned by the lower-level problem
//
//	φ*(θ) = argmin_φ G(θ, φ),   G = E_v D(q(h|v; φ) || p(h|v; θ))      (Eq. 9)
//
// with D the KL divergence for discrete h (Eq. 10: E + log q at a relaxed
// sample, up to a constant of φ) or the Fisher divergence for continuous h
// (Eq. 11: ½|∇_h log p̃(v,h) - ∇_h log q(h|v)|²) ([InnerLoss]). θ descends
// the upper-level objective J_Bi(θ, φ*(θ)), the outer loss with the bi-level
// score. [BiLevel] is Algorithm 1: on each minibatch, K kept steps of φ's
// optimizer on G with θ frozen, then N differentiable steps from φ^0
// (detached) giving φ^N(θ) (Eqs. 12-13), and the θ-gradient of the outer
// loss at φ^N(θ) (Eq. 14). When q contains the true posterior this is the
// score-matching gradient (Theorem 1); its bias falls as N grows
// (Theorem 2).
//
// # The implicit gradient
//
// N → ∞ gradient-descent steps from a minimiser differentiate φ*(θ) itself:
// dφ*/dθ = -[∇²_φφ G]⁺ ∇²_φθ G by the implicit function theorem. With
// [BiLevel.Implicit] set, Algorithm 1 replaces the unroll by this gradient
// at φ⁰ ([ImplicitGradient]): [∇²_φφ Ĝ_M] w = ∂Ĵ/∂φ is solved by MINRES on
// Hessian-vector products of the inner loss averaged over M fixed draws of
// q's noise ([InnerLossMean]), and θ's gradient is ∂Ĵ/∂θ - ∇_θ⟨∇_φ Ĝ_M, w⟩.
// The Hessian is singular when the batch cannot pin every parameter of q
// (a GRBM's D + 1 > B); the null directions carry no θ-gradient, so a
// least-squares w serves and no damping is needed.
//
// # Baselines
//
// [MarginalStep] runs SM, SSM, DSM or MDSM on a model with a free energy.
// [CD] and [PCD] are contrastive divergence with k block Gibbs steps
// (persistent chains for PCD); [NCE] is noise-contrastive estimation with a
// learned log-normaliser; [VNCE] its variational version with a learned
// posterior. Each Step returns the loss and θ's gradient in the order of
// the model's parameters; the caller steps θ's optimizer.
package objective
