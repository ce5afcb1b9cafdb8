package single

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/utils/bignum"
)

// polyStep is a fitted polynomial activation (model.Polynomial, made by the
// conversion from ReLU, sigmoid, tanh, GELU or SiLU). The change of variable
// t = s·x + c maps the fit's interval onto [−1, 1] (a plaintext product and a rescale:
// one level), then Lattigo's polynomial evaluator computes the polynomial in the
// Chebyshev basis in ⌈log2(degree+1)⌉ levels. The Chebyshev form interpolates the
// fitted polynomial at degree+1 nodes, so it is the same polynomial everywhere, inside
// the interval or not.
type polyStep struct {
	scale  *rlwe.Plaintext // s in every slot, at scale q_l
	offset float64         // c
	cheb   bignum.Polynomial
	// level is the level of the result.
	level int
}

// polyDegree is the degree single-image packing evaluates p at (at least 1).
func polyDegree(p *model.Polynomial) int { return max(p.Degree(), 1) }

// polyLevels is the number of levels a polynomial activation takes here: one for
// the change of variable to [-1, 1], then ⌈log2(degree+1)⌉ for Lattigo's evaluation
// in the Chebyshev basis — one more than the polynomial's depth (Polynomial.Depth)
// when the degree is a power of two.
func polyLevels(p *model.Polynomial) int { return 1 + bits.Len(uint(polyDegree(p))) }

// compilePoly plans a polynomial activation on a ciphertext at the given level.
func compilePoly(prm hefloat.Parameters, ecd *hefloat.Encoder, p *model.Polynomial, level int) (*polyStep, error) {
	a, b := p.Interval[0], p.Interval[1]
	if !(b > a) || math.IsInf(b-a, 0) {
		return nil, errs.New(errs.ErrUnsupported, "polynomial activation: bad interval [%g, %g]", a, b)
	}
	d := polyDegree(p)
	cheb := bignum.ChebyshevApproximation(p.Apply, bignum.Interval{Nodes: d + 1, A: *big.NewFloat(a), B: *big.NewFloat(b)})
	s, c := cheb.ChangeOfBasis()
	sf, _ := s.Float64()
	cf, _ := c.Float64()
	pt := hefloat.NewPlaintext(prm, level)
	pt.Scale = rlwe.NewScale(prm.Q()[level])
	if err := ecd.Encode(filled(prm.MaxSlots(), sf), pt); err != nil {
		return nil, fmt.Errorf("polynomial activation: encoding the change of variable: %w", err)
	}
	return &polyStep{scale: pt, offset: cf, cheb: cheb, level: level - polyLevels(p)}, nil
}

// polyBound bounds |p(x)| for |x| ≤ b: Σ |c_k|·b^k.
func polyBound(p *model.Polynomial, b float64) float64 {
	sum, pow := 0.0, 1.0
	for _, c := range p.Coeffs {
		sum += math.Abs(c) * pow
		pow *= b
	}
	return sum
}

// evaluatePoly applies the activation to ct and returns the result at the planned
// level and at ct's scale.
func (p *Plan) evaluatePoly(eval *hefloat.Evaluator, s *polyStep, ct *rlwe.Ciphertext) (*rlwe.Ciphertext, error) {
	scale := ct.Scale
	t := hefloat.NewCiphertext(p.params, 1, ct.Level())
	if err := eval.Mul(ct, s.scale, t); err != nil {
		return nil, err
	}
	if err := eval.Add(t, s.offset, t); err != nil {
		return nil, err
	}
	if err := eval.Rescale(t, t); err != nil {
		return nil, err
	}
	out, err := hefloat.NewPolynomialEvaluator(p.params, eval).Evaluate(t, s.cheb, scale)
	if err != nil {
		return nil, err
	}
	if out.Level() < s.level {
		return nil, errs.New(errs.ErrInternal, "the polynomial left level %d, the plan expects %d", out.Level(), s.level)
	}
	eval.DropLevel(out, out.Level()-s.level)
	return out, nil
}
