// Package compile turns a converted model into an executable plan for a packing and
// a CKKS parameter set, chosen automatically or by name.
package compile

import (
	"errors"
	"fmt"

	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing/batch"
	"github.com/cryptonets/cryptonets/core/packing/single"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Auto asks Compile to choose the packing: the one its cost model expects to be the
// fastest for Options.ExpectedImages images.
const Auto manifest.Packing = "auto"

// Options choose the packing and parameters.
type Options struct {
	// Packing is manifest.Batch, manifest.Single or Auto (the default, also when empty).
	Packing manifest.Packing
	// ExpectedImages is the number of images the caller expects to send at a time:
	// Auto chooses the packing for it, and single-image packing how many images share
	// a request. 0 means a full batch or more (Auto) or one (single).
	ExpectedImages int
	// Params names a preset; empty picks the smallest 128-bit preset that fits the
	// packing. A named preset also decides the packing under Auto: single-image
	// packing needs a preset with a special prime (params.KeySwitching).
	Params string
	// AllowInsecure permits presets named Insecure…, for tests only.
	AllowInsecure bool
	// Batch tunes batch packing.
	Batch batch.Options
	// Single tunes single-image packing: ImagesPerCiphertext images share one request.
	// Left at 0, one image per request, or, when ExpectedImages asks for more, the
	// count (1, 2, 4 or 8) the cost model expects to be the fastest.
	Single single.Options
}

// Plan is a model compiled for one packing and one parameter set. It is read-only,
// so servers may evaluate with it on several goroutines.
type Plan struct {
	batch  *batch.Plan
	single *single.Plan
}

// FromBatch wraps a plan compiled by package batch.
func FromBatch(p *batch.Plan) (*Plan, error) {
	if p == nil {
		return nil, errors.New("compile: nil plan")
	}
	return &Plan{batch: p}, nil
}

// FromSingle wraps a plan compiled by package single.
func FromSingle(p *single.Plan) (*Plan, error) {
	if p == nil {
		return nil, errors.New("compile: nil plan")
	}
	return &Plan{single: p}, nil
}

// Packing tells how the plan lays images out in ciphertexts.
func (p *Plan) Packing() manifest.Packing {
	if p.single != nil {
		return manifest.Single
	}
	return manifest.Batch
}

// Manifest returns the public manifest: what clients need, without the weights.
func (p *Plan) Manifest() manifest.Manifest {
	if p.single != nil {
		return p.single.Manifest()
	}
	return p.batch.Manifest()
}

// Parameters returns the plan's CKKS parameters.
func (p *Plan) Parameters() hefloat.Parameters {
	if p.single != nil {
		return p.single.Parameters()
	}
	return p.batch.Parameters()
}

// PrecisionBits is the planned precision of each step: the fewest bits of any value,
// relative to its magnitude, that noise and weight rounding leave exact. Errors
// compound through the layers: the logits' error is a few bits larger (see the
// fixture and model tests for measured figures).
func (p *Plan) PrecisionBits() float64 {
	if p.single != nil {
		return p.single.PrecisionBits()
	}
	return p.batch.PrecisionBits()
}

// Batch returns the batch-packing plan, or nil for another packing.
func (p *Plan) Batch() *batch.Plan { return p.batch }

// Single returns the single-image plan, or nil for another packing.
func (p *Plan) Single() *single.Plan { return p.single }

// ForManifest compiles m into the plan manifest man describes (its packing and
// parameters) and checks that the result is that plan: the server's way to serve
// exactly what a client's keys and batches were made for. allowInsecure lets an
// insecure manifest through (tests only).
func ForManifest(m *model.Model, man manifest.Manifest, allowInsecure bool) (*Plan, error) {
	opts := Options{Packing: man.Packing, Params: man.Params, AllowInsecure: allowInsecure}
	if man.Packing == manifest.Single {
		opts.Single.ImagesPerCiphertext = man.ImagesPerBatch
	}
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
	if opts.ExpectedImages < 0 {
		return nil, fmt.Errorf("compile: %d expected images", opts.ExpectedImages)
	}
	var named *params.Preset
	if opts.Params != "" {
		preset, err := params.ByName(opts.Params, opts.AllowInsecure)
		if err != nil {
			return nil, err
		}
		named = &preset
	}
	switch opts.Packing {
	case manifest.Batch:
		return compileBatch(m, named, opts)
	case manifest.Single:
		candidates, err := singleCandidates(m, named, opts)
		if err != nil {
			return nil, err
		}
		return fastest(candidates, opts.ExpectedImages), nil
	case "", Auto:
		return compileAuto(m, named, opts)
	}
	return nil, fmt.Errorf("compile: unknown packing %q: want %q, %q or %q", opts.Packing, manifest.Batch, manifest.Single, Auto)
}

// maxInterleave is the most images per ciphertext Auto weighs for single-image
// packing (it tries 1, 2, 4, …).
const maxInterleave = 8

// keySwitching reports whether a preset has special primes (single-image packing).
func keySwitching(p params.Preset) bool { return len(p.Literal.LogP) > 0 }

func compileBatch(m *model.Model, named *params.Preset, opts Options) (*Plan, error) {
	if named == nil {
		p, err := batch.CompileAuto(m, opts.Batch)
		if err != nil {
			return nil, err
		}
		return FromBatch(p)
	}
	if keySwitching(*named) {
		return nil, fmt.Errorf("compile: %s is a single-image parameter set; batch packing uses %s", named.Name, presetNames(params.Secure()))
	}
	p, err := batch.Compile(m, *named, opts.Batch)
	if err != nil {
		return nil, err
	}
	return FromBatch(p)
}

func compileSingle(m *model.Model, named *params.Preset, opts single.Options) (*Plan, error) {
	presets := params.KeySwitching()
	if named != nil {
		if !keySwitching(*named) {
			return nil, fmt.Errorf("compile: %s has no special prime; single-image packing uses %s", named.Name, presetNames(presets))
		}
		presets = []params.Preset{*named}
	}
	var errs []error
	for _, preset := range presets {
		p, err := single.Compile(m, preset, opts)
		if err == nil {
			return FromSingle(p)
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// compileAuto compiles every packing the options allow and keeps the one the cost
// model expects to be the fastest for the expected number of images.
func compileAuto(m *model.Model, named *params.Preset, opts Options) (*Plan, error) {
	var candidates []*Plan
	var errs []error
	if named == nil || !keySwitching(*named) {
		p, err := compileBatch(m, named, opts)
		if err != nil {
			errs = append(errs, err)
		} else {
			candidates = append(candidates, p)
		}
	}
	if named == nil || keySwitching(*named) {
		singles, err := singleCandidates(m, named, opts)
		if err != nil {
			errs = append(errs, err)
		}
		candidates = append(candidates, singles...)
	}
	if len(candidates) == 0 {
		return nil, errors.Join(errs...)
	}
	return fastest(candidates, opts.ExpectedImages), nil
}

// singleCandidates compiles single-image plans: with the given images per
// ciphertext, or, if the options leave it open and expect several images, for every
// count up to maxInterleave that fits (else one image per request).
func singleCandidates(m *model.Model, named *params.Preset, opts Options) ([]*Plan, error) {
	if k := opts.Single.ImagesPerCiphertext; k > 0 || opts.ExpectedImages <= 1 {
		p, err := compileSingle(m, named, single.Options{ImagesPerCiphertext: max(k, 1)})
		if err != nil {
			return nil, err
		}
		return []*Plan{p}, nil
	}
	var out []*Plan
	for k := 1; k <= maxInterleave; k *= 2 {
		p, err := compileSingle(m, named, single.Options{ImagesPerCiphertext: k})
		if err != nil {
			if len(out) > 0 {
				break // more images per ciphertext fit no better
			}
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// fastest returns the candidate the cost model expects to take the least time for
// the given number of images (0: the largest request any candidate holds).
func fastest(candidates []*Plan, images int) *Plan {
	if images == 0 {
		for _, c := range candidates {
			images = max(images, c.Manifest().ImagesPerBatch)
		}
	}
	best := candidates[0]
	for _, c := range candidates[1:] {
		if c.Estimate(images).TotalSeconds < best.Estimate(images).TotalSeconds {
			best = c
		}
	}
	return best
}

func presetNames(ps []params.Preset) string {
	names := ""
	for i, p := range ps {
		if i > 0 {
			names += ", "
		}
		names += p.Name
	}
	return names
}
