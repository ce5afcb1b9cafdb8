package model

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The layer kinds of networks trained the ordinary way: ChannelAffine, MaxPool,
// NamedActivation and LogSoftmax.

func forwardOne(t *testing.T, m *Model, x []float64) []float64 {
	t.Helper()
	ref, err := NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	y, err := ref.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func ramp(n int, start, step float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = start + step*float64(i)
	}
	return v
}

func TestChannelAffine(t *testing.T) {
	a := &ChannelAffine{Scale: []float64{2, 0, -1}, Shift: []float64{1, 5, 0.5}}
	in := Shape{C: 3, H: 2, W: 2}
	x := ramp(12, -3, 0.5)
	y := forwardOne(t, &Model{Input: in, Layers: []Layer{a}}, x)
	for j, v := range x {
		c := j / 4
		if want := a.Scale[c]*v + a.Shift[c]; y[j] != want {
			t.Fatalf("value %d: %g, want %g", j, y[j], want)
		}
	}
	// After a Dense layer each feature is a channel.
	flat := forwardOne(t, &Model{Input: Shape{C: 3, H: 1, W: 1}, Layers: []Layer{a}}, []float64{1, 2, 3})
	if !reflect.DeepEqual(flat, []float64{3, 5, -2.5}) {
		t.Fatalf("flat: %v", flat)
	}
	if _, err := a.OutputShape(Shape{C: 2, H: 2, W: 2}); err == nil {
		t.Fatal("3 scales for 2 channels: no error")
	}
	if _, err := (&ChannelAffine{Scale: []float64{1}, Shift: []float64{1, 2}}).OutputShape(Shape{C: 1, H: 1, W: 1}); err == nil {
		t.Fatal("1 scale and 2 shifts: no error")
	}
	bad := &Model{Input: Shape{C: 1, H: 1, W: 1}, Layers: []Layer{&ChannelAffine{Scale: []float64{math.NaN()}, Shift: []float64{0}}}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("NaN scale: %v", err)
	}
	if _, ok := Layer(a).(Linear); !ok {
		t.Fatal("ChannelAffine is not Linear")
	}
}

func TestMaxPool(t *testing.T) {
	// 1×3×4 input, 2×2 windows, stride 2×1, padding top 1 and right 1: 2×4 outputs.
	p := &MaxPool{KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 1, Pad: Padding{Top: 1, Right: 1}}
	x := []float64{
		-1, -2, -3, -4,
		5, -6, 7, -8,
		-9, 10, -11, 12,
	}
	// Padded positions are ignored, not zeros: the all-negative first row keeps its values.
	want := []float64{
		-1, -2, -3, -4,
		10, 10, 12, 12,
	}
	m := &Model{Input: Shape{C: 1, H: 3, W: 4}, Layers: []Layer{p}}
	if got := forwardOne(t, m, x); !reflect.DeepEqual(got, want) {
		t.Fatalf("max pool: %v, want %v", got, want)
	}
	if _, err := m.Stages(); err == nil || !strings.Contains(err.Error(), "layer 0 (maxpool) cannot be evaluated on encrypted data") {
		t.Fatalf("Stages: %v", err)
	}
	for _, pad := range []Padding{{Top: 2}, {Right: 2}} {
		q := &MaxPool{KernelH: 2, KernelW: 2, StrideH: 1, StrideW: 1, Pad: pad}
		if _, err := q.OutputShape(Shape{C: 1, H: 4, W: 4}); err == nil {
			t.Fatalf("padding %+v as large as the kernel: no error", pad)
		}
	}
	if _, err := (&MaxPool{KernelH: 5, KernelW: 1, StrideH: 1, StrideW: 1}).OutputShape(Shape{C: 1, H: 4, W: 4}); err == nil {
		t.Fatal("kernel larger than the input: no error")
	}
}

func TestNamedActivation(t *testing.T) {
	cases := []struct {
		f    string
		x    float64
		want float64
	}{
		{"relu", -1.5, 0}, {"relu", 2.5, 2.5},
		{"sigmoid", 0, 0.5}, {"sigmoid", 2, 0.8807970779778823},
		{"tanh", 1, 0.7615941559557649},
		{"gelu", 1, 0.8413447460685429}, {"gelu", -1, -0.15865525393145707},
		{"silu", 1, 0.7310585786300049}, {"silu", -2, -0.2384058440442351},
	}
	for _, c := range cases {
		a := NamedActivation{Func: c.f}
		if got := a.Apply(c.x); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%s(%g) = %.17g, want %.17g", c.f, c.x, got, c.want)
		}
		if string(a.Kind()) != c.f {
			t.Errorf("kind %q, want %q", a.Kind(), c.f)
		}
	}
	m := &Model{Input: Shape{C: 2, H: 1, W: 1}, Layers: []Layer{NamedActivation{Func: "relu"}}}
	st, err := m.Stages()
	if err != nil || len(st) != 1 || st[0].Activation == nil {
		t.Fatalf("stages %+v, %v", st, err)
	}
	m.Layers[0] = NamedActivation{Func: "softplus"}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), `unknown function "softplus"`) {
		t.Fatalf("unknown function: %v", err)
	}
}

func TestLogSoftmax(t *testing.T) {
	x := []float64{1, -2, 700, 3}
	y := LogSoftmax{}.Eval(Shape{C: 4, H: 1, W: 1}, x)
	p := Probabilities(x)
	for i := range y {
		if math.Abs(math.Exp(y[i])-p[i]) > 1e-15 || math.IsInf(y[i], 0) {
			t.Fatalf("log-softmax %v, softmax %v", y, p)
		}
	}
	st, err := (&Model{Input: Shape{C: 4, H: 1, W: 1}, Layers: []Layer{LogSoftmax{}}}).Stages()
	if err != nil || !st[0].Softmax {
		t.Fatalf("stages %+v, %v", st, err)
	}
}

// TestFileNewKinds: the new kinds survive the model file, and files written before
// them (the shipped model) still load.
func TestFileNewKinds(t *testing.T) {
	m := &Model{Name: "new kinds", Input: Shape{C: 2, H: 4, W: 4}, InputRange: [2]float64{0, 1},
		Layers: []Layer{
			&ChannelAffine{Scale: []float64{1.5, -2}, Shift: []float64{0.25, 3}},
			&MaxPool{KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2, Pad: Padding{Bottom: 1, Right: 1}},
			NamedActivation{Func: "gelu"}, Flatten{},
			NamedActivation{Func: "relu"}, NamedActivation{Func: "sigmoid"}, NamedActivation{Func: "tanh"},
			NamedActivation{Func: "silu"}, LogSoftmax{},
		}}
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := back.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, m) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", back.Layers, m.Layers)
	}
	old, err := Load(filepath.Join("..", "..", "models", "mnist", "mnist_cryptonets.cnm"))
	if err != nil {
		t.Fatal(err)
	}
	if len(old.Layers) != 5 {
		t.Fatalf("shipped model: %d layers", len(old.Layers))
	}
}
