// Package experiment makes a config into a run and judges what it learned.
//
// [New] builds an [Experiment] from a config.Config: it loads the data
// set, initialises the model (the GRBM of Sec. 5.1, or a deep model of
// Sec. 5.2) and its posterior from the seed, binds the learning method, and
// wires them into a train.Run with the model's own metrics at each record.
// [Train] runs one from the command line's point of view: it resolves the
// config, applies the run directory's rules (no silent overwrite; -resume
// only of the same experiment), takes the directory's lock, checks that
// the run fits in memory ([CheckMemory]), records the start, trains and
// draws the figures. [Open] rebuilds a trained run from its directory.
// With [Options.Group] (or [TrainOptions.Group]) of several ranks the run
// is data-parallel: rank 0 applies the directory rules and tells the other
// ranks whether it started and whether from the checkpoint.
//
// What a trained model can be asked depends on what it offers: a GRBM has
// a computable normaliser and a tractable free energy, so [Experiment.Evaluate]
// gives held-out log-likelihood (exact, or AIS) and the Fisher metric; a
// deep model is judged by its samples (FID, KID, class scores) and, with
// latents, by its posterior (a linear probe, the posterior Fisher
// divergence). [Experiment.Sample] draws block Gibbs chains or annealed
// Langevin dynamics; [Experiment.Denoise] runs a deep model's chains from
// noisy test images. Each says plainly when the model lacks the
// capability.
package experiment
