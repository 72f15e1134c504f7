//go:build mpi

package dist

/*
#cgo pkg-config: ompi-c
#include <mpi.h>

static int bism_init(int *rank, int *size) {
	int provided, rc;
	rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
	if (rc != MPI_SUCCESS) return rc;
	if (provided < MPI_THREAD_SERIALIZED) return -1;
	MPI_Comm_rank(MPI_COMM_WORLD, rank);
	MPI_Comm_size(MPI_COMM_WORLD, size);
	return MPI_SUCCESS;
}

// A reduction to rank 0 then a broadcast: every rank gets rank 0's bits,
// whatever algorithm the library picks for the reduction.
static int bism_sum(void *buf, int n, int f64, int rank) {
	MPI_Datatype t = f64 ? MPI_DOUBLE : MPI_FLOAT;
	int rc = MPI_Reduce(rank == 0 ? MPI_IN_PLACE : buf, buf, n, t, MPI_SUM, 0, MPI_COMM_WORLD);
	if (rc != MPI_SUCCESS) return rc;
	return MPI_Bcast(buf, n, t, 0, MPI_COMM_WORLD);
}

static void bism_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
static void bism_finalize(void) { MPI_Finalize(); }
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

func init() { openMPI = newMPI }

// mpiComm is MPI_COMM_WORLD. Calls may come from any OS thread, one at a
// time (MPI_THREAD_SERIALIZED): a training step's sums are made by the
// goroutine that runs it.
type mpiComm struct{ rank, size int }

func newMPI() (Comm, error) {
	var rank, size C.int
	switch rc := C.bism_init(&rank, &size); rc {
	case C.MPI_SUCCESS:
	case -1:
		return nil, fmt.Errorf("mpi: the library does not support calls from several threads (MPI_THREAD_SERIALIZED)")
	default:
		return nil, fmt.Errorf("mpi: MPI_Init_thread failed (error %d)", int(rc))
	}
	return &mpiComm{rank: int(rank), size: int(size)}, nil
}

func (c *mpiComm) Rank() int { return c.rank }
func (c *mpiComm) Size() int { return c.size }

func (c *mpiComm) SumFloat32(buf []float32) {
	for len(buf) > 0 {
		n := min(len(buf), math.MaxInt32)
		c.check(C.bism_sum(unsafe.Pointer(&buf[0]), C.int(n), 0, C.int(c.rank)))
		buf = buf[n:]
	}
}

func (c *mpiComm) SumFloat64(buf []float64) {
	for len(buf) > 0 {
		n := min(len(buf), math.MaxInt32)
		c.check(C.bism_sum(unsafe.Pointer(&buf[0]), C.int(n), 1, C.int(c.rank)))
		buf = buf[n:]
	}
}

// check aborts the job on a failed sum (MPI's default error handler has
// already done so; this covers a handler that returns).
func (c *mpiComm) check(rc C.int) {
	if rc != C.MPI_SUCCESS {
		panic(fmt.Sprintf("mpi: a sum across ranks failed on rank %d (error %d)", c.rank, int(rc)))
	}
}

func (c *mpiComm) Abort(code int) { C.bism_abort(C.int(code)) }
func (c *mpiComm) Close()         { C.bism_finalize() }
