package tensor

import "github.com/bism-ml/bism/internal/freelist"

// A convJob is one convolution's operands and its split's numbers, which
// its parallel loops hand to the workers (a parallel.Job) instead of
// closures: a convolution then allocates nothing in a steady step.
type convJob[T Float] struct {
	g  convGeom
	op convOp

	x, w, bias, gr []T
	out            []T // the output, dx or dW

	q  sampleGroups // forGroups' groups of nb samples
	nb int

	ranges   [reduceChunks][2]int // reduceOverSamples' sample ranges
	partials [reduceChunks]*[]T   // and their pooled sums
}

// convOp says which convolution a convJob computes.
type convOp int

const (
	convForward       convOp = iota // conv2dBias by groups of samples
	convInputGrad                   // conv2dInputGrad by groups of samples
	convPlaneGEMM                   // conv2dPlaneGEMM by samples
	convShifted                     // conv2dShifted by samples
	convWeightGEMM                  // conv2dWeightGradGEMM over sample ranges
	convWeightShifted               // conv2dWeightGradShifted over sample ranges
)

var (
	convJobs32 freelist.List[convJob[float32]]
	convJobs64 freelist.List[convJob[float64]]
)

// newConvJob returns a job for op on geometry g.
func newConvJob[T Float](g *convGeom, op convOp) *convJob[T] {
	j := freelist.Pick[convJob[T]](&convJobs32, &convJobs64).Get()
	j.g, j.op = *g, op
	return j
}

// free clears j (it holds no operands) and gives it back.
func (j *convJob[T]) free() {
	*j = convJob[T]{}
	freelist.Pick[convJob[T]](&convJobs32, &convJobs64).Put(j)
}

// Run runs units [lo, hi) of j, groups of samples, samples or sample
// ranges by its op (parallel.Job).
func (j *convJob[T]) Run(lo, hi int) {
	switch j.op {
	case convForward, convInputGrad:
		j.groups(lo, hi)
	case convPlaneGEMM:
		j.planeGEMMSamples(lo, hi)
	case convShifted:
		j.shiftedSamples(lo, hi)
	default:
		j.rangesOf(lo, hi)
	}
}
