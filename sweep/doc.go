// Package sweep runs grids of experiments: a sweep file names a base
// config, named variants, a grid of config keys and seeds; Cells expands
// it into runs with deterministic directory names, Run trains them
// locally a few at a time (skipping finished ones, resuming partial ones),
// and Summarize writes summary.csv, summary.md (mean ± sd over seeds) and
// a figure of the curves. Each cell is an ordinary run directory, the same
// as `bism train -config C -set ... -out DIR/NAME -resume=auto` makes.
package sweep
