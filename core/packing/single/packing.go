package single

import (
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
)

// Name is single-image packing's name in manifests and options.
const Name manifest.Packing = "single"

// Packing is single-image packing, as package compile sees it.
type Packing struct{}

var (
	_ packing.Packing = Packing{}
	_ packing.Plan    = (*Plan)(nil)
)

// maxInterleave is the most images per ciphertext RequestSizes offers.
const maxInterleave = 8

// Name returns Name.
func (Packing) Name() manifest.Packing { return Name }

// Presets lists the 128-bit presets with special primes, smallest first.
func (Packing) Presets() []params.Preset { return params.KeySwitching() }

// Suits reports whether a preset has the special primes key switching needs.
func (Packing) Suits(preset params.Preset) error {
	if len(preset.Literal.LogP) == 0 {
		return errs.New(errs.ErrInvalidArgument, "single: %s has no special prime: single-image packing needs key switching", preset.Name)
	}
	return nil
}

// Compile plans m under preset (see Compile).
func (Packing) Compile(m *model.Model, preset params.Preset, opts packing.Options) (packing.Plan, error) {
	p, err := Compile(m, preset, opts)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// RequestSizes offers one image per request, or, for a caller that expects several
// at a time, every power of two up to maxInterleave.
func (Packing) RequestSizes(expected int) []int {
	if expected <= 1 {
		return []int{1}
	}
	var sizes []int
	for k := 1; k <= maxInterleave; k *= 2 {
		sizes = append(sizes, k)
	}
	return sizes
}

// Layout checks a single-packing manifest's own fields (its im2col layout, result
// layout and keys) and returns the layout clients fill.
func (Packing) Layout(m *manifest.Manifest) (packing.Layout, error) {
	if m.Packing != Name {
		return nil, errs.New(errs.ErrMismatch, "single: manifest packing is %q", m.Packing)
	}
	prm, err := m.Parameters()
	if err != nil {
		return nil, err
	}
	l, err := decodeIm2col(m, prm.MaxSlots())
	if err != nil {
		return nil, err
	}
	switch {
	case !m.Relinearize || m.Checks.Positions != l.ImagesPerCiphertext || m.ImagesPerBatch*lanesPerImage != l.ImagesPerCiphertext:
		return nil, errs.New(errs.ErrMalformed, "single: a single-packing plan relinearizes and has %d lanes per image of a request", lanesPerImage)
	case m.Result != resultLayout(m.Outputs, l.ImagesPerCiphertext):
		return nil, errs.New(errs.ErrMalformed, "single: the manifest's result layout is not single packing's")
	}
	return l, nil
}

// resultLayout is where single-packing results hold the logits: one ciphertext,
// logit j of image i in slot j·k + i.
func resultLayout(outputs, k int) manifest.ResultLayout {
	return manifest.ResultLayout{Ciphertexts: 1, PerCiphertext: outputs, ValueStride: k, ImageStride: 1}
}
