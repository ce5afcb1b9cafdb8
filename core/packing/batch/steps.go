package batch

import (
	"fmt"
	"hash"
	"runtime"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/kernel"
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
	kernels *kernels
	// rlk is the client's relinearization key, if the plan relinearizes; monitors
	// holds the monitors computed so far.
	rlk      *rlwe.RelinearizationKey
	monitors []*rlwe.Ciphertext
	// slab is the linear steps' copy of their inputs (see linearStep.evaluate), kept
	// for the evaluation's next linear steps.
	slab []uint64
}

// slabOf returns the evaluation's slab, n words long at least.
func (ev *evaluation) slabOf(n int) []uint64 {
	if len(ev.slab) < n {
		ev.slab = make([]uint64, n)
	}
	return ev.slab[:n]
}

// kernels are a plan's arithmetic, prepared for its kernel path (see package kernel):
// every path gives the same bits.
type kernels struct {
	path     kernel.Path
	moduli   []kernel.Modulus
	arith    []kernel.Arith // one per prime
	rescaler *kernel.Rescaler
	// keys is key switching, for relinearization, if the parameters have a special
	// prime (nil otherwise).
	keys *kernel.KeySwitch
}

func newKernels(prm hefloat.Parameters) (*kernels, error) {
	path, err := kernel.FromEnv()
	if err != nil {
		return nil, err
	}
	k := &kernels{path: path}
	for _, q := range prm.Q() {
		m, err := kernel.NewModulus(q)
		if err != nil {
			return nil, err
		}
		k.moduli = append(k.moduli, m)
		k.arith = append(k.arith, kernel.NewArith(path, m))
	}
	if len(prm.P()) == 1 {
		// Key switching's chain starts with Q's primes: it rescales too.
		if k.keys, err = kernel.NewKeySwitch(path, prm.N(), prm.Q(), prm.P()[0], prm.RingType()); err != nil {
			return nil, err
		}
		k.rescaler = k.keys.Chain()
		return k, nil
	}
	if k.rescaler, err = kernel.NewRescaler(path, prm.RingQ()); err != nil {
		return nil, err
	}
	return k, nil
}

// scratchPoly returns rows enough for any rescale (see kernel.Rescaler.Rescale).
func (ev *evaluation) scratchPoly() ring.Poly { return ev.pool.poly(ev.params.MaxLevel() + 1) }

// rescaleInto sets out to in divided by its last n primes (a copy if n is 0).
func (ev *evaluation) rescaleInto(out, in, buf ring.Poly, n int) {
	level := in.Level()
	if n == 0 {
		for i := range level + 1 {
			copy(out.Coeffs[i], in.Coeffs[i])
		}
		return
	}
	ev.kernels.rescaler.Rescale(out.Coeffs[:level-n+1], in.Coeffs, buf.Coeffs, n)
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
	rows    []kernel.Row
	// matrix is rows prepared for the plan's kernel path and moduli.
	matrix *kernel.Linear
	logW   int
	bias   [][]uint64 // [limb][output]
	level  int
	degree int
	// outScale is the scale of the outputs before rescaling.
	outScale rlwe.Scale
	bound    float64
	// rescales divides the outputs by that many primes.
	rescales int
	// keep leaves the inputs to the caller: they are shared by the chunks of a
	// segment (see segmentStep).
	keep bool
}

// blockSize is the number of coefficients one task computes: the kernel streams every
// input row through a block of outputs, and blockSize keeps a block of all the inputs
// (845 rows of 1 KiB for the shipped model) in the core's L2 cache.
const blockSize = 128

// spanSize is the number of coefficients of every input copied side by side at a
// time (see linearStep.evaluate): 845 inputs take 14 MiB.
const spanSize = 2048

func (s *linearStep) info() packing.Step {
	n := 0
	for _, r := range s.rows {
		for _, w := range r.Weights {
			if w != 0 {
				n++
			}
		}
	}
	return packing.Step{Kind: "linear", Inputs: s.inputs, Outputs: s.outputs, Weights: n, WeightLogScale: s.logW,
		Rescales: s.rescales, Level: s.level - s.rescales, Degree: s.degree, LogScale: packing.Log2(s.outScale), Bound: s.bound}
}

func (s *linearStep) hash(h hash.Hash) {
	hashInts(h, 1, int64(s.inputs), int64(s.logW), int64(s.rescales))
	for j, r := range s.rows {
		hashInts(h, int64(j), int64(len(r.Index)))
		for t := range r.Index {
			hashInts(h, int64(r.Index[t]), r.Weights[t])
		}
		for _, b := range s.bias {
			hashInts(h, int64(b[j]))
		}
	}
}

func (s *linearStep) apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	return s.evaluate(ev, in, false)
}

// evaluate computes the step's outputs from in or, if squared, from the tensor
// squares of in (see squaredLinearStep).
func (s *linearStep) evaluate(ev *evaluation, in []*rlwe.Ciphertext, squared bool) ([]*rlwe.Ciphertext, error) {
	if len(in) != s.inputs {
		return nil, errs.New(errs.ErrInternal, "linear step: %d inputs, want %d", len(in), s.inputs)
	}
	n := ev.params.N()
	blocks := (n + blockSize - 1) / blockSize
	limbs := s.level + 1
	polys := s.degree + 1
	inDegree := s.degree
	if squared {
		inDegree = s.degree / 2
	}
	if d := in[0].Degree(); d != inDegree || squared && 2*d != s.degree {
		return nil, errs.New(errs.ErrInternal, "linear step: inputs of degree %d, want %d", d, inDegree)
	}
	// The outputs get their rows limb by limb, from the rows the inputs give back.
	out := make([]*rlwe.Ciphertext, s.outputs)
	for j := range out {
		values := make([]ring.Poly, polys)
		for p := range values {
			values[p] = ring.Poly{Coeffs: make([][]uint64, limbs)}
		}
		out[j] = &rlwe.Ciphertext{Element: rlwe.Element[ring.Poly]{Value: values, MetaData: in[0].MetaData.CopyNew()}}
		out[j].Scale = s.outScale
	}
	// The inputs' coefficients are copied into a slab (or, squared, the components of
	// their squares computed there), one span of one limb of one polynomial at a time,
	// block by block: slab[b] holds block b of every input side by side. A task then
	// reads one contiguous region (rows 2^logN words apart would put block b of every
	// row into the same few cache sets), the copy reads every row sequentially, and a
	// span's slab stays in the last-level cache between the two.
	spanBlocks := min(blocks, spanSize/blockSize)
	slab := ev.slabOf(s.inputs * spanBlocks * blockSize)
	views := make([][2][][]uint64, ev.workers) // per worker: src, dst
	for w := range views {
		views[w] = [2][][]uint64{make([][]uint64, s.inputs), make([][]uint64, s.outputs)}
	}
	for i := range limbs {
		arith := ev.kernels.arith[i]
		for p := range polys {
			for _, ct := range out {
				ct.Value[p].Coeffs[i] = ev.pool.get()
			}
			var bias []uint64
			if p == 0 {
				bias = s.bias[i]
			}
			for b0 := 0; b0 < blocks; b0 += spanBlocks {
				b1 := min(blocks, b0+spanBlocks)
				err := ev.parallel(s.inputs, func(_, t int) {
					x := in[t].Value
					for b := b0; b < b1; b++ {
						lo, hi := b*blockSize, min((b+1)*blockSize, n)
						dst := slab[((b-b0)*s.inputs+t)*blockSize:][:hi-lo]
						if squared {
							squareComponent(arith, dst, inDegree, p, func(q int) []uint64 { return x[q].Coeffs[i][lo:hi] })
						} else {
							copy(dst, x[p].Coeffs[i][lo:hi])
						}
					}
				})
				if err != nil {
					return nil, err
				}
				err = ev.parallel(b1-b0, func(w, k int) {
					lo, hi := (b0+k)*blockSize, min((b0+k+1)*blockSize, n)
					src, dst := views[w][0], views[w][1]
					for t := range src {
						at := (k*s.inputs + t) * blockSize
						src[t] = slab[at : at+hi-lo]
					}
					for j, ct := range out {
						dst[j] = ct.Value[p].Coeffs[i][lo:hi]
					}
					s.matrix.Apply(dst, src, i, bias)
				})
				if err != nil {
					return nil, err
				}
			}
			// Input polynomial q is read last by output polynomial q + polys-1-inDegree
			// (q itself, or the square's component x_q·x_inDegree): its rows go back now.
			if q := p - (polys - inDegree - 1); q >= 0 && !s.keep {
				for _, ct := range in {
					ev.pool.put(ct.Value[q].Coeffs[i])
					ct.Value[q].Coeffs[i] = nil
				}
			}
		}
	}
	if s.rescales > 0 {
		if err := rescaleAll(ev, out, s.rescales); err != nil {
			return nil, err
		}
	}
	return out, nil
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
		buf[w] = ev.scratchPoly()
	}
	out := make([]*rlwe.Ciphertext, len(in))
	err := ev.parallel(len(in), func(w, i int) {
		ct := ev.pool.ciphertext(degree, level-s.rescales, in[i].MetaData)
		ct.Scale = s.scale
		if s.rescales == 0 {
			squareInto(ev.kernels.arith, in[i], ct)
		} else {
			sq := scratch[w]
			squareInto(ev.kernels.arith, in[i], sq)
			for k := range sq.Value {
				ev.rescaleInto(ct.Value[k], sq.Value[k], buf[w], s.rescales)
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

// squareInto writes the tensor square of ct into out (at ct's level):
// out_k = Σ_{i+j=k} ct_i·ct_j, the cross terms doubled.
func squareInto(arith []kernel.Arith, ct, out *rlwe.Ciphertext) {
	forSpans(ct.Value[0].N(), ct.Level(), func(sp span) { sp.square(arith[sp.l], ct, out) })
}

// rescaleAll divides every ciphertext by its last n primes, in place.
func rescaleAll(ev *evaluation, cts []*rlwe.Ciphertext, n int) error {
	buf := make([]ring.Poly, ev.workers)
	for w := range buf {
		buf[w] = ev.scratchPoly()
	}
	err := ev.parallel(len(cts), func(w, i int) {
		ct := cts[i]
		level := ct.Level()
		for _, p := range ct.Value {
			ev.rescaleInto(p, p, buf[w], n)
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
