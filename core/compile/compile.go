// Package compile turns a converted model into an executable plan for a packing and
// a CKKS parameter set, chosen automatically or by name.
package compile

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/batch"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/cryptonets/cryptonets/core/plan"
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

// Compile plans m for evaluation on encrypted data.
func Compile(m *model.Model, opts Options) (*batch.Plan, error) {
	if opts.Packing != "" && opts.Packing != plan.Batch {
		return nil, fmt.Errorf("compile: packing %q is not available; use %q", opts.Packing, plan.Batch)
	}
	if opts.Params == "" {
		return batch.CompileAuto(m, opts.Batch)
	}
	preset, err := params.ByName(opts.Params, opts.AllowInsecure)
	if err != nil {
		return nil, err
	}
	return batch.Compile(m, preset, opts.Batch)
}
