package batch

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// reluLike is a degree-2 polynomial shaped like a ReLU fitted on [-3, 3].
var reluLike = []float64{0.3, 0.5, 0.15}

// deepNet is a LeNet-shaped network with three or four polynomial activations on
// 10×10 images: conv → poly → pool → conv → poly → flatten → dense → poly
// [→ dense → poly] → dense. Its weights are wide enough that worst-case bounds grow
// far beyond typical values.
func deepNet(rng *rand.Rand, activations int, gain float64) *model.Model {
	normal := normals(rng)
	randn := func(n int, s float64) []float64 { return normal(n, gain*s) }
	poly := func() *model.Polynomial {
		return &model.Polynomial{Coeffs: append([]float64(nil), reluLike...), Interval: [2]float64{-3, 3}, Fitted: "relu"}
	}
	m := &model.Model{
		Name: "deep", Input: model.Shape{C: 1, H: 10, W: 10}, InputRange: [2]float64{0, 1},
		Layers: []model.Layer{
			&model.Conv2D{InChannels: 1, OutChannels: 3, KernelH: 3, KernelW: 3, StrideH: 1, StrideW: 1,
				Weights: randn(27, 0.5), Bias: randn(3, 0.1)},
			poly(),
			&model.SumPool{KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2, Scale: 0.25},
			&model.Conv2D{InChannels: 3, OutChannels: 4, KernelH: 2, KernelW: 2, StrideH: 1, StrideW: 1,
				Weights: randn(48, 0.35), Bias: randn(4, 0.1)},
			poly(),
			model.Flatten{},
			&model.Dense{In: 36, Out: 12, Weights: randn(432, 0.2), Bias: randn(12, 0.1)},
			poly(),
		},
	}
	width := 12
	if activations == 4 {
		m.Layers = append(m.Layers, &model.Dense{In: 12, Out: 8, Weights: randn(96, 0.3), Bias: randn(8, 0.1)}, poly())
		width = 8
	}
	m.Layers = append(m.Layers, &model.Dense{In: width, Out: 4, Weights: randn(4*width, 0.4), Bias: randn(4, 0.1)})
	return m
}

// dimImages are random images with pixels in [0, 0.5]: the calibration distribution.
func dimImages(rng *rand.Rand, n, size int) [][]float64 {
	imgs := randomImages(rng, n, size)
	for _, img := range imgs {
		for k := range img {
			img[k] *= 0.5
		}
	}
	return imgs
}

// calibrated returns m with a calibration on cal.
func calibrated(t *testing.T, m *model.Model, cal [][]float64) *model.Model {
	t.Helper()
	c, err := model.Calibrate(m, cal)
	if err != nil {
		t.Fatal(err)
	}
	out := *m
	out.Calibration = c
	return &out
}

// stageValues returns, for one input, the values after every stage.
func stageValues(t *testing.T, stages []model.Stage, x []float64) [][]float64 {
	t.Helper()
	var out [][]float64
	for _, st := range stages {
		if st.Affine != nil {
			x = st.Affine.Apply(x)
		} else {
			y := make([]float64, len(x))
			for i, v := range x {
				y[i] = st.Activation.Apply(v)
			}
			x = y
		}
		out = append(out, x)
	}
	return out
}

// monitorValue is M = Σ w_i·x_i² of a monitor on the stage input x.
func monitorValue(mon monitorPlan, x []float64) float64 {
	s := 0.0
	for i, v := range x {
		s += mon.weights[i] * v * v
	}
	return s
}

// TestProvenBoundsAreSound: no input in range, random or at the corners of the input
// box, leaves the proven bounds; they are tighter than layer-by-layer intervals.
func TestProvenBoundsAreSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	m := deepNet(rng, 4, 2)
	stages, err := m.Stages()
	if err != nil {
		t.Fatal(err)
	}
	in, _, _ := scaleInputs(m, stages)
	vb, err := boundValues(stages, in, nil, DefaultMargin)
	if err != nil {
		t.Fatal(err)
	}
	if vb.guarantee != GuaranteeProven || len(vb.monitors) != 0 {
		t.Fatalf("guarantee %q with %d monitors", vb.guarantee, len(vb.monitors))
	}
	inputs := randomImages(rng, 500, m.Input.Size())
	for range 50 { // corners of the input box
		x := make([]float64, m.Input.Size())
		for k := range x {
			x[k] = float64(rng.IntN(2))
		}
		inputs = append(inputs, x)
	}
	for _, x := range inputs {
		for k, vals := range stageValues(t, stages, x) {
			for j, v := range vals {
				if b := vb.after[k][j]; v < b.lo-1e-9 || v > b.hi+1e-9 {
					t.Fatalf("stage %d value %d = %g outside the proven [%g, %g]", k, j, v, b.lo, b.hi)
				}
			}
		}
	}
	// Layer by layer, the pool and the convolution after it give wider intervals.
	layerwise := affineBounds(stages[3].Affine, affineBounds(stages[2].Affine, vb.after[1]))
	if maxAbs(vb.after[3]) >= maxAbs(layerwise) {
		t.Fatalf("composed bound %g not below the layer-by-layer %g", maxAbs(vb.after[3]), maxAbs(layerwise))
	}
}

// TestPolyRange: exact for degree 2 (the vertex inside the interval), sound for
// degree 4.
func TestPolyRange(t *testing.T) {
	r := polyRange([]float64{1, -2, 1}, interval{-1, 3}) // (x−1)²: 0 at 1, 4 at −1 and 3
	if r.lo != 0 || r.hi != 4 {
		t.Fatalf("(x−1)² on [−1, 3]: %v", r)
	}
	c := []float64{0.2, -1, 0.3, 0.5, -0.1}
	v := interval{-2.5, 3}
	r = polyRange(c, v)
	lo, hi := math.Inf(1), math.Inf(-1)
	for k := range 100001 {
		x := v.lo + (v.hi-v.lo)*float64(k)/100000
		y := horner(c, x)
		lo, hi = math.Min(lo, y), math.Max(hi, y)
	}
	if r.lo > lo || r.hi < hi || r.hi-r.lo > 1.2*(hi-lo) {
		t.Fatalf("degree 4 on %v: %v, sampled range [%g, %g]", v, r, lo, hi)
	}
}

func horner(c []float64, x float64) float64 {
	y := 0.0
	for k := len(c) - 1; k >= 0; k-- {
		y = y*x + c[k]
	}
	return y
}

// TestCalibratedBoundsAreSound: for inputs anywhere in range, wherever every earlier
// monitor admits the input (M ≤ 1), the values up to the next monitor stay inside the
// calibrated bounds and the monitor inside its own bound; the calibrated bounds are
// far tighter than the proven ones.
func TestCalibratedBoundsAreSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	m := calibrated(t, deepNet(rng, 4, 2), dimImages(rng, 300, 100))
	stages, _ := m.Stages()
	in, _, _ := scaleInputs(m, stages)
	vb, err := boundValues(stages, in, m.Calibration, DefaultMargin)
	if err != nil {
		t.Fatal(err)
	}
	proven, _ := boundValues(stages, in, nil, DefaultMargin)
	if len(vb.monitors) != 4 || vb.guarantee != GuaranteeCalibrated {
		t.Fatalf("%d monitors, guarantee %q; want 4, calibrated", len(vb.monitors), vb.guarantee)
	}
	last := len(stages) - 1
	if c, p := maxAbs(vb.after[last]), maxAbs(proven.after[last]); c > p/1e6 {
		t.Fatalf("calibrated logit bound %g is not far below the proven %g", c, p)
	}
	admitted, rejected := 0, 0
	// Inputs from the calibration distribution, from the whole range, and scaled.
	var inputs [][]float64
	inputs = append(inputs, dimImages(rng, 300, 100)...)
	inputs = append(inputs, randomImages(rng, 300, 100)...)
	for _, x := range randomImages(rng, 300, 100) {
		f := rng.Float64()
		for k := range x {
			x[k] *= f
		}
		inputs = append(inputs, x)
	}
	for _, x := range inputs {
		vals := stageValues(t, stages, x)
		in := x
		passed := true
		for k := range stages {
			for _, mon := range vb.monitors {
				if mon.stage != k {
					continue
				}
				mv := monitorValue(mon, in)
				if mv > mon.max*(1+1e-9) {
					t.Fatalf("monitor of stage %d = %g above its bound %g while the earlier ones passed", k, mv, mon.max)
				}
				passed = mv <= 1
			}
			if !passed {
				rejected++
				break
			}
			for j, v := range vals[k] {
				if b := vb.after[k][j]; v < b.lo-1e-9 || v > b.hi+1e-9 {
					t.Fatalf("stage %d value %d = %g outside the calibrated [%g, %g] though every monitor passed", k, j, v, b.lo, b.hi)
				}
			}
			in = vals[k]
		}
		if passed {
			admitted++
		}
	}
	t.Logf("%d inputs admitted, %d rejected by a monitor", admitted, rejected)
	if admitted < 300 || rejected == 0 {
		t.Fatalf("%d admitted, %d rejected: want every calibration-like input admitted and some others rejected", admitted, rejected)
	}
}

// evalKeys returns the evaluation keys the plan's manifest lists.
func evalKeys(codec *packing.Codec) rlwe.EvaluationKeySet {
	rlk, gks := codec.EvaluationKeys()
	return rlwe.NewMemEvaluationKeySet(rlk, gks...)
}

// TestDeepNetworkRelinearizes: four polynomial activations do not fit N11's 215 bits
// at all, and N12R's 438 only with relinearization (three could fit without, as
// degree-8 ciphertexts: relinearizing is the cost model's choice). Proven bounds
// (composed per neuron) fit here and are preferred; with calibrated bounds and
// monitors the plans match the reference.
func TestDeepNetworkRelinearizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, c := range []struct {
		activations int
		preset      params.Preset
	}{{3, params.InsecureN12R}, {4, params.InsecureN12R}} {
		m := calibrated(t, deepNet(rng, c.activations, 3), dimImages(rng, 300, 100))
		if _, err := Compile(m, params.InsecureN11, packing.Options{}); err == nil {
			t.Fatalf("%d activations fit without relinearization", c.activations)
		}
		auto, err := Compile(m, c.preset, packing.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if g := auto.Manifest().Guarantee; g != GuaranteeProven {
			t.Fatalf("guarantee %q, want proven bounds when they fit", g)
		}
		p, err := Compile(m, c.preset, packing.Options{Guarantee: GuaranteeCalibrated})
		if err != nil {
			t.Fatal(err)
		}
		man := p.Manifest()
		if !man.Relinearize && c.activations == 4 || man.Guarantee != GuaranteeCalibrated || len(man.Monitors) != c.activations || len(man.GaloisElements) != 0 {
			t.Fatalf("relinearize %v, guarantee %q, monitors %v, %d Galois elements", man.Relinearize, man.Guarantee, man.Monitors, len(man.GaloisElements))
		}
		kinds := ""
		for _, s := range p.Steps() {
			kinds += s.Kind + ","
		}
		t.Logf("%s: steps %s precision %.1f bits", c.preset.Name, kinds, p.PrecisionBits())
		if strings.Contains(kinds, "relinearize") != man.Relinearize {
			t.Fatalf("steps %s, relinearize %v", kinds, man.Relinearize)
		}
		imgs := dimImages(rng, 200, 100)
		logits := encryptedLogits(t, p, imgs)
		ref, _ := model.NewReference(m)
		maxErr := 0.0
		for i, img := range imgs {
			want, _ := ref.Forward(img)
			for j := range want {
				maxErr = math.Max(maxErr, math.Abs(want[j]-logits[i][j]))
			}
			if model.Argmax(want) != model.Argmax(logits[i]) {
				t.Errorf("image %d: encrypted argmax %d, reference %d", i, model.Argmax(logits[i]), model.Argmax(want))
			}
		}
		// The logits reach about 30; the plan keeps 16 bits through four polynomial
		// layers, each of which amplifies earlier errors by its slope and fan-in.
		t.Logf("max abs error %.3g", maxErr)
		if maxErr > 0.02 {
			t.Fatalf("max abs error %.3g", maxErr)
		}
	}
}

// encryptedLogits encrypts, evaluates with the keys the manifest lists and decrypts.
func encryptedLogits(t *testing.T, p *Plan, imgs [][]float64) [][]float64 {
	t.Helper()
	logits, err := tryEncrypted(t, p, imgs)
	if err != nil {
		t.Fatal(err)
	}
	return logits
}

func tryEncrypted(t *testing.T, p *Plan, imgs [][]float64) ([][]float64, error) {
	t.Helper()
	codec := newCodec(t, p)
	cts, err := codec.Encrypt(imgs, testID, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Evaluate(context.Background(), cts, evalKeys(codec), nil)
	if err != nil {
		t.Fatal(err)
	}
	return codec.Decrypt(out, testID, len(imgs))
}

// TestOutOfRangeInputIsAnError: images inside the model's input range but far from the
// calibration inputs make the monitors trip, and decryption fails naming them, instead
// of returning logits that may have overflowed.
func TestOutOfRangeInputIsAnError(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	m := calibrated(t, deepNet(rng, 3, 2), dimImages(rng, 300, 100))
	p, err := Compile(m, params.InsecureN12R, packing.Options{Guarantee: GuaranteeCalibrated})
	if err != nil {
		t.Fatal(err)
	}
	imgs := dimImages(rng, 20, 100)
	bright := make([]float64, 100)
	for k := range bright {
		bright[k] = 1 // every pixel at the top of the range: twice the calibration's
	}
	imgs[3], imgs[11] = bright, bright
	_, err = tryEncrypted(t, p, imgs)
	if err == nil {
		t.Fatal("decrypted out-of-range images without an error")
	}
	t.Log(err)
	if !errors.Is(err, errs.ErrInvalidArgument) || !strings.Contains(err.Error(), "2 of 20 images left the range") ||
		!strings.Contains(err.Error(), "image 3 at layer") || !strings.Contains(err.Error(), "image 11 at layer") {
		t.Fatalf("error %q: want an invalid-argument error naming images 3 and 11", err)
	}
	// The same images without the bright ones decrypt.
	ok := append(append([][]float64{}, imgs[:3]...), imgs[4:11]...)
	if _, err := tryEncrypted(t, p, ok); err != nil {
		t.Fatalf("calibration-like images: %v", err)
	}
}

// TestSegmentsInChunks: the conv → poly → pool segments of a network evaluated in
// chunks (a small chunk budget) give the same ciphertexts, bit for bit, as evaluated
// whole: the chunks compute each value with the same operations, and the monitors'
// sums count each value once.
func TestSegmentsInChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	m := calibrated(t, deepNet(rng, 3, 2), dimImages(rng, 200, 100))
	opts := packing.Options{Guarantee: GuaranteeCalibrated}
	whole, err := compileChunked(m, params.InsecureN12R, opts, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	chunked, err := compileChunked(m, params.InsecureN12R, opts, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	segments := 0
	for _, s := range chunked.steps {
		if seg, ok := s.(*segmentStep); ok {
			segments++
			t.Logf("segment of %d chunks", len(seg.chunks))
		}
	}
	if segments == 0 {
		t.Fatal("no segment evaluated in chunks")
	}
	if len(whole.Steps()) != len(chunked.Steps()) {
		t.Fatalf("%d steps whole, %d chunked", len(whole.Steps()), len(chunked.Steps()))
	}
	codec := newCodec(t, whole)
	cts, err := codec.Encrypt(dimImages(rng, 50, 100), testID, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	copies := make([]*rlwe.Ciphertext, len(cts))
	for i, ct := range cts {
		copies[i] = ct.CopyNew()
	}
	keys := evalKeys(codec) // one relinearization key for both
	a, err := whole.Evaluate(context.Background(), cts, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := chunked.Evaluate(context.Background(), copies, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d and %d result ciphertexts", len(a), len(b))
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			t.Fatalf("result ciphertext %d differs", i)
		}
	}
}

// TestHighDegreePolynomialsByRelinearizedPowers: degree-4 and degree-6 activations in
// a three-activation network run as relinearized power trees (a tensor product of
// x^6 would not fit), and match the reference.
func TestHighDegreePolynomialsByRelinearizedPowers(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	m := deepNet(rng, 3, 1)
	// Degree-4 and degree-6 fits of a ReLU on [-4, 4] (Chebyshev least squares).
	deg4 := []float64{0.2146, 0.5, 0.2148, 0, -0.0061}
	deg6 := []float64{0.1587, 0.5, 0.3081, 0, -0.0197, 0, 0.00048}
	polys := 0
	for i, l := range m.Layers {
		if _, ok := l.(*model.Polynomial); ok {
			c := deg4
			if polys == 1 {
				c = deg6
			}
			m.Layers[i] = &model.Polynomial{Coeffs: c, Interval: [2]float64{-4, 4}, Fitted: "relu"}
			polys++
		}
	}
	m = calibrated(t, m, dimImages(rng, 200, 100))
	p, err := Compile(m, params.InsecureN12R, packing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	trees := 0
	for _, s := range p.Steps() {
		if strings.Contains(s.Kind, "relinearized powers") {
			trees++
		}
		t.Logf("%-45s %4d → %4d level %2d degree %d scale 2^%.0f", s.Kind, s.Inputs, s.Outputs, s.Level, s.Degree, s.LogScale)
	}
	if trees < 2 {
		t.Fatalf("%d power trees, want the degree-4 and degree-6 activations as trees", trees)
	}
	imgs := dimImages(rng, 100, 100)
	logits := encryptedLogits(t, p, imgs)
	ref, _ := model.NewReference(m)
	maxErr, top := 0.0, 0.0
	for i, img := range imgs {
		want, _ := ref.Forward(img)
		for j := range want {
			maxErr = math.Max(maxErr, math.Abs(want[j]-logits[i][j]))
			top = math.Max(top, math.Abs(want[j]))
		}
		if model.Argmax(want) != model.Argmax(logits[i]) {
			t.Errorf("image %d: encrypted argmax %d, reference %d", i, model.Argmax(logits[i]), model.Argmax(want))
		}
	}
	t.Logf("max abs error %.3g on logits up to %.3g; planned precision %.1f bits", maxErr, top, p.PrecisionBits())
	if maxErr > top*math.Exp2(4-p.PrecisionBits()) {
		t.Fatalf("max abs error %.3g beyond the planned precision", maxErr)
	}
}
