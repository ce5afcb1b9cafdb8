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
	p, _, err := Choose(m, opts)
	return p, err
}

// Choice says how Compile chose a plan: for how many images, among which candidates,
// and why the packings that are not among them could not hold the network.
type Choice struct {
	// Packing is the chosen plan's packing; Auto tells whether the cost model chose it.
	Packing manifest.Packing `json:"packing"`
	Auto    bool             `json:"auto"`
	// ExpectedImages is the image count the choice was made for (0: a full batch).
	ExpectedImages int `json:"expected_images"`
	// Candidates are the plans compared, with their expected time for the images.
	Candidates []Candidate `json:"candidates"`
	// Rejected has, per packing that could not hold the network, the reason and
	// what to change.
	Rejected []Rejection `json:"rejected,omitempty"`
}

// Candidate is one plan Choose compared.
type Candidate struct {
	Packing          manifest.Packing `json:"packing"`
	Params           string           `json:"params"`
	ImagesPerRequest int              `json:"images_per_request"`
	// Seconds is the cost model's time for ExpectedImages images.
	Seconds float64 `json:"seconds"`
}

// Rejection says why a packing cannot hold a network, and what would change that.
type Rejection struct {
	Packing manifest.Packing `json:"packing"`
	Reason  string           `json:"reason"`
	Advice  string           `json:"advice"`
}

// String summarizes the choice in a sentence.
func (c Choice) String() string {
	var b strings.Builder
	how := "as asked"
	if c.Auto {
		how = "the fastest of the candidates"
		if c.ExpectedImages > 0 {
			how += fmt.Sprintf(" for %d images", c.ExpectedImages)
		}
	}
	fmt.Fprintf(&b, "%s packing (%s)", c.Packing, how)
	for _, r := range c.Rejected {
		fmt.Fprintf(&b, "; %s packing cannot hold this network (%s): %s", r.Packing, r.Reason, r.Advice)
	}
	return b.String()
}

// Choose is Compile that also says how it chose.
func Choose(m *model.Model, opts Options) (Plan, Choice, error) {
	choice := Choice{Auto: opts.Packing == "" || opts.Packing == Auto, ExpectedImages: opts.ExpectedImages}
	if m == nil {
		return nil, choice, errs.New(errs.ErrInvalidArgument, "compile: nil model")
	}
	if opts.ExpectedImages < 0 || opts.Tuning.ImagesPerRequest < 0 {
		return nil, choice, errs.New(errs.ErrInvalidArgument, "compile: %d expected images, %d per request", opts.ExpectedImages, opts.Tuning.ImagesPerRequest)
	}
	var named *params.Preset
	if opts.Params != "" {
		preset, err := params.ByName(opts.Params, opts.AllowInsecure)
		if err != nil {
			return nil, choice, err
		}
		named = &preset
	}
	packings := Packings()
	if opts.Packing != "" && opts.Packing != Auto {
		p, err := Lookup(opts.Packing)
		if err != nil {
			return nil, choice, err
		}
		packings = []packing.Packing{p}
	}
	var candidates []Plan
	var failures []error
	for _, pk := range packings {
		plans, err := compileFor(pk, m, named, opts)
		if err != nil {
			failures = append(failures, err)
			if len(plans) == 0 {
				choice.Rejected = append(choice.Rejected, Rejection{Packing: pk.Name(), Reason: oneLine(err), Advice: advice(pk.Name(), m)})
			}
		}
		candidates = append(candidates, plans...)
	}
	if len(candidates) == 0 {
		var hints []string
		for _, r := range choice.Rejected {
			hints = append(hints, fmt.Sprintf("for %s packing: %s", r.Packing, r.Advice))
		}
		return nil, choice, fmt.Errorf("%w; %s", errors.Join(failures...), strings.Join(hints, "; "))
	}
	best := fastest(candidates, opts.ExpectedImages)
	choice.Packing = best.Packing()
	images := opts.ExpectedImages
	for _, c := range candidates {
		n := images
		if n == 0 {
			n = c.Manifest().ImagesPerBatch
		}
		man := c.Manifest()
		choice.Candidates = append(choice.Candidates, Candidate{Packing: c.Packing(), Params: man.Params,
			ImagesPerRequest: man.ImagesPerBatch, Seconds: EstimateOf(c, n).TotalSeconds})
	}
	return best, choice, nil
}

// advice says what would let a packing hold a network it cannot.
func advice(pk manifest.Packing, m *model.Model) string {
	s := "fewer activation layers or polynomials of lower degree (each polynomial of depth d takes d levels); "
	if m.Calibration == nil {
		s += "converting with calibration data allows tighter, calibrated value bounds; "
	}
	if pk == batch.Name {
		return s + "the largest 128-bit batch parameter set is " + params.Batch()[len(params.Batch())-1].Name
	}
	return s + "the largest 128-bit single-image parameter set is " + params.KeySwitching()[len(params.KeySwitching())-1].Name
}

// oneLine returns the error's message on one line.
func oneLine(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "; ")
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
