package rewrite

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
)

// layers builds random-weight layers for small test models.
type layers struct{ rng *rand.Rand }

func newLayers() layers { return layers{rand.New(rand.NewPCG(3, 4))} }

func (g layers) random(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 2*g.rng.Float64() - 1
	}
	return v
}

func (g layers) conv(in, out, k, stride, pad int) *model.Conv2D {
	return &model.Conv2D{InChannels: in, OutChannels: out, KernelH: k, KernelW: k, StrideH: stride, StrideW: stride,
		Pad: model.Padding{Top: pad, Left: pad, Bottom: pad, Right: pad}, Weights: g.random(out * in * k * k), Bias: g.random(out)}
}

func (g layers) dense(in, out int) *model.Dense {
	return &model.Dense{In: in, Out: out, Weights: g.random(in * out), Bias: g.random(out)}
}

func pool(k, stride, pad int) *model.SumPool {
	return &model.SumPool{KernelH: k, KernelW: k, StrideH: stride, StrideW: stride,
		Pad: model.Padding{Top: pad, Left: pad, Bottom: pad, Right: pad}, Scale: 1 / float64(k*k)}
}

func newModel(in model.Shape, ls ...model.Layer) *model.Model {
	return &model.Model{Name: "test", Input: in, InputRange: [2]float64{0, 1}, Layers: ls,
		Provenance: model.Provenance{Source: "test", Rewrites: []string{"earlier"}}}
}

// outputs evaluates m on n random inputs (the same for every model: fixed seed).
func outputs(t *testing.T, m *model.Model, n int) [][]float64 {
	t.Helper()
	ref, err := model.NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var out [][]float64
	for range n {
		x := make([]float64, m.Input.Size())
		for i := range x {
			x[i] = rng.Float64()
		}
		y, err := ref.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, y)
	}
	return out
}

// checkSameOutputs compares the reference outputs of two models within 1e-12
// (relative to the value for large values).
func checkSameOutputs(t *testing.T, a, b *model.Model) {
	t.Helper()
	ya, yb := outputs(t, a, 5), outputs(t, b, 5)
	for i := range ya {
		if len(ya[i]) != len(yb[i]) {
			t.Fatalf("input %d: %d and %d outputs", i, len(ya[i]), len(yb[i]))
		}
		for k := range ya[i] {
			if d := math.Abs(ya[i][k] - yb[i][k]); d > 1e-12*math.Max(1, math.Abs(ya[i][k])) {
				t.Fatalf("input %d, output %d: %.17g vs %.17g", i, k, ya[i][k], yb[i][k])
			}
		}
	}
}

func kindsOf(m *model.Model) string {
	s := make([]string, len(m.Layers))
	for i, l := range m.Layers {
		s[i] = string(l.Kind())
	}
	return strings.Join(s, " ")
}

func checkKinds(t *testing.T, m *model.Model, want string) {
	t.Helper()
	if got := kindsOf(m); got != want {
		t.Fatalf("layers %q, want %q", got, want)
	}
}

// unchanged runs f and checks that it did not modify m (its file encoding is the same).
func unchanged(t *testing.T, m *model.Model, f func()) {
	t.Helper()
	before, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	f()
	after, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("the input model was modified")
	}
}
