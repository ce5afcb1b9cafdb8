package rewrite

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// Options configures ConvertWith.
type Options struct {
	// Calibration holds input images (channel-major, m.Input.Size() values each) on
	// which ApproximateActivations observes the input range of every activation other
	// than x². Required when the network has such activations; unused otherwise.
	Calibration [][]float64
	// ApproxOptions sets the degree and interval margin of the fitted polynomials.
	ApproxOptions
}

// Convert is ConvertWith without calibration images: it converts networks whose
// activations are all x² (or already polynomials).
func Convert(m *model.Model) (*model.Model, error) {
	return ConvertWith(m, Options{})
}

// ConvertWith runs the CryptoNets conversion: DropFinalSoftmax (a final softmax,
// log-softmax, sigmoid or tanh), FoldBatchNorm, MaxPoolToSumPool,
// ApproximateActivations (when the network has activations other than x²; they need
// opts.Calibration) and MergeLinear. It checks that the result can be evaluated on
// encrypted data, and appends a description of every rewrite that changed something to
// Provenance.Rewrites of the returned model; m itself is not modified.
//
// MaxPoolToSumPool and ApproximateActivations change the function: measure the
// converted network's accuracy before using it.
func ConvertWith(m *model.Model, opts Options) (*model.Model, error) {
	out, dropped, err := dropFinalSoftmax(m)
	if err != nil {
		return nil, err
	}
	var notes []string
	if dropped != "" {
		notes = append(notes, dropped)
	}
	if err := checkNoSoftmax(out); err != nil {
		return nil, err
	}
	steps := []func(*model.Model) (*model.Model, []string, error){
		foldBatchNorm,
		maxPoolToSumPool,
		func(m *model.Model) (*model.Model, []string, error) { return approximateIfNeeded(m, opts) },
		mergeLinear,
	}
	for _, step := range steps {
		var more []string
		if out, more, err = step(out); err != nil {
			return nil, err
		}
		notes = append(notes, more...)
	}
	if _, err := out.Stages(); err != nil {
		return nil, fmt.Errorf("rewrite: the converted network: %w", err)
	}
	out.Provenance.Rewrites = append(out.Provenance.Rewrites, notes...)
	return out, nil
}

// checkNoSoftmax reports a softmax or log-softmax left inside the network.
func checkNoSoftmax(m *model.Model) error {
	for i, l := range m.Layers {
		if k := l.Kind(); k == model.KindSoftmax || k == model.KindLogSoftmax {
			return errs.New(errs.ErrUnsupported, "rewrite: layer %d is a %s that is not the last layer; it cannot be evaluated on encrypted data", i, k)
		}
	}
	return nil
}

// NeedsCalibration reports whether ConvertWith needs calibration images to convert m:
// whether m has activations other than x² (ReLU, sigmoid, tanh, GELU, SiLU) that the
// conversion approximates by polynomials. A final sigmoid or tanh needs none: the
// conversion drops it.
func NeedsCalibration(m *model.Model) bool {
	layers := m.Layers
	if n := len(layers); n > 0 && layers[n-1] != nil && finalNormalizer(layers[n-1].Kind()) {
		layers = layers[:n-1]
	}
	return firstNamedActivation(layers) >= 0
}

// approximateIfNeeded runs ApproximateActivations when m has named activations, which
// requires calibration images.
func approximateIfNeeded(m *model.Model, opts Options) (*model.Model, []string, error) {
	i := firstNamedActivation(m.Layers)
	if i < 0 {
		return m, nil, nil
	}
	if len(opts.Calibration) == 0 {
		return nil, nil, errs.New(errs.ErrInvalidArgument, "rewrite: layer %d is a %s activation, which has no encrypted form: "+
			"give calibration images (Options.Calibration) to approximate it by a polynomial, or train with x² activations",
			i, m.Layers[i].Kind())
	}
	return approximateActivations(m, opts.Calibration, opts.ApproxOptions)
}

// firstNamedActivation returns the index of the first NamedActivation, -1 if none.
func firstNamedActivation(layers []model.Layer) int {
	for i, l := range layers {
		if _, ok := l.(model.NamedActivation); ok {
			return i
		}
	}
	return -1
}
