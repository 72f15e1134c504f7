package dist

import (
	"fmt"
	"os"
	"strconv"
)

// launchedRanks returns the number of processes the launcher (mpirun, srun)
// started this one with, or 1.
func launchedRanks() int {
	for _, k := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"} {
		if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 1 {
			return n
		}
	}
	return 1
}

// World returns the communicator this process was launched with: MPI's
// world under mpirun or srun (in a build with the mpi tag), Single
// otherwise. A build without MPI launched as several processes is refused,
// since its ranks would each train alone.
func World() (Comm, error) {
	n := launchedRanks()
	if n == 1 {
		return Single{}, nil
	}
	if openMPI == nil {
		return nil, fmt.Errorf("launched as %d processes, but this bism was built without MPI: build it with `go build -tags mpi ./cmd/bism` (needs Debian's libopenmpi-dev)", n)
	}
	return openMPI()
}

// openMPI initialises MPI (set in a build with the mpi tag).
var openMPI func() (Comm, error)
