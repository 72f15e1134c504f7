package data

import "math/rand/v2"

// Sizes of the checkerboard split used in the paper (Sec. 5.1).
const (
	CheckerboardTrain = 50000
	CheckerboardVal   = 10000
	CheckerboardTest  = 10000
)

// Checkerboard draws n points of the 2-D checkerboard distribution:
// x = U[0, 0.5)^2 + c with the corner c uniform in {(0, 0), (0.5, 0.5)}.
// The points are uniform on two of the four quarter squares of [0, 1)^2,
// with density 2 there (see CheckerboardDensity). The result has Shape [2]
// and no labels. All randomness comes from rng.
func Checkerboard(n int, rng *rand.Rand) *Set {
	n = max(n, 0)
	x := make([]float32, 2*n)
	for i := range n {
		var c uint32
		if rng.IntN(2) == 1 {
			c = 1 << 23 // 0.5 on the 2^-24 grid
		}
		x[2*i] = grid24(c + rng.Uint32()>>9)
		x[2*i+1] = grid24(c + rng.Uint32()>>9)
	}
	return &Set{X: x, N: n, Shape: []int{2}}
}

// grid24 returns k * 2^-24 for k < 2^24, which float32 represents exactly.
// Coordinates are drawn as 23 random bits on this grid (plus 2^23 for the
// upper corner) so that U[0, 0.5) + 0.5 can never round up to 1: every
// point lies inside its half-open quarter square.
func grid24(k uint32) float32 {
	return float32(k) / (1 << 24)
}

// CheckerboardSplit generates the checkerboard data set of the paper,
// reproducibly from seed: 50,000 training points and 10,000 validation
// points, drawn in that order and concatenated into Train (60,000 points,
// the validation part being rows 50,000..59,999), because the reference
// uses the two together for training; then 10,000 test points. Val is nil.
func CheckerboardSplit(seed uint64) *Split {
	rng := rand.New(rand.NewPCG(seed, 0x636865636b657273)) // "checkers"
	train := Checkerboard(CheckerboardTrain+CheckerboardVal, rng)
	test := Checkerboard(CheckerboardTest, rng)
	return &Split{Train: train, Test: test}
}

// CheckerboardDensity is the exact density of the checkerboard
// distribution: 2 on [0, 0.5)^2 and [0.5, 1)^2, 0 elsewhere.
func CheckerboardDensity(x, y float64) float64 {
	if x >= 0 && y >= 0 && x < 1 && y < 1 && (x < 0.5) == (y < 0.5) {
		return 2
	}
	return 0
}
