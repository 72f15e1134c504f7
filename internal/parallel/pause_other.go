//go:build !amd64 || purego

package parallel

// pause does nothing where no polling hint is given.
func pause() {}
