package batch

import (
	"fmt"
	"hash"
	"math"
	"math/big"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// polyStep evaluates p(x) = Σ_k c_k·x^k on every ciphertext without relinearization.
// The powers x^k are tensor products (degree k·d, scale S^k); each term is lifted to
// the common scale S^n·2^w by the exact integer round(c_k·S^(n-k)·2^w), so no level is
// consumed until the planned rescale.
type polyStep struct {
	n        int        // ciphertexts
	inDegree int        // ciphertext degree of the input
	power    int        // polynomial degree
	terms    []*big.Int // terms[k] multiplies x^k, k ≥ 1
	constant *big.Int   // c_0 at the output scale
	coeffLog int
	rescales int
	level    int
	scale    rlwe.Scale
	bound    float64
	fitted   string // the function the polynomial approximates, if any
	// monitor, when set, is the monitor of the inputs, which takes their squares
	// from here (see monitorStep.fused).
	monitor *monitorStep
}

// compilePolynomial plans p on the ciphertexts of state in; bound bounds each output.
func compilePolynomial(prm hefloat.Parameters, p *model.Polynomial, in state, bound []float64, weightBits, rescales int) (*polyStep, state) {
	act, _ := describeActivation(p) // summarize already accepted it
	w := coefficientLogScale(act.leadLog, weightBits)
	out := state{level: in.level, degree: in.degree * act.power, bound: bound}
	out.scale = rlwe.NewScale(math.Ldexp(1, w))
	for range act.power {
		out.scale = out.scale.Mul(in.scale)
	}
	s := &polyStep{n: len(in.bound), inDegree: in.degree, power: act.power, coeffLog: w, fitted: p.Fitted}
	// terms[k] = round(c_k · out.scale / in.scale^k)
	lift := out.scale
	s.terms = make([]*big.Int, act.power+1)
	for k := 1; k <= act.power; k++ {
		lift = lift.Div(in.scale)
		s.terms[k] = roundScaled(act.coeffs[k], &lift.Value)
	}
	s.constant = roundScaled(act.coeffs[0], &out.scale.Value)
	s.rescales, out = rescaleState(prm, out, rescales)
	s.level, s.scale, s.bound = out.level, out.scale, out.maxBound()
	return s, out
}

// rounded returns p with the coefficients the step computes with: the rounded terms
// at the scales of compilePolynomial, for inputs at scale in.
func (s *polyStep) rounded(p *model.Polynomial, in rlwe.Scale) *model.Polynomial {
	out := rlwe.NewScale(math.Ldexp(1, s.coeffLog))
	for range s.power {
		out = out.Mul(in)
	}
	coeffs := make([]float64, s.power+1)
	value := func(t *big.Int, lift rlwe.Scale) float64 {
		f, _ := new(big.Float).Quo(new(big.Float).SetInt(t), &lift.Value).Float64()
		return f
	}
	coeffs[0] = value(s.constant, out)
	lift := out
	for k := 1; k <= s.power; k++ {
		lift = lift.Div(in)
		coeffs[k] = value(s.terms[k], lift)
	}
	r := *p
	r.Coeffs = coeffs
	return &r
}

func (s *polyStep) info() packing.Step {
	kind := fmt.Sprintf("polynomial degree %d", s.power)
	if s.fitted != "" {
		kind += " fitted to " + s.fitted
	}
	return packing.Step{Kind: kind, Inputs: s.n, Outputs: s.n, WeightLogScale: s.coeffLog,
		Rescales: s.rescales, Level: s.level, Degree: s.inDegree * s.power, LogScale: packing.Log2(s.scale), Bound: s.bound}
}

func (s *polyStep) hash(h hash.Hash) {
	hashInts(h, 3, int64(s.n), int64(s.power), int64(s.rescales))
	for _, t := range s.terms[1:] {
		h.Write(t.Bytes())
	}
	h.Write(s.constant.Bytes())
}

func (s *polyStep) apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	if len(in) != s.n {
		return nil, errs.New(errs.ErrInternal, "polynomial step: %d inputs, want %d", len(in), s.n)
	}
	level, d := in[0].Level(), s.inDegree
	outDegree := d * s.power
	// Each worker's powers and, if the result is rescaled, the sum before it.
	type scratch struct {
		powers []*rlwe.Ciphertext // powers[k] = x^k for k ≥ 2
		sum    *rlwe.Ciphertext
		buf    ring.Poly
	}
	work := make([]scratch, ev.workers)
	for w := range work {
		work[w].powers = make([]*rlwe.Ciphertext, s.power+1)
		for k := 2; k <= s.power; k++ {
			work[w].powers[k] = ev.pool.ciphertext(k*d, level, in[0].MetaData)
		}
		if s.rescales > 0 {
			work[w].sum = ev.pool.ciphertext(outDegree, level, in[0].MetaData)
			work[w].buf = ev.scratchPoly()
		}
	}
	terms := make([][]kernel.Constant, s.power+1)
	for k := 1; k <= s.power; k++ {
		terms[k] = factors(ev.kernels.arith, s.terms[k], level)
	}
	constant := residues(ev.kernels.arith, s.constant, level)
	var sums []*rlwe.Ciphertext
	if s.monitor != nil {
		sums = s.monitor.start(ev, in[0].MetaData)
	}
	out := make([]*rlwe.Ciphertext, len(in))
	err := ev.parallel(len(in), func(w, i int) {
		sc := work[w]
		sc.powers[1] = in[i]
		ct := ev.pool.ciphertext(outDegree, level-s.rescales, in[i].MetaData)
		ct.Scale = s.scale
		sum := ct
		if s.rescales > 0 {
			sum = sc.sum
		}
		// The powers, the monitor's terms and the sum, span by span.
		forSpans(ev.params.N(), level, func(sp span) {
			a := ev.kernels.arith[sp.l]
			sp.square(a, in[i], sc.powers[2])
			if sums != nil {
				s.monitor.add(a, sp, sums[w], i, sc.powers[2])
			}
			for k := 3; k <= s.power; k++ {
				sp.tensor(a, sc.powers[k-1], in[i], sc.powers[k])
			}
			sp.combine(a, sum, sc.powers, terms, constant)
		})
		if s.rescales > 0 {
			for j := range sc.sum.Value {
				ev.rescaleInto(ct.Value[j], sc.sum.Value[j], sc.buf, s.rescales)
			}
		}
		ev.pool.release(in[i])
		out[i] = ct
	})
	for _, sc := range work {
		ev.pool.release(sc.powers[2:]...)
		ev.pool.release(sc.sum)
		ev.pool.put(sc.buf.Coeffs...)
	}
	if sums != nil {
		if err != nil {
			ev.pool.release(sums...)
			return nil, err
		}
		s.monitor.finish(ev, sums)
	}
	return out, err
}

// residues returns v modulo each prime up to level.
func residues(arith []kernel.Arith, v *big.Int, level int) []uint64 {
	out := make([]uint64, level+1)
	r, q := new(big.Int), new(big.Int)
	for l := range out {
		out[l] = r.Mod(v, q.SetUint64(arith[l].Modulus().Q())).Uint64()
	}
	return out
}

// factors returns v modulo each prime up to level, prepared as factors.
func factors(arith []kernel.Arith, v *big.Int, level int) []kernel.Constant {
	out := make([]kernel.Constant, level+1)
	for l, r := range residues(arith, v, level) {
		out[l] = arith[l].Constant(r)
	}
	return out
}
