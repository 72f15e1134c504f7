package train

import (
	"slices"
	"testing"

	"github.com/bism-ml/bism/tensor"
)

// An epoch's order is rand.Perm of the run's stream, epoch after epoch,
// though its storage is reused: runs and their checkpoints keep the
// permutations they had.
func TestShuffleIsPerm(t *testing.T) {
	p := progress{rng: tensor.NewRNG(7)}
	want := tensor.NewRNG(7).Rand()
	for epoch := range 3 {
		p.shuffle(50)
		if w := want.Perm(50); !slices.Equal(p.order, w) {
			t.Fatalf("epoch %d: order %v, rand.Perm %v", epoch, p.order, w)
		}
	}
	// The minibatches walk the orders in turn.
	p, want = progress{rng: tensor.NewRNG(8)}, tensor.NewRNG(8).Rand()
	w := append(want.Perm(10), want.Perm(10)...)
	var got []int
	for range 5 {
		got = append(got, p.nextIndices(10, 4)...)
	}
	if !slices.Equal(got, w) {
		t.Fatalf("minibatches %v, want %v", got, w)
	}
}
