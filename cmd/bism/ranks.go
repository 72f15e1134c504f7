package main

import (
	"errors"
	"fmt"

	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/train"
)

// launch returns the data-parallel group this process was started in by
// mpirun or srun (nil for one process), and the function that ends its
// part in it with the command's error.
func launch() (*dist.Group, func(error) error, error) {
	c, err := dist.World()
	if err != nil {
		return nil, nil, err
	}
	if c.Size() == 1 {
		return nil, func(err error) error { return err }, nil
	}
	g := dist.NewGroup(c)
	return g, func(err error) error { return leave(g, err) }, nil
}

// leave ends a rank's part in a data-parallel command. The ranks agree on
// success, an interruption and a divergence (every rank saw the same
// step), so they finish together and only rank 0 reports. Any other error
// is one rank's alone and would leave the others waiting in their next
// sum, so that rank says why and stops the whole job (MPI_Abort).
func leave(g *dist.Group, err error) error {
	switch {
	case errors.Is(err, experiment.ErrLeadRefused):
		// Rank 0 reports its refusal and stops the job.
		g.Comm.Close()
		return exitError{1, errQuiet}
	case err == nil || errors.Is(err, train.ErrInterrupted) || errors.Is(err, train.ErrDiverged):
		g.Comm.Close()
		if err != nil && !g.Lead() {
			return exitError{exitCode(err), errQuiet}
		}
		return err
	}
	fmt.Fprintf(stderr, "bism: rank %d of %d failed: %v; stopping every rank\n", g.Comm.Rank(), g.Size(), err)
	g.Comm.Abort(1)
	return exitError{1, errQuiet}
}

// errQuiet is the error of a command whose failure was reported already.
var errQuiet = errors.New("reported")

func exitCode(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}
