// Package config owns an experiment's description: the Config type, its
// defaults, the registry of data sets, models, methods, schedules and
// samplers, validation, and the one strict reader of config files and
// -set overrides.
//
// A config is YAML with one section per stage:
//
//	seed: 1234
//	data:   {name: checkerboard}
//	model:  {kind: grbm, hidden: 4}
//	method: {name: bissm, k: 5, n: 5}
//	train:  {iterations: 20000, lr: 0.001}
//	eval:   {ll: exact}
//
// Every key is optional (Defaults fills the rest) and every key must be
// known: a typo is an error with a suggestion, naming the file and line or
// the override. Overrides use the same dotted keys ("train.lr=2e-4"); an
// empty value is an error except for the text keys whose empty value means
// "not set" (Keys says which). Numbers must be finite and integers whole.
//
// Load reads a file or, when no such file exists, a config built into the
// binary by name (package configs). CheckResume says which keys a resumed
// run may change.
package config
