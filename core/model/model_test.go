package model

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
)

func testModel() *Model {
	rng := rand.New(rand.NewPCG(1, 2))
	randn := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	return &Model{Name: "t", Input: Shape{C: 1, H: 6, W: 6}, InputRange: [2]float64{0, 1},
		Layers: []Layer{
			&Conv2D{InChannels: 1, OutChannels: 2, KernelH: 3, KernelW: 3, StrideH: 2, StrideW: 2,
				Pad: Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}, Weights: randn(18), Bias: randn(2)},
			Square{},
			&SumPool{KernelH: 2, KernelW: 2, StrideH: 1, StrideW: 1, Scale: 0.25},
			Flatten{},
			&Dense{In: 8, Out: 3, Weights: randn(24), Bias: randn(3)},
			&Polynomial{Coeffs: []float64{0.1, 0.5, 0.2}, Interval: [2]float64{-2, 2}, FitError: 0.01, Fitted: "relu"},
			Softmax{},
		}}
}

func TestShapes(t *testing.T) {
	shapes, err := testModel().Shapes()
	if err != nil {
		t.Fatal(err)
	}
	want := []Shape{{1, 6, 6}, {2, 3, 3}, {2, 3, 3}, {2, 2, 2}, {8, 1, 1}, {3, 1, 1}, {3, 1, 1}, {3, 1, 1}}
	for i := range want {
		if shapes[i] != want[i] {
			t.Fatalf("shape %d: %v, want %v", i, shapes[i], want[i])
		}
	}
}

// TestConvMatchesDirectComputation checks the conv's affine map against a direct loop.
func TestConvMatchesDirectComputation(t *testing.T) {
	m := testModel()
	conv := m.Layers[0].(*Conv2D)
	x := make([]float64, 36)
	for i := range x {
		x[i] = float64(i%7) / 7
	}
	a, err := conv.Affine(m.Input)
	if err != nil {
		t.Fatal(err)
	}
	got := a.Apply(x)
	for oc := range 2 {
		for oy := range 3 {
			for ox := range 3 {
				want := conv.Bias[oc]
				for ky := range 3 {
					for kx := range 3 {
						iy, ix := oy*2+ky-1, ox*2+kx-1
						if iy >= 0 && iy < 6 && ix >= 0 && ix < 6 {
							want += conv.Weights[oc*9+ky*3+kx] * x[iy*6+ix]
						}
					}
				}
				if g := got[(oc*3+oy)*3+ox]; math.Abs(g-want) > 1e-12 {
					t.Fatalf("conv output (%d,%d,%d): %g, want %g", oc, oy, ox, g, want)
				}
			}
		}
	}
}

func TestFileRoundTripIsByteExact(t *testing.T) {
	m := testModel()
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := back.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	again, err := back.MarshalBinary()
	if err != nil || !bytes.Equal(data, again) {
		t.Fatalf("re-encoding differs (%v)", err)
	}
	path := filepath.Join(t.TempDir(), "m.cnm")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := NewReference(m)
	r2, _ := NewReference(loaded)
	x := make([]float64, 36)
	y1, _ := r1.Forward(x)
	y2, _ := r2.Forward(x)
	for i := range y1 {
		if y1[i] != y2[i] {
			t.Fatal("loaded model computes differently")
		}
	}
}

func TestBadFilesAreClearErrors(t *testing.T) {
	data, _ := testModel().MarshalBinary()
	cases := map[string][]byte{
		"empty":     nil,
		"truncated": data[:len(data)/2],
		"extended":  append(bytes.Clone(data), 0),
		"garbage":   bytes.Repeat([]byte{0xff}, 100),
		"inflated":  {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // array of 2^64-1 items
	}
	for name, d := range cases {
		var m Model
		if err := m.UnmarshalBinary(d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A well-formed file whose weights do not match its shapes.
	bad := testModel()
	bad.Layers[4].(*Dense).Weights = bad.Layers[4].(*Dense).Weights[:5]
	if _, err := bad.MarshalBinary(); err == nil || !strings.Contains(err.Error(), "dense") {
		t.Errorf("inconsistent model encoded: %v", err)
	}
	nan := testModel()
	nan.Layers[0].(*Conv2D).Bias[0] = math.NaN()
	if err := nan.Validate(); err == nil {
		t.Error("NaN weight accepted")
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.cnm")); !errors.Is(err, fs.ErrNotExist) || errs.ClassOf(err) != errs.ErrIO {
		t.Errorf("missing file: %v", err)
	}
}

func TestAffineComposition(t *testing.T) {
	m := testModel()
	shapes, _ := m.Shapes()
	pool, _ := m.Layers[2].(*SumPool).Affine(shapes[2])
	dense, _ := m.Layers[4].(*Dense).Affine(shapes[4])
	both, err := pool.Then(dense)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 18)
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	want := dense.Apply(pool.Apply(x))
	got := both.Apply(x)
	for i := range want {
		if math.Abs(want[i]-got[i]) > 1e-12 {
			t.Fatalf("composition differs at %d: %g vs %g", i, got[i], want[i])
		}
	}
	if _, err := dense.Then(pool); err == nil {
		t.Fatal("composed mismatched maps")
	}
}
