package batch

import (
	"hash"
	"math"
	"math/big"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// monitorStep computes the monitor of an activation's input (see GuaranteeCalibrated):
// M = Σ_i W_i·x_i², the squares as tensor products, the weights as integers W_i =
// round(w_i·2^logW). It keeps M for monitorOutputStep (adding it to what the chunks
// of a segment before it computed of the same monitor) and passes its inputs on
// unchanged.
type monitorStep struct {
	index, layer int
	stage        int
	// fused leaves the squares to the polynomial step after it (polyStep.monitor),
	// which computes them anyway.
	fused       bool
	n, inDegree int
	level       int
	weights     []uint64
	logW        int
	scale       rlwe.Scale // of M: the inputs' scale squared times 2^logW
	bound       float64
}

// monitorWeightBits is the precision of the largest monitor weight: a monitor is a
// threshold test, and a small weight scale keeps its own scale low.
const monitorWeightBits = 10

// monitorLogScale is the scale of a monitor's integer weights: monitorWeightBits for
// the largest.
func monitorLogScale(mon monitorPlan) int {
	maxW := 0.0
	for _, w := range mon.weights {
		maxW = math.Max(maxW, w)
	}
	return weightLogScale(maxW, monitorWeightBits)
}

// compileMonitor plans the monitor mon on the ciphertexts of state in, with integer
// weights round(w·2^logW); index is its place among the plan's monitors.
func compileMonitor(mon monitorPlan, in state, index, logW int) *monitorStep {
	s := &monitorStep{index: index, layer: mon.layer, stage: mon.stage, n: len(mon.weights), inDegree: in.degree, level: in.level,
		weights: make([]uint64, len(mon.weights)), logW: logW, bound: mon.max}
	for i, w := range mon.weights {
		s.weights[i] = uint64(math.Round(math.Ldexp(w, logW)))
	}
	s.scale = in.scale.Mul(in.scale).Mul(rlwe.NewScale(math.Ldexp(1, logW)))
	return s
}

func (s *monitorStep) info() packing.Step {
	kind := "monitor"
	if s.fused {
		kind = "monitor (the polynomial's squares)"
	}
	return packing.Step{Kind: kind, Inputs: s.n, Outputs: 1, Weights: s.n, WeightLogScale: s.logW,
		Level: s.level, Degree: 2 * s.inDegree, LogScale: packing.Log2(s.scale), Bound: s.bound}
}

func (s *monitorStep) hash(h hash.Hash) {
	fused := int64(0)
	if s.fused {
		fused = 1
	}
	hashInts(h, 5, int64(s.index), int64(s.layer), int64(s.n), int64(s.logW), fused)
	for _, w := range s.weights {
		hashInts(h, int64(w))
	}
}

func (s *monitorStep) apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	if len(in) != s.n || len(ev.monitors) < s.index {
		return nil, errs.New(errs.ErrInternal, "monitor step: %d inputs, want %d; %d monitors before it, want %d", len(in), s.n, len(ev.monitors), s.index)
	}
	if s.fused {
		return in, nil // the polynomial step after it adds its squares
	}
	sums := s.start(ev, in[0].MetaData)
	squares := make([]*rlwe.Ciphertext, ev.workers)
	for w := range squares {
		squares[w] = ev.pool.ciphertext(2*s.inDegree, s.level, in[0].MetaData)
	}
	err := ev.parallel(len(in), func(w, i int) {
		if s.weights[i] == 0 {
			return
		}
		forSpans(ev.params.N(), s.level, func(sp span) {
			a := ev.kernels.arith[sp.l]
			sp.square(a, in[i], squares[w])
			s.add(a, sp, sums[w], i, squares[w])
		})
	})
	ev.pool.release(squares...)
	if err != nil {
		ev.pool.release(sums...)
		return nil, err
	}
	s.finish(ev, sums)
	return in, nil
}

// start returns one zeroed monitor accumulator per worker.
func (s *monitorStep) start(ev *evaluation, like *rlwe.MetaData) []*rlwe.Ciphertext {
	sums := make([]*rlwe.Ciphertext, ev.workers)
	for w := range sums {
		sums[w] = ev.pool.ciphertext(2*s.inDegree, s.level, like)
		for _, p := range sums[w].Value {
			zero(p)
		}
	}
	return sums
}

// add adds the span of W_i·sq, with sq the square of input i, to a worker's
// accumulator.
func (s *monitorStep) add(a kernel.Arith, sp span, sum *rlwe.Ciphertext, i int, sq *rlwe.Ciphertext) {
	if s.weights[i] == 0 {
		return
	}
	w := a.Constant(s.weights[i] % a.Modulus().Q())
	for k := range sq.Value {
		a.MulConstAdd(sp.row(sum, k), sp.row(sq, k), w)
	}
}

// finish sums the workers' accumulators into the monitor (adding what the chunks of
// a segment before this one computed of it).
func (s *monitorStep) finish(ev *evaluation, sums []*rlwe.Ciphertext) {
	sums[0].Scale = s.scale
	if s.index < len(ev.monitors) { // a later chunk of a segment
		sums = append(sums, ev.monitors[s.index])
		ev.monitors[s.index] = sums[0]
	} else {
		ev.monitors = append(ev.monitors, sums[0])
	}
	for _, o := range sums[1:] {
		for k, p := range o.Value {
			for l, row := range p.Coeffs {
				ev.kernels.arith[l].Add(sums[0].Value[k].Coeffs[l], sums[0].Value[k].Coeffs[l], row)
			}
		}
	}
	ev.pool.release(sums[1:]...)
}

// zero sets every coefficient of p to 0.
func zero(p ring.Poly) {
	for _, row := range p.Coeffs {
		clear(row)
	}
}

// monitorOutputStep brings every monitor to the logits' level, degree and scale and
// appends them to the result: each is multiplied by an integer and divided by some of
// its top primes so that its scale becomes the logits', the primes left above the
// logits' level are dropped, a degree-2 monitor is relinearized if the logits have
// degree 1, and a lower degree is padded with zero polynomials.
type monitorOutputStep struct {
	monitors []monitorOut
	level    int
	degree   int
	scale    rlwe.Scale
	relin    bool
	n        int // logit ciphertexts before the monitors
}

// monitorOut is how one monitor reaches the logits' shape.
type monitorOut struct {
	from, degree int
	lift         *big.Int
	rescales     int
}

// minLiftBits is the least precision of the integer that lifts a monitor to the
// logits' scale.
const minLiftBits = 8

// compileMonitorOutput plans the monitors' way to the logits' shape (state out).
func compileMonitorOutput(prm hefloat.Parameters, mons []*monitorStep, out state, relin bool) (*monitorOutputStep, error) {
	s := &monitorOutputStep{level: out.level, degree: out.degree, scale: out.scale, relin: relin, n: len(out.bound)}
	for _, m := range mons {
		mo := monitorOut{from: m.level, degree: 2 * m.inDegree}
		// Divide by the fewest top primes that leave the lift minLiftBits of precision.
		ratio := new(big.Float).SetPrec(256).Quo(&out.scale.Value, &m.scale.Value)
		for mo.rescales = 0; ; mo.rescales++ {
			if f, _ := ratio.Float64(); f >= math.Ldexp(1, minLiftBits) {
				break
			}
			if mo.rescales == m.level-out.level {
				return nil, errs.New(errs.ErrUnsupported, "batch: the monitor of layer %d cannot reach the logits' scale", m.layer)
			}
			ratio.Mul(ratio, new(big.Float).SetUint64(prm.Q()[m.level-mo.rescales]))
		}
		mo.lift, _ = ratio.Int(nil)
		s.monitors = append(s.monitors, mo)
	}
	return s, nil
}

func (s *monitorOutputStep) info() packing.Step {
	return packing.Step{Kind: "monitor output", Inputs: len(s.monitors), Outputs: len(s.monitors), Level: s.level,
		Degree: s.degree, LogScale: packing.Log2(s.scale)}
}

func (s *monitorOutputStep) hash(h hash.Hash) {
	hashInts(h, 6, int64(len(s.monitors)), int64(s.level), int64(s.degree))
	for _, m := range s.monitors {
		hashInts(h, int64(m.rescales))
		h.Write(m.lift.Bytes())
	}
}

func (s *monitorOutputStep) apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	if len(in) != s.n || len(ev.monitors) != len(s.monitors) {
		return nil, errs.New(errs.ErrInternal, "monitor output step: %d inputs and %d monitors, want %d and %d", len(in), len(ev.monitors), s.n, len(s.monitors))
	}
	out := make([]*rlwe.Ciphertext, len(s.monitors))
	buf := ev.scratchPoly()
	defer ev.pool.put(buf.Coeffs...)
	for k, m := range s.monitors {
		ct := ev.monitors[k]
		r := ev.params.RingQ().AtLevel(m.from)
		for _, p := range ct.Value {
			r.MulScalarBigint(p, m.lift, p)
			ev.rescaleInto(p, p, buf, m.rescales)
		}
		// Drop the primes left above the logits' level; pad or relinearize the degree.
		for _, p := range ct.Value {
			ev.pool.put(p.Coeffs[s.level+1:]...)
		}
		ct.Resize(ct.Degree(), s.level)
		ct.Scale = s.scale
		if ct.Degree() > s.degree {
			if !s.relin || ct.Degree() != 2 || s.degree != 1 {
				return nil, errs.New(errs.ErrInternal, "monitor %d has degree %d, the logits %d", k, ct.Degree(), s.degree)
			}
			scratch := ev.relinScratch(s.level, 1)
			err := ev.relinearize(ct, scratch[0])
			ev.releaseRows(scratch)
			if err != nil {
				return nil, err
			}
		}
		for ct.Degree() < s.degree {
			p := ev.pool.poly(s.level)
			zero(p)
			ct.Value = append(ct.Value, p)
		}
		out[k] = ct
	}
	ev.monitors = nil
	return append(in, out...), nil
}
