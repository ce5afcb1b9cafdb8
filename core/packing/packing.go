// Package packing defines what a packing is: a way of laying images out in the slots
// of CKKS ciphertexts, with the compiled plan a server evaluates and the layout a
// client encrypts with. Packages batch (CryptoNets: one image per slot) and single
// (LoLa: one image over the slots of a few ciphertexts) implement it; package compile
// chooses among them, and nothing else needs to know which one a manifest uses.
package packing

import (
	"context"

	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Packing compiles models for one layout of images in ciphertexts, and tells clients
// how images are laid out under the manifests it makes.
type Packing interface {
	// Name is the packing's name in manifests, options and reports.
	Name() manifest.Packing
	// Presets lists the 128-bit parameter sets the packing compiles for, in the order
	// they are tried (the cheapest first).
	Presets() []params.Preset
	// Suits reports why a preset cannot serve the packing (nil if it can).
	Suits(preset params.Preset) error
	// Compile plans m under preset.
	Compile(m *model.Model, preset params.Preset, opts Options) (Plan, error)
	// RequestSizes lists the Options.ImagesPerRequest values worth comparing for a
	// caller that expects to send `expected` images at a time (0: as many as a request
	// holds).
	RequestSizes(expected int) []int
	// Layout checks the packing's own fields of a manifest (whose common fields
	// manifest.Validate has checked) and returns how a client lays images out for it.
	Layout(m *manifest.Manifest) (Layout, error)
}

// Options tune a packing's compilation; the zero value gives its defaults.
type Options struct {
	// ImagesPerRequest is the number of images one request holds: for batch packing
	// a cap below the slot count (0: every slot), for single-image packing the images
	// interleaved in each ciphertext (a power of two; 0: one).
	ImagesPerRequest int
	// TargetBits is the precision, in bits (of the logits relative to their magnitude
	// for batch packing, of each value relative to its magnitude for single-image
	// packing), beyond which the planner prefers speed (0: the packing's default).
	TargetBits float64
	// MinBits is the least precision a plan may have (0: the packing's default).
	MinBits float64
	// Margin is the factor by which a plan with calibrated bounds lets values exceed
	// what the calibration inputs showed before it reports an input as out of range
	// (0: the packing's default).
	Margin float64
	// Guarantee chooses how a packing bounds the values it plans for: "proven" (for
	// every input in the model's ranges), "calibrated" (from the model's calibration,
	// with monitors that turn inputs beyond it into errors at decryption), or empty:
	// proven if a plan fits, else calibrated.
	Guarantee string
}

// Plan is a model compiled for one packing and one parameter set. It holds no key and
// is read-only, so a server may evaluate with it on several goroutines at once.
type Plan interface {
	// Packing is the packing that compiled the plan.
	Packing() manifest.Packing
	// Manifest returns the public manifest: what clients need, without the weights.
	Manifest() manifest.Manifest
	// Parameters returns the plan's CKKS parameters.
	Parameters() hefloat.Parameters
	// PrecisionBits is the planned precision, in the packing's measure (see
	// Options.TargetBits): the bits that noise and weight rounding leave exact.
	PrecisionBits() float64
	// Work counts the operations of one request, for the cost model.
	Work() Work
	// Memory estimates the memory the plan holds and the most one evaluation takes:
	// what a server budgets before it admits a request.
	Memory() Memory
	// Steps describes the compiled steps, for reports.
	Steps() []Step
	// Evaluate runs the network on the input ciphertexts of one request with the
	// evaluation keys the manifest lists, and returns the result ciphertexts. It
	// takes ownership of in (its memory may be recycled). It returns ctx's error if
	// ctx is done before it finishes.
	Evaluate(ctx context.Context, in []*rlwe.Ciphertext, keys rlwe.EvaluationKeySet, progress Progress) ([]*rlwe.Ciphertext, error)
}

// Preparer is implemented by plans that do per-key-set work worth doing once, ahead of
// the first request (single-image packing builds its evaluators): a server calls it
// with its keys, which must not change afterwards.
type Preparer interface {
	Prepare(keys rlwe.EvaluationKeySet) error
}

// Layout is a packing's client side: where each value of each image goes among the
// slots of a request's input ciphertexts.
type Layout interface {
	// Fill writes into slots[d] (zeroed, one value per slot) the values that input
	// ciphertext k+d of a request carries for images, each of which has
	// manifest.Input.Size() values in manifest.InputRange, for every d <
	// len(slots): consecutive ciphertexts at once, so that a layout may read each
	// image's values for them together.
	Fill(slots [][]float64, k int, images [][]float64)
}

// Step describes one compiled step of a plan.
type Step struct {
	Kind string `json:"kind"`
	// Inputs and Outputs count ciphertexts (batch packing) or values (single).
	Inputs  int `json:"inputs"`
	Outputs int `json:"outputs"`
	// Weights counts the non-zero weights of a linear step.
	Weights int `json:"weights,omitempty"`
	// WeightLogScale is s for integer weights round(w·2^s).
	WeightLogScale int `json:"weight_log_scale,omitempty"`
	// Rotations counts the key switches of a step (single-image packing).
	Rotations int     `json:"rotations,omitempty"`
	Rescales  int     `json:"rescales,omitempty"`
	Level     int     `json:"level"`
	Degree    int     `json:"degree"`
	LogScale  float64 `json:"log_scale"`
	Bound     float64 `json:"bound"`
}

// Progress reports long work: what is being done, and how far along it is. A nil
// Progress reports nothing.
type Progress func(what string, done, total int)

// Report calls p, if there is one.
func (p Progress) Report(what string, done, total int) {
	if p != nil {
		p(what, done, total)
	}
}
