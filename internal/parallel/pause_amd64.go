//go:build amd64 && !purego

package parallel

// pause is the PAUSE instruction, the hint that the core is polling: it
// spaces the polling loop's reads of the word it watches, so the store that
// ends the wait reaches that word sooner (BenchmarkHandOver).
func pause()
