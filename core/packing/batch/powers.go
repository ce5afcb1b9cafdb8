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
)

// A polynomial of degree n ≥ 3 by tensor products alone (polyStep) needs x^n at scale
// S^n inside the modulus, and leaves a ciphertext of degree n. With a relinearization
// key, powerPolyStep computes the powers as a tree of products instead — x², x⁴, … by
// squaring, the others as x^a·x^(k−a) with a the largest power of two below k — each
// relinearized and rescaled back to a working scale, so that the polynomial takes
// ⌈log2 n⌉ products in sequence and a few primes each, and its result has degree 1.
// The terms c_k·x^k are then lifted to one scale by exact integers, as in polyStep.

// powerTree is the plan of the powers of a powerPolyStep: for k = 2…n, x^k =
// x^a[k]·x^(k−a[k]), rescaled by rescales[k] primes, at level[k] and scale
// 2^logScale[k] (index 1 is the input).
type powerTree struct {
	a, rescales, level []int
	logScale           []float64
	// err is the error the powers' noise puts on the polynomial, relative to the
	// scale of its value (see planPowers).
	err float64
}

// planPowers plans the powers up to x^n of an input at level and scale 2^logS whose
// values have magnitude up to 2^logBound (and about peak in practice), on primes of
// log2 sizes logq, rescaling each product to the scale nearest 2^target but not below
// 2^floor; noise is log2 of the noise of a relinearization and a rescale. It reports
// false if a power does not fit.
func planPowers(logq []float64, level int, logS, logBound, peak, target, floor, noise float64, coeffs []float64) (powerTree, bool) {
	n := len(coeffs) - 1
	t := powerTree{a: make([]int, n+1), rescales: make([]int, n+1), level: make([]int, n+1), logScale: make([]float64, n+1)}
	t.level[1], t.logScale[1] = level, logS
	errs := make([]float64, n+1) // absolute error of x^k
	for k := 2; k <= n; k++ {
		a := 1 << (bitsLen(k-1) - 1) // the largest power of two below k
		b := k - a
		t.a[k] = a
		l := min(t.level[a], t.level[b])
		ls := t.logScale[a] + t.logScale[b]
		capacity := 0.0
		for _, q := range logq[:l+1] {
			capacity += q
		}
		if ls+float64(k)*logBound+1+marginBits > capacity {
			return t, false
		}
		// Rescale to the scale nearest the target, never below the floor.
		r, best := 0, ls
		for cur, j := ls, 1; j <= l; j++ {
			cur -= logq[l-j+1]
			if cur < floor {
				break
			}
			if math.Abs(cur-target) < math.Abs(best-target) {
				r, best = j, cur
			}
		}
		ls = best
		t.rescales[k], t.level[k], t.logScale[k] = r, l-r, ls
		errs[k] = math.Exp2(noise-ls) + math.Pow(peak, float64(a))*errs[b] + math.Pow(peak, float64(b))*errs[a]
	}
	for k := 2; k <= n; k++ {
		t.err += math.Abs(coeffs[k]) * errs[k]
	}
	return t, true
}

// bitsLen is the number of bits of k.
func bitsLen(k int) int {
	n := 0
	for ; k > 0; k >>= 1 {
		n++
	}
	return n
}

// combine returns where the terms c_k·x^k meet: the lowest level of a power used, and
// the log2 scale T of the result, such that the largest lifted coefficient
// c_k·T/scale_k is about 2^weightBits.
func (t powerTree) combine(coeffs []float64, weightBits int) (level int, logT float64) {
	level = t.level[1]
	top, lead := math.Inf(-1), 0.0
	for k := 1; k < len(coeffs); k++ {
		if coeffs[k] == 0 {
			continue
		}
		level = min(level, t.level[k])
		top = math.Max(top, t.logScale[k])
		lead = math.Max(lead, math.Abs(coeffs[k]))
	}
	return level, top + float64(weightBits-int(math.Ceil(math.Log2(lead))))
}

// powerPolyStep evaluates p(x) = Σ c_k·x^k on every ciphertext (degree 1) with a tree
// of relinearized products (see powerTree), then rescales its result as planned.
type powerPolyStep struct {
	n        int
	power    int
	tree     powerTree
	inLevel  int
	scales   []rlwe.Scale // scales[k] of x^k
	terms    []*big.Int   // terms[k] lifts x^k to the result's scale
	constant *big.Int
	lifted   rlwe.Scale // the result's scale, before its rescales
	level    int        // of the result, before its rescales
	rescales int
	scale    rlwe.Scale // of the result, after its rescales
	bound    float64
	fitted   string
}

// compilePowerPolynomial plans p on the ciphertexts of state in with the power tree
// the schedule chose; bound bounds each output.
func compilePowerPolynomial(prm hefloat.Parameters, p *model.Polynomial, in state, tree powerTree, bound []float64, weightBits, rescales int) (*powerPolyStep, state) {
	act, _ := describeActivation(p) // summarize already accepted it
	c := act.coeffs
	s := &powerPolyStep{n: len(in.bound), power: act.power, tree: tree, inLevel: in.level, fitted: p.Fitted}
	s.scales = make([]rlwe.Scale, act.power+1)
	s.scales[1] = in.scale
	for k := 2; k <= act.power; k++ {
		a := tree.a[k]
		sc := s.scales[a].Mul(s.scales[k-a])
		l := min(tree.level[a], tree.level[k-a])
		for r := range tree.rescales[k] {
			sc = sc.Div(rlwe.NewScale(prm.Q()[l-r]))
		}
		s.scales[k] = sc
	}
	level, _ := tree.combine(c, weightBits)
	// The result's scale: the largest power's scale times 2^w.
	top := s.scales[1]
	lead := 0.0
	for k := 1; k <= act.power; k++ {
		if c[k] != 0 && s.scales[k].Cmp(top) > 0 {
			top = s.scales[k]
		}
		lead = math.Max(lead, math.Abs(c[k]))
	}
	out := top.Mul(rlwe.NewScale(math.Ldexp(1, weightBits-int(math.Ceil(math.Log2(lead))))))
	s.terms = make([]*big.Int, act.power+1)
	for k := 1; k <= act.power; k++ {
		lift := out.Div(s.scales[k])
		s.terms[k] = roundScaled(c[k], &lift.Value)
	}
	s.constant, s.lifted = roundScaled(c[0], &out.Value), out
	st := state{level: level, degree: 1, scale: out, bound: bound}
	s.level = level
	s.rescales, st = rescaleState(prm, st, rescales)
	s.scale, s.bound = st.scale, st.maxBound()
	return s, st
}

// rounded returns p with the coefficients the step computes with.
func (s *powerPolyStep) rounded(p *model.Polynomial) *model.Polynomial {
	value := func(t *big.Int, lift rlwe.Scale) float64 {
		f, _ := new(big.Float).Quo(new(big.Float).SetInt(t), &lift.Value).Float64()
		return f
	}
	coeffs := make([]float64, s.power+1)
	coeffs[0] = value(s.constant, s.lifted)
	for k := 1; k <= s.power; k++ {
		coeffs[k] = value(s.terms[k], s.lifted.Div(s.scales[k]))
	}
	r := *p
	r.Coeffs = coeffs
	return &r
}

func (s *powerPolyStep) info() packing.Step {
	kind := fmt.Sprintf("polynomial degree %d (relinearized powers)", s.power)
	if s.fitted != "" {
		kind += " fitted to " + s.fitted
	}
	return packing.Step{Kind: kind, Inputs: s.n, Outputs: s.n, Rescales: s.rescales, Level: s.level - s.rescales,
		Degree: 1, LogScale: packing.Log2(s.scale), Bound: s.bound}
}

func (s *powerPolyStep) hash(h hash.Hash) {
	hashInts(h, 8, int64(s.n), int64(s.power), int64(s.level), int64(s.rescales))
	for k := 2; k <= s.power; k++ {
		hashInts(h, int64(s.tree.a[k]), int64(s.tree.rescales[k]))
	}
	for _, t := range s.terms[1:] {
		h.Write(t.Bytes())
	}
	h.Write(s.constant.Bytes())
}

func (s *powerPolyStep) apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	if len(in) != s.n {
		return nil, errs.New(errs.ErrInternal, "polynomial step: %d inputs, want %d", len(in), s.n)
	}
	scratch := ev.relinScratch(s.inLevel, ev.workers)
	defer ev.releaseRows(scratch)
	terms := make([][]kernel.Constant, s.power+1)
	for k := 1; k <= s.power; k++ {
		if s.terms[k].Sign() != 0 {
			terms[k] = factors(ev.kernels.arith, s.terms[k], s.level)
		}
	}
	constant := residues(ev.kernels.arith, s.constant, s.level)
	out := make([]*rlwe.Ciphertext, len(in))
	err := ev.parallelErr(len(in), func(w, i int) error {
		powers := make([]*rlwe.Ciphertext, s.power+1)
		powers[1] = in[i]
		buf := ev.scratchPoly()
		defer ev.pool.put(buf.Coeffs...)
		for k := 2; k <= s.power; k++ {
			a, b := powers[s.tree.a[k]], powers[k-s.tree.a[k]]
			l := min(a.Level(), b.Level())
			prod := ev.pool.ciphertext(2, l, in[i].MetaData)
			forSpans(ev.params.N(), l, func(sp span) { sp.tensor(ev.kernels.arith[sp.l], a, b, prod) })
			if err := ev.relinearize(prod, scratch[w]); err != nil {
				return fmt.Errorf("batch: power %d: %w", k, err)
			}
			if r := s.tree.rescales[k]; r > 0 {
				for _, p := range prod.Value {
					ev.rescaleInto(p, p, buf, r)
					ev.pool.put(p.Coeffs[l-r+1:]...)
				}
				prod.Resize(1, l-r)
			}
			prod.Scale = s.scales[k]
			powers[k] = prod
		}
		ct := ev.pool.ciphertext(1, s.level, in[i].MetaData)
		forSpans(ev.params.N(), s.level, func(sp span) { sp.combine(ev.kernels.arith[sp.l], ct, powers, terms, constant) })
		if s.rescales > 0 {
			for _, p := range ct.Value {
				ev.rescaleInto(p, p, buf, s.rescales)
				ev.pool.put(p.Coeffs[s.level-s.rescales+1:]...)
			}
			ct.Resize(1, s.level-s.rescales)
		}
		ct.Scale = s.scale
		ev.pool.release(powers[2:]...)
		ev.pool.release(in[i])
		out[i] = ct
		return nil
	})
	return out, err
}
