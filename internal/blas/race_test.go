//go:build race

package blas

// raceEnabled is set under the race detector, whose sync.Pool drops items
// at random, so that pooled buffers are sometimes allocated again.
const raceEnabled = true
