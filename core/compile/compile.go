// Package compile turns a converted model into an executable plan for a packing and
// a CKKS parameter set, chosen automatically or by name.
package compile

import (
	"errors"
	"fmt"

	"github.com/cryptonets/cryptonets/core/batch"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/plan"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Auto asks Compile to choose the packing: the one its cost model expects to be the
// fastest for Options.ExpectedImages images.
const Auto plan.Packing = "auto"

// Options choose the packing and parameters.
type Options struct {
	// Packing is plan.Batch, plan.Single or Auto (the default, also when empty).
	Packing plan.Packing
	// ExpectedImages is the number of images per request Auto chooses for; 0 means
	// a full batch or more.
	ExpectedImages int
	// Params names a preset; empty picks the smallest 128-bit preset that fits.
	Params string
	// AllowInsecure permits presets named Insecure…, for tests only.
	AllowInsecure bool
	// Batch tunes batch packing.
	Batch batch.Options
}

// Plan is a model compiled for one packing and one parameter set. It is read-only,
// so servers may evaluate with it on several goroutines.
type Plan struct {
	batch *batch.Plan
}

// FromBatch wraps a plan compiled by package batch.
func FromBatch(p *batch.Plan) (*Plan, error) {
	if p == nil {
		return nil, errors.New("compile: nil plan")
	}
	return &Plan{batch: p}, nil
}

// Packing tells how the plan lays images out in ciphertexts.
func (p *Plan) Packing() plan.Packing { return plan.Batch }

// Manifest returns the public manifest: what clients need, without the weights.
func (p *Plan) Manifest() plan.Manifest { return p.batch.Manifest() }

// Parameters returns the plan's CKKS parameters.
func (p *Plan) Parameters() hefloat.Parameters { return p.batch.Parameters() }

// PrecisionBits is the planned precision of each step: the fewest bits of any value,
// relative to its magnitude, that noise and weight rounding leave exact. Errors
// compound through the layers: the logits' error is a few bits larger (see the
// fixture and model tests for measured figures).
func (p *Plan) PrecisionBits() float64 { return p.batch.PrecisionBits() }

// Batch returns the batch-packing plan, or nil for another packing.
func (p *Plan) Batch() *batch.Plan { return p.batch }

// ForManifest compiles m into the plan manifest man describes (its packing, parameters
// and images per batch) and checks that the result is that plan: the server's way to
// serve exactly what a client's keys and batches were made for. allowInsecure lets an
// insecure manifest through (tests only).
func ForManifest(m *model.Model, man plan.Manifest, allowInsecure bool) (*Plan, error) {
	opts := Options{Packing: man.Packing, Params: man.Params, AllowInsecure: allowInsecure}
	p, err := Compile(m, opts)
	if err != nil {
		return nil, err
	}
	if got := p.Manifest(); got.Fingerprint() != man.Fingerprint() {
		return nil, fmt.Errorf("compile: the model does not compile to the manifest's plan (model %q, manifest for %q)", got.Model, man.Model)
	}
	return p, nil
}

// Compile plans m for evaluation on encrypted data.
func Compile(m *model.Model, opts Options) (*Plan, error) {
	switch opts.Packing {
	case "", Auto, plan.Batch:
	default:
		return nil, fmt.Errorf("compile: packing %q is not available; use %q", opts.Packing, plan.Batch)
	}
	if opts.ExpectedImages < 0 {
		return nil, fmt.Errorf("compile: %d expected images", opts.ExpectedImages)
	}
	var (
		p   *batch.Plan
		err error
	)
	if opts.Params == "" {
		p, err = batch.CompileAuto(m, opts.Batch)
	} else {
		var preset params.Preset
		if preset, err = params.ByName(opts.Params, opts.AllowInsecure); err != nil {
			return nil, err
		}
		p, err = batch.Compile(m, preset, opts.Batch)
	}
	if err != nil {
		return nil, err
	}
	return FromBatch(p)
}
