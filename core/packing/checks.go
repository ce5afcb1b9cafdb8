package packing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/rand/v2"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
)

// Integrity checks (manifest.Checks). The model owner draws check inputs from a public
// seed, keeps those whose logits the plan decrypts safely and tells apart, and
// publishes their plaintext logits with a tolerance each. A client puts its images at
// secret random positions of a request and check inputs, also chosen at random, at
// all the others; after decryption it compares the logits at the check positions with
// the published ones. The arrangement is derived from a key only the client holds
// and the request's identifier, so the client needs no state to decrypt, and a server
// that wants to alter an image's logits undetected must guess which positions hold
// images.

// checkInputs is how many check inputs a plan publishes (fewer if the draws run out).
const checkInputs = 64

// maxCheckDraws and maxCheckEvaluations bound the draws from the seed that
// MakeChecks tries and the plaintext evaluations it spends on them.
const (
	maxCheckDraws       = 4096
	maxCheckEvaluations = 1 << 12
)

// toleranceSigmas is the tolerance in standard deviations of a check value's noise.
// Noise in CKKS slots is close to Gaussian, and the packings state their noise
// bounds as at least one standard deviation; eight of them are exceeded with a
// probability below 10^-15 per value.
const toleranceSigmas = 8

// CheckSeed is the seed of the check inputs of a plan whose model fingerprint is fp:
// public, and fixed by the plan so that compiling the same model again gives the same
// manifest.
func CheckSeed(packing manifest.Packing, fp [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("cryptonets-checks-v1/"))
	h.Write([]byte(packing))
	h.Write(fp[:])
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// CheckInput returns draw number candidate from seed at the given amplitude: one
// value per range of ranges (see InputRanges), its offset from the range's low end
// uniform on 2^-amplitude of the range.
func CheckInput(seed [32]byte, candidate uint32, amplitude uint8, ranges [][2]float64) []float64 {
	h := sha256.New()
	h.Write(seed[:])
	h.Write(binary.LittleEndian.AppendUint32(nil, candidate))
	var key [32]byte
	copy(key[:], h.Sum(nil))
	src := rand.NewChaCha8(key)
	x := make([]float64, len(ranges))
	for i, r := range ranges {
		width := (r[1] - r[0]) * math.Ldexp(1, -int(amplitude))
		x[i] = min(r[0]+width*unitFloat(src.Uint64()), r[1])
	}
	return x
}

// InputRanges returns the range of every input value under manifest m: its channel's
// when the manifest has ChannelRanges, else the input range.
func InputRanges(m *manifest.Manifest) [][2]float64 {
	out := make([][2]float64, m.Input.Size())
	plane := m.Input.H * m.Input.W
	for i := range out {
		out[i] = m.InputRange
		if len(m.ChannelRanges) == m.Input.C {
			out[i] = m.ChannelRanges[i/plane]
		}
	}
	return out
}

// unitFloat maps 64 random bits to [0, 1) (53 bits, fixed here rather than by the
// math/rand version, so that every release draws the same inputs).
func unitFloat(v uint64) float64 { return float64(v>>11) * 0x1p-53 }

// CheckSpec is what a packing tells MakeChecks about a plan.
type CheckSpec struct {
	// Positions is the number of image positions of a request.
	Positions int
	// InputNoise is the standard deviation (or a bound above it) of the noise of an
	// encrypted input value, and StageNoise[i] that of the noise stage i adds to each
	// value it computes, in the values' units.
	InputNoise float64
	StageNoise []float64
	// Limit is the largest |logit| the plan decrypts correctly for the check inputs.
	Limit float64
	// InputFactors, when set, multiply the input values (one factor per value) as
	// the client encrypts them, before the stages (see manifest.Manifest.InputScales).
	InputFactors []float64
	// Bounds, when set, are the plan's bounds on |value|: Bounds[0] of the input
	// values (as encrypted), Bounds[i+1] of the values of stage i. A check input
	// whose values exceed them is not used (its values could overflow, or trip a
	// monitor of a calibrated plan).
	Bounds [][]float64
	// Seed is CheckSeed of the plan.
	Seed [32]byte
}

// MakeChecks draws the check inputs of a plan for model m, computes their logits
// through stages (the model's stages as the plan computes them: with its rounded
// weights, if it rounds them) and their tolerances, and returns the manifest's
// Checks. Draw c spreads over 2^-(c mod 4) of the input range, or less: the largest
// amplitude at which its logits are within the limit and every fitted polynomial
// activation sees only values of the interval it was fitted on (a model whose
// declared range is much wider than its data needs small ones). A draw is kept if
// some amplitude passes and its logits are told apart from every draw kept before.
func MakeChecks(m *model.Model, stages []model.Stage, spec CheckSpec) (manifest.Checks, error) {
	if len(spec.StageNoise) != len(stages) || spec.Bounds != nil && len(spec.Bounds) != len(stages)+1 ||
		spec.InputFactors != nil && len(spec.InputFactors) != m.Input.Size() {
		return manifest.Checks{}, errs.New(errs.ErrInternal, "packing: noise of %d stages for %d", len(spec.StageNoise), len(stages))
	}
	out := manifest.Checks{Positions: spec.Positions, Seed: spec.Seed}
	want := min(checkInputs, manifest.MaxCheckValues/m.Input.Size())
	evaluations := 0
	ranges := m.ValueRanges()
	for cand := uint32(0); cand < maxCheckDraws && evaluations < maxCheckEvaluations && len(out.Candidates) < want; cand++ {
		for amp := uint8(cand % 4); amp <= manifest.MaxCheckAmplitude && evaluations < maxCheckEvaluations; amp++ {
			evaluations++
			x := CheckInput(spec.Seed, cand, amp, ranges)
			y, sigma, err := propagate(stages, x, spec)
			if err != nil {
				return manifest.Checks{}, err
			}
			if y == nil || maxAbs(y) > spec.Limit {
				continue // try a smaller amplitude
			}
			for j := range sigma { // an output that reads no input still has rounding noise
				sigma[j] = toleranceSigmas * max(sigma[j], spec.InputNoise)
			}
			out.Candidates = append(out.Candidates, cand)
			out.Amplitudes = append(out.Amplitudes, amp)
			out.Outputs = append(out.Outputs, y)
			out.Tolerance = append(out.Tolerance, sigma)
			if !distinctFromAll(&out) {
				last := len(out.Candidates) - 1
				out.Candidates, out.Amplitudes = out.Candidates[:last], out.Amplitudes[:last]
				out.Outputs, out.Tolerance = out.Outputs[:last], out.Tolerance[:last]
			}
			break
		}
	}
	if len(out.Candidates) < manifest.MinCheckInputs {
		return manifest.Checks{}, errs.New(errs.ErrUnsupported, "packing: fewer than %d inputs in the model's range have logits the plan computes correctly and tells apart, for the integrity checks", manifest.MinCheckInputs)
	}
	return out, nil
}

// distinctFromAll reports whether the last check input of c can be told apart from
// every other (see manifest.Checks).
func distinctFromAll(c *manifest.Checks) bool {
	last := len(c.Outputs) - 1
	for b := range last {
		apart := false
		for j := range c.Outputs[last] {
			if math.Abs(c.Outputs[last][j]-c.Outputs[b][j]) > c.Tolerance[last][j]+c.Tolerance[b][j] {
				apart = true
				break
			}
		}
		if !apart {
			return false
		}
	}
	return true
}

// propagate evaluates the stages on x and the standard deviation of every value's
// noise, the noises being independent and of the deviations spec states; an
// activation's nonlinear part is bounded for a deviation of toleranceSigmas. It
// returns nil logits if a polynomial activation sees a value outside the interval it
// was fitted on, or a value exceeds spec.Bounds.
func propagate(stages []model.Stage, x []float64, spec CheckSpec) (y, sigma []float64, err error) {
	if spec.InputFactors != nil {
		scaled := make([]float64, len(x))
		for i, f := range spec.InputFactors {
			scaled[i] = x[i] * f
		}
		x = scaled
	}
	if !withinBounds(x, spec.Bounds, 0) {
		return nil, nil, nil
	}
	v := make([]float64, len(x)) // variances
	for i := range v {
		v[i] = spec.InputNoise * spec.InputNoise
	}
	for i, st := range stages {
		added := spec.StageNoise[i] * spec.StageNoise[i]
		switch {
		case st.Affine != nil:
			x, v = propagateAffine(st.Affine, x, v, added)
		case st.Activation != nil:
			if x, v, err = propagateActivation(st.Activation, x, v, added); err != nil || x == nil {
				return nil, nil, err
			}
		default:
			return nil, nil, errs.New(errs.ErrUnsupported, "packing: layer %d (%s) has no encrypted form", st.Layer, st.Tensor.Kind())
		}
		if !withinBounds(x, spec.Bounds, i+1) {
			return nil, nil, nil
		}
	}
	for i := range v {
		v[i] = math.Sqrt(v[i])
	}
	return x, v, nil
}

// withinBounds reports whether |x[k]| ≤ bounds[i][k] for every k (true without
// bounds).
func withinBounds(x []float64, bounds [][]float64, i int) bool {
	if bounds == nil {
		return true
	}
	for k, b := range bounds[i] {
		if !(math.Abs(x[k]) <= b) {
			return false
		}
	}
	return true
}

func propagateAffine(a *model.Affine, x, v []float64, added float64) (y, out []float64) {
	y = a.Apply(x)
	out = make([]float64, len(a.Rows))
	for j, row := range a.Rows {
		s := added
		for _, t := range row {
			s += t.Weight * t.Weight * v[t.Index]
		}
		out[j] = s
	}
	return y, out
}

func propagateActivation(act model.Activation, x, v []float64, added float64) (y, out []float64, err error) {
	var coeffs []float64
	switch act := act.(type) {
	case model.Square:
		coeffs = []float64{0, 0, 1}
	case *model.Polynomial:
		coeffs = act.Coeffs
		if lo, hi := act.Interval[0], act.Interval[1]; lo < hi {
			for _, xi := range x {
				if !(xi >= lo && xi <= hi) {
					return nil, nil, nil
				}
			}
		}
	default:
		return nil, nil, errs.New(errs.ErrUnsupported, "packing: %s activations have no encrypted form", act.Kind())
	}
	y = make([]float64, len(x))
	out = make([]float64, len(x))
	for i, xi := range x {
		y[i] = act.Apply(xi)
		// p(x+e) − p(x) = p'(x)·e + r, |r| ≤ Σ |c_k| ((|x|+|e|)^k − |x|^k − k|x|^(k−1)|e|),
		// bounded for |e| = toleranceSigmas·σ and counted as that many deviations.
		a, d := math.Abs(xi), toleranceSigmas*math.Sqrt(v[i])
		deriv, rest, pk, qk, dk := 0.0, 0.0, 1.0, 1.0, 0.0 // dk = k|x|^(k−1)
		for k, c := range coeffs {
			if k > 0 {
				deriv += float64(k) * c * math.Pow(xi, float64(k-1))
			}
			rest += math.Abs(c) * (qk - pk - dk*d)
			dk = float64(k+1) * pk
			pk *= a
			qk *= a + d
		}
		r := rest / toleranceSigmas
		out[i] = deriv*deriv*v[i] + r*r + added
	}
	return y, out, nil
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// arrangement is where the images and check inputs of one request sit: position p
// holds image image[p] if it is ≥ 0, check input check[p] otherwise.
type arrangement struct {
	image, check []int
}

// arrange derives the arrangement of a request of n images from the client's key and
// the request's identifier: the images take n positions of a uniformly random
// permutation, and each other position a uniformly random check input of checks.
func arrange(key, request []byte, n, positions, checks int) arrangement {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("cryptonets-arrangement-v1"))
	mac.Write(request)
	mac.Write(binary.LittleEndian.AppendUint64(nil, uint64(n)))
	var seed [32]byte
	copy(seed[:], mac.Sum(nil))
	src := rand.NewChaCha8(seed)
	perm := make([]int, positions)
	for i := range perm {
		perm[i] = i
	}
	a := arrangement{image: make([]int, positions), check: make([]int, positions)}
	for i := range n { // the first n steps of a Fisher-Yates shuffle
		j := i + bounded(src, positions-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	for i := range a.image {
		a.image[i] = -1
	}
	for i, p := range perm[:n] {
		a.image[p] = i
	}
	for p := range a.check {
		if a.image[p] < 0 {
			a.check[p] = bounded(src, checks)
		}
	}
	return a
}

// bounded returns a uniform integer in [0, n) (n > 0) by rejection, fixed here rather
// than by the math/rand version.
func bounded(src *rand.ChaCha8, n int) int {
	limit := math.MaxUint64 - math.MaxUint64%uint64(n)
	for {
		if v := src.Uint64(); v < limit {
			return int(v % uint64(n))
		}
	}
}
