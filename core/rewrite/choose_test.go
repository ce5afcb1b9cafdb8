package rewrite

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// wideReLUNet is a dense network whose first ReLU sees inputs spread over ±6 with
// many near zero: a quadratic fits it poorly.
func wideReLUNet() *model.Model {
	g := newLayers()
	d1 := g.dense(8, 16)
	for i := range d1.Weights {
		d1.Weights[i] *= 3
	}
	return newModel(model.Shape{C: 8, H: 1, W: 1}, d1, model.NamedActivation{Func: "relu"}, g.dense(16, 12),
		model.NamedActivation{Func: "relu"}, g.dense(12, 5))
}

// gaussianInputs returns n inputs of size values, normal around 0.5.
func gaussianInputs(n, size int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	xs := make([][]float64, n)
	for i := range xs {
		xs[i] = make([]float64, size)
		for k := range xs[i] {
			xs[i][k] = 0.5 + 0.3*rng.NormFloat64()
		}
	}
	return xs
}

// predictions returns the argmax of m on every input.
func predictions(t *testing.T, m *model.Model, xs [][]float64) []int {
	t.Helper()
	ys, err := forwardAll(m, xs)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(ys))
	for i, y := range ys {
		out[i] = model.Argmax(y)
	}
	return out
}

// TestAccuracyDrivenConversion: with the original network's predictions as labels,
// the conversion deepens the activations until it keeps the budget, at the least
// depth: every activation one level shallower than chosen misses it.
func TestAccuracyDrivenConversion(t *testing.T) {
	m := wideReLUNet()
	cal := gaussianInputs(400, 8, 1)
	labels := predictions(t, m, cal) // the original scores 100 %
	budget := Budget{Points: 0.3}
	out, rep, err := ConvertReport(m, Options{Calibration: cal, Labels: labels, Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.WithinBudget || rep.Before != 1 || rep.After < 0.997 || len(rep.Activations) != 2 {
		t.Fatalf("report %+v", rep)
	}
	t.Logf("depth %d, activations %+v", rep.Depth, rep.Activations)
	if rep.Depth <= 2 {
		t.Fatalf("depth %d: degree 2 everywhere was expected to miss a 0.3-point budget here", rep.Depth)
	}
	for _, a := range rep.Activations {
		p := out.Layers[a.Layer].(*model.Polynomial)
		if p.Degree() != a.Degree || p.Interval != a.Interval || a.Outside < 0 || a.Outside > 0.01 || a.RMSError <= 0 {
			t.Fatalf("activation %+v, polynomial %+v", a, p)
		}
	}
	// Each activation one depth shallower misses the budget.
	sc, _ := newScorer(m, cal, labels, Budget{Points: 0.3, Agreement: DefaultAgreement})
	s := &search{m: m, acts: []int{1, 3}, cal: cal, opts: ApproxOptions{Margin: DefaultMargin}}
	s.shapes, _ = m.Shapes()
	levels := choice{model.DepthOf(rep.Activations[0].Degree), model.DepthOf(rep.Activations[1].Degree)}
	for k := range levels {
		if levels[k] == 1 {
			continue
		}
		shallower := append(choice(nil), levels...)
		shallower[k]--
		r, err := s.run(shallower, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := sc.score(r.outputs); sc.within(v) {
			t.Fatalf("activation %d at depth %d keeps the budget too (%.4f): not the least depth", k, shallower[k], v)
		}
	}
	if out.Calibration == nil || len(out.Calibration.Points) != 2 {
		t.Fatalf("calibration %+v, want one point per activation", out.Calibration)
	}
}

// TestBudgetRefusal: a fixed degree 2 misses a tight agreement budget (no labels): an
// error that says so and names the way out, unless the budget may be exceeded.
func TestBudgetRefusal(t *testing.T) {
	m := wideReLUNet()
	cal := gaussianInputs(400, 8, 2)
	opts := Options{Calibration: cal, ApproxOptions: ApproxOptions{Degree: 2}, Budget: Budget{Agreement: 0.999}}
	_, rep, err := ConvertReport(m, opts)
	if err == nil || !errors.Is(err, errs.ErrUnsupported) || !strings.Contains(err.Error(), "agrees with the original on") ||
		!strings.Contains(err.Error(), "cryptonets.finetune") {
		t.Fatalf("error %v", err)
	}
	if rep == nil || rep.WithinBudget || rep.Labeled || rep.Agreement >= 0.999 {
		t.Fatalf("report %+v", rep)
	}
	opts.Budget.Exceed = true
	out, rep, err := ConvertReport(m, opts)
	if err != nil || out == nil || rep.WithinBudget {
		t.Fatalf("with Exceed: %v, report %+v", err, rep)
	}
	for _, a := range rep.Activations {
		if a.Degree != 2 {
			t.Fatalf("fixed degree 2, got %d", a.Degree)
		}
	}
}

// TestMaxPoolLossIsReported: a network with x² activations and a max pool: the
// budget is measured too, and the report gives the pool's cost.
func TestMaxPoolLossIsReported(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 1, H: 6, W: 6}, g.conv(1, 3, 3, 1, 1), model.Square{},
		&model.MaxPool{KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2}, model.Flatten{}, g.dense(27, 4))
	cal := gaussianInputs(200, 36, 3)
	_, rep, err := ConvertReport(m, Options{Calibration: cal, Budget: Budget{Exceed: true}})
	if err != nil {
		t.Fatal(err)
	}
	if rep == nil || rep.Agreement >= 1 || rep.Labeled {
		t.Fatalf("report %+v", rep)
	}
	_, _, err = ConvertReport(m, Options{Calibration: cal})
	if err == nil || !strings.Contains(err.Error(), "sum pools") {
		t.Fatalf("max pool over budget: %v", err)
	}
}

// TestNormalizationAndRanges: a declared normalization is folded into the first layer
// and recorded; raw calibration inputs outside [0, 1] give per-channel ranges; the
// converted network takes raw inputs.
func TestNormalizationAndRanges(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 3, H: 1, W: 1}, g.dense(3, 4), model.Square{}, g.dense(4, 2))
	norm := &model.Normalization{Mean: []float64{100, -5, 0.01}, Std: []float64{20, 2, 0.001}}
	rng := rand.New(rand.NewPCG(7, 8))
	var cal [][]float64
	for range 100 {
		x := make([]float64, 3)
		for c := range x {
			x[c] = norm.Mean[c] + norm.Std[c]*rng.NormFloat64()
		}
		cal = append(cal, x)
	}
	out, err := ConvertWith(m, Options{Calibration: cal, Normalize: norm})
	if err != nil {
		t.Fatal(err)
	}
	checkKinds(t, out, "dense square dense")
	if out.Preprocessing == nil || out.Preprocessing.Mean[0] != 100 || len(out.ChannelRanges) != 3 {
		t.Fatalf("preprocessing %+v, ranges %v", out.Preprocessing, out.ChannelRanges)
	}
	for c, r := range out.ChannelRanges {
		if r[0] > norm.Mean[c]-norm.Std[c] || r[1] < norm.Mean[c]+norm.Std[c] || r[1]-r[0] > 20*norm.Std[c] {
			t.Fatalf("channel %d range %v for mean %g, std %g", c, r, norm.Mean[c], norm.Std[c])
		}
	}
	// The converted network on raw x is the original on (x − mean)/std.
	ref, _ := model.NewReference(m)
	conv, _ := model.NewReference(out)
	for _, x := range cal[:10] {
		z := make([]float64, 3)
		for c := range z {
			z[c] = (x[c] - norm.Mean[c]) / norm.Std[c]
		}
		want, _ := ref.Forward(z)
		got, _ := conv.Forward(x)
		for j := range want {
			if math.Abs(want[j]-got[j]) > 1e-9*math.Max(1, math.Abs(want[j])) {
				t.Fatalf("output %d: %g, want %g", j, got[j], want[j])
			}
		}
	}
	declared := [2]float64{-1000, 1000}
	out, err = ConvertWith(m, Options{Calibration: cal, InputRange: &declared})
	if err != nil || out.InputRange != declared || out.ChannelRanges != nil {
		t.Fatalf("declared range: %v, %v, %v", err, out.InputRange, out.ChannelRanges)
	}
}

// TestImportedPolynomialGetsInterval: a trained polynomial activation (no interval)
// gets the range of its calibration inputs.
func TestImportedPolynomialGetsInterval(t *testing.T) {
	g := newLayers()
	m := newModel(model.Shape{C: 3, H: 1, W: 1}, g.dense(3, 4), &model.Polynomial{Coeffs: []float64{0.1, 0.5, 0.2}}, g.dense(4, 2))
	cal := gaussianInputs(50, 3, 4)
	out, err := ConvertWith(m, Options{Calibration: cal})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Layers[1].(*model.Polynomial)
	if !(p.Interval[0] < p.Interval[1]) || out.Calibration == nil {
		t.Fatalf("interval %v, calibration %v", p.Interval, out.Calibration)
	}
}
