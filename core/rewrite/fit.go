package rewrite

import (
	"math"

	"github.com/cryptonets/cryptonets/core/errs"
)

// Sizes of the polynomial fits: a uniform fit samples the interval at fitPoints
// equally spaced points (a discrete stand-in for the continuous L² fit); a data fit
// counts the calibration values in dataBins equal bins of the interval and adds an even
// floor, floorWeight of the total spread over all bins, so that the fit is defined
// where no value lies and its tails stay in check. The fit error is measured on
// errorPoints equally spaced points.
const (
	fitPoints   = 4001
	dataBins    = 4096
	floorWeight = 1e-3
	errorPoints = 20001
)

// sample is a point of a least-squares fit and its weight.
type sample struct{ x, w float64 }

// uniformSamples weighs equally spaced points of [lo, hi] equally.
func uniformSamples(lo, hi float64) []sample {
	s := make([]sample, fitPoints)
	for i := range s {
		s[i] = sample{x: lerp(lo, hi, i, fitPoints), w: 1}
	}
	return s
}

// dataSamples weighs the centre of each of dataBins bins of [lo, hi] by the number of
// values in it (values outside count in the first or last bin), plus the floor.
func dataSamples(values [][]float64, lo, hi float64) []sample {
	counts := make([]float64, dataBins)
	total := 0.0
	for _, v := range values {
		for _, x := range v {
			k := int(math.Floor((x - lo) / (hi - lo) * dataBins))
			counts[min(max(k, 0), dataBins-1)]++
			total++
		}
	}
	s := make([]sample, dataBins)
	for k, c := range counts {
		s[k] = sample{x: lo + (hi-lo)*(float64(k)+0.5)/dataBins, w: c/total + floorWeight/dataBins}
	}
	return s
}

// fit is a polynomial fitted to a function over an interval.
type fit struct {
	// coeffs are the monomial coefficients, coeffs[k] of x^k.
	coeffs []float64
	// maxErr is the largest |p(x) − f(x)| on the error grid.
	maxErr float64
}

// fitPolynomial fits a polynomial of the given degree to f over [lo, hi] by weighted
// least squares on the samples, which lie in [lo, hi]. It works in the Chebyshev basis
// of t = (2x − lo − hi)/(hi − lo) ∈ [−1, 1], which keeps the problem well conditioned,
// and returns monomial coefficients in x.
func fitPolynomial(f func(float64) float64, lo, hi float64, degree int, samples []sample) (fit, error) {
	if !(lo < hi) || math.IsInf(hi-lo, 0) {
		return fit{}, errs.New(errs.ErrInvalidArgument, "invalid interval [%g, %g]", lo, hi)
	}
	alpha, beta := 2/(hi-lo), -(lo+hi)/(hi-lo) // t = alpha·x + beta
	rows := make([][]float64, len(samples))
	ys := make([]float64, len(samples))
	for i, s := range samples {
		sw := math.Sqrt(s.w)
		rows[i] = chebyshevRow(alpha*s.x+beta, degree)
		for j := range rows[i] {
			rows[i][j] *= sw
		}
		ys[i] = sw * f(s.x)
	}
	cheb, err := leastSquares(rows, ys)
	if err != nil {
		return fit{}, err
	}
	coeffs := substitute(chebyshevToMonomial(cheb), alpha, beta)
	maxErr := 0.0
	for i := range errorPoints {
		x := lerp(lo, hi, i, errorPoints)
		maxErr = math.Max(maxErr, math.Abs(horner(coeffs, x)-f(x)))
	}
	if !allFinite(coeffs) || math.IsNaN(maxErr) || math.IsInf(maxErr, 0) {
		return fit{}, errs.New(errs.ErrInvalidArgument, "the fit over [%g, %g] is not finite", lo, hi)
	}
	return fit{coeffs: coeffs, maxErr: maxErr}, nil
}

// lerp returns point i of n equally spaced points from lo to hi (both included).
func lerp(lo, hi float64, i, n int) float64 {
	if i == n-1 {
		return hi
	}
	return lo + (hi-lo)*float64(i)/float64(n-1)
}

// chebyshevRow returns T_0(t), …, T_degree(t).
func chebyshevRow(t float64, degree int) []float64 {
	row := make([]float64, degree+1)
	row[0] = 1
	if degree > 0 {
		row[1] = t
	}
	for k := 2; k <= degree; k++ {
		row[k] = 2*t*row[k-1] - row[k-2]
	}
	return row
}

// chebyshevToMonomial turns Σ c_k·T_k(t) into monomial coefficients in t.
func chebyshevToMonomial(c []float64) []float64 {
	out := make([]float64, len(c))
	prev, cur := []float64{1}, []float64{0, 1} // T_0, T_1
	for k, ck := range c {
		t := prev
		if k > 0 {
			t = cur
		}
		for j, v := range t {
			out[j] += ck * v
		}
		if k > 0 {
			// T_{k+1} = 2t·T_k − T_{k−1}
			next := make([]float64, len(cur)+1)
			for j, v := range cur {
				next[j+1] += 2 * v
			}
			for j, v := range prev {
				next[j] -= v
			}
			prev, cur = cur, next
		}
	}
	return out
}

// substitute returns the monomial coefficients in x of p(alpha·x + beta), given those
// of p (Horner's rule on polynomials).
func substitute(p []float64, alpha, beta float64) []float64 {
	q := make([]float64, len(p))
	for j := len(p) - 1; j >= 0; j-- {
		// q ← q·(alpha·x + beta) + p_j
		next := make([]float64, len(p))
		for k, v := range q {
			if k+1 < len(next) {
				next[k+1] += alpha * v
			}
			next[k] += beta * v
		}
		next[0] += p[j]
		q = next
	}
	return q
}

// horner evaluates Σ coeffs[k]·x^k, as model.Polynomial does.
func horner(coeffs []float64, x float64) float64 {
	y := 0.0
	for k := len(coeffs) - 1; k >= 0; k-- {
		y = y*x + coeffs[k]
	}
	return y
}

// leastSquares returns the c minimizing ‖A·c − y‖₂ (A given by rows, more rows than
// columns) by Householder QR.
func leastSquares(rows [][]float64, y []float64) ([]float64, error) {
	m, n := len(rows), len(rows[0])
	a := make([][]float64, n) // column-major copy
	for j := range a {
		a[j] = make([]float64, m)
		for i := range m {
			a[j][i] = rows[i][j]
		}
	}
	b := append([]float64(nil), y...)
	for j := range n {
		col := a[j][j:]
		norm := math.Sqrt(dot(col, col))
		if norm == 0 {
			return nil, errs.New(errs.ErrInvalidArgument, "least squares: rank-deficient design matrix")
		}
		if col[0] > 0 {
			norm = -norm
		}
		// v = col − norm·e_1 reflects col onto norm·e_1.
		v := append([]float64(nil), col...)
		v[0] -= norm
		vv := dot(v, v)
		for k := j; k < n; k++ {
			applyReflector(a[k][j:], v, vv)
		}
		applyReflector(b[j:], v, vv)
	}
	c := make([]float64, n)
	for j := n - 1; j >= 0; j-- {
		s := b[j]
		for k := j + 1; k < n; k++ {
			s -= a[k][j] * c[k]
		}
		c[j] = s / a[j][j]
	}
	return c, nil
}

// applyReflector applies the Householder reflection I − 2vvᵀ/(vᵀv) to x in place.
func applyReflector(x, v []float64, vv float64) {
	f := 2 * dot(v, x) / vv
	for i := range x {
		x[i] -= f * v[i]
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func allFinite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
