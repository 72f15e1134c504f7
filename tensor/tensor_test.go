package tensor

import (
	"math"
	"testing"
)

func TestHasNaNOrInf(t *testing.T) {
	for _, dt := range []DType{Float32, Float64} {
		for _, c := range []struct {
			v    float64
			want bool
		}{
			{0, false}, {-1.5, false}, {math.MaxFloat32, false}, {-math.MaxFloat32, false},
			{1e-40, false}, // subnormal in float32
			{math.NaN(), true}, {math.Inf(1), true}, {math.Inf(-1), true},
		} {
			x := Full(dt, 0.25, 3, 7)
			x.SetFlat(13, c.v)
			if got := x.HasNaNOrInf(); got != c.want {
				t.Errorf("%v with %v: HasNaNOrInf = %v, want %v", dt, c.v, got, c.want)
			}
		}
	}
}
