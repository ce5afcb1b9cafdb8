package rewrite

import (
	"math"
	"testing"
)

func closeTo(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			t.Fatalf("%s: %v, want %v (±%g)", what, got, want, tol)
		}
	}
}

func TestChebyshevToMonomial(t *testing.T) {
	// 1·T0 + 2·T1 + 3·T2 + 4·T3 = 1 + 2t + 3(2t²−1) + 4(4t³−3t) = −2 − 10t + 6t² + 16t³
	closeTo(t, "chebyshev", chebyshevToMonomial([]float64{1, 2, 3, 4}), []float64{-2, -10, 6, 16}, 0)
	// p(t) = 1 + t², t = 2x + 3: 1 + 9 + 12x + 4x²
	closeTo(t, "substitute", substitute([]float64{1, 0, 1}, 2, 3), []float64{10, 12, 4}, 0)
}

func TestFitPolynomialExact(t *testing.T) {
	cubic := []float64{0.5, -1, 0.25, 2}
	f, err := fitPolynomial(func(x float64) float64 { return horner(cubic, x) }, -3, 5, 3, uniformSamples(-3, 5))
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "cubic", f.coeffs, cubic, 1e-11)
	if f.maxErr > 1e-10 {
		t.Fatalf("fit error %g of an exact fit", f.maxErr)
	}
}

// TestFitPolynomialReLU: the least-squares quadratic of ReLU on [−1, 1] is
// 3/32 + x/2 + 15x²/32 (from |x| ≈ 3/16 + 15x²/16 in the Legendre basis); its largest
// error is 3/32, at 0. On [−2a, 2a] everything scales by a.
func TestFitPolynomialReLU(t *testing.T) {
	relu := func(x float64) float64 { return math.Max(x, 0) }
	for _, a := range []float64{0.5, 1, 4} {
		f, err := fitPolynomial(relu, -a, a, 2, uniformSamples(-a, a))
		if err != nil {
			t.Fatal(err)
		}
		closeTo(t, "relu", f.coeffs, []float64{3 * a / 32, 0.5, 15 / (32 * a)}, 1e-3*math.Max(a, 1/a))
		if math.Abs(f.maxErr-horner(f.coeffs, 0)) > 1e-12 || math.Abs(f.maxErr-3*a/32) > 2e-3*a {
			t.Fatalf("[−%g, %g]: fit error %g, want about %g (at 0)", a, a, f.maxErr, 3*a/32)
		}
	}
	if _, err := fitPolynomial(relu, 1, 1, 2, nil); err == nil {
		t.Fatal("empty interval: no error")
	}
}

// TestFitPolynomialData: fitted on values that all lie in (0, 1], where ReLU is x, the
// quadratic is close to x there (the floor weight of the empty half of [−1, 1] pulls it
// a little); the uniform fit is off by up to 3/32 there, but closer in the empty half.
func TestFitPolynomialData(t *testing.T) {
	relu := func(x float64) float64 { return math.Max(x, 0) }
	values := [][]float64{{0.05, 0.3, 0.31, 0.7}, {0.99, 0.5}}
	data, err := fitPolynomial(relu, -1, 1, 2, dataSamples(values, -1, 1))
	if err != nil {
		t.Fatal(err)
	}
	uniform, err := fitPolynomial(relu, -1, 1, 2, uniformSamples(-1, 1))
	if err != nil {
		t.Fatal(err)
	}
	worst := func(f fit) float64 {
		w := 0.0
		for _, x := range values[0] {
			w = math.Max(w, math.Abs(horner(f.coeffs, x)-x))
		}
		return w
	}
	if d, u := worst(data), worst(uniform); d > 0.02 || u < 0.05 {
		t.Fatalf("largest error on the values: %g with the data fit, %g with the uniform fit", d, u)
	}
	if data.maxErr <= uniform.maxErr {
		t.Fatalf("largest error over [−1, 1]: %g with the data fit, %g with the uniform fit", data.maxErr, uniform.maxErr)
	}
	// Every value counts once: a value outside the interval counts in the edge bin.
	s := dataSamples([][]float64{{-5, 0.9999}, {2}}, -1, 1)
	if s[0].w < 0.33 || s[len(s)-1].w < 0.66 {
		t.Fatalf("edge bins weigh %g and %g, want 1/3 and 2/3", s[0].w, s[len(s)-1].w)
	}
}

func TestLeastSquaresOverdetermined(t *testing.T) {
	// y = 1 + 2x at x = 0, 1, 2 but for a +1 at x = 1: the fit is 1.333… + 2x.
	c, err := leastSquares([][]float64{{1, 0}, {1, 1}, {1, 2}}, []float64{1, 4, 5})
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "line", c, []float64{4.0 / 3, 2}, 1e-14)
	if _, err := leastSquares([][]float64{{1, 0}, {1, 0}}, []float64{1, 2}); err == nil {
		t.Fatal("rank-deficient: no error")
	}
}
