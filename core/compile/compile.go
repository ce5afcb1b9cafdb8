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

// Options choose the packing and parameters.
type Options struct {
	// Packing defaults to plan.Batch.
	Packing plan.Packing
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

// PrecisionBits is the planned precision of the logits: the bits, relative to the
// output scale, that noise and rounding leave exact.
func (p *Plan) PrecisionBits() float64 { return p.batch.PrecisionBits() }

// Batch returns the batch-packing plan, or nil for another packing.
func (p *Plan) Batch() *batch.Plan { return p.batch }

// Compile plans m for evaluation on encrypted data.
func Compile(m *model.Model, opts Options) (*Plan, error) {
	if opts.Packing != "" && opts.Packing != plan.Batch {
		return nil, fmt.Errorf("compile: packing %q is not available; use %q", opts.Packing, plan.Batch)
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
