package batch

import (
	"fmt"
	"math"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// stageSummary is what scheduling needs to know of a stage.
type stageSummary struct {
	linear bool
	// poly marks a polynomial activation of degree power; its leading coefficient has
	// magnitude 2^leadLog, and its input values magnitude up to 2^inLogBound.
	poly       bool
	power      int
	leadLog    float64
	inLogBound float64
	maxW       float64 // linear: the largest |weight|
	weights    int     // linear: the number of non-zero weights
	outputs    int
	logBound   float64 // log2 of the largest |value| after the stage
}

// summarize computes the worst-case value bounds of every stage for inputs in
// [-inBound, inBound] by interval arithmetic: these bounds hold for every valid input,
// so no planned modulus can overflow.
func summarize(stages []model.Stage, inBound float64) ([]stageSummary, error) {
	var bound []float64
	if len(stages) > 0 {
		bound = filled(stages[0].In.Size(), inBound)
	}
	var sums []stageSummary
	for _, st := range stages {
		var s stageSummary
		switch {
		case st.Affine != nil:
			s.linear, s.maxW = true, maxAbsWeight(st.Affine)
			for _, row := range st.Affine.Rows {
				s.weights += len(row)
			}
			bound = st.Affine.MaxAbsOutput(bound)
		case st.Activation != nil:
			act, err := describeActivation(st.Activation)
			if err != nil {
				return nil, fmt.Errorf("batch: layer %d: %w", st.Layer, err)
			}
			s.poly, s.power, s.leadLog = act.poly, act.power, act.leadLog
			s.inLogBound = math.Log2(math.Max(maxOf(bound), 1e-300))
			next := make([]float64, len(bound))
			for i, b := range bound {
				next[i] = act.bound(b)
			}
			bound = next
		default:
			return nil, errs.New(errs.ErrUnsupported, "batch: layer %d: softmax must be removed by the conversion before compiling", st.Layer)
		}
		s.outputs, s.logBound = len(bound), math.Log2(math.Max(maxOf(bound), 1e-300))
		sums = append(sums, s)
	}
	if len(sums) == 0 || !sums[len(sums)-1].linear {
		return nil, errs.New(errs.ErrUnsupported, "batch: the network must end with a linear layer")
	}
	return sums, nil
}

// schedule fixes the input scale, the weight precision and where to rescale.
type schedule struct {
	inLogScale int
	weightBits int
	rescales   []int // primes dropped after each stage
	precision  float64
	cost       float64
}

// maxWeightBits is the largest weight precision whose products with any coefficient
// (below the largest prime) leave room in an int64 accumulator: the multiply-accumulate
// kernel needs |w|·q < 2^63 for every single term.
func maxWeightBits(prm hefloat.Parameters) int {
	qmax := 0.0
	for _, q := range prm.Q() {
		qmax = math.Max(qmax, float64(q))
	}
	return 62 - int(math.Ceil(math.Log2(qmax)))
}

// freshNoiseBits is log2 of the fresh secret-key encryption noise in the slots: about
// σ·√N, with a safety factor.
func freshNoiseBits(prm hefloat.Parameters) float64 { return float64(prm.LogN())/2 + 5 }

// rescaleNoiseBits is log2 of the rounding noise a rescale adds in the slots of a
// ciphertext of the given degree: it grows like N^((degree+1)/2).
func rescaleNoiseBits(prm hefloat.Parameters, degree int) float64 {
	return float64(degree+1)*float64(prm.LogN())/2 + 2
}

// marginBits is the headroom kept between the largest |value·scale| and Q/2.
const marginBits = 1

// bestSchedule searches input scales, weight precisions and rescale points. It keeps
// the schedules whose precision reaches min(TargetBits, best possible) and, among
// those, returns the cheapest.
func bestSchedule(prm hefloat.Parameters, sums []stageSummary, opts packing.Options) (schedule, error) {
	logq := make([]float64, len(prm.Q()))
	for i, q := range prm.Q() {
		logq[i] = math.Log2(float64(q))
	}
	freshNoise := freshNoiseBits(prm)
	var found []schedule
	for in := 20; in <= 40; in++ {
		for wb := 10; wb <= maxWeightBits(prm); wb++ {
			sch := schedule{inLogScale: in, weightBits: wb, rescales: make([]int, len(sums))}
			precision := math.Min(float64(in)-freshNoise, float64(wb))
			walk(prm, logq, sums, 0, prm.MaxLevel(), 1, float64(in), precision, 0, &sch, &found)
		}
	}
	if len(found) == 0 {
		return schedule{}, errs.New(errs.ErrUnsupported, "no input scale and rescale schedule fits the modulus with the worst-case value bounds")
	}
	best := 0.0
	for _, s := range found {
		best = math.Max(best, s.precision)
	}
	if best < opts.MinBits {
		return schedule{}, errs.New(errs.ErrUnsupported, "the best schedule keeps %.1f bits of precision, under the %.1f required", best, opts.MinBits)
	}
	goal := math.Min(best, opts.TargetBits)
	var pick *schedule
	for i, s := range found {
		if s.precision >= goal && (pick == nil || s.cost < pick.cost) {
			pick = &found[i]
		}
	}
	return *pick, nil
}

// walk simulates stages from index i on, trying every rescale count where rescaling
// is allowed (after squares and after the last stage), and appends feasible schedules.
func walk(prm hefloat.Parameters, logq []float64, sums []stageSummary, i, level, degree int, logScale, precision, cost float64, sch *schedule, found *[]schedule) {
	if i == len(sums) {
		s := *sch
		s.rescales = append([]int(nil), sch.rescales...)
		s.precision, s.cost = precision, cost
		*found = append(*found, s)
		return
	}
	st := sums[i]
	capacity := 0.0
	for _, b := range logq[:level+1] {
		capacity += b
	}
	switch {
	case st.linear:
		logScale += float64(weightLogScale(st.maxW, sch.weightBits))
		cost += float64(st.weights * (level + 1) * (degree + 1))
	case !st.poly:
		logScale *= 2
		degree *= 2
		cost += float64(st.outputs*(level+1)) * float64((degree/2+1)*(degree/2+1))
	default:
		// Every power x^k must fit at its own scale before it is combined.
		for k := 2; k <= st.power; k++ {
			if float64(k)*(logScale+st.inLogBound)+1+marginBits > capacity {
				return
			}
		}
		in := degree
		logScale = float64(st.power)*logScale + float64(coefficientLogScale(st.leadLog, sch.weightBits))
		degree *= st.power
		cost += float64(st.outputs*(level+1)*(in+1)) * float64(degree+1) * float64(st.power-1)
	}
	if logScale+st.logBound+1+marginBits > capacity {
		return
	}
	maxRescale := 0
	if !st.linear || i == len(sums)-1 {
		maxRescale = level
	}
	for r := 0; r <= maxRescale; r++ {
		ls, p, c := logScale, precision, cost
		for k := range r {
			ls -= logq[level-k]
		}
		if r > 0 {
			// Rounding noise of a rescale grows like N^((degree+1)/2) in the slots.
			p = math.Min(p, ls-rescaleNoiseBits(prm, degree))
			c += float64(st.outputs * (degree + 1) * (level + 1) * prm.LogN())
		}
		if ls < 1 {
			break
		}
		sch.rescales[i] = r
		walk(prm, logq, sums, i+1, level-r, degree, ls, p, c, sch, found)
	}
	sch.rescales[i] = 0
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// activation is what planning needs to know of an activation.
type activation struct {
	poly    bool
	power   int
	leadLog float64
	coeffs  []float64 // monomial coefficients of a polynomial, trailing zeros trimmed
}

func describeActivation(a model.Activation) (activation, error) {
	switch a := a.(type) {
	case model.Square:
		return activation{power: 2}, nil
	case *model.Polynomial:
		c := trimZeros(a.Coeffs)
		if len(c) < 3 {
			return activation{}, errs.New(errs.ErrUnsupported, "polynomial activations of degree %d are linear: merge them into the neighbouring layer", len(c)-1)
		}
		return activation{poly: true, power: len(c) - 1, leadLog: math.Log2(math.Abs(c[len(c)-1])), coeffs: c}, nil
	}
	return activation{}, errs.New(errs.ErrUnsupported, "%s activations are not supported by batch packing; convert them to polynomials first", a.Kind())
}

// bound returns the largest |f(x)| for |x| ≤ b.
func (a activation) bound(b float64) float64 {
	if !a.poly {
		return b * b
	}
	s, p := 0.0, 1.0
	for _, c := range a.coeffs {
		s += math.Abs(c) * p
		p *= b
	}
	return s
}

func trimZeros(c []float64) []float64 {
	n := len(c)
	for n > 0 && c[n-1] == 0 {
		n--
	}
	return c[:n]
}

// coefficientLogScale is w such that |lead|·2^w ≈ 2^weightBits: the precision given
// to a polynomial's leading coefficient.
func coefficientLogScale(leadLog float64, weightBits int) int {
	return weightBits - int(math.Ceil(leadLog))
}
