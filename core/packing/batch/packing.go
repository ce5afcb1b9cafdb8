package batch

import (
	"strings"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
)

// Name is batch packing's name in manifests and options.
const Name manifest.Packing = "batch"

// Packing is batch packing, as package compile sees it.
type Packing struct{}

var (
	_ packing.Packing = Packing{}
	_ packing.Plan    = (*Plan)(nil)
)

// Name returns Name.
func (Packing) Name() manifest.Packing { return Name }

// Presets lists the 128-bit presets for batch packing, the cheapest first: those
// without special primes (no key switching at all), then those whose special primes
// let deeper networks relinearize.
func (Packing) Presets() []params.Preset { return params.Batch() }

// Suits reports whether batch packing can use a preset: one of params.Batch, or of
// their insecure twins (params.BatchTest). Their primes are below 2^50, as the
// integer kernels need.
func (Packing) Suits(preset params.Preset) error {
	for _, p := range append(params.Batch(), params.BatchTest()...) {
		if p.Name == preset.Name {
			return nil
		}
	}
	var names []string
	for _, p := range params.Batch() {
		names = append(names, p.Name)
	}
	return errs.New(errs.ErrInvalidArgument, "batch: %s is not a parameter set for batch packing (%s)", preset.Name, strings.Join(names, ", "))
}

// Compile plans m under preset (see Compile).
func (Packing) Compile(m *model.Model, preset params.Preset, opts packing.Options) (packing.Plan, error) {
	p, err := Compile(m, preset, opts)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// RequestSizes returns the one size batch packing compiles for: every slot.
func (Packing) RequestSizes(int) []int { return []int{0} }

// Layout checks a batch manifest's own fields: one input ciphertext per input
// value, one result ciphertext per logit with image i in slot i, no layout and no
// Galois keys (a relinearization key at most).
func (Packing) Layout(m *manifest.Manifest) (packing.Layout, error) {
	prm, err := m.Parameters()
	if err != nil {
		return nil, err
	}
	switch {
	case m.Packing != Name:
		return nil, errs.New(errs.ErrMismatch, "batch: manifest packing is %q", m.Packing)
	case m.InputCiphertexts != m.Input.Size() || m.Result != resultLayout(m.Outputs):
		return nil, errs.New(errs.ErrMalformed, "batch: the manifest's ciphertext counts do not match its shapes")
	case len(m.Layout) > 0 || len(m.GaloisElements) > 0:
		return nil, errs.New(errs.ErrMalformed, "batch: a batch plan has no layout and needs no Galois keys")
	case m.Checks.Positions != prm.MaxSlots() || m.ImagesPerBatch > prm.MaxSlots()-reservedChecks:
		return nil, errs.New(errs.ErrMalformed, "batch: a request has every slot as a position, and leaves %d of them to checks", reservedChecks)
	}
	return layout{scales: m.InputScales, plane: m.Input.H * m.Input.W}, nil
}

// resultLayout is where batch results hold the logits: logit j of image i in slot i
// of ciphertext j.
func resultLayout(outputs int) manifest.ResultLayout {
	return manifest.ResultLayout{Ciphertexts: outputs, PerCiphertext: 1, ImageStride: 1}
}

// layout puts value k of image i in slot i of input ciphertext k, multiplied by its
// channel's input scale if the manifest has them.
type layout struct {
	scales []float64
	plane  int
}

// Fill puts value k+d of image i in slot i of slots[d], reading each image's values
// for all of slots together.
func (l layout) Fill(slots [][]float64, k int, images [][]float64) {
	var scales [16]float64
	f := scales[:0]
	if len(slots) > len(scales) {
		f = make([]float64, 0, len(slots))
	}
	f = f[:len(slots)]
	for d := range f {
		f[d] = 1
		if l.scales != nil {
			f[d] = l.scales[(k+d)/l.plane]
		}
	}
	for i, image := range images {
		for d, v := range image[k : k+len(slots)] {
			slots[d][i] = v * f[d]
		}
	}
}
