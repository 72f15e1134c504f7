//go:build unix

package train

import (
	"errors"
	"os"
	"syscall"
)

// flock takes an exclusive, non-blocking advisory lock on f; busy reports
// that another process holds it.
func flock(f *os.File) (busy bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

func funlock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
