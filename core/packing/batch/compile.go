// Package batch is the CryptoNets packing: slot i of every ciphertext belongs to image
// i, and each value of a layer's tensor is one ciphertext. Linear layers become
// integer multiply-accumulates on the ciphertexts' RNS limbs (no level consumed),
// squares become ciphertext tensor products left unrelinearized while the depth
// allows (the shipped CryptoNets network needs no evaluation key), deeper networks
// relinearize where the plan says with a relinearization key (never Galois keys),
// and rescaling happens only where the plan says. A square that does not rescale is
// evaluated inside the linear step after it (see fuse): its products never leave the
// linear step's slab.
package batch

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// Defaults of packing.Options for batch packing.
const (
	// defaultTargetBits is the precision of the logits, in bits relative to their
	// magnitude, beyond which the planner prefers speed.
	defaultTargetBits = 16
	// defaultMinBits is the least precision a plan may have.
	defaultMinBits = 8
)

// calibratedGainBits is how much more precision calibrated bounds must give before a
// plan prefers them to proven bounds that fit.
const calibratedGainBits = 1

// marginOf returns the calibration margin of the options.
func marginOf(o packing.Options) float64 {
	if o.Margin > 0 {
		return o.Margin
	}
	return DefaultMargin
}

func withDefaults(o packing.Options) packing.Options {
	if o.TargetBits == 0 {
		o.TargetBits = defaultTargetBits
	}
	if o.MinBits == 0 {
		o.MinBits = defaultMinBits
	}
	return o
}

// Plan is a model compiled for batch packing: quantized weights, bias residues,
// rescale points and the public manifest. It holds no key.
type Plan struct {
	params   hefloat.Parameters
	manifest manifest.Manifest
	steps    []step
	// run is steps as evaluated: with squares fused into the linear steps after
	// them (see fuse).
	run     []step
	inScale rlwe.Scale
	// precision is the planned precision in bits (see Options.TargetBits).
	precision float64
	// pool recycles ciphertext memory across steps and batches.
	pool *rowPool
	// kernels are the arithmetic the steps run on.
	kernels *kernels
	// guarantee is GuaranteeProven or GuaranteeCalibrated.
	guarantee string
}

// Guarantee says what the plan's value bounds hold for: GuaranteeProven (every input
// in the model's ranges) or GuaranteeCalibrated (inputs its monitors admit; the
// client reports the others as errors).
func (p *Plan) Guarantee() string { return p.guarantee }

// PrecisionBits returns the planned precision: the fewest bits of any value, relative
// to its scale, that noise, weight rounding and rescaling leave exact.
func (p *Plan) PrecisionBits() float64 { return p.precision }

// Manifest returns the public manifest of the plan.
func (p *Plan) Manifest() manifest.Manifest { return p.manifest }

// Parameters returns the CKKS parameters of the plan.
func (p *Plan) Parameters() hefloat.Parameters { return p.params }

// Packing returns Name.
func (p *Plan) Packing() manifest.Packing { return Name }

// Steps describes the compiled steps, for reports (a segment's as if it were not
// evaluated in chunks).
func (p *Plan) Steps() []packing.Step {
	var out []packing.Step
	for _, s := range p.steps {
		if seg, ok := s.(*segmentStep); ok {
			out = append(out, seg.info0...)
			continue
		}
		out = append(out, s.info())
	}
	return out
}

// state tracks what the ciphertexts look like between steps at compile time.
type state struct {
	level, degree int
	scale         rlwe.Scale
	bound         []float64 // max |value| of each tensor element
}

func (s state) maxBound() float64 {
	m := 0.0
	for _, b := range s.bound {
		m = math.Max(m, b)
	}
	return m
}

// Compile plans the evaluation of a converted model under the given parameters:
// with bounds proven for every input in the model's ranges if a schedule fits them
// with the target precision, else, for a calibrated model, with calibration-based
// bounds and monitors (see GuaranteeCalibrated) when they fit where proven bounds do
// not, or give a bit more precision.
func Compile(m *model.Model, preset params.Preset, opts packing.Options) (*Plan, error) {
	return compileChunked(m, preset, opts, chunkBytes)
}

// compileChunked is Compile with segments evaluated in chunks of at most chunk bytes.
func compileChunked(m *model.Model, preset params.Preset, opts packing.Options, chunk int) (*Plan, error) {
	if err := (Packing{}).Suits(preset); err != nil {
		return nil, err
	}
	opts = withDefaults(opts)
	prm, err := preset.Parameters()
	if err != nil {
		return nil, err
	}
	stages, err := m.Stages()
	if err != nil {
		return nil, err
	}
	in, scales, stages := scaleInputs(m, stages)
	var vb *valueBounds
	var sch schedule
	switch opts.Guarantee {
	case "", GuaranteeProven:
		vb, sch, err = planBounds(m, stages, in, prm, nil, opts)
		if opts.Guarantee == GuaranteeProven || err == nil && (sch.precision >= opts.TargetBits || m.Calibration == nil) {
			break
		}
		if m.Calibration == nil {
			err = fmt.Errorf("%w; the model has no calibration for calibrated bounds (convert it with calibration data)", err)
			break
		}
		// Proven bounds do not fit, or leave less precision than asked: calibrated
		// bounds are tighter, and give the room to the scales.
		cvb, csch, cerr := planBounds(m, stages, in, prm, m.Calibration, opts)
		switch {
		case err != nil && cerr != nil:
			err = fmt.Errorf("with bounds proven for every input in range: %w; with calibrated bounds (margin %g): %w", err, marginOf(opts), cerr)
		case cerr == nil && (err != nil || csch.precision >= sch.precision+calibratedGainBits):
			vb, sch, err = cvb, csch, nil
		}
	case GuaranteeCalibrated:
		if m.Calibration == nil {
			return nil, errs.New(errs.ErrInvalidArgument, "batch: calibrated bounds need a calibrated model (convert it with calibration data)")
		}
		vb, sch, err = planBounds(m, stages, in, prm, m.Calibration, opts)
	default:
		return nil, errs.New(errs.ErrInvalidArgument, "batch: unknown guarantee %q: want %s or %s", opts.Guarantee, GuaranteeProven, GuaranteeCalibrated)
	}
	if err != nil {
		return nil, fmt.Errorf("batch: %s cannot hold this network: %w", preset.Name, err)
	}
	return build(m, stages, in, scales, prm, preset, sch, vb, opts, chunk)
}

// planBounds bounds the values (with the calibration, if given) and searches a
// schedule for them.
func planBounds(m *model.Model, stages []model.Stage, in []interval, prm hefloat.Parameters, cal *model.Calibration, opts packing.Options) (*valueBounds, schedule, error) {
	vb, err := boundValues(stages, in, cal, marginOf(opts))
	if err != nil {
		return nil, schedule{}, err
	}
	sums, err := summarize(stages, vb)
	if err != nil {
		return nil, schedule{}, err
	}
	outMax, inGain := errorModel(m, stages, in, vb, sums)
	sch, err := bestSchedule(prm, sums, opts, outMax, inGain)
	if err != nil {
		top := 0.0
		for _, s := range sums {
			top = math.Max(top, s.logBound)
		}
		return nil, schedule{}, fmt.Errorf("%w (values up to 2^%.0f, %d activation layers, %d levels of log Q = %.0f)",
			err, top, activations(sums), prm.MaxLevel(), prm.LogQ())
	}
	return vb, sch, nil
}

func activations(sums []stageSummary) int {
	n := 0
	for _, s := range sums {
		if !s.linear {
			n++
		}
	}
	return n
}

// build constructs the plan that a schedule describes.
// Segments are evaluated in chunks of at most chunk bytes (see segmentStep).
// The inputs, in the intervals in, are scaled per channel by scales (nil: 1).
func build(m *model.Model, stages []model.Stage, in []interval, scales []float64, prm hefloat.Parameters, preset params.Preset, sch schedule, vb *valueBounds, opts packing.Options, chunk int) (*Plan, error) {
	st := state{level: sch.inLevel, degree: 1, scale: rlwe.NewScale(math.Ldexp(1, sch.inLogScale)), bound: absBounds(in)}
	k, err := newKernels(prm)
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	p := &Plan{params: prm, inScale: st.scale, kernels: k, guarantee: vb.guarantee}
	digest := sha256.New()
	add := func(ss ...step) {
		for _, s := range ss {
			s.hash(digest)
			p.steps = append(p.steps, s)
		}
	}
	// c records the stages as the plan computes them (rounded weights and
	// coefficients) and the noise each adds: what the integrity checks need.
	c := &stageCompiler{prm: prm, kernels: k, stages: stages, sch: sch, vb: vb, monitors: map[int]monitorPlan{}, chunk: chunk,
		planned: append([]model.Stage(nil), stages...), noise: make([]float64, len(stages)), relinNoise: newSearchSpace(prm, 0, 0).relinNoise}
	for _, mon := range vb.monitors {
		c.monitors[mon.stage] = mon
	}
	for i := 0; i < len(stages); {
		if seg, next, ok, err := c.segment(i, st); err != nil {
			return nil, err
		} else if ok {
			add(seg)
			st, i = next, i+3
			continue
		}
		out, err := c.stage(i, st, nil, nil, nil)
		if err != nil {
			return nil, err
		}
		add(out.steps...)
		st = out.st
		i++
	}
	if len(c.mons) > 0 {
		out, err := compileMonitorOutput(prm, c.mons, st, sch.relinMonitors)
		if err != nil {
			return nil, err
		}
		add(out)
	}
	images := prm.MaxSlots() - reservedChecks
	if opts.ImagesPerRequest > 0 && opts.ImagesPerRequest < images {
		images = opts.ImagesPerRequest
	}
	relin := false
	for i, r := range sch.relin {
		relin = relin || r || sch.trees[i] != nil
	}
	relin = relin || sch.relinMonitors
	p.manifest = manifest.Manifest{
		Model: m.Name, Packing: Name, Params: preset.Name, Insecure: preset.Insecure,
		ParamsFingerprint: params.FingerprintOf(prm),
		Input:             m.Input, InputRange: m.InputRange, ChannelRanges: m.ChannelRanges, Preprocessing: m.Preprocessing,
		InputLogScale: sch.inLogScale, InputLevel: sch.inLevel,
		Outputs: len(st.bound), OutputLevel: st.level, OutputDegree: st.degree,
		OutputLogScale: packing.Log2(st.scale), OutputBound: st.maxBound(),
		ImagesPerBatch: images, GaloisElements: []uint64{}, Relinearize: relin,
		InputCiphertexts: m.Input.Size(), Result: resultLayout(len(st.bound)),
		Guarantee: vb.guarantee, InputScales: scales,
	}
	for _, ms := range c.mons {
		p.manifest.Monitors = append(p.manifest.Monitors, ms.layer)
	}
	copy(p.manifest.ModelFingerprint[:], digest.Sum(nil))
	p.run = fuse(p.steps)
	p.precision = sch.precision
	// The pool keeps at most one evaluation's rows: what the next batch reuses.
	p.pool = newRowPool(prm.N(), int(p.keptRows(p.evaluationRows()*p.rowBytes())))
	// Every slot is evaluated: the slots a request's images leave free hold checks,
	// whose values must stay within the plan's bounds like any image's.
	var factors []float64
	if scales != nil {
		factors = make([]float64, m.Input.Size())
		plane := m.Input.H * m.Input.W
		for k := range factors {
			factors[k] = scales[k/plane]
		}
	}
	bounds := [][]float64{absBounds(in)}
	for i := range stages {
		bounds = append(bounds, absBounds(vb.after[i]))
	}
	checks, err := packing.MakeChecks(m, c.planned, packing.CheckSpec{Positions: prm.MaxSlots(),
		InputFactors: factors, Bounds: bounds,
		InputNoise: math.Exp2(freshNoiseBits(prm) - float64(sch.inLogScale)), StageNoise: c.noise,
		Limit: p.manifest.OutputBound, Seed: packing.CheckSeed(Name, p.manifest.ModelFingerprint)})
	if err != nil {
		return nil, err
	}
	p.manifest.Checks = checks
	return p, nil
}

// reservedChecks is the number of slots a full request leaves to check inputs.
const reservedChecks = 16

// stageCompiler compiles the stages of a schedule into steps.
type stageCompiler struct {
	prm      hefloat.Parameters
	kernels  *kernels
	stages   []model.Stage
	sch      schedule
	vb       *valueBounds
	monitors map[int]monitorPlan // by stage
	// mons are the monitor steps compiled so far, one per monitor.
	mons []*monitorStep
	// chunk is the most memory a segment's chunk may take.
	chunk int
	// planned are the stages as the plan computes them, noise[i] the noise stage i
	// adds to each of its values (in the values' units), relinNoise log2 of the
	// noise of a relinearization in the slots.
	planned    []model.Stage
	noise      []float64
	relinNoise float64
}

// stageSteps is a stage compiled: its steps and the state after them.
type stageSteps struct {
	steps []step
	st    state
}

// stage compiles stage i on the ciphertexts of st: its monitor (if any), the stage
// itself and its relinearization (if the schedule has one). rows, when not nil,
// restricts it to those outputs (a chunk of a segment): a linear stage then computes
// only those rows of its affine map (or the map a, when given: those rows with their
// inputs renumbered), an activation only those values; owned marks the values whose
// monitor terms this chunk counts.
func (c *stageCompiler) stage(i int, st state, rows []int, owned []bool, a *model.Affine) (stageSteps, error) {
	stage := c.stages[i]
	bound := absBounds(c.vb.after[i])
	if rows != nil {
		bound = pick(bound, rows)
	}
	var out stageSteps
	noise := 0.0 // that this stage adds
	switch {
	case stage.Affine != nil:
		if a == nil {
			a = stage.Affine
			if rows != nil {
				a = restrictRows(a, rows)
			}
		}
		whole := stage.Affine
		logW := linearLogScale(maxAbsWeight(whole), exactLogScale(whole), c.sch.weightBits)
		ls, next, err := compileLinear(c.prm, a, st, bound, logW, c.kernels)
		if err != nil {
			return out, err
		}
		ls.rescales, next = rescaleState(c.prm, next, c.sch.rescales[i])
		out.steps, st = append(out.steps, ls), next
		c.planned[i].Affine = roundWeights(whole, logW)
	default:
		if mon, ok := c.monitors[i]; ok {
			index, logW := len(c.mons), monitorLogScale(mon)
			if rows != nil {
				mon = restrictMonitor(mon, rows, owned)
				index = c.monitorIndex(i)
			}
			ms := compileMonitor(mon, st, index, logW)
			if index == len(c.mons) {
				c.mons = append(c.mons, ms)
			}
			out.steps = append(out.steps, ms)
		}
		if poly, ok := stage.Activation.(*model.Polynomial); ok && c.sch.trees[i] != nil {
			var ps *powerPolyStep
			ps, st = compilePowerPolynomial(c.prm, poly, st, *c.sch.trees[i], bound, c.sch.weightBits, c.sch.rescales[i])
			out.steps = append(out.steps, ps)
			c.planned[i].Activation, noise = ps.rounded(poly), c.sch.trees[i].err
		} else if ok {
			var ps *polyStep
			in := st.scale
			ps, st = compilePolynomial(c.prm, poly, st, bound, c.sch.weightBits, c.sch.rescales[i])
			c.planned[i].Activation = ps.rounded(poly, in)
			if len(out.steps) > 0 {
				if ms, ok := out.steps[len(out.steps)-1].(*monitorStep); ok {
					ms.fused, ps.monitor = true, ms
				}
			}
			out.steps = append(out.steps, ps)
		} else {
			var sq *squareStep
			sq, st = compileSquare(c.prm, st, bound, c.sch.rescales[i])
			out.steps = append(out.steps, sq)
		}
	}
	if c.sch.rescales[i] > 0 {
		noise += math.Exp2(worstSlotRescaleNoiseBits(c.prm, st.degree) - packing.Log2(st.scale))
	}
	if c.sch.relin[i] {
		out.steps = append(out.steps, &relinStep{n: len(st.bound), level: st.level, scale: st.scale, bound: st.maxBound()})
		st.degree = 1
		noise += math.Exp2(c.relinNoise - packing.Log2(st.scale))
	}
	c.noise[i] = noise
	out.st = st
	return out, nil
}

// monitorIndex returns the index of the monitor of stage i: its place among the
// monitors already compiled, or the next one.
func (c *stageCompiler) monitorIndex(i int) int {
	for k, ms := range c.mons {
		if ms.stage == i {
			return k
		}
	}
	return len(c.mons)
}

// pick returns v[rows[k]] for every k.
func pick(v []float64, rows []int) []float64 {
	out := make([]float64, len(rows))
	for k, r := range rows {
		out[k] = v[r]
	}
	return out
}

// scaleInputs returns the range of every input value as the client encrypts it, and
// the per-channel factors the client multiplies the values by (nil: none), with the
// stages adjusted to them. Channels of very different magnitudes (a record's
// features: one in thousands, another in thousandths) are all brought to [-1, 1]:
// with one scale for every input ciphertext, the small ones would otherwise keep
// few bits, and the first layer's integer weights (which would carry the factors)
// too. Only when the network starts with a linear stage, and the model has
// per-channel ranges.
func scaleInputs(m *model.Model, stages []model.Stage) ([]interval, []float64, []model.Stage) {
	ranges := m.ValueRanges()
	in := make([]interval, len(ranges))
	for i, r := range ranges {
		in[i] = interval{r[0], r[1]}
	}
	if len(m.ChannelRanges) == 0 || stages[0].Affine == nil {
		return in, nil, stages
	}
	scales := make([]float64, len(m.ChannelRanges))
	for c, r := range m.ChannelRanges {
		scales[c] = 1
		if top := math.Max(math.Abs(r[0]), math.Abs(r[1])); top > 0 {
			scales[c] = 1 / top
		}
	}
	plane := m.Input.H * m.Input.W
	for i := range in {
		k := scales[i/plane]
		in[i] = interval{in[i].lo * k, in[i].hi * k}
	}
	a := stages[0].Affine
	scaled := &model.Affine{In: a.In, Rows: make([][]model.Term, len(a.Rows)), Bias: a.Bias}
	for j, row := range a.Rows {
		scaled.Rows[j] = make([]model.Term, len(row))
		for t, term := range row {
			scaled.Rows[j][t] = model.Term{Index: term.Index, Weight: term.Weight / scales[term.Index/plane]}
		}
	}
	out := append([]model.Stage(nil), stages...)
	out[0].Affine = scaled
	return in, scales, out
}

// absBounds returns the largest magnitude in each interval.
func absBounds(vs []interval) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = v.abs()
	}
	return out
}

func filled(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// compileLinear plans a on the ciphertexts of state in, with integer weights
// round(w·2^logW) prepared for the kernels k; bound bounds each output.
func compileLinear(prm hefloat.Parameters, a *model.Affine, in state, bound []float64, logW int, k *kernels) (*linearStep, state, error) {
	wScale := math.Ldexp(1, logW)
	out := state{level: in.level, degree: in.degree, scale: in.scale.Mul(rlwe.NewScale(wScale)), bound: bound}
	s := &linearStep{inputs: a.In, outputs: a.Out(), logW: logW, level: out.level, degree: out.degree,
		outScale: out.scale, bound: out.maxBound()}
	s.rows = make([]kernel.Row, len(a.Rows))
	for j, row := range a.Rows {
		s.rows[j] = quantizeRow(row, wScale)
	}
	var err error
	if s.matrix, err = kernel.NewLinear(k.path, a.In, s.rows, k.moduli[:out.level+1]); err != nil {
		return nil, in, fmt.Errorf("batch: %w", err)
	}
	s.bias = biasResidues(prm, a.Bias, out.scale, out.level)
	return s, out, nil
}

// roundWeights returns a with its weights rounded to multiples of 2^-logW, as the
// plan computes with them.
func roundWeights(a *model.Affine, logW int) *model.Affine {
	scale := math.Ldexp(1, logW)
	out := &model.Affine{In: a.In, Rows: make([][]model.Term, len(a.Rows)), Bias: a.Bias}
	for j, row := range a.Rows {
		out.Rows[j] = make([]model.Term, len(row))
		for k, t := range row {
			out.Rows[j][k] = model.Term{Index: t.Index, Weight: math.Round(t.Weight*scale) / scale}
		}
	}
	return out
}

func maxAbsWeight(a *model.Affine) float64 {
	m := 0.0
	for _, row := range a.Rows {
		for _, t := range row {
			m = math.Max(m, math.Abs(t.Weight))
		}
	}
	return m
}

// weightLogScale returns s such that max|w|·2^s ≤ 2^weightBits.
func weightLogScale(maxW float64, weightBits int) int {
	if maxW == 0 {
		return 0
	}
	return weightBits - int(math.Ceil(math.Log2(maxW)))
}

// rescaleState divides the state's scale by its last n primes.
func rescaleState(prm hefloat.Parameters, st state, n int) (int, state) {
	for range n {
		st.scale = st.scale.Div(rlwe.NewScale(prm.Q()[st.level]))
		st.level--
	}
	return n, st
}

// quantizeRow rounds a row's weights to integers. Weights that round to zero stay:
// rows keep the inputs the layer gives them (a dense row all of them, a convolution
// row its receptive field), so that the rows reading the same inputs share a kernel
// block.
func quantizeRow(row []model.Term, wScale float64) kernel.Row {
	r := kernel.Row{Index: make([]int32, len(row)), Weights: make([]int64, len(row))}
	for t, term := range row {
		r.Index[t], r.Weights[t] = int32(term.Index), int64(math.Round(term.Weight*wScale))
	}
	return r
}

// biasResidues encodes each bias b as round(b·scale) modulo every prime up to level
// (out[limb][output]): the constant polynomial of an all-b slot vector.
func biasResidues(prm hefloat.Parameters, bias []float64, scale rlwe.Scale, level int) [][]uint64 {
	out := make([][]uint64, level+1)
	for i, q := range prm.Q()[:level+1] {
		out[i] = make([]uint64, len(bias))
		for j, b := range bias {
			v := roundScaled(b, &scale.Value)
			out[i][j] = new(big.Int).Mod(v, new(big.Int).SetUint64(q)).Uint64()
		}
	}
	return out
}

// roundScaled returns round(v·scale) as an integer, half away from zero.
func roundScaled(v float64, scale *big.Float) *big.Int {
	x := new(big.Float).SetPrec(256).SetFloat64(v)
	x.Mul(x, scale)
	half := big.NewFloat(0.5)
	if x.Sign() < 0 {
		half.Neg(half)
	}
	x.Add(x, half)
	i, _ := x.Int(nil) // truncates toward zero
	return i
}

// compileSquare plans x² on the ciphertexts of state in; bound bounds each output.
func compileSquare(prm hefloat.Parameters, in state, bound []float64, rescales int) (*squareStep, state) {
	out := state{level: in.level, degree: 2 * in.degree, scale: in.scale.Mul(in.scale), bound: bound}
	s := &squareStep{n: len(in.bound), inDegree: in.degree}
	s.rescales, out = rescaleState(prm, out, rescales)
	s.level, s.scale, s.bound = out.level, out.scale, out.maxBound()
	return s, out
}

func hashInts(h interface{ Write([]byte) (int, error) }, vs ...int64) {
	var b [8]byte
	for _, v := range vs {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		h.Write(b[:])
	}
}
