package kernel

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
)

// KeySwitch is key switching with one special prime P on the kernels: Lattigo's
// hybrid key switching with one prime of Q per digit. A polynomial modulo Q is
// decomposed into one digit per prime (its residues, lifted to centred integers,
// modulo every prime of QP), the digits are multiplied by the polynomials of a key
// (in Montgomery form, as Lattigo keeps keys) and summed modulo QP, and the sums are
// divided by P, rounded to the nearest integer. Its chain holds the primes of Q, then
// P. It is read-only after NewKeySwitch and safe for concurrent use.
type KeySwitch struct {
	chain *Rescaler
	nq    int // the number of primes of Q; P is prime nq of the chain
	// pModQ[i] is P modulo q_i.
	pModQ []Constant
}

// NewKeySwitch prepares key switching for path p in the ring of degree n and type t
// (conjugate-invariant: the NTT kernels' ring) with the primes q and the special
// prime special.
func NewKeySwitch(p Path, n int, q []uint64, special uint64, t ring.Type) (*KeySwitch, error) {
	r, err := ring.NewRingFromType(n, append(append([]uint64(nil), q...), special), t)
	if err != nil {
		return nil, errs.New(errs.ErrUnsupported, "kernel: key switching: %w", err)
	}
	k := &KeySwitch{nq: len(q)}
	if k.chain, err = NewRescaler(p, r); err != nil {
		return nil, err
	}
	for i, qi := range q {
		k.pModQ = append(k.pModQ, k.chain.Arith(i).Constant(special%qi))
	}
	return k, nil
}

// Chain returns the transforms and arithmetic of the primes of Q (0 … len(q)−1), then
// P (Special).
func (k *KeySwitch) Chain() *Rescaler { return k.chain }

// Special returns the index of P in the chain.
func (k *KeySwitch) Special() int { return k.nq }

// PModQ returns P modulo q_i, prepared as a factor.
func (k *KeySwitch) PModQ(i int) Constant { return k.pModQ[i] }

// Digit sets digit (its Q rows up to level, and its P row) to digit i of a polynomial
// at that level: coeffs is the polynomial's row i in the coefficient domain, ntt the
// same row in the NTT domain. The digit is in the NTT domain.
func (k *KeySwitch) Digit(digit ringqp.Poly, level, i int, coeffs, ntt []uint64) {
	from := k.chain.Arith(i).Modulus()
	for l := range level + 1 {
		if l == i {
			copy(digit.Q.Coeffs[l], ntt)
			continue
		}
		k.chain.Arith(l).Lift(digit.Q.Coeffs[l], coeffs, from)
		k.chain.NTT(l).Forward(digit.Q.Coeffs[l], digit.Q.Coeffs[l])
	}
	k.chain.Arith(k.nq).Lift(digit.P.Coeffs[0], coeffs, from)
	k.chain.NTT(k.nq).Forward(digit.P.Coeffs[0], digit.P.Coeffs[0])
}

// MulAddQP sets out_o = Σ_i a_oi ⊙ b_i modulo QP for o = 0, 1 (Montgomery products:
// keys and encoded diagonals are in Montgomery form), over the Q rows up to level and
// the P rows up to levelP, plus out_o's own value if accumulate; the results are
// reduced. Each b_i is read once for both outputs.
func (k *KeySwitch) MulAddQP(level, levelP int, out [2]ringqp.Poly, a [2][]ringqp.Poly, b []ringqp.Poly, accumulate bool) {
	terms := make([][]uint64, 3*len(b))
	for l := range level + 1 {
		for i := range b {
			terms[3*i], terms[3*i+1], terms[3*i+2] = a[0][i].Q.Coeffs[l], a[1][i].Q.Coeffs[l], b[i].Q.Coeffs[l]
		}
		k.chain.Arith(l).MontgomeryDot(out[0].Q.Coeffs[l], out[1].Q.Coeffs[l], terms, accumulate)
	}
	for l := range levelP + 1 {
		for i := range b {
			terms[3*i], terms[3*i+1], terms[3*i+2] = a[0][i].P.Coeffs[l], a[1][i].P.Coeffs[l], b[i].P.Coeffs[l]
		}
		k.chain.Arith(k.nq+l).MontgomeryDot(out[0].P.Coeffs[l], out[1].P.Coeffs[l], terms, accumulate)
	}
}

// DivideByPThenAdd sets dst += x / P (rounded) for the Q rows of dst up to level, where
// x is the polynomial modulo QP whose Q rows up to level and P row are acc's; acc's Q
// rows are overwritten. buf holds two scratch rows.
func (k *KeySwitch) DivideByPThenAdd(dst [][]uint64, acc ringqp.Poly, level int, buf [][]uint64) {
	primes := make([]int, level+2)
	for i := range primes {
		primes[i] = i
	}
	primes[level+1] = k.nq
	rows := append(acc.Q.Coeffs[:level+1:level+1], acc.P.Coeffs[0])
	k.chain.DivideByLast(rows[:level+1], rows, primes, buf)
	for l := range level + 1 {
		k.chain.Arith(l).Add(dst[l], dst[l], acc.Q.Coeffs[l])
	}
}

// RelinearizationRows returns the number of scratch rows Relinearize needs at level:
// the last polynomial in the coefficient domain, its digits, the two sums modulo QP
// and two rows for the division by P.
func RelinearizationRows(level int) int {
	return (level + 1) + (level+1)*(level+2) + 2*(level+2) + 2
}

// Relinearize turns the degree-2 ciphertext (c0, c1, c2), NTT domain, rows up to
// level, into the degree-1 ciphertext (c0, c1) + (c2 keyswitched by rlk), in place in
// c0 and c1; c2 is left as it was. scratch holds RelinearizationRows(level) rows of
// the ring's degree. The key must have one special prime, no base-two decomposition,
// and at least level+1 digits and limbs.
func (k *KeySwitch) Relinearize(c0, c1, c2 [][]uint64, level int, rlk *rlwe.RelinearizationKey, scratch [][]uint64) error {
	if err := k.checkKey(rlk, level); err != nil {
		return err
	}
	if len(scratch) < RelinearizationRows(level) || len(c0) <= level || len(c1) <= level || len(c2) <= level {
		panic(fmt.Sprintf("kernel: relinearizing at level %d with %d, %d, %d rows and %d scratch rows", level, len(c0), len(c1), len(c2), len(scratch)))
	}
	take := func(n int) [][]uint64 {
		rows := scratch[:n:n]
		scratch = scratch[n:]
		return rows
	}
	qp := func() ringqp.Poly {
		return ringqp.Poly{Q: ring.Poly{Coeffs: take(level + 1)}, P: ring.Poly{Coeffs: take(1)}}
	}
	inv := take(level + 1)
	digits := make([]ringqp.Poly, level+1)
	var keys [2][]ringqp.Poly
	for i := range digits {
		digits[i] = qp()
		keys[0] = append(keys[0], rlk.Value[i][0][0])
		keys[1] = append(keys[1], rlk.Value[i][0][1])
	}
	acc := [2]ringqp.Poly{qp(), qp()}
	buf := take(2)
	for l := range level + 1 {
		k.chain.NTT(l).Inverse(inv[l], c2[l])
	}
	for i := range digits {
		k.Digit(digits[i], level, i, inv[i], c2[i])
	}
	k.MulAddQP(level, 0, acc, keys, digits, false)
	k.DivideByPThenAdd(c0, acc[0], level, buf)
	k.DivideByPThenAdd(c1, acc[1], level, buf)
	return nil
}

// checkKey reports whether rlk has the shape Relinearize reads at level.
func (k *KeySwitch) checkKey(rlk *rlwe.RelinearizationKey, level int) error {
	if rlk == nil || len(rlk.Value) < level+1 {
		return errs.New(errs.ErrMismatch, "kernel: the relinearization key has too few digits for level %d", level)
	}
	n := k.chain.NTT(0).N()
	for i := range level + 1 {
		if len(rlk.Value[i]) != 1 || len(rlk.Value[i][0]) != 2 {
			return errs.New(errs.ErrMismatch, "kernel: the relinearization key has a base-two decomposition, or digits of other than two polynomials")
		}
		for _, p := range rlk.Value[i][0] {
			if p.Q.Level() < level || p.P.Level() != 0 {
				return errs.New(errs.ErrMismatch, "kernel: the relinearization key does not have one special prime and %d primes", level+1)
			}
			for _, row := range append(p.Q.Coeffs[:level+1:level+1], p.P.Coeffs[0]) {
				if len(row) != n {
					return errs.New(errs.ErrMismatch, "kernel: the relinearization key has rows of %d coefficients, want %d", len(row), n)
				}
			}
		}
	}
	return nil
}
