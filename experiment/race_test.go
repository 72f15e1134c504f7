//go:build race

package experiment

// raceEnabled is set under the race detector, whose sync.Pool drops items
// at random, so that pooled scratch is sometimes allocated again.
const raceEnabled = true
