package batch

import (
	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// span is a range [lo, hi) of the coefficients of limb l. Steps that chain several
// element-wise operations on one ciphertext (squares, products, a polynomial's sum,
// a monitor's terms) run them span by span: a span of every row involved stays in
// the core's cache from one operation to the next, where whole rows (N words each,
// a dozen of them) would go to memory and back between operations.
type span struct{ l, lo, hi int }

// spanCoeffs is the length of a span: a dozen rows' spans take about 100 KiB.
const spanCoeffs = 1024

// forSpans calls f for every span of rows of n coefficients, limbs 0 to level.
func forSpans(n, level int, f func(sp span)) {
	for l := range level + 1 {
		for lo := 0; lo < n; lo += spanCoeffs {
			f(span{l, lo, min(n, lo+spanCoeffs)})
		}
	}
}

// row returns the span of component k of ct.
func (sp span) row(ct *rlwe.Ciphertext, k int) []uint64 { return ct.Value[k].Coeffs[sp.l][sp.lo:sp.hi] }

// square writes the span of the tensor square of ct into out (see squareComponent).
func (sp span) square(a kernel.Arith, ct, out *rlwe.Ciphertext) {
	d := ct.Degree()
	for k := 0; k <= 2*d; k++ {
		squareComponent(a, sp.row(out, k), d, k, func(i int) []uint64 { return sp.row(ct, i) })
	}
}

// squareComponent writes component k of the tensor square of a degree-d ciphertext
// into dst: Σ_{i+j=k} x_i·x_j, the cross terms doubled, where x(i) returns the
// coefficients of component i that dst's match.
func squareComponent(a kernel.Arith, dst []uint64, d, k int, x func(i int) []uint64) {
	written := false
	for i := max(0, k-d); 2*i < k; i++ {
		if written {
			a.MulAdd(dst, x(i), x(k-i))
		} else {
			a.Mul(dst, x(i), x(k-i))
			written = true
		}
	}
	if written {
		a.Add(dst, dst, dst)
	}
	if k%2 == 0 {
		if written {
			a.MulAdd(dst, x(k/2), x(k/2))
		} else {
			a.Mul(dst, x(k/2), x(k/2))
		}
	}
}

// tensor writes the span of the tensor product of x and y into out:
// out_k = Σ_{i+j=k} x_i·y_j.
func (sp span) tensor(a kernel.Arith, x, y, out *rlwe.Ciphertext) {
	dx, dy := x.Degree(), y.Degree()
	for k := 0; k <= dx+dy; k++ {
		dst := sp.row(out, k)
		for i := max(0, k-dy); i <= min(k, dx); i++ {
			if i == max(0, k-dy) {
				a.Mul(dst, sp.row(x, i), sp.row(y, k-i))
			} else {
				a.MulAdd(dst, sp.row(x, i), sp.row(y, k-i))
			}
		}
	}
}

// combine sets the span of out to Σ_k terms[k]·powers[k] + constant: the scaled sum
// of a polynomial's powers (terms[k][l] is the integer that lifts x^k modulo prime l,
// constant[l] the constant term; powers without terms are skipped). A power of lower
// degree adds to out's first components only.
func (sp span) combine(a kernel.Arith, out *rlwe.Ciphertext, powers []*rlwe.Ciphertext, terms [][]kernel.Constant, constant []uint64) {
	for j := range out.Value {
		dst := sp.row(out, j)
		clear(dst)
		for k, x := range powers {
			if x != nil && terms[k] != nil && j < len(x.Value) {
				a.MulConstAdd(dst, sp.row(x, j), terms[k][sp.l])
			}
		}
		if j == 0 {
			a.ReduceAdd(dst, dst, constant[sp.l])
		}
	}
}
