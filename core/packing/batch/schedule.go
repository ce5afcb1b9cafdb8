package batch

import (
	"fmt"
	"math"
	"runtime"
	"sort"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/workers"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// stageSummary is what scheduling needs to know of a stage.
type stageSummary struct {
	linear bool
	// power is the degree of an activation (2 for x², which square marks); a
	// polynomial's leading coefficient has magnitude 2^leadLog, and its input values
	// magnitude up to 2^inLogBound.
	square     bool
	power      int
	leadLog    float64
	inLogBound float64
	maxW       float64 // linear: the largest |weight|
	exactLogW  int     // linear: s ≥ 0 if every weight·2^s is a small integer, else -1
	weights    int     // linear: the number of non-zero weights
	inputs     int
	outputs    int
	logBound   float64 // log2 of the largest |value| after the stage
	// monitored marks an activation whose input is monitored; monitorLogMax is log2 of
	// the monitor's bound and monitorMaxW its largest weight.
	monitored     bool
	monitorLogMax float64
	monitorMaxW   float64
	// gain is how much an error in the values after the stage moves the logits
	// (see errorModel); quant is the error of rounding a polynomial's coefficients
	// per unit of 2^-weightBits, and weightErr that of rounding a linear stage's
	// weights to integers at each weight scale (see roundingError).
	gain, quant float64
	weightErr   map[int]float64
	// peak is the typical magnitude of the stage's inputs, and coeffs an activation's
	// monomial coefficients.
	peak   float64
	coeffs []float64
}

// The error model. A plan's precision is that of the logits: log2 of their largest
// magnitude over the error expected on them. Each step adds errors to the values
// after it — CKKS noise (fresh encryption, rescaling, relinearization), the
// rounding of integer weights and coefficients — and the stages after it carry them
// to the logits with their gain. With a calibrated model the gains, magnitudes and
// the logits' magnitude come from the calibration (model.Calibration's Gain and Peak:
// measured on data, they are what matters in practice); without, from the value
// bounds, products of each stage's worst amplification (a pessimistic estimate).

// errorModel fills in the gains and rounding errors of the stages, for inputs in the
// intervals in, and returns the logits' magnitude and the gain of an error in the
// inputs.
func errorModel(m *model.Model, stages []model.Stage, in []interval, vb *valueBounds, sums []stageSummary) (outMax, inGain float64) {
	cal := m.Calibration
	measured := cal != nil && len(cal.Gain) == len(m.Layers) && len(cal.Peak) == len(m.Layers)
	// Typical magnitude of the values before each stage.
	peakIn := make([]float64, len(stages))
	for k := range stages {
		switch {
		case k == 0:
			peakIn[k] = maxAbs(in)
		case measured:
			peakIn[k] = cal.Peak[stages[k-1].Layer]
		default:
			peakIn[k] = maxAbs(vb.after[k-1])
		}
	}
	// Gains: measured, or the product of the worst amplification of each later stage.
	gain := 1.0
	for k := len(stages) - 1; k >= 0; k-- {
		sums[k].gain = gain
		if measured {
			sums[k].gain = cal.Gain[stages[k].Layer]
		}
		gain *= stageGain(stages[k], peakIn[k])
	}
	inGain = gain
	if measured {
		if inGain = 0; len(stages) > 0 {
			inGain = cal.Gain[stages[0].Layer] * stageGain(stages[0], peakIn[0])
		}
	}
	for k, st := range stages {
		sums[k].peak = peakIn[k]
		switch {
		case st.Affine != nil:
			sums[k].weightErr = roundingErrors(st.Affine, peakIn[k])
		default:
			act, _ := describeActivation(st.Activation)
			if act.poly {
				lead := act.coeffs[len(act.coeffs)-1]
				sums[k].quant = 0.29 * math.Abs(lead) * math.Pow(peakIn[k], float64(act.power))
			}
		}
	}
	outMax = maxAbs(vb.after[len(stages)-1])
	if measured {
		outMax = cal.Peak[stages[len(stages)-1].Layer]
	}
	return outMax, inGain
}

// roundingErrors returns, for every weight scale 2^logW a plan may use, the error
// that rounding a's weights to integers w·2^logW puts on its outputs, for inputs of
// magnitude peak: the largest L2 norm over the rows of the rounding errors, times
// peak (independent errors).
func roundingErrors(a *model.Affine, peak float64) map[int]float64 {
	out := map[int]float64{}
	for logW := -30; logW <= 80; logW++ {
		f := math.Ldexp(1, logW)
		worst := 0.0
		for _, row := range a.Rows {
			s := 0.0
			for _, t := range row {
				d := (t.Weight*f - math.Round(t.Weight*f)) / f
				s += d * d
			}
			worst = math.Max(worst, s)
		}
		out[logW] = math.Sqrt(worst) * peak
	}
	return out
}

// stageGain is the most a stage amplifies a small error in its inputs, whose
// magnitude is about peak: the largest L2 norm of a row for a linear stage (errors
// are independent), the largest slope for an activation.
func stageGain(st model.Stage, peak float64) float64 {
	if st.Affine != nil {
		g := 0.0
		for _, row := range st.Affine.Rows {
			s := 0.0
			for _, t := range row {
				s += t.Weight * t.Weight
			}
			g = math.Max(g, math.Sqrt(s))
		}
		return g
	}
	act, _ := describeActivation(st.Activation)
	slope := make([]float64, len(act.coeffs)-1)
	for k := range slope {
		slope[k] = float64(k+1) * act.coeffs[k+1]
	}
	return polyRange(slope, interval{-peak, peak}).abs()
}

// summarize describes the stages for scheduling, with the value bounds vb.
func summarize(stages []model.Stage, vb *valueBounds) ([]stageSummary, error) {
	var sums []stageSummary
	monitors := map[int]monitorPlan{}
	for _, mon := range vb.monitors {
		monitors[mon.stage] = mon
	}
	in := 0
	if len(stages) > 0 {
		in = stages[0].In.Size()
	}
	for k, st := range stages {
		s := stageSummary{inputs: in, outputs: len(vb.after[k]), logBound: log2(maxAbs(vb.after[k]))}
		switch {
		case st.Affine != nil:
			s.linear, s.maxW = true, maxAbsWeight(st.Affine)
			s.exactLogW = exactLogScale(st.Affine)
			for _, row := range st.Affine.Rows {
				s.weights += len(row)
			}
		case st.Activation != nil:
			act, err := describeActivation(st.Activation)
			if err != nil {
				return nil, fmt.Errorf("batch: layer %d: %w", st.Layer, err)
			}
			s.square, s.power, s.leadLog, s.coeffs = !act.poly, act.power, act.leadLog, act.coeffs
			inBound := 0.0
			if k > 0 {
				inBound = maxAbs(vb.after[k-1])
			}
			s.inLogBound = log2(inBound)
			if mon, ok := monitors[k]; ok {
				s.monitored, s.monitorLogMax = true, log2(mon.max)
				for _, w := range mon.weights {
					s.monitorMaxW = math.Max(s.monitorMaxW, w)
				}
			}
		default:
			return nil, errUnsupportedStage(st)
		}
		sums = append(sums, s)
		in = s.outputs
	}
	if len(sums) == 0 || !sums[len(sums)-1].linear {
		return nil, errs.New(errs.ErrUnsupported, "batch: the network must end with a linear layer")
	}
	return sums, nil
}

func errUnsupportedStage(st model.Stage) error {
	return errs.New(errs.ErrUnsupported, "batch: layer %d: softmax must be removed by the conversion before compiling", st.Layer)
}

// log2 is log2(x) for x > 0, and a very small number for 0.
func log2(x float64) float64 { return math.Log2(math.Max(x, 1e-300)) }

// exactLogScale returns the least s ≥ 0 such that every weight of a, times 2^s, is an
// integer of at most exactWeightBits bits (a pool's 1/4 gives 2), or -1.
func exactLogScale(a *model.Affine) int {
	for s := 0; s <= exactWeightBits; s++ {
		f := math.Ldexp(1, s)
		ok := true
		for _, row := range a.Rows {
			for _, t := range row {
				w := t.Weight * f
				if w != math.Trunc(w) || math.Abs(w) > math.Ldexp(1, exactWeightBits) {
					ok = false
					break
				}
			}
			if !ok {
				break
			}
		}
		if ok {
			return s
		}
	}
	return -1
}

// exactWeightBits bounds the exact integer weights exactLogScale looks for.
const exactWeightBits = 8

// linearLogScale is the weight scale of a linear stage: the exact one if its weights
// are small dyadic rationals (such as a pool's), else weightLogScale's.
func linearLogScale(maxW float64, exact, weightBits int) int {
	if exact >= 0 && exact <= weightLogScale(maxW, weightBits) {
		return exact
	}
	return weightLogScale(maxW, weightBits)
}

// schedule fixes the input level and scale, the weight precision, and after each
// stage how many primes to rescale by and whether to relinearize.
type schedule struct {
	inLevel    int
	inLogScale int
	weightBits int
	rescales   []int  // primes dropped after each stage
	relin      []bool // relinearize after each stage (after its rescales)
	// trees holds, for a polynomial computed by relinearized powers, its plan.
	trees []*powerTree
	// relinMonitors relinearizes the monitors before they join the logits.
	relinMonitors bool
	// precision is log2 of the logits' magnitude over their expected error.
	precision float64
	cost      float64
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

// rescaleCost is the cost of rescaling one coefficient of one limb, in multiply-adds
// of a linear step: an inverse and a forward NTT per limb and two element-wise passes
// take about as long as 50 multiply-adds. It is a constant, not measured at run time,
// so that a model compiles to the same plan on every machine.
const rescaleCost = 50

// relinCost is the cost of relinearizing one coefficient, in multiply-adds, for a
// ciphertext at level l with k special primes and one prime per digit: about an NTT
// (half a rescale) per limb of every digit's extension, plus the key products.
func relinCost(l, k int) float64 {
	limbs := float64(l + 1)
	ext := limbs + float64(k)
	return limbs*ext*(rescaleCost/2+2) + 2*ext*rescaleCost/2
}

// freshNoiseBits is log2 of the fresh secret-key encryption noise in the slots: about
// σ·√N, with a safety factor.
func freshNoiseBits(prm hefloat.Parameters) float64 { return float64(prm.LogN())/2 + 5 }

// rescaleNoiseBits is log2 of the rounding noise a rescale adds in the slots of a
// ciphertext of the given degree: it grows like N^((degree+1)/2).
func rescaleNoiseBits(prm hefloat.Parameters, degree int) float64 {
	return float64(degree+1)*float64(prm.LogN())/2 + 2
}

// worstSlotRescaleNoiseBits is rescaleNoiseBits in the slot where it is largest,
// which the tolerances of the integrity checks must cover since check inputs take
// any slot. A rescale's rounding noise in slot j is Σ_k e_k(ζ_j)·s(ζ_j)^k (evaluation
// at the slot's root is a ring homomorphism), so it grows like |s(ζ_j)|^degree; |s(ζ_j)|²
// is about exponentially distributed over the slots, and its largest value is about
// ln(slots) times its mean.
func worstSlotRescaleNoiseBits(prm hefloat.Parameters, degree int) float64 {
	return rescaleNoiseBits(prm, degree) + float64(degree)/2*math.Log2(math.Log(float64(prm.MaxSlots())))
}

// marginBits is the headroom kept between the largest |value·scale| and Q/2.
const marginBits = 1

// searchSpace is what the schedule search may use of a parameter set, and what it
// knows of the network's errors (see errorModel).
type searchSpace struct {
	prm   hefloat.Parameters
	logq  []float64
	relin bool // the parameters have special primes: relinearization is possible
	// relinNoise is log2 of the noise a relinearization adds, in slot units.
	relinNoise float64
	// freshNoise is log2 of fresh encryption noise in the slots.
	freshNoise float64
	// outMax is the logits' magnitude, inGain the gain of an error in the inputs.
	outMax, inGain float64
}

func newSearchSpace(prm hefloat.Parameters, outMax, inGain float64) searchSpace {
	sp := searchSpace{prm: prm, relin: len(prm.P()) > 0, freshNoise: freshNoiseBits(prm), outMax: outMax, inGain: inGain}
	for _, q := range prm.Q() {
		sp.logq = append(sp.logq, math.Log2(float64(q)))
	}
	if sp.relin {
		logP, qmax := 0.0, 0.0
		for _, p := range prm.P() {
			logP += math.Log2(float64(p))
		}
		for _, l := range sp.logq {
			qmax = math.Max(qmax, l)
		}
		// Key-switching noise: each of the digits (one per prime) times its Gaussian
		// key error, summed over N, divided by P, and the rounding of the division.
		sp.relinNoise = math.Max(math.Log2(float64(len(sp.logq)))+qmax-logP+float64(prm.LogN())+3, float64(prm.LogN())/2+3)
	}
	return sp
}

// rescaleNoise is rescaleNoiseBits of the search's parameters.
func (sp searchSpace) rescaleNoise(degree int) float64 { return rescaleNoiseBits(sp.prm, degree) }

func (sp searchSpace) capacity(level int) float64 {
	c := 0.0
	for _, b := range sp.logq[:level+1] {
		c += b
	}
	return c
}

// The input scales and weight precisions the schedule search tries, searchStep bits
// apart.
const (
	minInputLogScale = 20
	maxInputLogScale = 40
	minWeightBits    = 8
	searchStep       = 2
)

// bestSchedule searches input levels and scales, weight precisions, rescale points
// and relinearizations. It keeps the schedules whose precision (of the logits, see
// errorModel) reaches min(TargetBits, best possible) and, among those, returns the
// cheapest.
func bestSchedule(prm hefloat.Parameters, sums []stageSummary, opts packing.Options, outMax, inGain float64) (schedule, error) {
	sp := newSearchSpace(prm, outMax, inGain)
	type point struct{ in, wb int }
	var points []point
	for in := minInputLogScale; in <= maxInputLogScale; in += searchStep {
		for wb := minWeightBits; wb <= maxWeightBits(prm); wb += searchStep {
			points = append(points, point{in, wb})
		}
	}
	results := make([][]schedule, len(points))
	_ = workers.Run(len(points), runtime.GOMAXPROCS(0), func(_, i int) error {
		results[i] = sp.search(sums, points[i].in, points[i].wb)
		return nil
	})
	var found []schedule
	for _, r := range results {
		found = append(found, r...)
	}
	if len(found) == 0 {
		return schedule{}, errs.New(errs.ErrUnsupported, "no input scale, rescale and relinearization schedule fits the modulus with the value bounds")
	}
	best := math.Inf(-1)
	for _, s := range found {
		best = math.Max(best, s.precision)
	}
	if best < opts.MinBits {
		return schedule{}, errs.New(errs.ErrUnsupported, "the best schedule keeps %.1f bits of precision on the logits, under the %.1f required", best, opts.MinBits)
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

// partial is a schedule of the first stages, and the state of the ciphertexts after
// them.
type partial struct {
	inLevel       int
	level, degree int
	// monDegree is the largest degree of a monitor computed so far (0: none), and
	// monExcess the largest log2 of a monitor's scale over the modulus at its level:
	// the monitors must reach the logits' scale by dividing by the primes between.
	monDegree int
	monExcess float64
	logScale  float64
	// err is the expected error on the logits so far, cost the work.
	err, cost float64
	rescales  []int
	relin     []bool
	trees     []*powerTree
}

// key groups partial schedules whose futures are alike.
type key struct{ level, degree, monDegree, logScale int }

// search runs the dynamic program over the stages for one input scale and weight
// precision, from every input level, and returns the feasible complete schedules (a
// few per final state).
func (sp searchSpace) search(sums []stageSummary, inLogScale, weightBits int) []schedule {
	var frontier []partial
	fresh := sp.inGain * math.Exp2(sp.freshNoise-float64(inLogScale))
	for level := sp.prm.MaxLevel(); level >= 0; level-- {
		frontier = append(frontier, partial{inLevel: level, level: level, degree: 1, logScale: float64(inLogScale),
			monExcess: math.Inf(-1), err: fresh})
	}
	for i, st := range sums {
		next := map[key][]partial{}
		for _, p := range frontier {
			for _, q := range sp.step(st, p, weightBits, i == len(sums)-1) {
				k := key{q.level, q.degree, q.monDegree, int(math.Floor(q.logScale))}
				next[k] = paretoAdd(next[k], q)
			}
		}
		frontier = frontier[:0]
		keys := make([]key, 0, len(next))
		for k := range next {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(a, b int) bool { return lessKey(keys[a], keys[b]) })
		for _, k := range keys {
			frontier = append(frontier, next[k]...)
		}
		if len(frontier) == 0 {
			return nil
		}
	}
	var out []schedule
	monLog := math.Inf(-1)
	for _, st := range sums {
		if st.monitored {
			monLog = math.Max(monLog, st.monitorLogMax)
		}
	}
	for _, p := range frontier {
		relinMonitors := false
		if p.monDegree > p.degree {
			if p.monDegree != 2 || p.degree != 1 || !sp.relin {
				continue // the monitors cannot take the logits' shape
			}
			relinMonitors = true
		}
		if p.monDegree > 0 && (monLog+p.logScale+1+marginBits > sp.capacity(p.level) ||
			p.monExcess > p.logScale-sp.capacity(p.level)-minLiftBits) {
			continue
		}
		out = append(out, schedule{inLevel: p.inLevel, inLogScale: inLogScale, weightBits: weightBits, rescales: p.rescales,
			relin: p.relin, trees: p.trees, relinMonitors: relinMonitors, precision: math.Log2(sp.outMax / p.err), cost: p.cost})
	}
	return out
}

func lessKey(a, b key) bool {
	switch {
	case a.level != b.level:
		return a.level < b.level
	case a.degree != b.degree:
		return a.degree < b.degree
	case a.monDegree != b.monDegree:
		return a.monDegree < b.monDegree
	}
	return a.logScale < b.logScale
}

// paretoAdd adds q to the set unless one of them is at least as good in error, cost
// and scale (a lower scale leaves more room); it drops those q beats.
func paretoAdd(set []partial, q partial) []partial {
	dominates := func(a, b partial) bool {
		return a.err <= b.err && a.cost <= b.cost && a.logScale <= b.logScale && a.monExcess <= b.monExcess
	}
	for _, p := range set {
		if dominates(p, q) {
			return set
		}
	}
	out := set[:0]
	for _, p := range set {
		if !dominates(q, p) {
			out = append(out, p)
		}
	}
	return append(out, q)
}

// variant is a way to compute a stage: the ciphertexts' level, scale and degree
// after it (before its rescales), the work and error it adds, and its power tree for
// a polynomial by relinearized powers.
type variant struct {
	level, degree int
	logScale      float64
	cost, err     float64
	tree          *powerTree
}

// step applies stage st to the partial schedule p and returns every feasible way to
// continue: each way to compute the stage, each number of rescales after it, each
// with and without relinearization.
func (sp searchSpace) step(st stageSummary, p partial, weightBits int, last bool) []partial {
	capacity := sp.capacity(p.level)
	limbs := float64(p.level + 1)
	monDegree, monExcess := p.monDegree, p.monExcess
	base := variant{level: p.level, degree: p.degree, logScale: p.logScale, cost: p.cost, err: p.err}
	var variants []variant
	switch {
	case st.linear:
		v := base
		logW := linearLogScale(st.maxW, st.exactLogW, weightBits)
		v.logScale += float64(logW)
		v.cost += float64(st.weights) * limbs * float64(v.degree+1)
		v.err += st.gain * st.weightErr[logW]
		variants = append(variants, v)
	default:
		if st.monitored {
			// x² by a tensor product, then one multiply-add into the monitor.
			monScale := 2*base.logScale + float64(weightLogScale(st.monitorMaxW, monitorWeightBits))
			if st.monitorLogMax+monScale+1+marginBits > capacity {
				return nil
			}
			base.cost += float64(st.inputs) * limbs * float64((base.degree+1)*(base.degree+2)/2+2*base.degree+1)
			monDegree = max(monDegree, 2*base.degree)
			monExcess = math.Max(monExcess, monScale-capacity)
		}
		if v, ok := sp.tensorVariant(st, base, weightBits); ok {
			variants = append(variants, v)
		}
		if v, ok := sp.treeVariant(st, base, weightBits); ok {
			variants = append(variants, v)
		}
	}
	var out []partial
	for _, v := range variants {
		if v.logScale+st.logBound+1+marginBits > sp.capacity(v.level) {
			continue
		}
		vlimbs := float64(v.level + 1)
		for r := 0; r <= v.level; r++ {
			ls, qe, c := v.logScale, v.err, v.cost
			for k := range r {
				ls -= sp.logq[v.level-k]
			}
			if ls < 1 {
				break
			}
			level := v.level - r
			if r > 0 {
				qe += st.gain * math.Exp2(sp.rescaleNoise(v.degree)-ls)
				c += float64(st.outputs*(v.degree+1)) * vlimbs * rescaleCost
			}
			q := partial{inLevel: p.inLevel, level: level, degree: v.degree, monDegree: monDegree, monExcess: monExcess,
				logScale: ls, err: qe, cost: c,
				rescales: append(append([]int(nil), p.rescales...), r), relin: append(append([]bool(nil), p.relin...), false),
				trees: append(append([]*powerTree(nil), p.trees...), v.tree)}
			out = append(out, q)
			if sp.relin && v.degree == 2 && !last {
				q.degree = 1
				q.err = qe + st.gain*math.Exp2(sp.relinNoise-ls)
				q.cost += float64(st.outputs) * relinCost(level, len(sp.prm.P()))
				q.relin = append(append([]bool(nil), p.relin...), true)
				out = append(out, q)
			}
		}
	}
	return out
}

// tensorVariant computes an activation by tensor products (squareStep, polyStep):
// the degree grows with the power, no level is used.
func (sp searchSpace) tensorVariant(st stageSummary, v variant, weightBits int) (variant, bool) {
	capacity := sp.capacity(v.level)
	limbs := float64(v.level + 1)
	// Every power x^k must fit at its own scale before it is combined.
	for k := 2; k <= st.power; k++ {
		if float64(k)*(v.logScale+st.inLogBound)+1+marginBits > capacity {
			return v, false
		}
	}
	in := v.degree
	v.degree *= st.power
	if st.square {
		v.logScale *= 2
		v.cost += float64(st.inputs) * limbs * float64((in+1)*(in+2)/2)
	} else {
		v.logScale = float64(st.power)*v.logScale + float64(coefficientLogScale(st.leadLog, weightBits))
		v.cost += float64(st.inputs) * limbs * float64((in+1)*(v.degree+1)*(st.power-1))
		v.err += st.gain * st.quant * math.Exp2(-float64(weightBits))
	}
	return v, true
}

// treeVariant computes a polynomial of degree 3 or more by relinearized powers
// (powerPolyStep), which needs a relinearization key and degree-1 inputs.
func (sp searchSpace) treeVariant(st stageSummary, v variant, weightBits int) (variant, bool) {
	if st.square || st.power < 3 || !sp.relin || v.degree != 1 {
		return v, false
	}
	noise := math.Max(sp.rescaleNoise(1), sp.relinNoise)
	// Products are rescaled to about one prime (a scale the next product squares into
	// two primes), and kept powerFloorBits above the noise.
	target := sp.logq[len(sp.logq)-1]
	tree, ok := planPowers(sp.logq, v.level, v.logScale, st.inLogBound, st.peak, target, noise+powerFloorBits, noise, st.coeffs)
	if !ok {
		return v, false
	}
	level, logT := tree.combine(st.coeffs, weightBits)
	for k := 2; k <= st.power; k++ {
		l := min(tree.level[tree.a[k]], tree.level[k-tree.a[k]])
		limbs := float64(l + 1)
		// A product of two degree-1 ciphertexts, its relinearization and rescale.
		v.cost += float64(st.inputs) * (4*limbs + relinCost(l, len(sp.prm.P())) + 2*limbs*rescaleCost)
	}
	v.cost += float64(st.inputs*2*st.power) * float64(level+1)
	v.err += st.gain*tree.err + st.gain*st.quant*math.Exp2(-float64(weightBits))
	v.level, v.logScale, v.tree = level, logT, &tree
	return v, true
}

// powerFloorBits is the least precision the products of a power tree keep above the
// noise.
const powerFloorBits = 12

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
		return activation{power: 2, coeffs: []float64{0, 0, 1}}, nil
	case *model.Polynomial:
		c := trimZeros(a.Coeffs)
		if len(c) < 3 {
			return activation{}, errs.New(errs.ErrUnsupported, "polynomial activations of degree %d are linear: merge them into the neighbouring layer", len(c)-1)
		}
		return activation{poly: true, power: len(c) - 1, leadLog: math.Log2(math.Abs(c[len(c)-1])), coeffs: c}, nil
	}
	return activation{}, errs.New(errs.ErrUnsupported, "%s activations are not supported by batch packing; convert them to polynomials first", a.Kind())
}

// activationCoeffs returns the monomial coefficients of an activation.
func activationCoeffs(a model.Activation) ([]float64, error) {
	act, err := describeActivation(a)
	return act.coeffs, err
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
