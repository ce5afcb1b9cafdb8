package kernel

import (
	"fmt"
	"math/bits"
	"sync"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/tuneinsight/lattigo/v5/ring"
)

// NTT is the number-theoretic transform modulo one prime of a conjugate-invariant
// ring, exactly Lattigo's (same roots, canonical outputs in [0, q)), prepared for one
// path. The pure-Go path is Lattigo's own transform; the AVX-512 path runs Shoup
// butterflies on 52-bit multiply-adds for primes below 2^50, whose tables it builds
// on the first transform in each direction (a client only transforms forward). It is
// safe for concurrent use.
type NTT struct {
	sub *ring.SubRing
	n   int
	m   Modulus
	// vector says the AVX-512 kernels run; the tables below are theirs.
	vector bool
	// fwd and bwd are the roots of each direction.
	fwd, bwd roots
	// nInv is Lattigo's final scaling of the inverse transform, with its constant.
	nInv, nInvShoup uint64
}

// roots are the roots of one direction in plain form (not Montgomery) and their
// Shoup constants ⌊w·2^52/q⌋, in compact tables of n entries (see compact), built
// once from Lattigo's.
type roots struct {
	once  sync.Once
	w, ws []uint64
}

// of returns the tables, building them from Lattigo's Montgomery-form roots the first
// time.
func (r *roots) of(t *NTT, montgomery []uint64) *roots {
	r.once.Do(func() {
		s := t.sub
		r.w, r.ws = make([]uint64, t.n), make([]uint64, t.n)
		for i := range t.n {
			r.w[i] = ring.IMForm(montgomery[compact(i)], s.Modulus, s.MRedConstant)
			r.ws[i] = shoup52(r.w[i], t.m.q)
		}
	})
	return r
}

// NewNTT prepares the transform of the conjugate-invariant subring s for path p.
func NewNTT(p Path, s *ring.SubRing) (*NTT, error) {
	if !Supported(p) {
		return nil, errs.New(errs.ErrUnsupported, "kernel: the %s path is not supported on this processor", p)
	}
	if s.Type() != ring.ConjugateInvariant {
		return nil, errs.New(errs.ErrUnsupported, "kernel: the NTT kernels are for conjugate-invariant rings")
	}
	m, err := NewModulus(s.Modulus)
	if err != nil {
		return nil, err
	}
	t := &NTT{sub: s, n: s.N, m: m}
	if p != AVX512 || !m.ifma() || t.n < 16 {
		return t, nil
	}
	t.vector = true
	t.nInv = ring.IMForm(s.NInv, s.Modulus, s.MRedConstant)
	t.nInvShoup = shoup52(t.nInv, s.Modulus)
	return t, nil
}

// compact returns the index in Lattigo's table of entry i of the kernels' (see _asm):
// a conjugate-invariant transform of length n reads root 1, and at each stage
// m = 2, 4, … n roots m … m + m/2 − 1 only, half of Lattigo's 2n. Entry 0 is root 1;
// entries m/2 … m − 1 are roots m … m + m/2 − 1, so that index arithmetic by
// doubling and halving carries over from Lattigo's order.
func compact(i int) int {
	if i == 0 {
		return 1
	}
	return i + 1<<(bits.Len(uint(i))-1)
}

// shoup52 returns ⌊w·2^52/q⌋ for w < q.
func shoup52(w, q uint64) uint64 {
	quo, _ := bits.Div64(w>>12, w<<52, q)
	return quo
}

// mulMod returns a·b mod q.
func mulMod(a, b, q uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return bits.Rem64(hi, lo, q)
}

// N returns the transform's length.
func (t *NTT) N() int { return t.n }

// Forward sets dst to the NTT of src (coefficients below q); dst may be src.
func (t *NTT) Forward(dst, src []uint64) {
	t.check(dst, src)
	if !t.vector {
		t.sub.NTT(src, dst)
		return
	}
	r := t.fwd.of(t, t.sub.RootsForward)
	nttFoldIFMA(&dst[0], &src[0], t.n, &r.w[0], &r.ws[0], &t.m.c.q)
	t.foldEdges(dst, src, r.w[0])
	dst[0] = src[0]
	nttForwardStagesIFMA(&dst[0], t.n, &r.w[0], &r.ws[0], &t.m.c.q)
	nttForwardLastIFMA(&dst[0], t.n, &r.w[0], &r.ws[0], &t.m.c.q)
}

// Inverse sets dst to the inverse NTT of src (values below q); dst may be src.
func (t *NTT) Inverse(dst, src []uint64) {
	t.check(dst, src)
	if !t.vector {
		t.sub.INTT(src, dst)
		return
	}
	r := t.bwd.of(t, t.sub.RootsBackward)
	copy(dst, src)
	nttInverseFirstIFMA(&dst[0], t.n, &r.w[0], &r.ws[0], &t.m.c.q)
	nttInverseStagesIFMA(&dst[0], t.n, &r.w[0], &r.ws[0], &t.m.c.q)
	nttFoldIFMA(&dst[0], &dst[0], t.n, &r.w[0], &r.ws[0], &t.m.c.q)
	t.foldEdges(dst, dst, r.w[0])
	dst[0] <<= 1
	mulShoupIFMA(&dst[0], t.n, t.nInv, t.nInvShoup, &t.m.c.q)
}

// foldEdges runs the conjugate-invariant stage on the coefficients the vector kernel
// leaves: 1 ≤ j < 8 with their mirrors n−j, and n/2 (see nttFoldIFMA).
func (t *NTT) foldEdges(dst, src []uint64, w uint64) {
	q, n := t.m.q, t.n
	for j := 1; j < min(8, n/2); j++ {
		a, b := src[j], src[n-j]
		dst[j] = a + 2*q - mulMod(b, w, q)
		dst[n-j] = b + 2*q - mulMod(a, w, q)
	}
	dst[n/2] = src[n/2] + 2*q - mulMod(src[n/2], w, q)
}

func (t *NTT) check(dst, src []uint64) {
	if len(dst) < t.n || len(src) < t.n {
		panic(fmt.Sprintf("kernel: NTT of length %d on slices of %d and %d", t.n, len(src), len(dst)))
	}
}
