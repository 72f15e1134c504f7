package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DirLock is the training process's exclusive hold on a run directory
// (an advisory lock on DIR/.lock that records the holder): a second
// training of the same directory is refused while it is held. Evaluation
// and sampling only read a run and take no lock.
type DirLock struct{ f *os.File }

// holder is what the lock file records.
type holder struct {
	PID     int    `json:"pid"`
	Host    string `json:"host"`
	Started string `json:"started"`
}

// Lock takes the lock of dir (created if needed), or returns an error
// naming the process that holds it.
func Lock(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	busy, err := flock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	if busy {
		var h holder
		b, _ := os.ReadFile(p)
		json.Unmarshal(b, &h)
		f.Close()
		return nil, fmt.Errorf("%s is being trained by process %d on %s since %s; wait for it to finish or stop it (Ctrl-C saves its checkpoint)",
			dir, h.PID, h.Host, h.Started)
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(holder{PID: os.Getpid(), Host: host, Started: time.Now().Format(time.RFC3339)})
	f.Truncate(0)
	f.WriteAt(append(b, '\n'), 0)
	return &DirLock{f: f}, nil
}

// Unlock releases the lock.
func (l *DirLock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	funlock(l.f)
	l.f.Close()
	l.f = nil
}

// Unmake removes the lock file of dir and dir itself if nothing else is in
// it: what a training that was refused before it began leaves behind.
func Unmake(dir string) {
	os.Remove(filepath.Join(dir, LockFile))
	os.Remove(dir) // only when empty
}
