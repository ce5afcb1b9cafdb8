package rewrite

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
)

// calibration returns n random inputs of the given size, in [0, 1).
func calibration(n, size int) [][]float64 {
	rng := rand.New(rand.NewPCG(7, 8))
	xs := make([][]float64, n)
	for i := range xs {
		xs[i] = make([]float64, size)
		for j := range xs[i] {
			xs[i][j] = rng.Float64()
		}
	}
	return xs
}

// observed returns the range of the inputs of layer i of m over xs.
func observed(t *testing.T, m *model.Model, i int, xs [][]float64) (lo, hi float64) {
	t.Helper()
	prefix := *m
	prefix.Layers = m.Layers[:i]
	ref, err := model.NewReference(&prefix)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		y, err := ref.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range y {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

func TestApproximateActivations(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 1, H: 6, W: 6}, g.conv(1, 2, 3, 1, 0), model.NamedActivation{Func: "relu"},
		model.Flatten{}, g.dense(32, 6), model.Square{}, g.dense(6, 5), model.NamedActivation{Func: "gelu"},
		g.dense(5, 3), model.NamedActivation{Func: "sigmoid"})
	xs := calibration(50, 36)
	var got *model.Model
	var notes []string
	unchanged(t, m, func() {
		var err error
		if got, notes, err = approximateActivations(m, xs, ApproxOptions{Degree: 3}); err != nil {
			t.Fatal(err)
		}
	})
	checkKinds(t, got, "conv2d polynomial flatten dense square dense polynomial dense polynomial")
	if len(notes) != 3 || !strings.HasPrefix(notes[0], "approximate-activations: layer 1 relu → degree-3 polynomial on [") ||
		!strings.Contains(notes[0], "on the calibration inputs") {
		t.Fatalf("notes %q", notes)
	}
	for _, i := range []int{1, 6, 8} {
		p := got.Layers[i].(*model.Polynomial)
		// Each range is observed with the activations before it already approximated.
		lo, hi := observed(t, got, i, xs)
		w := hi - lo
		if want := [2]float64{lo - 0.1*w, hi + 0.1*w}; p.Interval != want {
			t.Errorf("layer %d: interval %v, want %v", i, p.Interval, want)
		}
		f := m.Layers[i].(model.NamedActivation)
		if p.Fitted != f.Func || len(p.Coeffs) != 4 {
			t.Errorf("layer %d: fitted %q with %d coefficients", i, p.Fitted, len(p.Coeffs))
		}
		worst := 0.0
		for k := range 1001 {
			x := p.Interval[0] + (p.Interval[1]-p.Interval[0])*float64(k)/1000
			worst = math.Max(worst, math.Abs(p.Apply(x)-f.Apply(x)))
		}
		if !(p.FitError >= worst && p.FitError < 1.01*worst+1e-12) {
			t.Errorf("layer %d: FitError %g, largest error on a coarser grid %g", i, p.FitError, worst)
		}
		t.Logf("layer %d: %s on [%.4g, %.4g], degree 3, max error %.3g", i, f.Func, p.Interval[0], p.Interval[1], p.FitError)
	}
	again, err := ApproximateActivations(m, xs, ApproxOptions{Degree: 3})
	if err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("not deterministic: %v", err)
	}
}

func TestApproximateActivationsDefaults(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 4, H: 1, W: 1}, g.dense(4, 3), model.NamedActivation{Func: "tanh"}, g.dense(3, 2))
	xs := calibration(20, 4)
	got, err := ApproximateActivations(m, xs, ApproxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := got.Layers[1].(*model.Polynomial)
	lo, hi := observed(t, m, 1, xs)
	if len(p.Coeffs) != 3 || p.Interval != [2]float64{lo - 0.1*(hi-lo), hi + 0.1*(hi-lo)} {
		t.Fatalf("degree %d on %v, want 2 on [%g, %g] widened by 10%%", len(p.Coeffs)-1, p.Interval, lo, hi)
	}
	wide, err := ApproximateActivations(m, xs, ApproxOptions{Margin: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if q := wide.Layers[1].(*model.Polynomial); q.Interval != [2]float64{lo - 0.5*(hi-lo), hi + 0.5*(hi-lo)} {
		t.Fatalf("margin 0.5: interval %v", q.Interval)
	}
	// A uniform fit has the same interval and a smaller largest error over it.
	uniform, err := ApproximateActivations(m, xs, ApproxOptions{Weighting: WeightUniform})
	if err != nil {
		t.Fatal(err)
	}
	if q := uniform.Layers[1].(*model.Polynomial); q.Interval != p.Interval || q.FitError > p.FitError {
		t.Fatalf("uniform fit on %v with error %g; data fit on %v with error %g", q.Interval, q.FitError, p.Interval, p.FitError)
	}
	// Without activations to approximate the model is unchanged.
	sq := newModel(model.Shape{C: 4, H: 1, W: 1}, g.dense(4, 3), model.Square{}, g.dense(3, 2))
	if same, err := ApproximateActivations(sq, xs, ApproxOptions{}); err != nil || !reflect.DeepEqual(same, sq) {
		t.Fatalf("square-only model changed: %v", err)
	}
}

func TestApproximateActivationsErrors(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 4, H: 1, W: 1}, g.dense(4, 3), model.NamedActivation{Func: "relu"}, g.dense(3, 2))
	nan := calibration(2, 4)
	nan[1][2] = math.NaN()
	for _, c := range []struct {
		xs   [][]float64
		opts ApproxOptions
		want string
	}{
		{nil, ApproxOptions{}, "no calibration images"},
		{calibration(2, 5), ApproxOptions{}, "calibration image 0 has 5 values, want 4"},
		{nan, ApproxOptions{}, "calibration image 1 has a NaN"},
		{calibration(2, 4), ApproxOptions{Degree: MaxDegree + 1}, "degree 17 is outside"},
		{calibration(2, 4), ApproxOptions{Margin: -1}, "margin -1 must be positive"},
		{calibration(2, 4), ApproxOptions{Weighting: 5}, "unknown weighting 5"},
	} {
		if _, err := ApproximateActivations(m, c.xs, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

// TestApproximateConstantInput: an activation whose input is the same on every image
// gets an interval of positive width around that value.
func TestApproximateConstantInput(t *testing.T) {
	d := &model.Dense{In: 2, Out: 2, Weights: make([]float64, 4), Bias: []float64{3, 3}}
	m := newModel(model.Shape{C: 2, H: 1, W: 1}, d, model.NamedActivation{Func: "silu"})
	got, err := ApproximateActivations(m, calibration(3, 2), ApproxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Layers[1].(*model.Polynomial); p.Interval != [2]float64{2.7, 3.3} {
		t.Fatalf("interval %v, want [2.7, 3.3]", p.Interval)
	}
}
