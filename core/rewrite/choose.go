package rewrite

import (
	"fmt"
	"math"
	"slices"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// Budget says how much the conversion may change what a network predicts, measured
// on the calibration inputs: with labels, the accuracy it may lose; without, the
// argmax agreement with the original network it must keep.
type Budget struct {
	// Points is the most accuracy the conversion may lose, in percentage points (0:
	// DefaultBudgetPoints).
	Points float64 `json:"points"`
	// Agreement is the least fraction of inputs whose argmax must not change, when
	// there are no labels (0: DefaultAgreement).
	Agreement float64 `json:"agreement"`
	// Exceed lets the conversion return a network outside the budget (it then says so
	// in its report) instead of failing.
	Exceed bool `json:"exceed"`
}

// The default budget.
const (
	DefaultBudgetPoints = 0.5
	DefaultAgreement    = 0.99
)

func (b Budget) withDefaults() (Budget, error) {
	if b.Points == 0 {
		b.Points = DefaultBudgetPoints
	}
	if b.Agreement == 0 {
		b.Agreement = DefaultAgreement
	}
	if !(b.Points > 0) || b.Points > 100 || !(b.Agreement > 0) || b.Agreement > 1 {
		return b, errs.New(errs.ErrInvalidArgument, "rewrite: budget of %g points or %g agreement is out of range", b.Points, b.Agreement)
	}
	return b, nil
}

// Report describes a conversion: how each activation was approximated and what the
// rewrites cost in accuracy on the calibration inputs.
type Report struct {
	// Inputs is the number of calibration inputs; Labeled says whether they had
	// labels (the scores are then accuracies, else agreements with the original).
	Inputs  int  `json:"inputs"`
	Labeled bool `json:"labeled"`
	// Before is the original network's accuracy (1 without labels), After the
	// converted network's, Agreement the share of inputs whose argmax is unchanged.
	Before    float64 `json:"before"`
	After     float64 `json:"after"`
	Agreement float64 `json:"agreement"`
	// Linear is the score of the network with only the function-changing linear
	// rewrites (max-pool → sum-pool) and exact activations: what the polynomials
	// cannot win back. Set when the network has such a rewrite.
	Linear       *float64 `json:"linear_rewrites_only,omitempty"`
	Budget       Budget   `json:"budget"`
	WithinBudget bool     `json:"within_budget"`
	// Depth is the sum of the activations' multiplicative depths.
	Depth       int                `json:"depth"`
	Activations []ActivationReport `json:"activations"`
}

// ActivationReport describes the polynomial that replaced one activation.
type ActivationReport struct {
	Layer    int        `json:"layer"`
	Function string     `json:"function"`
	Degree   int        `json:"degree"`
	Interval [2]float64 `json:"interval"`
	// IntervalFrom is "range" (the calibration inputs' range, widened by the margin)
	// or "quantiles" (their 0.1 % and 99.9 % quantiles, widened).
	IntervalFrom string `json:"interval_from"`
	// Fit is "data" or "uniform" (see Weighting).
	Fit string `json:"fit"`
	// MaxError is the largest error over the interval, RMSError the root-mean-square
	// error on the calibration inputs, Outside the share of them outside the interval.
	MaxError float64   `json:"max_error"`
	RMSError float64   `json:"rms_error"`
	Outside  float64   `json:"outside"`
	Coeffs   []float64 `json:"coefficients"`
}

// maxSearchDepth is the deepest polynomial the search tries: degree 16.
const maxSearchDepth = 4

// mseSamples bounds the activation inputs the choice among fits looks at.
const mseSamples = 200000

// scorer measures a network's outputs on the calibration inputs against the original
// network's.
type scorer struct {
	labels   []int
	original []int // the original network's argmax per input
	budget   Budget
	before   float64
}

// score returns the accuracy (with labels) or agreement of outputs, and the agreement.
func (s *scorer) score(outputs [][]float64) (score, agreement float64) {
	right, same := 0, 0
	for i, y := range outputs {
		k := model.Argmax(y)
		if s.labels != nil && k == s.labels[i] {
			right++
		}
		if k == s.original[i] {
			same++
		}
	}
	n := float64(len(outputs))
	agreement = float64(same) / n
	if s.labels == nil {
		return agreement, agreement
	}
	return float64(right) / n, agreement
}

// within reports whether a score keeps the budget.
func (s *scorer) within(score float64) bool {
	if s.labels == nil {
		return score >= s.budget.Agreement
	}
	return score >= s.before-s.budget.Points/100-1e-12
}

// choice is the approximation of every activation: its multiplicative depth (the
// degree is chosen within it), or a fixed degree.
type choice []int

// search runs candidate approximations of a network with named activations.
type search struct {
	m      *model.Model // linear rewrites done, named activations in place
	shapes []model.Shape
	acts   []int // layer indices of the named activations
	cal    [][]float64
	opts   ApproxOptions
	fixed  bool // opts.Degree is fixed: no search
}

// result is one candidate conversion.
type result struct {
	m       *model.Model
	acts    []ActivationReport
	outputs [][]float64
	// inputs[k] are the inputs of activation k on the calibration inputs.
	inputs [][][]float64
}

// chooseApproximations replaces every named activation of m (whose linear rewrites
// are done) by the polynomial of least multiplicative depth that keeps the budget on
// the calibration inputs: all start at degree 2, and while the network is outside
// the budget, the activation whose next depth gains the most is deepened. Within a
// depth, each activation gets the fit (degree, interval, weighting) of least squared
// error on its calibration inputs. A fixed opts.Degree skips the search (the budget
// is still measured). original is the network before any rewrite that changes the
// function.
func chooseApproximations(m, original *model.Model, cal [][]float64, labels []int, opts ApproxOptions, budget Budget) (*model.Model, *Report, []string, error) {
	fixed := opts.Degree != 0
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, nil, nil, err
	}
	if budget, err = budget.withDefaults(); err != nil {
		return nil, nil, nil, err
	}
	if err := checkCalibration(cal, m.Input.Size()); err != nil {
		return nil, nil, nil, err
	}
	if labels != nil && len(labels) != len(cal) {
		return nil, nil, nil, errs.New(errs.ErrInvalidArgument, "rewrite: %d labels for %d calibration inputs", len(labels), len(cal))
	}
	sc, err := newScorer(original, cal, labels, budget)
	if err != nil {
		return nil, nil, nil, err
	}
	shapes, _ := m.Shapes()
	s := &search{m: m, shapes: shapes, cal: cal, opts: opts, fixed: fixed}
	for i, l := range m.Layers {
		if _, ok := l.(model.NamedActivation); ok {
			s.acts = append(s.acts, i)
		}
	}
	rep := &Report{Inputs: len(cal), Labeled: labels != nil, Before: sc.before, Budget: budget}
	if linear, err := forwardAll(m, cal); err == nil && hasFunctionChangingLinear(original, m) {
		v, _ := sc.score(linear)
		rep.Linear = &v
	}
	levels := make(choice, len(s.acts))
	for k := range levels {
		levels[k] = 1
		if fixed {
			levels[k] = opts.Degree
		}
	}
	cur, err := s.run(levels, 0, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	curScore, _ := sc.score(cur.outputs)
	// Deepen one activation at a time, the one whose next depth scores best (even if
	// no better than now: a plateau may end one step later), until the budget is kept
	// or every activation is at the deepest; keep the best network seen.
	top, topScore := cur, curScore
	for !fixed && !sc.within(curScore) {
		var best *result
		bestScore, bestK := math.Inf(-1), -1
		for k := range s.acts {
			if levels[k] == maxSearchDepth {
				continue
			}
			trial := slices.Clone(levels)
			trial[k]++
			r, err := s.run(trial, k, cur)
			if err != nil {
				return nil, nil, nil, err
			}
			if v, _ := sc.score(r.outputs); v > bestScore {
				best, bestScore, bestK = r, v, k
			}
		}
		if best == nil {
			break
		}
		levels[bestK]++
		cur, curScore = best, bestScore
		if curScore > topScore {
			top, topScore = cur, curScore
		}
	}
	cur = top
	rep.After, rep.Agreement = sc.score(cur.outputs)
	rep.WithinBudget = sc.within(rep.After)
	rep.Activations = cur.acts
	var notes []string
	for _, a := range cur.acts {
		rep.Depth += model.DepthOf(a.Degree)
		notes = append(notes, fmt.Sprintf("approximate-activations: layer %d %s → degree-%d polynomial on [%.6g, %.6g] (%s fit, %s), "+
			"max error %.3g, rms %.3g on the calibration inputs, %.2g %% of them outside", a.Layer, a.Function, a.Degree, a.Interval[0], a.Interval[1],
			a.Fit, a.IntervalFrom, a.MaxError, a.RMSError, 100*a.Outside))
	}
	if !rep.WithinBudget && !budget.Exceed {
		return nil, rep, notes, errs.New(errs.ErrUnsupported, "rewrite: %s; no polynomial approximation keeps the budget: "+
			"fine-tune the network with its polynomial activations (and sum pools) in place (cryptonets.finetune in Python), "+
			"or accept the loss explicitly", rep.describe())
	}
	return cur.m, rep, notes, nil
}

// describe says how the converted network fares against the budget.
func (r *Report) describe() string {
	if !r.Labeled {
		return fmt.Sprintf("the converted network agrees with the original on %.2f %% of the %d calibration inputs, the budget asks for %.2f %%",
			100*r.Agreement, r.Inputs, 100*r.Budget.Agreement)
	}
	s := fmt.Sprintf("the converted network scores %.2f %% on the %d calibration inputs, the original %.2f %%: %.2f points lost, the budget allows %.2g",
		100*r.After, r.Inputs, 100*r.Before, 100*(r.Before-r.After), r.Budget.Points)
	if r.Linear != nil {
		s += fmt.Sprintf(" (max-pool → sum-pool alone, with exact activations: %.2f %%)", 100**r.Linear)
	}
	return s
}

// newScorer evaluates the original network on the calibration inputs.
func newScorer(original *model.Model, cal [][]float64, labels []int, budget Budget) (*scorer, error) {
	outs, err := forwardAll(original, cal)
	if err != nil {
		return nil, err
	}
	sc := &scorer{labels: labels, budget: budget, original: make([]int, len(outs))}
	for i, y := range outs {
		sc.original[i] = model.Argmax(y)
	}
	sc.before, _ = sc.score(outs)
	return sc, nil
}

// hasFunctionChangingLinear reports whether the conversion replaced a max pool.
func hasFunctionChangingLinear(original, m *model.Model) bool {
	count := func(m *model.Model) int {
		n := 0
		for _, l := range m.Layers {
			if l.Kind() == model.KindMaxPool {
				n++
			}
		}
		return n
	}
	return count(original) > count(m)
}

// forwardAll evaluates m on every input.
func forwardAll(m *model.Model, xs [][]float64) ([][]float64, error) {
	ref, err := model.NewReference(m)
	if err != nil {
		return nil, err
	}
	return ref.ForwardAll(xs)
}

// run builds the network for levels: activation k replaced by the best fit at depth
// levels[k] (or of degree levels[k] when the degree is fixed), fitted on the inputs it
// receives with the activations before it replaced. It reuses from of prev, whose
// levels agree with these before activation from.
func (s *search) run(levels choice, from int, prev *result) (*result, error) {
	out := clone(s.m)
	r := &result{m: out, inputs: make([][][]float64, len(s.acts))}
	start, xs := 0, s.cal
	if prev != nil {
		for k := range from {
			out.Layers[s.acts[k]] = prev.m.Layers[s.acts[k]]
			r.acts = append(r.acts, prev.acts[k])
			r.inputs[k] = prev.inputs[k]
		}
		start, xs = s.acts[from], prev.inputs[from]
	}
	k := from
	for i := start; i < len(out.Layers); i++ {
		if a, ok := out.Layers[i].(model.NamedActivation); ok {
			r.inputs[k] = xs
			p, ar, err := s.best(a, i, xs, levels[k])
			if err != nil {
				return nil, fmt.Errorf("rewrite: layer %d (%s): %w", i, a.Func, err)
			}
			out.Layers[i] = p
			r.acts = append(r.acts, ar)
			k++
		}
		var err error
		if xs, err = forwardLayerAll(out.Layers[i], s.shapes[i], xs); err != nil {
			return nil, fmt.Errorf("rewrite: layer %d: %w", i, err)
		}
	}
	r.outputs = xs
	return r, nil
}

// forwardLayerAll evaluates one layer, whose input shape is in, on every input, on all
// cores.
func forwardLayerAll(l model.Layer, in model.Shape, xs [][]float64) ([][]float64, error) {
	ref, err := model.NewReference(&model.Model{Input: in, Layers: []model.Layer{l}})
	if err != nil {
		return nil, err
	}
	return ref.ForwardAll(xs)
}

// best returns the fit of least squared error on the activation's calibration inputs
// among the degrees of depth level (or the fixed degree), the intervals and the
// weightings.
func (s *search) best(a model.NamedActivation, layer int, xs [][]float64, level int) (*model.Polynomial, ActivationReport, error) {
	values := sampleValues(xs, mseSamples)
	lo, hi := valueRange(xs)
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) || math.IsNaN(lo) || math.IsNaN(hi) {
		return nil, ActivationReport{}, errs.New(errs.ErrInvalidArgument, "the calibration inputs reach [%g, %g]", lo, hi)
	}
	type interval struct {
		name   string
		lo, hi float64
	}
	intervals := []interval{{"range", lo, hi}}
	degrees := []int{level}
	weightings := []Weighting{s.opts.Weighting}
	if !s.fixed {
		sorted := slices.Clone(values)
		slices.Sort(sorted)
		qlo, qhi := sorted[len(sorted)/1000], sorted[len(sorted)-1-len(sorted)/1000]
		if qlo > lo || qhi < hi {
			intervals = append(intervals, interval{"quantiles", qlo, qhi})
		}
		degrees = degreesOfDepth(level)
		weightings = []Weighting{WeightData, WeightUniform}
	}
	var best *model.Polynomial
	var bestRep ActivationReport
	bestErr := math.Inf(1)
	for _, iv := range intervals {
		width := iv.hi - iv.lo
		if width == 0 {
			width = math.Max(math.Abs(iv.lo), 1)
		}
		flo, fhi := iv.lo-s.opts.Margin*width, iv.hi+s.opts.Margin*width
		for _, d := range degrees {
			for _, w := range weightings {
				samples := uniformSamples(flo, fhi)
				if w == WeightData {
					samples = dataSamples(xs, flo, fhi)
				}
				f, err := fitPolynomial(a.Apply, flo, fhi, d, samples)
				if err != nil {
					return nil, ActivationReport{}, err
				}
				p := &model.Polynomial{Coeffs: f.coeffs, Interval: [2]float64{flo, fhi}, FitError: f.maxErr, Fitted: a.Func}
				mse, outside := 0.0, 0
				for _, v := range values {
					e := p.Apply(v) - a.Apply(v)
					mse += e * e
					if v < flo || v > fhi {
						outside++
					}
				}
				if mse < bestErr {
					bestErr, best = mse, p
					bestRep = ActivationReport{Layer: layer, Function: a.Func, Degree: d, Interval: p.Interval, IntervalFrom: iv.name,
						Fit: map[Weighting]string{WeightData: "data", WeightUniform: "uniform"}[w], MaxError: f.maxErr,
						RMSError: math.Sqrt(mse / float64(len(values))), Outside: float64(outside) / float64(len(values)), Coeffs: f.coeffs}
				}
			}
		}
	}
	return best, bestRep, nil
}

// degreesOfDepth lists the degrees of multiplicative depth level: 2; 3, 4; 6, 8; 12, 16.
func degreesOfDepth(level int) []int {
	switch level {
	case 1:
		return []int{2}
	case 2:
		return []int{3, 4}
	case 3:
		return []int{6, 8}
	}
	return []int{12, 16}
}

// sampleValues returns up to n of the values, evenly spread over them.
func sampleValues(xs [][]float64, n int) []float64 {
	total := 0
	for _, x := range xs {
		total += len(x)
	}
	step := max(1, total/n)
	out := make([]float64, 0, min(n+1, total))
	i := 0
	for _, x := range xs {
		for _, v := range x {
			if i%step == 0 {
				out = append(out, v)
			}
			i++
		}
	}
	return out
}

// intervalsFromCalibration sets the interval of every polynomial activation that has
// none (one imported from a trained network) to the range its inputs take on the
// calibration inputs, widened by margin.
func intervalsFromCalibration(m *model.Model, cal [][]float64, margin float64) error {
	shapes, _ := m.Shapes()
	xs := cal
	for i, l := range m.Layers {
		if p, ok := l.(*model.Polynomial); ok && p.Interval == [2]float64{} {
			lo, hi := valueRange(xs)
			w := hi - lo
			if w == 0 {
				w = math.Max(math.Abs(lo), 1)
			}
			p.Interval = [2]float64{lo - margin*w, hi + margin*w}
		}
		var err error
		if xs, err = forwardLayerAll(l, shapes[i], xs); err != nil {
			return err
		}
	}
	return nil
}
