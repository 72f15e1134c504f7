package tensor

// SetShiftedForwardPairs sets shiftedForwardPairs for the external tests
// and returns a function that restores it.
func SetShiftedForwardPairs(p int) (restore func()) {
	old := shiftedForwardPairs
	shiftedForwardPairs = p
	return func() { shiftedForwardPairs = old }
}

// HasVectorMath reports whether the AVX-512 kernels run.
func HasVectorMath() bool { return hasVecMath }
