package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/bism-ml/bism/internal/buildinfo"
)

// Start is one entry of run.json: who started or resumed the run, when,
// where and with what.
type Start struct {
	Event   string   `json:"event"` // "start" or "resume"
	Time    string   `json:"time"`  // RFC 3339
	Iter    int      `json:"iter"`  // the iteration it started from
	Command []string `json:"command"`
	Host    string   `json:"host,omitempty"`
	Ranks   int      `json:"ranks,omitempty"` // processes of a data-parallel run (absent: 1)
	buildinfo.Info
}

// RecordStart appends an entry for this process (one of ranks, for a
// data-parallel run) to dir/run.json.
func RecordStart(dir, event string, iter int, command []string, ranks int) error {
	p := filepath.Join(dir, RunFile)
	var log struct {
		Starts []Start `json:"starts"`
	}
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &log); err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	host, _ := os.Hostname()
	if ranks <= 1 {
		ranks = 0 // omitted: one process
	}
	log.Starts = append(log.Starts, Start{Event: event, Time: time.Now().Format(time.RFC3339), Iter: iter,
		Command: command, Host: host, Ranks: ranks, Info: buildinfo.Get()})
	_, err = WriteJSON(dir, RunFile, log)
	return err
}
