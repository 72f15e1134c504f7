package tensor

import "fmt"

func panicShapes(op string, a, b []int) {
	// Copies: the shapes may be callers' stack buffers.
	panic(fmt.Sprintf("tensor.%s: shape mismatch %v and %v", op, cloneInts(a), cloneInts(b)))
}
