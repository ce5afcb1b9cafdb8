// Package batch is the CryptoNets packing: slot i of every ciphertext belongs to image
// i, and each value of a layer's tensor is one ciphertext. Linear layers become
// integer multiply-accumulates on the ciphertexts' RNS limbs (no level consumed),
// squares become ciphertext tensor products left unrelinearized (so the server needs
// no evaluation key), and rescaling happens only where the plan says.
package batch

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"

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
	// defaultTargetBits is the precision, in bits relative to each value's scale,
	// beyond which the planner prefers speed.
	defaultTargetBits = 24
	// defaultMinBits is the least precision a plan may have.
	defaultMinBits = 12
)

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
	inScale  rlwe.Scale
	// precision is the planned precision in bits (see Options.TargetBits).
	precision float64
	// pool recycles ciphertext memory across steps and batches.
	pool *rowPool
	// kernels are the arithmetic the steps run on.
	kernels *kernels
}

// PrecisionBits returns the planned precision: the fewest bits of any value, relative
// to its scale, that noise, weight rounding and rescaling leave exact.
func (p *Plan) PrecisionBits() float64 { return p.precision }

// Manifest returns the public manifest of the plan.
func (p *Plan) Manifest() manifest.Manifest { return p.manifest }

// Parameters returns the CKKS parameters of the plan.
func (p *Plan) Parameters() hefloat.Parameters { return p.params }

// Packing returns Name.
func (p *Plan) Packing() manifest.Packing { return Name }

// Steps describes the compiled steps, for reports.
func (p *Plan) Steps() []packing.Step {
	out := make([]packing.Step, len(p.steps))
	for i, s := range p.steps {
		out[i] = s.info()
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

// Compile plans the evaluation of a converted model under the given parameters.
func Compile(m *model.Model, preset params.Preset, opts packing.Options) (*Plan, error) {
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
	inBound := math.Max(math.Abs(m.InputRange[0]), math.Abs(m.InputRange[1]))
	sums, err := summarize(stages, inBound)
	if err != nil {
		return nil, err
	}
	sch, err := bestSchedule(prm, sums, opts)
	if err != nil {
		return nil, fmt.Errorf("batch: %s cannot hold this network: %w", preset.Name, err)
	}
	return build(m, stages, prm, preset, sch, inBound, opts)
}

// build constructs the plan that a schedule describes.
func build(m *model.Model, stages []model.Stage, prm hefloat.Parameters, preset params.Preset, sch schedule, inBound float64, opts packing.Options) (*Plan, error) {
	st := state{level: prm.MaxLevel(), degree: 1, scale: rlwe.NewScale(math.Ldexp(1, sch.inLogScale)),
		bound: filled(m.Input.Size(), inBound)}
	k, err := newKernels(prm)
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	p := &Plan{params: prm, inScale: st.scale, kernels: k}
	digest := sha256.New()
	// planned are the stages as the plan computes them (rounded weights), and noise
	// the noise each adds: what the integrity checks need. Linear steps and squares
	// compute exactly; only the encryption and the rescales add noise.
	planned := append([]model.Stage(nil), stages...)
	noise := make([]float64, len(stages))
	for i, stage := range stages {
		var s step
		switch {
		case stage.Affine != nil:
			ls, next, err := compileLinear(prm, stage.Affine, st, sch.weightBits, k.path, k.moduli)
			if err != nil {
				return nil, err
			}
			st = next
			ls.rescales, st = rescaleState(prm, st, sch.rescales[i])
			s = ls
			planned[i].Affine = roundWeights(stage.Affine, ls.logW)
		default:
			if poly, ok := stage.Activation.(*model.Polynomial); ok {
				var ps *polyStep
				in := st.scale
				ps, st = compilePolynomial(prm, poly, st, sch.weightBits, sch.rescales[i])
				s = ps
				planned[i].Activation = ps.rounded(poly, in)
				break
			}
			var sq *squareStep
			sq, st = compileSquare(prm, st, sch.rescales[i])
			s = sq
		}
		if sch.rescales[i] > 0 {
			noise[i] = math.Exp2(rescaleNoiseBits(prm, st.degree) - packing.Log2(st.scale))
		}
		s.hash(digest)
		p.steps = append(p.steps, s)
	}
	images := prm.MaxSlots() - reservedChecks
	if opts.ImagesPerRequest > 0 && opts.ImagesPerRequest < images {
		images = opts.ImagesPerRequest
	}
	p.manifest = manifest.Manifest{
		Model: m.Name, Packing: Name, Params: preset.Name, Insecure: preset.Insecure,
		ParamsFingerprint: params.FingerprintOf(prm),
		Input:             m.Input, InputRange: m.InputRange,
		InputLogScale: sch.inLogScale, InputLevel: prm.MaxLevel(),
		Outputs: len(st.bound), OutputLevel: st.level, OutputDegree: st.degree,
		OutputLogScale: packing.Log2(st.scale), OutputBound: st.maxBound(),
		ImagesPerBatch: images, GaloisElements: []uint64{},
		InputCiphertexts: m.Input.Size(), Result: resultLayout(len(st.bound)),
	}
	copy(p.manifest.ModelFingerprint[:], digest.Sum(nil))
	p.precision = sch.precision
	// The pool keeps at most one evaluation's rows: what the next batch reuses.
	p.pool = newRowPool(prm.N(), p.poolBytes(p.evaluationRows()*p.rowBytes()))
	// Every slot is evaluated: the slots a request's images leave free hold checks.
	checks, err := packing.MakeChecks(m, planned, packing.CheckSpec{Positions: prm.MaxSlots(),
		InputNoise: math.Exp2(freshNoiseBits(prm) - float64(sch.inLogScale)), StageNoise: noise,
		Limit: p.manifest.OutputBound, Seed: packing.CheckSeed(Name, p.manifest.ModelFingerprint)})
	if err != nil {
		return nil, err
	}
	p.manifest.Checks = checks
	return p, nil
}

// reservedChecks is the number of slots a full request leaves to check inputs.
const reservedChecks = 16

func filled(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func compileLinear(prm hefloat.Parameters, a *model.Affine, in state, weightBits int, path kernel.Path, moduli []kernel.Modulus) (*linearStep, state, error) {
	logW := weightLogScale(maxAbsWeight(a), weightBits)
	wScale := math.Ldexp(1, logW)
	out := state{level: in.level, degree: in.degree, scale: in.scale.Mul(rlwe.NewScale(wScale)),
		bound: a.MaxAbsOutput(in.bound)}
	s := &linearStep{inputs: a.In, outputs: a.Out(), logW: logW, level: out.level, degree: out.degree,
		outScale: out.scale, bound: out.maxBound()}
	s.rows = make([]kernel.Row, len(a.Rows))
	for j, row := range a.Rows {
		s.rows[j] = quantizeRow(row, wScale)
	}
	var err error
	if s.matrix, err = kernel.NewLinear(path, a.In, s.rows, moduli[:out.level+1]); err != nil {
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

func compileSquare(prm hefloat.Parameters, in state, rescales int) (*squareStep, state) {
	out := state{level: in.level, degree: 2 * in.degree, scale: in.scale.Mul(in.scale), bound: make([]float64, len(in.bound))}
	for i, b := range in.bound {
		out.bound[i] = b * b
	}
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
