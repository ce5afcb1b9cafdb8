// Package compile turns a converted model into an executable plan: it chooses the
// packing (among Packings) and the CKKS parameter set, automatically or by name.
package compile

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/packing/batch"
	"github.com/cryptonets/cryptonets/core/packing/single"
	"github.com/cryptonets/cryptonets/core/params"
)

// Plan is a model compiled for one packing and one parameter set.
type Plan = packing.Plan

// Auto asks Compile to choose the packing: the one its cost model expects to be the
// fastest for Options.ExpectedImages images.
const Auto manifest.Packing = "auto"

// Packings lists the packings Compile chooses among: batch packing (CryptoNets, the
// default without an image count) and single-image packing (LoLa).
func Packings() []packing.Packing { return []packing.Packing{batch.Packing{}, single.Packing{}} }

// Lookup returns the packing of a name.
func Lookup(name manifest.Packing) (packing.Packing, error) {
	var names []string
	for _, p := range Packings() {
		if p.Name() == name {
			return p, nil
		}
		names = append(names, string(p.Name()))
	}
	return nil, errs.New(errs.ErrInvalidArgument, "compile: unknown packing %q: want %s", name, strings.Join(names, ", "))
}

// Options choose the packing and parameters.
type Options struct {
	// Packing is the name of one of Packings, or Auto (the default, also when empty).
	Packing manifest.Packing
	// ExpectedImages is the number of images the caller expects to send at a time:
	// Auto chooses the packing for it, and a packing how many images share a request
	// (packing.Packing.RequestSizes). 0 means a full batch or more.
	ExpectedImages int
	// Params names a preset; empty picks the smallest 128-bit preset that fits the
	// packing. A named preset also narrows Auto to the packings it suits.
	Params string
	// AllowInsecure permits presets named Insecure…, for tests only.
	AllowInsecure bool
	// Tuning is passed to the packing; Tuning.ImagesPerRequest, when set, fixes the
	// images per request instead of letting the cost model choose.
	Tuning packing.Options
}

// ForManifest compiles m into the plan manifest man describes (its packing,
// parameters and images per request) and checks that the result is that plan: the
// server's way to serve exactly what a client's keys and batches were made for.
// allowInsecure lets an insecure manifest through (tests only).
func ForManifest(m *model.Model, man manifest.Manifest, allowInsecure bool) (Plan, error) {
	opts := Options{Packing: man.Packing, Params: man.Params, AllowInsecure: allowInsecure,
		ExpectedImages: man.ImagesPerBatch, Tuning: packing.Options{ImagesPerRequest: man.ImagesPerBatch}}
	p, err := Compile(m, opts)
	if err != nil {
		return nil, err
	}
	if got := p.Manifest(); got.Fingerprint() != man.Fingerprint() {
		return nil, errs.New(errs.ErrMismatch, "compile: the model does not compile to the manifest's plan (model %q, manifest for %q)", got.Model, man.Model)
	}
	return p, nil
}

// Compile plans m for evaluation on encrypted data.
func Compile(m *model.Model, opts Options) (Plan, error) {
	if m == nil {
		return nil, errs.New(errs.ErrInvalidArgument, "compile: nil model")
	}
	if opts.ExpectedImages < 0 || opts.Tuning.ImagesPerRequest < 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "compile: %d expected images, %d per request", opts.ExpectedImages, opts.Tuning.ImagesPerRequest)
	}
	var named *params.Preset
	if opts.Params != "" {
		preset, err := params.ByName(opts.Params, opts.AllowInsecure)
		if err != nil {
			return nil, err
		}
		named = &preset
	}
	packings := Packings()
	if opts.Packing != "" && opts.Packing != Auto {
		p, err := Lookup(opts.Packing)
		if err != nil {
			return nil, err
		}
		packings = []packing.Packing{p}
	}
	var candidates []Plan
	var failures []error
	for _, pk := range packings {
		plans, err := compileFor(pk, m, named, opts)
		if err != nil {
			failures = append(failures, err)
		}
		candidates = append(candidates, plans...)
	}
	if len(candidates) == 0 {
		return nil, errors.Join(failures...)
	}
	return fastest(candidates, opts.ExpectedImages), nil
}

// compileFor compiles m for one packing: for each request size worth comparing, under
// the named preset or the first of the packing's presets that holds the network.
func compileFor(pk packing.Packing, m *model.Model, named *params.Preset, opts Options) ([]Plan, error) {
	presets := pk.Presets()
	if named != nil {
		if err := pk.Suits(*named); err != nil {
			return nil, err
		}
		presets = []params.Preset{*named}
	}
	sizes := pk.RequestSizes(opts.ExpectedImages)
	if n := opts.Tuning.ImagesPerRequest; n > 0 {
		sizes = []int{n}
	}
	var out []Plan
	for _, size := range sizes {
		tuning := opts.Tuning
		tuning.ImagesPerRequest = size
		p, err := firstThatFits(pk, m, presets, tuning)
		if err != nil {
			if len(out) > 0 {
				break // larger requests fit no better
			}
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// firstThatFits compiles under each preset in turn and returns the first plan.
func firstThatFits(pk packing.Packing, m *model.Model, presets []params.Preset, opts packing.Options) (Plan, error) {
	var failures []error
	for _, preset := range presets {
		p, err := pk.Compile(m, preset, opts)
		if err == nil {
			return p, nil
		}
		failures = append(failures, fmt.Errorf("%s packing, %s: %w", pk.Name(), preset.Name, err))
	}
	return nil, errors.Join(failures...)
}

// fastest returns the candidate the cost model expects to take the least time for
// the given number of images (0: the largest request any candidate holds).
func fastest(candidates []Plan, images int) Plan {
	if images == 0 {
		for _, c := range candidates {
			images = max(images, c.Manifest().ImagesPerBatch)
		}
	}
	best := candidates[0]
	for _, c := range candidates[1:] {
		if EstimateOf(c, images).TotalSeconds < EstimateOf(best, images).TotalSeconds {
			best = c
		}
	}
	return best
}
