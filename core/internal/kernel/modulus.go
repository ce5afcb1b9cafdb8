package kernel

import (
	"math/big"

	"github.com/cryptonets/cryptonets/core/errs"
)

// Modulus is an odd modulus q < 2^62 with the constants the kernels reduce by.
type Modulus struct {
	q uint64
	// c is what the assembly kernels read (see the consts* offsets in _asm).
	c modConsts
}

// modConsts are the constants of a modulus in the order the assembly reads them
// (the offsets are in _asm/main.go); the four-lane copies are AVX2 operands.
type modConsts struct {
	q        uint64
	qInv     float64 // 1/q, rounded
	r52      uint64  // 2^52 mod q
	r52Shoup uint64  // ⌊r52·2^52/q⌋, for products by r52 with 52-bit multiplies
	q4       [4]uint64
	qLess4   [4]uint64 // q-1
	qHigh4   [4]uint64 // q>>32
	qInv4    [4]float64
	// 2^-12 and 2^-64 mod q with their Shoup constants: a Montgomery product
	// a·b·2^-64 is (a·b mod 2^52)·2^-64 + ⌊a·b/2^52⌋·2^-12.
	mont12, mont12Shoup uint64
	mont64, mont64Shoup uint64
}

// ifmaBits bounds the moduli of the 52-bit multiply-add kernels: with q < 2^50,
// lazily reduced values below 4q still fit in 52 bits.
const ifmaBits = 50

// NewModulus prepares q, an odd modulus of 2 to 61 bits.
func NewModulus(q uint64) (Modulus, error) {
	if q < 3 || q%2 == 0 || q >= 1<<61 {
		return Modulus{}, errs.New(errs.ErrUnsupported, "kernel: modulus %d is not an odd number of 2 to 61 bits", q)
	}
	r52 := (1 << 52) % q
	shoup := new(big.Int).Lsh(new(big.Int).SetUint64(r52), 52)
	shoup.Quo(shoup, new(big.Int).SetUint64(q))
	m := Modulus{q: q, c: modConsts{q: q, qInv: 1 / float64(q), r52: r52}}
	for i := range 4 {
		m.c.q4[i], m.c.qLess4[i], m.c.qHigh4[i], m.c.qInv4[i] = q, q-1, q>>32, m.c.qInv
	}
	if q < 1<<ifmaBits {
		qb := new(big.Int).SetUint64(q)
		inv := func(bits uint) uint64 {
			return new(big.Int).ModInverse(new(big.Int).Lsh(big.NewInt(1), bits), qb).Uint64()
		}
		m.c.mont12, m.c.mont64 = inv(12), inv(64)
		m.c.mont12Shoup, m.c.mont64Shoup = shoup52(m.c.mont12, q), shoup52(m.c.mont64, q)
	}
	if shoup.IsUint64() {
		m.c.r52Shoup = shoup.Uint64()
	}
	return m, nil
}

// Q returns the modulus.
func (m Modulus) Q() uint64 { return m.q }

// ifma reports whether the 52-bit multiply-add kernels can work modulo m.
func (m Modulus) ifma() bool { return m.q < 1<<ifmaBits }

// reduceLazy returns v minus a multiple of q, in (-2q, 2q): the quotient comes from a
// float64 product whose error is far below one for |v| < 2^63, so no integer
// division is needed.
func (m Modulus) reduceLazy(v int64) int64 {
	return v - int64(float64(v)*m.c.qInv)*int64(m.q)
}

// reduce returns v mod q in [0, q).
func (m Modulus) reduce(v int64) uint64 {
	r := m.reduceLazy(v)
	if r < 0 {
		r += int64(m.q)
	}
	if r < 0 {
		r += int64(m.q)
	}
	for r >= int64(m.q) {
		r -= int64(m.q)
	}
	return uint64(r)
}

// residue returns w mod q in [0, q) for any int64 w.
func (m Modulus) residue(w int64) uint64 {
	r := w % int64(m.q)
	if r < 0 {
		r += int64(m.q)
	}
	return uint64(r)
}
