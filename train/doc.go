// Package train runs the training loop of any model and learning method,
// and keeps its run directory so that a run cannot be lost.
//
// A [Run] is θ (an nn.Params), a [Method] that turns a minibatch into θ's
// gradient (stepping whatever else it owns: a posterior, persistent
// chains, a log-normaliser), θ's Adam, and where the run stands: the
// iteration, the random stream, the epoch's order of the training rows
// and the losses since the last record. Each step applies the
// learning-rate schedules, draws the minibatch, calls the method, checks
// that the loss, the gradients and the method's parameters are finite
// (ErrDiverged otherwise, naming the last good checkpoint), lets a
// [Committer] apply its deferred updates, and steps θ. Every step's
// tensors live in the run's own arena (tensor.Arena), so a step allocates
// no storage in steady state and runs in one process do not share state.
//
// [Run.Train] appends a record to metrics.jsonl every train.eval_every
// iterations (with what the Record hook adds: an evaluation) and saves
// checkpoint.safetensors and snapshots; when its context is cancelled it
// saves at the next step boundary and returns ErrInterrupted.
// [Run.Restore] continues exactly from a checkpoint, checking every field
// it reads; [Run.LoadParams] reads only the parameters.
//
// A run with a Shard (dist.Shard) is one rank of a data-parallel run: every
// rank draws the same global minibatch and the same noise stream, steps the
// method on its rows, and averages the losses and θ's gradient across
// ranks, so every replica takes the step one process would take on the
// whole batch (to float32 round-off). Rank 0 alone writes files; all ranks
// stop at the same step boundary.
//
// The run directory's rules live here too: [Lock] refuses a second
// training of a directory, [Clear] deletes only the files bism writes,
// [RemoveTemp] removes what killed writers left, a torn last line of
// metrics.jsonl is dropped on resume, and [RecordStart] appends each start
// to run.json. Package experiment builds runs from configs; this package
// knows nothing of models.
package train
