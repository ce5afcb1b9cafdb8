package kernel

import (
	"fmt"

	"github.com/tuneinsight/lattigo/v5/ring"
)

// Arith is element-wise arithmetic modulo one prime, prepared for one path. Every
// operand is reduced (below q) unless a method says otherwise, every result is in
// [0, q), and dst may be any operand.
type Arith struct {
	m      Modulus
	brc    []uint64 // Lattigo's Barrett constants, for the pure-Go path
	mrc    uint64   // Lattigo's Montgomery constant
	vector bool
}

// NewArith prepares element-wise arithmetic modulo m for path p.
func NewArith(p Path, m Modulus) Arith {
	return Arith{m: m, brc: ring.BRedConstant(m.q), mrc: ring.MRedConstant(m.q), vector: p == AVX512 && m.ifma()}
}

// Modulus returns the prime.
func (a Arith) Modulus() Modulus { return a.m }

// vectorLen returns how many leading coefficients of n the vector kernels take.
func (a Arith) vectorLen(n int) int {
	if !a.vector {
		return 0
	}
	return n &^ 7
}

func checkLen(n int, rows ...[]uint64) {
	for _, r := range rows {
		if len(r) != n {
			panic(fmt.Sprintf("kernel: element-wise operation on rows of %d and %d coefficients", n, len(r)))
		}
	}
}

// Mul sets dst = x·y mod q.
func (a Arith) Mul(dst, x, y []uint64) {
	checkLen(len(dst), x, y)
	v := a.vectorLen(len(dst))
	if v > 0 {
		mulModIFMA(&dst[0], &x[0], &y[0], v, &a.m.c.q)
	}
	q := a.m.q
	for i := v; i < len(dst); i++ {
		dst[i] = ring.BRed(x[i], y[i], q, a.brc)
	}
}

// MulAdd sets dst = dst + x·y mod q.
func (a Arith) MulAdd(dst, x, y []uint64) {
	checkLen(len(dst), x, y)
	v := a.vectorLen(len(dst))
	if v > 0 {
		mulAddModIFMA(&dst[0], &x[0], &y[0], v, &a.m.c.q)
	}
	q := a.m.q
	for i := v; i < len(dst); i++ {
		dst[i] = ring.CRed(dst[i]+ring.BRed(x[i], y[i], q, a.brc), q)
	}
}

// Add sets dst = x + y mod q.
func (a Arith) Add(dst, x, y []uint64) {
	checkLen(len(dst), x, y)
	v := a.vectorLen(len(dst))
	if v > 0 {
		addModIFMA(&dst[0], &x[0], &y[0], v, &a.m.c.q)
	}
	q := a.m.q
	for i := v; i < len(dst); i++ {
		dst[i] = ring.CRed(x[i]+y[i], q)
	}
}

// ReduceAdd sets dst = (src mod q) + s mod q for any src below 2^50 and s < q.
func (a Arith) ReduceAdd(dst, src []uint64, s uint64) {
	checkLen(len(dst), src)
	v := a.vectorLen(len(dst))
	if v > 0 {
		reduceAddIFMA(&dst[0], &src[0], v, s, &a.m.c.q)
	}
	q := a.m.q
	for i := v; i < len(dst); i++ {
		dst[i] = ring.CRed(ring.BRedAdd(src[i], q, a.brc)+s, q)
	}
}

// Constant is a factor prepared for products modulo one prime.
type Constant struct {
	w, shoup uint64
}

// Constant prepares w (below q) as a factor.
func (a Arith) Constant(w uint64) Constant { return Constant{w: w, shoup: shoup52(w, a.m.q)} }

// SubMul sets dst = (x − y)·w mod q.
func (a Arith) SubMul(dst, x, y []uint64, w Constant) {
	checkLen(len(dst), x, y)
	v := a.vectorLen(len(dst))
	if v > 0 {
		subMulIFMA(&dst[0], &x[0], &y[0], v, w.w, w.shoup, &a.m.c.q)
	}
	q := a.m.q
	for i := v; i < len(dst); i++ {
		dst[i] = ring.BRed(x[i]+q-y[i], w.w, q, a.brc)
	}
}

// MulConstAdd sets dst = dst + x·w mod q.
func (a Arith) MulConstAdd(dst, x []uint64, w Constant) {
	checkLen(len(dst), x)
	v := a.vectorLen(len(dst))
	if v > 0 {
		mulConstAddIFMA(&dst[0], &x[0], v, w.w, w.shoup, &a.m.c.q)
	}
	q := a.m.q
	for i := v; i < len(dst); i++ {
		dst[i] = ring.CRed(dst[i]+ring.BRed(x[i], w.w, q, a.brc), q)
	}
}

// montDotTerms is the most terms one montDotIFMA call sums: with operands below
// q < 2^50 the high halves of the products then stay below 2^52.
const montDotTerms = 8

// MontgomeryDot sets, for the two outputs o = 0, 1, dst_o = Σ_i a_oi·b_i·2^−64 mod q
// over terms = a_00, a_10, b_0, a_01, a_11, b_1, … (the Montgomery products of Lattigo's
// key switching, whose keys are in Montgomery form: two key polynomials times the same
// digit), plus dst_o's own value if accumulate. Every operand is below q.
func (a Arith) MontgomeryDot(dst0, dst1 []uint64, terms [][]uint64, accumulate bool) {
	if len(terms)%3 != 0 {
		panic("kernel: MontgomeryDot needs triples of rows")
	}
	checkLen(len(dst0), dst1)
	checkLen(len(dst0), terms...)
	if len(terms) == 0 {
		if !accumulate {
			clear(dst0)
			clear(dst1)
		}
		return
	}
	v := 0
	if a.vector {
		v = len(dst0) &^ 31
	}
	if v > 0 {
		for i := 0; i < len(terms); i += 3 * montDotTerms {
			chunk := terms[i:min(len(terms), i+3*montDotTerms)]
			montDotIFMA(&dst0[0], &dst1[0], &chunk[0], len(chunk)/3, v, &a.m.c.q, accumulate || i > 0)
		}
	}
	q := a.m.q
	for j := v; j < len(dst0); j++ {
		var s0, s1 uint64
		if accumulate {
			s0, s1 = dst0[j], dst1[j]
		}
		for i := 0; i < len(terms); i += 3 {
			b := terms[i+2][j]
			s0 = ring.CRed(s0+ring.MRed(terms[i][j], b, q, a.mrc), q)
			s1 = ring.CRed(s1+ring.MRed(terms[i+1][j], b, q, a.mrc), q)
		}
		dst0[j], dst1[j] = s0, s1
	}
}

// Permute sets dst[j] = src[index[j]] for every j, or adds it to dst[j] modulo q if
// accumulate (dst < q): an automorphism of a row in the NTT domain, whose index map is
// a permutation of the row's positions (Lattigo's AutomorphismNTTIndex). dst must not
// overlap src.
func (a Arith) Permute(dst, src []uint64, index []uint64, accumulate bool) {
	checkLen(len(dst), src, index)
	v := a.vectorLen(len(dst))
	if v > 0 {
		if accumulate {
			permuteAddIFMA(&dst[0], &src[0], &index[0], v, &a.m.c.q)
		} else {
			permuteIFMA(&dst[0], &src[0], &index[0], v, &a.m.c.q)
		}
	}
	q := a.m.q
	if !accumulate {
		for j := v; j < len(dst); j++ {
			dst[j] = src[index[j]]
		}
		return
	}
	for j := v; j < len(dst); j++ {
		x := dst[j] + src[index[j]]
		dst[j] = min(x, x-q) // x−q wraps around below q: branch-free reduction
	}
}

// Lift sets dst to src, residues modulo from, lifted to (−from/2, from/2] (a residue r
// at or above ⌊from/2⌋ stands for r − from) and reduced modulo q: the RNS digits of
// Lattigo's key-switching decomposition.
func (a Arith) Lift(dst, src []uint64, from Modulus) {
	checkLen(len(dst), src)
	p, half := from.q, from.q>>1
	v := a.vectorLen(len(dst))
	if v > 0 {
		liftIFMA(&dst[0], &src[0], v, p, half, &a.m.c.q)
	}
	q := a.m.q
	for i := v; i < len(dst); i++ {
		if x := src[i]; x >= half {
			dst[i] = (q - ring.BRedAdd(p-x, q, a.brc)) % q
		} else {
			dst[i] = ring.BRedAdd(x, q, a.brc)
		}
	}
}
