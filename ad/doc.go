// Package ad is bism's reverse-mode automatic differentiation: small enough
// to read in one sitting, and closed under differentiation, so gradients of
// gradients (of gradients) just work.
//
// # Recording
//
// Computation is define-by-run. Var wraps a tensor that requires gradients
// (a parameter, or data to differentiate with respect to); Const wraps one
// that does not. Every operation in this package computes its result with a
// tensor kernel and, if any input requires gradients, records a node: the
// inputs and a backward rule (vector-Jacobian product) that sits next to the
// forward code in ops.go or conv.go.
//
// A result computed during a tensor.Arena's Step takes its storage from the
// arena, and its recorded value (with its node) comes from the arena too:
// like the tensor, it is valid until the next Step begins, and a steady
// training step allocates neither.
//
// # Grad
//
//	gs := ad.Grad(y, []*ad.Value{x, w})                   // dy/dx, dy/dw
//	gs := ad.Grad(y, xs, ad.CreateGraph())                // differentiable results
//	gs := ad.Grad(y, xs, ad.Cotangent(u))                 // u^T dy/dx for non-scalar y
//
// Backward rules are written with ad operations, never raw kernels, so with
// CreateGraph the backward pass is itself recorded and Grad can be applied to
// its results again, to any order (PyTorch's create_graph=True, JAX's
// grad-of-grad). Without CreateGraph the backward pass runs on constants and
// records nothing; inside an arena's Step it also owns the gradients it
// computes, adds into them in place and releases each once it has been
// handed on, and a rule may add its product straight into such a gradient
// (the packed Adam update's and the matrix product's do). A matrix
// product's gradient is a matrix product at every order: no outer products
// are formed.
//
// A few operations stand for compositions that the models evaluate on
// every example (a Gaussian energy's quadratic term SquaredDistance, a
// relaxed Bernoulli sample SigmoidScaledSum and log-density
// BernoulliLogProb, ELU's recorded backward rule, a convolution layer's
// output with its bias Conv2dBias): one kernel forward and
// one for a first-order backward pass, rounding as the composition does,
// so results keep their bits, and the composition's own rule when the
// backward pass is recorded.
//
// A value that y does not depend on gets a zero gradient of its own shape.
//
// # Stopping gradients
//
// Detach returns a value's tensor as a constant. An operation records a node
// only when one of its inputs requires gradients, so evaluation and sampling,
// which compute on constants, record nothing; the package keeps no global
// recording state, and computations on different goroutines are
// independent.
//
// # Checking
//
// CheckGrad compares derivatives of a function against central finite
// differences in float64, at first, second and third (or any) order, like
// PyTorch's gradcheck and gradgradcheck. Every operation is tested with it.
package ad
