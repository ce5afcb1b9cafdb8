// Package single evaluates a network on one encrypted image at a time, with the
// image's values spread over the slots of a few ciphertexts (LoLa-style packing):
// low latency (tens of milliseconds at log N = 13) at the cost of rotation keys and of
// throughput, where batch packing (package batch) holds one image per slot.
//
// Layout. The first affine layer (a convolution) is computed from a client-side
// im2col: for every output o of that layer and every term t of its row, the client
// puts input value x[Index(o, t)] in slot t·S + o, where S, the segment length, is
// the output count rounded up to a power of two; segments fill ciphertexts in order.
// The server multiplies each ciphertext by a plaintext of the matching weights, adds
// the products, folds the segments of a ciphertext together (a sum of rotations),
// rescales and adds the bias: the layer's outputs then repeat with period S over all
// slots. Every later affine layer is a diagonal linear transformation followed by
// folds (affine.go: the copies of a periodic vector compute different rows, so a
// layer needs few diagonals), a Square activation is a ciphertext multiplication
// with relinearization, and a fitted polynomial goes through Lattigo's polynomial
// evaluator (poly.go). Affine steps and squares cost one level; folds run before the
// rescale, so their key-switching noise is divided by the prime the rescale removes.
//
// Key switching runs on the vector kernels (package kernel), Lattigo's evaluator
// only for the polynomial activations. A fold sums the n rotations of a ciphertext
// by multiples of a period: one decomposition of the ciphertext, then n−1 hoisted key
// products summed modulo QP, then one division by P (keyswitch.go). A linear
// transformation is evaluated by baby-step giant-step (transform.go) with the span
// that reads the fewest Galois keys for the key switches its giant steps add: one
// decomposition for all its baby steps, one key switch per rotating giant step, one
// division by P. Evaluate shares the work between two goroutines: the digits of each
// decomposition, the rows (limbs) of every rotation of a fold or of the baby steps,
// the giant steps, the divisions by P and rescales by polynomial;
// Plan.WithWorkers(1) turns that off, and so do evaluations under way on every
// processor (a server's concurrent requests): each then runs on one goroutine.
package single

import (
	"crypto/sha256"
	"fmt"
	"math"
	"runtime"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/cbor"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// noiseBits is the noise, in units of the scale, that a rescaled, key-switched
// ciphertext carries: measured on the shipped network at N13QP215S, the logits'
// error (1.65e-3 at scale 2^24 over 257 images) is below 2^14 units.
const noiseBits = 14

// outputHeadroomBits sets the scale of the logits: values up to ±2^outputHeadroomBits
// decrypt correctly (larger ones wrap around modulo q_0). The shipped MNIST network's
// logits reach 122 on the 10,000 test images.
const outputHeadroomBits = 9

// Plan is a network compiled for single-image packing. It is read-only after Compile,
// so Evaluate may run on several goroutines at once.
type Plan struct {
	params   hefloat.Parameters
	manifest manifest.Manifest

	first   *firstStep
	steps   []step
	workers int
	// keys is the key-switching arithmetic on the kernel path.
	keys *keySwitching
	// babyLevel, maxBabies and maxGiants are the highest level of a transformation
	// and its most baby steps and rotating giant steps: the workspace's room for them.
	babyLevel, maxBabies, maxGiants int
	// idle keeps the workspaces of finished evaluations (shared by WithWorkers copies).
	idle *workspaces
	// interleave is the number of images per ciphertext.
	interleave int
	// precision is PrecisionBits.
	precision float64
	// described is what Steps returns.
	described []packing.Step
}

// Steps describes the compiled steps, for reports.
func (p *Plan) Steps() []packing.Step { return append([]packing.Step(nil), p.described...) }

// weightCount is the number of weights of a.
func weightCount(a *model.Affine) int {
	n := 0
	for _, row := range a.Rows {
		n += len(row)
	}
	return n
}

// rotations counts the key switches of folds.
func rotations(folds []foldSpec) int {
	n := 0
	for _, f := range folds {
		n += f.n - 1
	}
	return n
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// PrecisionBits is the planned precision: the fewest bits of any intermediate value's
// scale above the noise (noiseBits).
func (p *Plan) PrecisionBits() float64 { return p.precision }

// WithWorkers returns a copy of the plan whose Evaluate uses up to n goroutines per
// image (the default is min(2, GOMAXPROCS)): key switching is shared between two
// goroutines. n ≤ 1 evaluates on the calling goroutine only, as every evaluation
// does anyway while others take the remaining processors.
func (p *Plan) WithWorkers(n int) *Plan {
	q := *p
	q.workers = n
	return &q
}

// firstStep is the first affine layer, computed from the client's im2col.
type firstStep struct {
	weights []*rlwe.Plaintext // one per input ciphertext, at the top level and scale q_L
	// montgomery are the weights in Montgomery form, for the kernels' products.
	montgomery []ring.Poly
	bias       []float64       // periodic over all slots
	biasPt     *rlwe.Plaintext // bias encoded at the expected level and scale
	folds      []foldSpec      // sum the segments of a ciphertext
}

// step is a later stage: a Square activation or an affine layer.
type step struct {
	square bool
	poly   *polyStep
	// For an affine layer: the transformation, the folds that finish it and the
	// bias, laid out as the layer's outputs are.
	tr     *transform
	folds  []foldSpec
	bias   []float64
	biasPt *rlwe.Plaintext
}

// Packing returns Name.
func (p *Plan) Packing() manifest.Packing { return Name }

// Manifest returns the public manifest of the plan.
func (p *Plan) Manifest() manifest.Manifest {
	m := p.manifest
	m.GaloisElements = append([]uint64(nil), m.GaloisElements...)
	return m
}

// Parameters returns the CKKS parameters of the plan.
func (p *Plan) Parameters() hefloat.Parameters { return p.params }

// Ciphertexts returns the number of ciphertexts one encrypted image takes.
func (p *Plan) Ciphertexts() int { return len(p.first.weights) }

// Compile plans the single-image evaluation of a converted model under a preset with
// special primes (params.KeySwitching, or an insecure one for tests). The model must
// start with an affine layer and continue with affine layers, Square activations (one
// level each) and fitted polynomial activations (poly.go: 1 + ⌈log2(degree+1)⌉ levels).
//
// opts.ImagesPerRequest interleaves that many images (a power of two; 0 means 1):
// value p of image i sits in slot p·k + i, every rotation moves k times as far, and
// one evaluation serves k images for about the cost of one.
func Compile(m *model.Model, preset params.Preset, opts packing.Options) (*Plan, error) {
	images := max(opts.ImagesPerRequest, 1)
	if images&(images-1) != 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "single: %d images per ciphertext is not a power of two", images)
	}
	// k lanes: the images take half of them, check inputs the others (packing.MakeChecks).
	k := lanesPerImage * images
	if err := (Packing{}).Suits(preset); err != nil {
		return nil, err
	}
	prm, err := preset.Parameters()
	if err != nil {
		return nil, err
	}
	stages, err := m.Stages()
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 || stages[0].Affine == nil {
		return nil, errs.New(errs.ErrUnsupported, "single: the network must start with an affine (convolution or dense) layer")
	}
	depth := 0
	for _, st := range stages {
		switch act := st.Activation.(type) {
		case nil:
			if st.Affine == nil {
				return nil, errs.New(errs.ErrUnsupported, "single: layer %d: %s is not supported: only affine layers, squares and fitted polynomials are", st.Layer, stageKind(st))
			}
			depth++
		case model.Square:
			depth++
		case *model.Polynomial:
			depth += polyLevels(act)
		default:
			return nil, errs.New(errs.ErrUnsupported, "single: layer %d: only affine layers, squares and fitted polynomials are supported, got %s", st.Layer, stageKind(st))
		}
	}
	if depth > prm.MaxLevel() {
		return nil, errs.New(errs.ErrUnsupported, "single: the network needs %d levels, %s has %d", depth, preset.Name, prm.MaxLevel())
	}
	keys, err := newKeySwitching(prm)
	if err != nil {
		return nil, fmt.Errorf("single: %w", err)
	}
	p := &Plan{params: prm, workers: min(2, runtime.GOMAXPROCS(0)), interleave: k, keys: keys,
		idle: &workspaces{procs: runtime.GOMAXPROCS(0)}}
	ecd := hefloat.NewEncoder(prm)
	digest := sha256.New()
	digest.Write([]byte("cryptonets-single-v1"))
	fmt.Fprintf(digest, "images per ciphertext %d", k)

	level := prm.MaxLevel()
	// galEls maps each Galois element to the highest level it is used at: its key is
	// generated there, smaller for the later layers.
	galEls := map[uint64]int{}
	use := func(g uint64, l int) {
		if cur, ok := galEls[g]; !ok || l > cur {
			galEls[g] = l
		}
	}
	addFold := func(batch, n, l int) {
		for j := 1; j < n; j++ {
			use(prm.GaloisElement(batch*j), l)
		}
	}

	// First layer.
	a := stages[0].Affine
	hashAffine(digest, a)
	first, layout, err := p.compileFirst(ecd, a, level)
	if err != nil {
		return nil, err
	}
	p.first = first
	scale := prm.DefaultScale().Mul(first.weights[0].Scale).Div(rlwe.NewScale(prm.Q()[level]))
	describe := func(kind string, inputs, outputs, weights, rotations int, bound []float64) {
		p.described = append(p.described, packing.Step{Kind: kind, Inputs: inputs, Outputs: outputs, Weights: weights,
			Rotations: rotations, Rescales: 1, Level: level - 1, Degree: 1, LogScale: math.Log2(scale.Float64()), Bound: maxOf(bound)})
	}
	if first.biasPt, err = encodeAt(prm, ecd, first.bias, level-1, scale); err != nil {
		return nil, err
	}
	for _, f := range first.folds {
		addFold(f.stride, f.n, level)
	}
	bound := a.MaxAbsOutput(filled(m.Input.Size(), math.Max(math.Abs(m.InputRange[0]), math.Abs(m.InputRange[1]))))
	describe("linear (client im2col)", a.In, a.Out(), weightCount(a), rotations(first.folds), bound)
	level--
	p.precision = math.Log2(scale.Float64()) - noiseBits
	// stageNoise is the noise each stage adds, for the integrity checks: 2^noiseBits
	// units of the scale it ends at.
	stageNoise := []float64{math.Exp2(noiseBits) / scale.Float64()}
	values := vectorLayout{period: layout.SegmentLength}

	for i, st := range stages[1:] {
		if poly, ok := st.Activation.(*model.Polynomial); ok {
			hashPoly(digest, poly)
			ps, err := compilePoly(prm, ecd, poly, level)
			if err != nil {
				return nil, fmt.Errorf("single: layer %d: %w", st.Layer, err)
			}
			p.steps = append(p.steps, step{poly: ps})
			for j, b := range bound {
				bound[j] = polyBound(poly, b)
			}
			describe(fmt.Sprintf("polynomial degree %d fitted to %s", polyDegree(poly), poly.Fitted), len(bound), len(bound), 0, 0, bound)
			p.described[len(p.described)-1].Rescales = level - ps.level
			level = ps.level
			stageNoise = append(stageNoise, math.Exp2(noiseBits)/scale.Float64())
			continue
		}
		if st.Affine == nil {
			digest.Write([]byte("square"))
			p.steps = append(p.steps, step{square: true})
			scale = scale.Mul(scale).Div(rlwe.NewScale(prm.Q()[level]))
			p.precision = math.Min(p.precision, math.Log2(scale.Float64())-noiseBits)
			stageNoise = append(stageNoise, math.Exp2(noiseBits)/scale.Float64())
			for j, b := range bound {
				bound[j] = b * b
			}
			describe("square", len(bound), len(bound), 0, 1, bound)
			level--
			continue
		}
		hashAffine(digest, st.Affine)
		// Plaintext scale q_l keeps the ciphertext scale; the last layer instead
		// lands on outputScale, leaving room for logits up to ±2^outputHeadroomBits.
		ptScale := rlwe.NewScale(prm.Q()[level])
		if i == len(stages)-2 {
			out := rlwe.NewScale(math.Ldexp(1, int(math.Floor(math.Log2(float64(prm.Q()[0]))))-1-outputHeadroomBits))
			ptScale = out.Mul(rlwe.NewScale(prm.Q()[level])).Div(scale)
		}
		s, out, err := compileAffine(prm, ecd, st.Affine, values, level, ptScale, k, i == len(stages)-2)
		if err != nil {
			return nil, fmt.Errorf("single: layer %d: %w", st.Layer, err)
		}
		scale = scale.Mul(ptScale).Div(rlwe.NewScale(prm.Q()[level]))
		if s.biasPt, err = encodeAt(prm, ecd, s.bias, level-1, scale); err != nil {
			return nil, err
		}
		for _, r := range s.tr.rotations() {
			use(prm.GaloisElement(r), level)
		}
		if len(s.tr.babies) > 0 {
			p.babyLevel = max(p.babyLevel, level)
			p.maxBabies = max(p.maxBabies, len(s.tr.babies))
			p.maxGiants = max(p.maxGiants, s.tr.nonzeroGiants())
		}
		for _, f := range s.folds {
			addFold(f.stride, f.n, level)
		}
		p.steps = append(p.steps, s)
		p.precision = math.Min(p.precision, math.Log2(scale.Float64())-noiseBits)
		stageNoise = append(stageNoise, math.Exp2(noiseBits)/scale.Float64())
		values = out
		bound = st.Affine.MaxAbsOutput(bound)
		describe("linear", st.Affine.In, st.Affine.Out(), weightCount(st.Affine), len(s.tr.rotations())+rotations(s.folds), bound)
		level--
	}

	list := make([]uint64, 0, len(galEls))
	for g := range galEls {
		list = append(list, g)
	}
	sortUint64(list)
	last := stages[len(stages)-1]
	outputs := last.Out.Size()
	levels := make([]int, len(list))
	for i, g := range list {
		levels[i] = galEls[g]
	}
	layoutBytes, err := cbor.Marshal(layout)
	if err != nil {
		return nil, errs.New(errs.ErrInternal, "single: encoding the layout: %w", err)
	}
	p.manifest = manifest.Manifest{
		Model: m.Name, Packing: Name, Params: preset.Name, Insecure: preset.Insecure,
		ParamsFingerprint: params.FingerprintOf(prm),
		Input:             m.Input, InputRange: m.InputRange, ChannelRanges: m.ChannelRanges, Preprocessing: m.Preprocessing,
		InputLogScale: prm.LogDefaultScale(), InputLevel: prm.MaxLevel(),
		Outputs: outputs, OutputLevel: 0, OutputDegree: 1,
		OutputLogScale: math.Log2(scale.Float64()), OutputBound: maxOf(bound),
		ImagesPerBatch: images, GaloisElements: list, GaloisLevels: levels, Relinearize: true,
		InputCiphertexts: layout.Ciphertexts, Result: resultLayout(outputs, k), Layout: layoutBytes,
	}
	copy(p.manifest.ModelFingerprint[:], digest.Sum(nil))
	checks, err := packing.MakeChecks(m, stages, packing.CheckSpec{Positions: k,
		InputNoise: math.Exp2(noiseBits - float64(prm.LogDefaultScale())), StageNoise: stageNoise,
		Limit: math.Ldexp(1, outputHeadroomBits-1), Seed: packing.CheckSeed(Name, p.manifest.ModelFingerprint)})
	if err != nil {
		return nil, err
	}
	p.manifest.Checks = checks
	return p, nil
}

// lanesPerImage is the number of interleaved lanes per image of a request: one for the
// image, the others for check inputs.
const lanesPerImage = 2

// compileFirst builds the im2col layout and the weight plaintexts of the first
// affine layer.
func (p *Plan) compileFirst(ecd *hefloat.Encoder, a *model.Affine, level int) (*firstStep, *im2col, error) {
	prm := p.params
	slots, k := prm.MaxSlots(), p.interleave
	segLen := nextPow2(a.Out())
	stride := segLen * k // slots per segment
	if stride > slots {
		return nil, nil, errs.New(errs.ErrUnsupported, "single: the first layer has %d outputs: %d images of them do not fit in the %d slots of a ciphertext", a.Out(), k, slots)
	}
	taps := 0
	for _, row := range a.Rows {
		taps = max(taps, len(row))
	}
	if taps == 0 {
		return nil, nil, errs.New(errs.ErrUnsupported, "single: the first layer has no weights")
	}
	segsPerCt := slots / stride
	cts := (taps + segsPerCt - 1) / segsPerCt
	if taps < segsPerCt { // fewer terms than segments: fold only what is used, repeat the rest
		segsPerCt = nextPow2(taps)
	}
	block := segsPerCt * stride
	layout := &im2col{Ciphertexts: cts, SegmentLength: segLen, SegmentsPerCiphertext: segsPerCt,
		ImagesPerCiphertext: k, Gather: make([][]int32, taps)}
	for t := range layout.Gather {
		g := make([]int32, a.Out())
		for o, row := range a.Rows {
			g[o] = -1
			if t < len(row) {
				g[o] = int32(row[t].Index)
			}
		}
		layout.Gather[t] = g
	}
	f := &firstStep{folds: foldsOf(stride, segsPerCt)}
	for c := 0; c < cts; c++ {
		w := make([]float64, slots)
		for s := 0; s < segsPerCt; s++ {
			t := c*segsPerCt + s
			if t >= taps {
				break
			}
			for o, row := range a.Rows {
				if t < len(row) {
					for i := range k {
						w[s*stride+o*k+i] = row[t].Weight
					}
				}
			}
		}
		repeat(w, block)
		pt := hefloat.NewPlaintext(prm, level)
		pt.Scale = rlwe.NewScale(prm.Q()[level])
		if err := ecd.Encode(w, pt); err != nil {
			return nil, nil, fmt.Errorf("single: encoding first-layer weights: %w", err)
		}
		f.weights = append(f.weights, pt)
		mont := prm.RingQ().AtLevel(level).NewPoly()
		prm.RingQ().AtLevel(level).MForm(pt.Value, mont)
		f.montgomery = append(f.montgomery, mont)
	}
	f.bias = periodic(interleaved(a.Bias, k), stride, slots)
	return f, layout, nil
}

// encodeAt encodes values into a plaintext at the given level and scale.
func encodeAt(prm hefloat.Parameters, ecd *hefloat.Encoder, values []float64, level int, scale rlwe.Scale) (*rlwe.Plaintext, error) {
	pt := hefloat.NewPlaintext(prm, level)
	pt.Scale = scale
	if err := ecd.Encode(values, pt); err != nil {
		return nil, fmt.Errorf("single: encoding a bias: %w", err)
	}
	return pt, nil
}

// repeat copies v[:period] over the rest of v.
func repeat(v []float64, period int) {
	for i := period; i < len(v); i += period {
		copy(v[i:i+period], v[:period])
	}
}

// periodic repeats v, padded with zeros to length period, over slots values.
func periodic(v []float64, period, slots int) []float64 {
	out := make([]float64, slots)
	for i := 0; i < slots; i += period {
		copy(out[i:i+period], v)
	}
	return out
}

// interleaved repeats each value of v k times, for k interleaved images.
func interleaved(v []float64, k int) []float64 {
	out := make([]float64, len(v)*k)
	for i, x := range v {
		for j := range k {
			out[i*k+j] = x
		}
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

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

func sortUint64(v []uint64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

func stageKind(st model.Stage) string {
	switch {
	case st.Tensor != nil:
		return string(st.Tensor.Kind())
	case st.Activation != nil:
		if k, ok := st.Activation.(interface{ Kind() model.Kind }); ok {
			return string(k.Kind())
		}
		return fmt.Sprintf("%T", st.Activation)
	}
	return "unknown"
}

func hashPoly(h interface{ Write([]byte) (int, error) }, p *model.Polynomial) {
	fmt.Fprintf(h, "polynomial %v on %v", p.Coeffs, p.Interval)
}

func hashAffine(h interface{ Write([]byte) (int, error) }, a *model.Affine) {
	var buf [8]byte
	put := func(v uint64) {
		for i := range buf {
			buf[i] = byte(v >> (8 * i))
		}
		_, _ = h.Write(buf[:])
	}
	put(uint64(a.In))
	put(uint64(len(a.Rows)))
	for j, row := range a.Rows {
		put(uint64(len(row)))
		for _, t := range row {
			put(uint64(t.Index))
			put(math.Float64bits(t.Weight))
		}
		if j < len(a.Bias) {
			put(math.Float64bits(a.Bias[j]))
		}
	}
}
