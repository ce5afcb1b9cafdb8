package kernel

import (
	"fmt"

	"github.com/tuneinsight/lattigo/v5/ring"
)

// Rescaler divides NTT-domain polynomials of a conjugate-invariant ring by their last
// primes, rounding to the nearest integer: from p at level L it gives
// round(p/q_L) = (p + h − ((p + h) mod q_L))/q_L with h = (q_L − 1)/2 and the remainder
// taken in [0, q_L), on every path (Lattigo's DivRoundByLastModulusNTT keeps a lazy
// remainder and can round one unit lower). It is safe for concurrent use.
type Rescaler struct {
	ntts  []*NTT
	arith []Arith
	half  []uint64 // half[l] = (q_l − 1)/2
	// halfMod[l][i] = −half[l] mod q_i and inv[l][i] = q_l^−1 mod q_i, for i ≠ l.
	halfMod [][]uint64
	inv     [][]Constant
}

// NewRescaler prepares rescaling in ring r for path p.
func NewRescaler(p Path, r *ring.Ring) (*Rescaler, error) {
	levels := r.ModuliChainLength()
	s := &Rescaler{ntts: make([]*NTT, levels), arith: make([]Arith, levels), half: make([]uint64, levels),
		halfMod: make([][]uint64, levels), inv: make([][]Constant, levels)}
	for l, sub := range r.SubRings {
		var err error
		if s.ntts[l], err = NewNTT(p, sub); err != nil {
			return nil, err
		}
		s.arith[l] = NewArith(p, s.ntts[l].m)
		s.half[l] = (sub.Modulus - 1) / 2
	}
	for l := range levels {
		s.halfMod[l] = make([]uint64, levels)
		s.inv[l] = make([]Constant, levels)
		ql := r.SubRings[l].Modulus
		for i := range levels {
			if i == l {
				continue
			}
			qi := r.SubRings[i].Modulus
			s.halfMod[l][i] = (qi - s.half[l]%qi) % qi
			s.inv[l][i] = s.arith[i].Constant(ring.ModExp(ql%qi, qi-2, qi))
		}
	}
	return s, nil
}

// Rescale sets out[i], i ≤ L−n, to in (NTT domain, limbs 0…L) divided by its last n
// primes. out rows may be in's. buf holds scratch rows of N coefficients: two for
// n = 1, L+2 otherwise.
func (s *Rescaler) Rescale(out, in, buf [][]uint64, n int) {
	level := len(in) - 1
	if n < 1 || n > level || len(out) < level-n+1 || len(buf) < 2 || (n > 1 && len(buf) < level+2) {
		panic(fmt.Sprintf("kernel: rescaling %d limbs by %d primes into %d rows with %d scratch rows", level+1, n, len(out), len(buf)))
	}
	if n == 1 {
		// One division in the NTT domain: one inverse transform and `level` forward ones.
		x, y := buf[0], buf[1]
		s.ntts[level].Inverse(x, in[level])
		s.arith[level].ReduceAdd(x, x, s.half[level])
		for i := range level {
			s.arith[i].ReduceAdd(y, x, s.halfMod[level][i])
			s.ntts[i].Forward(y, y)
			s.arith[i].SubMul(out[i], in[i], y, s.inv[level][i])
		}
		return
	}
	// Several divisions in the coefficient domain.
	for l := range level + 1 {
		s.ntts[l].Inverse(buf[l], in[l])
	}
	y := buf[level+1]
	for l := level; l > level-n; l-- {
		x := buf[l]
		s.arith[l].ReduceAdd(x, x, s.half[l])
		for i := range l {
			s.arith[i].ReduceAdd(y, x, s.halfMod[l][i])
			s.arith[i].SubMul(buf[i], buf[i], y, s.inv[l][i])
		}
	}
	for i := range level - n + 1 {
		s.ntts[i].Forward(out[i], buf[i])
	}
}

// NTT returns the transform modulo prime i of the ring.
func (s *Rescaler) NTT(i int) *NTT { return s.ntts[i] }

// Arith returns the element-wise arithmetic modulo prime i of the ring.
func (s *Rescaler) Arith(i int) Arith { return s.arith[i] }

// DivideByLast sets out[k] = round(x / m) modulo the prime of in[k], for every row but
// the last, where x is the polynomial whose rows in are (NTT domain), row k modulo the
// ring's prime primes[k], and m is the prime of the last row: key switching's division
// by a special prime (a rescale by a prime that need not be the last of the chain).
// out rows may be in's; buf holds two scratch rows.
func (s *Rescaler) DivideByLast(out, in [][]uint64, primes []int, buf [][]uint64) {
	last := len(in) - 1
	if len(primes) != len(in) || len(out) < last || len(buf) < 2 {
		panic(fmt.Sprintf("kernel: dividing %d rows (%d primes) into %d rows with %d scratch rows", len(in), len(primes), len(out), len(buf)))
	}
	m := primes[last]
	x, y := buf[0], buf[1]
	s.ntts[m].Inverse(x, in[last])
	s.arith[m].ReduceAdd(x, x, s.half[m])
	for k, i := range primes[:last] {
		s.arith[i].ReduceAdd(y, x, s.halfMod[m][i])
		s.ntts[i].Forward(y, y)
		s.arith[i].SubMul(out[k], in[k], y, s.inv[m][i])
	}
}
