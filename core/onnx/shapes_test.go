package onnx

import (
	"math"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
)

// convDilated is img.conv with dilated taps (of an already padded image).
func (x img) convDilated(w []float64, bias []float64, oc, kh, kw, sh, sw, dh, dw int) img {
	ic, h, wd := len(x), len(x[0]), len(x[0][0])
	oh, ow := (h-dh*(kh-1)-1)/sh+1, (wd-dw*(kw-1)-1)/sw+1
	y := newImg(oc, oh, ow)
	for o := range oc {
		for i := range oh {
			for j := range ow {
				s := bias[o]
				for c := range ic {
					for a := range kh {
						for b := range kw {
							s += w[((o*ic+c)*kh+a)*kw+b] * x[c][i*sh+a*dh][j*sw+b*dw]
						}
					}
				}
				y[o][i][j] = s
			}
		}
	}
	return y
}

// TestSignalConvolution: a Conv1d / BatchNorm1d / MaxPool1d / zero Pad + AvgPool1d
// chain on [N, C, L] signals imports as the same layers on C×1×L inputs.
func TestSignalConvolution(t *testing.T) {
	tg := newTestGraph(-1, 2, 16)
	w, b := tg.random(3*2*5), tg.random(3)
	tg.param("w", []int64{3, 2, 5}, w)
	tg.param("b", []int64{3}, b)
	tg.node("Conv", "conv", []string{"x", "w", "b"}, "c", attrInts("kernel_shape", 5), attrInts("pads", 2, 2),
		attrInts("strides", 1), attrInts("dilations", 2))
	tg.initInts("pads", 0, 0, 1, 0, 0, 1)
	tg.node("Pad", "pad", []string{"c", "pads"}, "p")
	tg.node("AveragePool", "pool", []string{"p"}, "a", attrInts("kernel_shape", 2), attrInts("strides", 2))
	tg.node("Flatten", "flat", []string{"a"}, "y")
	tg.output("y")
	m := tg.load(t)
	checkKinds(t, m, model.KindConv2D, model.KindSumPool, model.KindFlatten)
	if m.Input != (model.Shape{C: 2, H: 1, W: 16}) {
		t.Fatalf("input shape %v, want 2×1×16", m.Input)
	}
	x := tg.random(2 * 16)
	c := toImg(x, 2, 1, 16).pad(0, 2, 0, 2).convDilated(w, b, 3, 1, 5, 1, 1, 1, 2)
	want := c.pad(0, 1, 0, 1).avgPool(1, 2, 1, 2).flat()
	checkForward(t, m, x, want)
}

// TestNonSquareImages: a 3-channel 5×8 image through a dilated, strided convolution.
func TestNonSquareImages(t *testing.T) {
	tg := newTestGraph(-1, 3, 5, 8)
	w, b := tg.random(2*3*2*3), tg.random(2)
	tg.param("w", []int64{2, 3, 2, 3}, w)
	tg.param("b", []int64{2}, b)
	tg.node("Conv", "conv", []string{"x", "w", "b"}, "c", attrInts("dilations", 2, 1), attrInts("strides", 1, 2),
		attrInts("pads", 1, 0, 0, 1))
	tg.node("GlobalAveragePool", "gap", []string{"c"}, "g")
	tg.node("Flatten", "flat", []string{"g"}, "y")
	tg.output("y")
	m := tg.load(t)
	x := tg.random(3 * 5 * 8)
	c := toImg(x, 3, 5, 8).pad(1, 0, 0, 1).convDilated(w, b, 2, 2, 3, 1, 2, 2, 1)
	want := c.avgPool(len(c[0]), len(c[0][0]), 1, 1).flat()
	checkForward(t, m, x, want)
}

// TestInputNormalization: (x − mean)/std on the input, per feature, becomes one
// ChannelAffine recorded as the model's preprocessing.
func TestInputNormalization(t *testing.T) {
	tg := newTestGraph(-1, 3)
	mean, std := []float64{1, -2, 0.5}, []float64{2, 0.25, 4}
	tg.param("mean", []int64{3}, mean)
	tg.param("std", []int64{1, 3}, std)
	w := tg.random(6)
	tg.param("w", []int64{2, 3}, w)
	tg.node("Sub", "sub", []string{"x", "mean"}, "s")
	tg.node("Div", "div", []string{"s", "std"}, "d")
	tg.node("Gemm", "fc", []string{"d", "w"}, "y", attrInt("transB", 1))
	tg.output("y")
	m := tg.load(t)
	checkKinds(t, m, model.KindChannelAffine, model.KindDense)
	if p := m.Preprocessing; p == nil || !near(p.Mean[1], -2) || !near(p.Std[2], 4) || !near(p.Std[1], 0.25) {
		t.Fatalf("preprocessing %+v, want mean %v, std %v", m.Preprocessing, mean, std)
	}
	x := []float64{3, 1, -1}
	z := make([]float64, 3)
	for i := range x {
		z[i] = (x[i] - mean[i]) / std[i]
	}
	checkForward(t, m, x, gemm(z, w, 3, 2, true, 1, nil, 0))
}

// TestChannelScaling: a per-channel Mul and Add on an image, and a scalar Sub of a
// constant minus x, anywhere in the chain, are ChannelAffine layers.
func TestChannelScaling(t *testing.T) {
	tg := newTestGraph(-1, 2, 3, 3)
	tg.param("k", []int64{1, 2, 1, 1}, []float64{2, -3})
	tg.param("c", []int64{2, 1, 1}, []float64{0.5, 1})
	tg.param("one", nil, []float64{1})
	tg.node("Mul", "sq", []string{"x", "x"}, "s")
	tg.node("Mul", "scale", []string{"k", "s"}, "a")
	tg.node("Add", "shift", []string{"a", "c"}, "b")
	tg.node("Sub", "flip", []string{"one", "b"}, "y")
	tg.output("y")
	m := tg.load(t)
	checkKinds(t, m, model.KindSquare, model.KindChannelAffine)
	if m.Preprocessing != nil {
		t.Errorf("preprocessing %+v recorded for a layer that is not first", m.Preprocessing)
	}
	x := tg.random(18)
	want := make([]float64, 18)
	for i, v := range x {
		ch := i / 9
		want[i] = 1 - ([]float64{2, -3}[ch]*v*v + []float64{0.5, 1}[ch])
	}
	checkForward(t, m, x, want)
}

// TestReshapeChain: [N, 12] → Unsqueeze → [N, 1, 12] → Conv1d → [N, 2, 10] → Reshape
// [N, 4, 5] → Reshape [N, 2, 2, 5] → Flatten → Gemm.
func TestReshapeChain(t *testing.T) {
	tg := newTestGraph(-1, 12)
	cw, cb := tg.random(2*1*3), tg.random(2)
	tg.param("cw", []int64{2, 1, 3}, cw)
	tg.param("cb", []int64{2}, cb)
	tg.initInts("axes", 1)
	tg.initInts("s1", 0, 4, -1)
	tg.initInts("s2", -1, 2, 2, 5)
	fw := tg.random(20 * 3)
	tg.param("fw", []int64{3, 20}, fw)
	tg.node("Unsqueeze", "unsq", []string{"x", "axes"}, "u")
	tg.node("Conv", "conv", []string{"u", "cw", "cb"}, "c")
	tg.node("Reshape", "r1", []string{"c", "s1"}, "r")
	tg.node("Reshape", "r2", []string{"r", "s2"}, "q")
	tg.node("Flatten", "flat", []string{"q"}, "f")
	tg.node("Gemm", "fc", []string{"f", "fw"}, "y", attrInt("transB", 1))
	tg.output("y")
	m := tg.load(t)
	checkKinds(t, m, model.KindReshape, model.KindConv2D, model.KindReshape, model.KindReshape, model.KindFlatten, model.KindDense)
	x := tg.random(12)
	c := toImg(x, 1, 1, 12).conv(cw, cb, 2, 1, 3, 1, 1).flat()
	checkForward(t, m, x, gemm(c, fw, 20, 3, true, 1, nil, 0))
}

// TestPolynomialGroups: polynomial activations written with several operators.
func TestPolynomialGroups(t *testing.T) {
	cases := []struct {
		name  string
		build func(tg *testGraph) // from "x" to "y"
		want  []float64
	}{
		{"sum of powers", func(tg *testGraph) {
			tg.param("c0", nil, []float64{0.5})
			tg.param("c1", nil, []float64{0.25})
			tg.param("c2", nil, []float64{0.125})
			tg.node("Mul", "sq", []string{"x", "x"}, "s")
			tg.node("Mul", "m2", []string{"s", "c2"}, "a")
			tg.node("Mul", "m1", []string{"c1", "x"}, "b")
			tg.node("Add", "add1", []string{"a", "b"}, "ab")
			tg.node("Add", "add0", []string{"ab", "c0"}, "y")
		}, []float64{0.5, 0.25, 0.125}},
		{"horner", func(tg *testGraph) {
			tg.param("c3", nil, []float64{2})
			tg.param("c2", nil, []float64{-1})
			tg.param("c1", nil, []float64{3})
			tg.param("c0", nil, []float64{4})
			tg.node("Mul", "h3", []string{"x", "c3"}, "a")
			tg.node("Add", "h2", []string{"a", "c2"}, "b")
			tg.node("Mul", "hx2", []string{"b", "x"}, "c")
			tg.node("Sub", "h1", []string{"c", "c1"}, "d")
			tg.node("Mul", "hx1", []string{"x", "d"}, "e")
			tg.node("Add", "h0", []string{"e", "c0"}, "y")
		}, []float64{4, -3, -1, 2}},
		{"cube over two", func(tg *testGraph) {
			tg.param("three", nil, []float64{3})
			tg.param("two", nil, []float64{2})
			tg.node("Pow", "cube", []string{"x", "three"}, "c")
			tg.node("Div", "half", []string{"c", "two"}, "n")
			tg.node("Neg", "neg", []string{"n"}, "y")
		}, []float64{0, 0, 0, -0.5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := newTestGraph(-1, 4)
			w := tg.random(16)
			tg.param("w", []int64{4, 4}, w)
			tg.node("Gemm", "fc", []string{"x", "w"}, "h")
			sub := newTestGraph(-1, 4)
			c.build(sub)
			for _, n := range sub.g.Node {
				for i, in := range n.Input {
					if in == "x" {
						n.Input[i] = "h"
					}
				}
				tg.g.Node = append(tg.g.Node, n)
			}
			tg.g.Initializer = append(tg.g.Initializer, sub.g.Initializer...)
			tg.output("y")
			m := tg.load(t)
			checkKinds(t, m, model.KindDense, model.KindPolynomial)
			got := m.Layers[1].(*model.Polynomial).Coeffs
			if len(got) != len(c.want) {
				t.Fatalf("coefficients %v, want %v", got, c.want)
			}
			for i := range got {
				if math.Abs(got[i]-c.want[i]) > 1e-12 {
					t.Fatalf("coefficients %v, want %v", got, c.want)
				}
			}
		})
	}
}
