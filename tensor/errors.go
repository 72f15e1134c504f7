package tensor

import "fmt"

func panicShapes(op string, a, b []int) {
	panic(fmt.Sprintf("tensor.%s: shape mismatch %v and %v", op, a, b))
}
