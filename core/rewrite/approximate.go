package rewrite

import (
	"fmt"
	"math"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// Defaults and bounds of ApproxOptions.
const (
	DefaultDegree = 2
	DefaultMargin = 0.1
	MaxDegree     = 16
)

// Weighting chooses where in its interval a polynomial fit is accurate.
type Weighting int

const (
	// WeightData, the default, fits the calibration values themselves: the squared
	// error is summed over the inputs the layer receives on the calibration images
	// (binned, plus a 0.1% even floor over the interval), so the fit is accurate
	// where inputs are frequent and looser in the sparse tails.
	WeightData Weighting = iota
	// WeightUniform fits the whole interval evenly (the continuous least-squares fit).
	// At low degree it spends its accuracy on tails that few inputs reach: on the
	// MNIST ReLU network of models/mnist_relu, degree 2 keeps 97.7% accuracy with
	// WeightData and 43% with WeightUniform.
	WeightUniform
)

// ApproxOptions sets how ApproximateActivations fits its polynomials.
type ApproxOptions struct {
	// Degree of every polynomial, 1 to MaxDegree; 0 means DefaultDegree (2).
	Degree int
	// Margin widens the input range [lo, hi] observed at an activation by
	// Margin·(hi − lo) on each side before fitting; 0 means DefaultMargin (10%).
	Margin float64
	// Weighting of the least-squares fit; the zero value is WeightData.
	Weighting Weighting
}

// withDefaults fills in the zero fields and checks the others.
func (o ApproxOptions) withDefaults() (ApproxOptions, error) {
	if o.Degree == 0 {
		o.Degree = DefaultDegree
	}
	if o.Margin == 0 {
		o.Margin = DefaultMargin
	}
	if o.Degree < 1 || o.Degree > MaxDegree {
		return o, errs.New(errs.ErrInvalidArgument, "rewrite: polynomial degree %d is outside [1, %d]", o.Degree, MaxDegree)
	}
	if !(o.Margin > 0) || math.IsInf(o.Margin, 0) {
		return o, errs.New(errs.ErrInvalidArgument, "rewrite: margin %g must be positive and finite", o.Margin)
	}
	if o.Weighting != WeightData && o.Weighting != WeightUniform {
		return o, errs.New(errs.ErrInvalidArgument, "rewrite: unknown weighting %d", o.Weighting)
	}
	return o, nil
}

// ApproximateActivations replaces every NamedActivation (ReLU, sigmoid, tanh, GELU,
// SiLU) by a Polynomial of degree opts.Degree fitted by least squares to the function
// over the range of its inputs on the calibration images, widened by opts.Margin: by
// default weighted by where those inputs lie (see Weighting). The inputs of each
// activation are observed by running the network, with the activations before it
// already replaced, up to that layer: the polynomial is fitted where the converted
// network will evaluate it. Each Polynomial records its Interval, its largest error
// over it (FitError, measured on a dense grid) and the function it fits; the rewrite's
// description adds the root-mean-square error on the calibration inputs. Square
// activations stay exact. The result depends only on the inputs.
//
// Calibration images are channel-major, m.Input.Size() values each; a few hundred
// training images are typical. The approximation changes the function: measure the
// network's accuracy again after it. An input outside an Interval may be far off.
func ApproximateActivations(m *model.Model, calibration [][]float64, opts ApproxOptions) (*model.Model, error) {
	out, _, err := approximateActivations(m, calibration, opts)
	return out, err
}

// approximateActivations is ApproximateActivations that also describes each fit.
func approximateActivations(m *model.Model, calibration [][]float64, opts ApproxOptions) (*model.Model, []string, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	if err := checkCalibration(calibration, m.Input.Size()); err != nil {
		return nil, nil, err
	}
	shapes, _ := m.Shapes()
	out := clone(m)
	last := lastNamedActivation(out.Layers)
	xs := calibration
	var notes []string
	for i := 0; i <= last; i++ {
		if a, ok := out.Layers[i].(model.NamedActivation); ok {
			p, err := approximate(a, xs, opts)
			if err != nil {
				return nil, nil, fmt.Errorf("rewrite: layer %d (%s): %w", i, a.Func, err)
			}
			out.Layers[i] = p
			notes = append(notes, fmt.Sprintf("approximate-activations: layer %d %s → degree-%d polynomial on [%.6g, %.6g], "+
				"max error %.3g, rms %.3g on the calibration inputs", i, a.Func, opts.Degree, p.Interval[0], p.Interval[1],
				p.FitError, rmsError(p, a, xs)))
		}
		if i < last {
			if xs, err = forwardLayer(out.Layers[i], shapes[i], xs); err != nil {
				return nil, nil, fmt.Errorf("rewrite: layer %d: %w", i, err)
			}
		}
	}
	if err := out.Validate(); err != nil {
		return nil, nil, fmt.Errorf("rewrite: approximating activations: %w", err)
	}
	return out, notes, nil
}

// checkCalibration checks that there are calibration images of n finite values each.
func checkCalibration(images [][]float64, n int) error {
	if len(images) == 0 {
		return errs.New(errs.ErrInvalidArgument, "rewrite: no calibration images")
	}
	for i, x := range images {
		if len(x) != n {
			return errs.New(errs.ErrInvalidArgument, "rewrite: calibration image %d has %d values, want %d", i, len(x), n)
		}
		if !allFinite(x) {
			return errs.New(errs.ErrInvalidArgument, "rewrite: calibration image %d has a NaN or infinite value", i)
		}
	}
	return nil
}

// lastNamedActivation returns the index of the last NamedActivation, -1 if none.
func lastNamedActivation(layers []model.Layer) int {
	last := -1
	for i, l := range layers {
		if _, ok := l.(model.NamedActivation); ok {
			last = i
		}
	}
	return last
}

// approximate fits a polynomial to a over the range of the values xs, widened.
func approximate(a model.NamedActivation, xs [][]float64, opts ApproxOptions) (*model.Polynomial, error) {
	lo, hi := valueRange(xs)
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) || math.IsNaN(lo) || math.IsNaN(hi) {
		return nil, errs.New(errs.ErrInvalidArgument, "the calibration inputs reach [%g, %g]", lo, hi)
	}
	width := hi - lo
	if width == 0 {
		width = math.Max(math.Abs(lo), 1)
	}
	lo, hi = lo-opts.Margin*width, hi+opts.Margin*width
	samples := uniformSamples(lo, hi)
	if opts.Weighting == WeightData {
		samples = dataSamples(xs, lo, hi)
	}
	f, err := fitPolynomial(a.Apply, lo, hi, opts.Degree, samples)
	if err != nil {
		return nil, err
	}
	return &model.Polynomial{Coeffs: f.coeffs, Interval: [2]float64{lo, hi}, FitError: f.maxErr, Fitted: a.Func}, nil
}

// rmsError returns the root-mean-square difference between p and a over the values.
func rmsError(p *model.Polynomial, a model.NamedActivation, xs [][]float64) float64 {
	s, n := 0.0, 0
	for _, x := range xs {
		for _, v := range x {
			d := p.Apply(v) - a.Apply(v)
			s += d * d
			n++
		}
	}
	return math.Sqrt(s / float64(n))
}

// valueRange returns the smallest and largest of all the values.
func valueRange(xs [][]float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		for _, v := range x {
			if math.IsNaN(v) {
				return v, v
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

// forwardLayer evaluates one layer, whose input shape is in, on every input.
func forwardLayer(l model.Layer, in model.Shape, xs [][]float64) ([][]float64, error) {
	ref, err := model.NewReference(&model.Model{Input: in, Layers: []model.Layer{l}})
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(xs))
	for i, x := range xs {
		if out[i], err = ref.Forward(x); err != nil {
			return nil, err
		}
	}
	return out, nil
}
