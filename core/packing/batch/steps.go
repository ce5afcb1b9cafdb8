package batch

import (
	"fmt"
	"hash"
	"runtime"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/workers"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// step is one compiled stage of the network.
type step interface {
	apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error)
	info() packing.Step
	hash(h hash.Hash)
}

// evaluation is the per-call context of Plan.Evaluate.
type evaluation struct {
	params  hefloat.Parameters
	workers int
	pool    *rowPool
	// keys are the client's evaluation keys (a relinearization key, if the plan
	// relinearizes); monitors holds the monitors computed so far.
	keys     rlwe.EvaluationKeySet
	monitors []*rlwe.Ciphertext
	// evals are the workers' Lattigo evaluators (with the keys), made at the first
	// step that relinearizes and kept for the rest of the evaluation.
	evals []*hefloat.Evaluator
}

// parallel runs f(worker, i) for i in [0, n) on the evaluation's workers; a panic in
// f becomes an error (see package workers).
func (ev *evaluation) parallel(n int, f func(worker, i int)) error {
	if err := workers.Run(n, ev.workers, func(w, i int) error { f(w, i); return nil }); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	return nil
}

func defaultWorkers() int { return runtime.GOMAXPROCS(0) }

// linearStep computes out_j = Σ_t w_jt·in_t + b_j with integer weights w = round(w·2^logW),
// directly on the RNS limbs of the NTT-domain ciphertexts: no level is consumed and the
// scale grows by 2^logW.
type linearStep struct {
	inputs  int
	outputs int
	groups  []rowGroup
	logW    int
	bias    [][]uint64 // [output][limb]
	level   int
	degree  int
	// outScale is the scale of the outputs before rescaling.
	outScale rlwe.Scale
	bound    float64
	// rescales divides the outputs by that many primes.
	rescales int
	// keep leaves the inputs to the caller: they are shared by the chunks of a
	// segment (see segmentStep).
	keep bool
}

// rowGroup is up to maxGroup outputs that read the same inputs: the kernel loads each
// input coefficient once for all of them. The accumulators are reduced after each
// chunk so that Σ|w|·q within a chunk cannot overflow int64.
type rowGroup struct {
	outputs   []int
	index     []int32
	weights   [][]int64 // [output in group][term]
	chunkEnds []int
}

// maxGroup is the most outputs one pass of the kernel accumulates.
const maxGroup = 4

// blockSize is the number of coefficients one task accumulates at a time.
const blockSize = 512

func (s *linearStep) info() packing.Step {
	n := 0
	for _, g := range s.groups {
		for _, w := range g.weights {
			for _, x := range w {
				if x != 0 {
					n++
				}
			}
		}
	}
	return packing.Step{Kind: "linear", Inputs: s.inputs, Outputs: s.outputs, Weights: n, WeightLogScale: s.logW,
		Rescales: s.rescales, Level: s.level - s.rescales, Degree: s.degree, LogScale: packing.Log2(s.outScale), Bound: s.bound}
}

func (s *linearStep) hash(h hash.Hash) {
	hashInts(h, 1, int64(s.inputs), int64(s.logW), int64(s.rescales))
	for _, g := range s.groups {
		hashInts(h, int64(len(g.index)))
		for k, j := range g.outputs {
			hashInts(h, int64(j))
			for t := range g.index {
				hashInts(h, int64(g.index[t]), g.weights[k][t])
			}
			for _, b := range s.bias[j] {
				hashInts(h, int64(b))
			}
		}
	}
}

func (s *linearStep) apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	if len(in) != s.inputs {
		return nil, errs.New(errs.ErrInternal, "linear step: %d inputs, want %d", len(in), s.inputs)
	}
	out := make([]*rlwe.Ciphertext, s.outputs)
	for j := range out {
		out[j] = ev.pool.ciphertext(s.degree, s.level, in[0].MetaData)
		out[j].Scale = s.outScale
	}
	n := ev.params.N()
	blocks := (n + blockSize - 1) / blockSize
	limbs := s.level + 1
	polys := s.degree + 1
	acc := make([][maxGroup][]int64, ev.workers)
	for w := range acc {
		for k := range acc[w] {
			acc[w][k] = make([]int64, blockSize)
		}
	}
	moduli := ev.params.Q()
	err := ev.parallel(polys*limbs*blocks, func(w, task int) {
		p, i, b := task/(limbs*blocks), (task/blocks)%limbs, task%blocks
		lo, hi := b*blockSize, min((b+1)*blockSize, n)
		m := newModulus(moduli[i])
		row := func(t int32) []uint64 { return in[t].Value[p].Coeffs[i][lo:hi] }
		for _, g := range s.groups {
			a := acc[w][:len(g.outputs)]
			for k := range a {
				a[k] = a[k][:hi-lo]
			}
			accumulate(a, g, row, m)
			for k, j := range g.outputs {
				var bias uint64
				if p == 0 {
					bias = s.bias[j][i]
				}
				store(out[j].Value[p].Coeffs[i][lo:hi], a[k], m, bias)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if !s.keep {
		ev.pool.release(in...)
	}
	if s.rescales > 0 {
		if err := rescaleAll(ev, out, s.rescales); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// accumulate sets a[k] = Σ_t g.weights[k][t]·row(g.index[t]) for every output k of the
// group, reduced into (-2q, 2q) between chunks.
func accumulate(a [][]int64, g rowGroup, row func(int32) []uint64, m modulus) {
	for k := range a {
		clear(a[k])
	}
	start := 0
	for _, end := range g.chunkEnds {
		for t := start; t < end; t++ {
			c := row(g.index[t])
			switch len(a) {
			case 4:
				mac4(a[0], a[1], a[2], a[3], c, g.weights[0][t], g.weights[1][t], g.weights[2][t], g.weights[3][t])
			case 3:
				mac2(a[0], a[1], c, g.weights[0][t], g.weights[1][t])
				mac(a[2], c, g.weights[2][t])
			case 2:
				mac2(a[0], a[1], c, g.weights[0][t], g.weights[1][t])
			default:
				mac(a[0], c, g.weights[0][t])
			}
		}
		if end < len(g.index) {
			for k := range a {
				reduce(a[k], m)
			}
		}
		start = end
	}
}

// mac adds w·c to acc, coefficient-wise.
func mac(acc []int64, c []uint64, w int64) {
	c = c[:len(acc)]
	for k, v := range c {
		acc[k] += w * int64(v)
	}
}

// mac2 is mac for two outputs that read the same input.
func mac2(acc0, acc1 []int64, c []uint64, w0, w1 int64) {
	c = c[:len(acc0)]
	acc1 = acc1[:len(acc0)]
	for k, v := range c {
		x := int64(v)
		acc0[k] += w0 * x
		acc1[k] += w1 * x
	}
}

// mac4 is mac for four outputs that read the same input.
func mac4(acc0, acc1, acc2, acc3 []int64, c []uint64, w0, w1, w2, w3 int64) {
	c = c[:len(acc0)]
	acc1, acc2, acc3 = acc1[:len(acc0)], acc2[:len(acc0)], acc3[:len(acc0)]
	for k, v := range c {
		x := int64(v)
		acc0[k] += w0 * x
		acc1[k] += w1 * x
		acc2[k] += w2 * x
		acc3[k] += w3 * x
	}
}

// modulus is a prime q < 2^50 with 1/q as a float64, for reductions by multiplication.
type modulus struct {
	q    int64
	qInv float64
}

func newModulus(q uint64) modulus { return modulus{q: int64(q), qInv: 1 / float64(q)} }

// reduceLazy returns v minus a multiple of q, in (-2q, 2q): the quotient comes from a
// float64 product whose error is far below one for |v| < 2^63 and q < 2^50, so no
// integer division is needed.
func (m modulus) reduceLazy(v int64) int64 { return v - int64(float64(v)*m.qInv)*m.q }

// reduce brings every accumulator into (-2q, 2q).
func reduce(acc []int64, m modulus) {
	for k, v := range acc {
		acc[k] = m.reduceLazy(v)
	}
}

// store writes (acc + bias) mod q into dst, in [0, q).
func store(dst []uint64, acc []int64, m modulus, bias uint64) {
	dst = dst[:len(acc)]
	for k, v := range acc {
		r := m.reduceLazy(v) + int64(bias) // in (-2q, 3q)
		if r < 0 {
			r += m.q
		}
		if r < 0 {
			r += m.q
		}
		for r >= m.q {
			r -= m.q
		}
		dst[k] = uint64(r)
	}
}

// squareStep squares every ciphertext by a tensor product without relinearization:
// a degree-d ciphertext becomes degree 2d, which the client can still decrypt.
type squareStep struct {
	n        int
	inDegree int
	rescales int
	level    int
	scale    rlwe.Scale
	bound    float64
}

func (s *squareStep) info() packing.Step {
	return packing.Step{Kind: "square", Inputs: s.n, Outputs: s.n, Rescales: s.rescales, Level: s.level,
		Degree: 2 * s.inDegree, LogScale: packing.Log2(s.scale), Bound: s.bound}
}

func (s *squareStep) hash(h hash.Hash) { hashInts(h, 2, int64(s.n), int64(s.rescales)) }

func (s *squareStep) apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	if len(in) != s.n {
		return nil, errs.New(errs.ErrInternal, "square step: %d inputs, want %d", len(in), s.n)
	}
	level, degree := in[0].Level(), 2*s.inDegree
	scratch := make([]*rlwe.Ciphertext, ev.workers)
	buf := make([]ring.Poly, ev.workers)
	for w := range scratch {
		scratch[w] = ev.pool.ciphertext(degree, level, in[0].MetaData)
		buf[w] = ev.pool.poly(ev.params.MaxLevel())
	}
	r := ev.params.RingQ().AtLevel(level)
	out := make([]*rlwe.Ciphertext, len(in))
	err := ev.parallel(len(in), func(w, i int) {
		ct := ev.pool.ciphertext(degree, level-s.rescales, in[i].MetaData)
		ct.Scale = s.scale
		if s.rescales == 0 {
			squareInto(r, in[i], ct)
		} else {
			sq := scratch[w]
			squareInto(r, in[i], sq)
			for k := range sq.Value {
				r.DivRoundByLastModulusManyNTT(s.rescales, sq.Value[k], buf[w], ct.Value[k])
			}
		}
		ev.pool.release(in[i])
		out[i] = ct
	})
	ev.pool.release(scratch...)
	for _, b := range buf {
		ev.pool.put(b.Coeffs...)
	}
	return out, err
}

// squareInto writes the tensor square of ct into out: out_k = Σ_{i+j=k} ct_i·ct_j.
func squareInto(r *ring.Ring, ct, out *rlwe.Ciphertext) {
	d := ct.Degree()
	for k := 0; k <= 2*d; k++ {
		dst := out.Value[k]
		written := false
		for i := max(0, k-d); 2*i < k; i++ {
			if written {
				r.MulCoeffsBarrettThenAdd(ct.Value[i], ct.Value[k-i], dst)
			} else {
				r.MulCoeffsBarrett(ct.Value[i], ct.Value[k-i], dst)
				written = true
			}
		}
		if written {
			r.Add(dst, dst, dst)
		}
		if k%2 == 0 {
			if written {
				r.MulCoeffsBarrettThenAdd(ct.Value[k/2], ct.Value[k/2], dst)
			} else {
				r.MulCoeffsBarrett(ct.Value[k/2], ct.Value[k/2], dst)
			}
		}
	}
}

// rescaleAll divides every ciphertext by its last n primes, in place.
func rescaleAll(ev *evaluation, cts []*rlwe.Ciphertext, n int) error {
	buf := make([]ring.Poly, ev.workers)
	for w := range buf {
		buf[w] = ev.pool.poly(ev.params.MaxLevel())
	}
	err := ev.parallel(len(cts), func(w, i int) {
		ct := cts[i]
		level := ct.Level()
		r := ev.params.RingQ().AtLevel(level)
		for _, p := range ct.Value {
			r.DivRoundByLastModulusManyNTT(n, p, buf[w], p)
			ev.pool.put(p.Coeffs[level-n+1:]...)
		}
		for l := level; l > level-n; l-- {
			ct.Scale = ct.Scale.Div(rlwe.NewScale(ev.params.Q()[l]))
		}
		ct.Resize(ct.Degree(), level-n)
	})
	for _, b := range buf {
		ev.pool.put(b.Coeffs...)
	}
	return err
}
