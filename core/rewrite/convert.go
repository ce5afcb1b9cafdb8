package rewrite

import (
	"fmt"
	"math"
	"slices"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// Options configures ConvertWith.
type Options struct {
	// Calibration holds inputs (channel-major, m.Input.Size() values each, as the
	// client will send them: raw, before any normalization) on which the conversion
	// observes the inputs of every activation, chooses and fits the polynomials that
	// replace activations other than x², measures the accuracy the conversion costs,
	// and records the calibration that calibrated precision plans use. Required when
	// the network has activations to approximate; recommended always.
	Calibration [][]float64
	// Labels, one per calibration input, make the budget an accuracy budget; without
	// them it is an argmax-agreement budget.
	Labels []int
	// ApproxOptions sets the fitted polynomials: Degree 0 (the default) lets the
	// conversion choose each activation's degree, interval and fit within the budget,
	// at the least depth; a Degree fixes every polynomial's degree.
	ApproxOptions
	// Budget bounds what the conversion may change of the network's predictions.
	Budget Budget
	// InputRange declares the range of the raw input values. Nil keeps the model's,
	// unless the calibration inputs leave it: the ranges then come from them, per
	// channel, widened by RangeMargin.
	InputRange *[2]float64
	// RangeMargin widens ranges taken from the calibration inputs by that fraction of
	// their width on each side (0: DefaultRangeMargin).
	RangeMargin float64
	// Normalize declares a per-channel normalization (x − mean)/std that the network
	// expects its inputs to have had (torchvision's Normalize), when its graph does not
	// do it: the conversion puts it in front (folded into the first linear layer), so
	// that clients send raw inputs.
	Normalize *model.Normalization
}

// DefaultRangeMargin is the widening of input ranges taken from calibration inputs.
const DefaultRangeMargin = 0.1

// Convert is ConvertWith without calibration inputs: it converts networks whose
// activations are all x² (or already polynomials).
func Convert(m *model.Model) (*model.Model, error) {
	return ConvertWith(m, Options{})
}

// ConvertWith runs the CryptoNets conversion (ConvertReport) and returns the network.
func ConvertWith(m *model.Model, opts Options) (*model.Model, error) {
	out, _, err := ConvertReport(m, opts)
	return out, err
}

// ConvertReport runs the CryptoNets conversion: it puts a declared normalization in
// front and sets the input ranges (Options), then DropFinalSoftmax (a final softmax,
// log-softmax, sigmoid or tanh), FoldBatchNorm (and input normalization),
// MaxPoolToSumPool, the approximation of activations other than x² by the polynomials
// of least depth within the budget (chooseApproximations; they need calibration
// inputs), and MergeLinear where it saves multiply-adds. With calibration inputs it
// measures what the conversion cost (the report) and records the calibration
// (model.Calibrate) for calibrated precision plans. It checks that the result can be
// evaluated on encrypted data, and appends a description of every rewrite that changed
// something to Provenance.Rewrites of the returned model; m itself is not modified.
//
// A conversion outside the budget is an error (with the report) unless
// Options.Budget.Exceed is set. MaxPoolToSumPool and the approximations change the
// function: the report says by how much on the calibration inputs.
func ConvertReport(m *model.Model, opts Options) (*model.Model, *Report, error) {
	original, notes, err := prepareInputs(m, opts)
	if err != nil {
		return nil, nil, err
	}
	out, dropped, err := dropFinalSoftmax(original)
	if err != nil {
		return nil, nil, err
	}
	if dropped != "" {
		notes = append(notes, dropped)
	}
	if err := checkNoSoftmax(out); err != nil {
		return nil, nil, err
	}
	for _, step := range []func(*model.Model) (*model.Model, []string, error){foldBatchNorm, maxPoolToSumPool} {
		var more []string
		if out, more, err = step(out); err != nil {
			return nil, nil, err
		}
		notes = append(notes, more...)
	}
	var rep *Report
	if i := firstNamedActivation(out.Layers); i >= 0 {
		if len(opts.Calibration) == 0 {
			return nil, nil, errs.New(errs.ErrInvalidArgument, "rewrite: layer %d is a %s activation, which has no encrypted form: "+
				"give calibration images (Options.Calibration) to approximate it by a polynomial, or train with x² activations",
				i, out.Layers[i].Kind())
		}
		var more []string
		out, rep, more, err = chooseApproximations(out, original, opts.Calibration, opts.Labels, opts.ApproxOptions, opts.Budget)
		if err != nil {
			return nil, rep, err
		}
		notes = append(notes, more...)
	} else if len(opts.Calibration) > 0 {
		if rep, err = measure(out, original, opts); err != nil {
			return nil, rep, err
		}
	}
	var more []string
	if out, more, err = mergeLinear(out); err != nil {
		return nil, nil, err
	}
	notes = append(notes, more...)
	if len(opts.Calibration) > 0 {
		if err := intervalsFromCalibration(out, opts.Calibration, DefaultMargin); err != nil {
			return nil, nil, err
		}
		if out.Calibration, err = model.Calibrate(out, opts.Calibration); err != nil {
			return nil, nil, err
		}
	}
	if _, err := out.Stages(); err != nil {
		return nil, nil, fmt.Errorf("rewrite: the converted network: %w", err)
	}
	out.Provenance.Rewrites = append(out.Provenance.Rewrites, notes...)
	return out, rep, nil
}

// measure scores a converted network without activations to approximate against
// the original on the calibration inputs, and checks the budget.
func measure(out, original *model.Model, opts Options) (*Report, error) {
	budget, err := opts.Budget.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkCalibration(opts.Calibration, out.Input.Size()); err != nil {
		return nil, err
	}
	sc, err := newScorer(original, opts.Calibration, opts.Labels, budget)
	if err != nil {
		return nil, err
	}
	outputs, err := forwardAll(out, opts.Calibration)
	if err != nil {
		return nil, err
	}
	rep := &Report{Inputs: len(opts.Calibration), Labeled: opts.Labels != nil, Before: sc.before, Budget: budget}
	rep.After, rep.Agreement = sc.score(outputs)
	rep.WithinBudget = sc.within(rep.After)
	for _, l := range out.Layers {
		if p, ok := l.(*model.Polynomial); ok {
			rep.Depth += p.Depth()
		} else if l.Kind() == model.KindSquare {
			rep.Depth++
		}
	}
	if !rep.WithinBudget && !budget.Exceed {
		return rep, errs.New(errs.ErrUnsupported, "rewrite: %s; fine-tune the network with sum pools in place (cryptonets.finetune in Python), or accept the loss explicitly", rep.describe())
	}
	return rep, nil
}

// prepareInputs returns a copy of m with the declared normalization in front and the
// input ranges the options set, and describes what it did.
func prepareInputs(m *model.Model, opts Options) (*model.Model, []string, error) {
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	out := clone(m)
	var notes []string
	if n := opts.Normalize; n != nil {
		a := &model.ChannelAffine{Scale: make([]float64, len(n.Std)), Shift: make([]float64, len(n.Std))}
		for c := range n.Std {
			if n.Std[c] == 0 {
				return nil, nil, errs.New(errs.ErrInvalidArgument, "rewrite: normalization of channel %d has a zero std", c)
			}
			a.Scale[c], a.Shift[c] = 1/n.Std[c], -n.Mean[c]/n.Std[c]
		}
		if len(n.Mean) != m.Input.C || len(n.Std) != m.Input.C {
			return nil, nil, errs.New(errs.ErrInvalidArgument, "rewrite: a normalization of %d means and %d stds for %d input channels", len(n.Mean), len(n.Std), m.Input.C)
		}
		out.Layers = append([]model.Layer{a}, out.Layers...)
		out.Preprocessing = &model.Normalization{Mean: slices.Clone(n.Mean), Std: slices.Clone(n.Std)}
		notes = append(notes, fmt.Sprintf("normalize-input: (x − mean)/std per channel, mean %v, std %v", n.Mean, n.Std))
	}
	switch {
	case opts.InputRange != nil:
		out.InputRange, out.ChannelRanges = *opts.InputRange, nil
		notes = append(notes, fmt.Sprintf("input-range: [%g, %g], as declared", out.InputRange[0], out.InputRange[1]))
	case len(opts.Calibration) > 0:
		if err := checkCalibration(opts.Calibration, m.Input.Size()); err != nil {
			return nil, nil, err
		}
		margin := opts.RangeMargin
		if margin == 0 {
			margin = DefaultRangeMargin
		}
		if note := rangesFromCalibration(out, opts.Calibration, margin); note != "" {
			notes = append(notes, note)
		}
	}
	if err := out.Validate(); err != nil {
		return nil, nil, err
	}
	return out, notes, nil
}

// rangesFromCalibration sets per-channel input ranges from the calibration inputs,
// widened by margin, when some calibration value lies outside the model's input
// range, and describes it ("" if the range stays).
func rangesFromCalibration(m *model.Model, cal [][]float64, margin float64) string {
	plane := m.Input.H * m.Input.W
	ranges := make([][2]float64, m.Input.C)
	for c := range ranges {
		ranges[c] = [2]float64{math.Inf(1), math.Inf(-1)}
	}
	outside := false
	for _, x := range cal {
		for i, v := range x {
			r := &ranges[i/plane]
			r[0], r[1] = math.Min(r[0], v), math.Max(r[1], v)
			outside = outside || v < m.InputRange[0] || v > m.InputRange[1]
		}
	}
	if !outside {
		return ""
	}
	hull := [2]float64{math.Inf(1), math.Inf(-1)}
	for c, r := range ranges {
		w := r[1] - r[0]
		if w == 0 {
			w = math.Max(math.Abs(r[0]), 1)
		}
		ranges[c] = [2]float64{r[0] - margin*w, r[1] + margin*w}
		hull = [2]float64{math.Min(hull[0], ranges[c][0]), math.Max(hull[1], ranges[c][1])}
	}
	m.InputRange, m.ChannelRanges = hull, ranges
	return fmt.Sprintf("input-range: from the %d calibration inputs, per channel, widened by %g %% of each channel's span: overall [%.6g, %.6g]",
		len(cal), 100*margin, hull[0], hull[1])
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

// firstNamedActivation returns the index of the first NamedActivation, -1 if none.
func firstNamedActivation(layers []model.Layer) int {
	for i, l := range layers {
		if _, ok := l.(model.NamedActivation); ok {
			return i
		}
	}
	return -1
}
