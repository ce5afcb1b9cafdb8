package onnx

import (
	"math"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// The operators of networks trained the ordinary way: BatchNormalization, MaxPool,
// Relu, Sigmoid, Tanh, Gelu (and the GELU and SiLU groups), LogSoftmax.

// constant adds a Constant node holding one float.
func (tg *testGraph) constant(name string, v float64) {
	tg.g.Node = append(tg.g.Node, &onnxpb.NodeProto{OpType: proto.String("Constant"), Name: proto.String(name),
		Output: []string{name}, Attribute: []*onnxpb.AttributeProto{attrTensor("value", floatTensor("", nil, []float64{v}, false))}})
}

// maxPool takes the maximum of each window of an image, ignoring positions outside it
// (padding pt, pl at the top and left).
func (x img) maxPool(kh, kw, sh, sw, pt, pl, oh, ow int) img {
	y := newImg(len(x), oh, ow)
	for c := range x {
		for i := range oh {
			for j := range ow {
				m := math.Inf(-1)
				for a := range kh {
					for b := range kw {
						r, s := i*sh+a-pt, j*sw+b-pl
						if r >= 0 && r < len(x[c]) && s >= 0 && s < len(x[c][0]) {
							m = math.Max(m, x[c][r][s])
						}
					}
				}
				y[c][i][j] = m
			}
		}
	}
	return y
}

func mapVec(v []float64, f func(float64) float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = f(x)
	}
	return out
}

// batchNormParams adds the four parameters of a BatchNormalization over c channels;
// the variances are positive. PyTorch shares equal initializers through Identity
// nodes: the mean is written as an Identity of the bias when same is set.
func (tg *testGraph) batchNormParams(prefix string, c int, same bool) (scale, bias, mean, variance []float64) {
	scale, bias, mean = tg.random(c), tg.random(c), tg.random(c)
	variance = mapVec(tg.random(c), func(v float64) float64 { return float64(float32(v*v + 0.5)) })
	tg.param(prefix+"scale", []int64{int64(c)}, scale)
	tg.param(prefix+"B", []int64{int64(c)}, bias)
	tg.param(prefix+"var", []int64{int64(c)}, variance)
	if same {
		mean = bias
		tg.node("Identity", prefix+"alias", []string{prefix + "B"}, prefix+"mean")
	} else {
		tg.param(prefix+"mean", []int64{int64(c)}, mean)
	}
	return scale, bias, mean, variance
}

func TestBatchNormalization(t *testing.T) {
	tg := newTestGraph(-1, 2, 3, 3)
	s1, b1, m1, v1 := tg.batchNormParams("bn1.", 2, true)
	f := tg.random(18 * 4)
	tg.param("f", []int64{4, 18}, f)
	s2, b2, m2, v2 := tg.batchNormParams("bn2.", 4, false)
	names := func(p string) []string { return []string{p + "scale", p + "B", p + "mean", p + "var"} }
	tg.node("BatchNormalization", "bn1", append([]string{"x"}, names("bn1.")...), "h",
		attrFloat("epsilon", 1e-5), attrFloat("momentum", 0.9))
	tg.node("Flatten", "flat", []string{"h"}, "v")
	tg.node("Gemm", "fc", []string{"v", "f"}, "g", attrInt("transB", 1))
	tg.node("BatchNormalization", "bn2", append([]string{"g"}, names("bn2.")...), "y", attrInt("training_mode", 0))
	tg.output("y")
	m := tg.load(t)
	checkKinds(t, m, model.KindChannelAffine, model.KindFlatten, model.KindDense, model.KindChannelAffine)
	bn := func(v, s, b, mean, variance []float64, eps float64, plane int) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			c := i / plane
			out[i] = s[c]*(x-mean[c])/math.Sqrt(variance[c]+eps) + b[c]
		}
		return out
	}
	x := tg.random(18)
	h := bn(x, s1, b1, m1, v1, float64(float32(1e-5)), 9)
	checkForward(t, m, x, bn(gemm(h, f, 18, 4, true, 1, nil, 0), s2, b2, m2, v2, float64(float32(1e-5)), 1))
}

func TestBatchNormalizationErrors(t *testing.T) {
	for name, c := range map[string]struct {
		attrs   []*onnxpb.AttributeProto
		outputs []string
		want    string
	}{
		"training mode": {[]*onnxpb.AttributeProto{attrInt("training_mode", 1)}, nil, "in training mode is not supported"},
		"running stats": {nil, []string{"rm", "rv"}, "in training mode is not supported"},
		"spatial 0":     {[]*onnxpb.AttributeProto{attrInt("spatial", 0)}, nil, "spatial=0"},
	} {
		tg := newTestGraph(-1, 3)
		tg.batchNormParams("", 3, false)
		tg.node("BatchNormalization", "bn", []string{"x", "scale", "B", "mean", "var"}, "y", c.attrs...)
		tg.g.Node[len(tg.g.Node)-1].Output = append(tg.g.Node[len(tg.g.Node)-1].Output, c.outputs...)
		tg.output("y")
		t.Run(name, func(t *testing.T) { wantUnsupported(t, importError(t, tg), "BatchNormalization", "bn", c.want) })
	}
	tg := newTestGraph(-1, 3)
	tg.batchNormParams("", 3, false)
	tg.param("short", []int64{2}, tg.random(2))
	tg.node("BatchNormalization", "bn", []string{"x", "scale", "B", "short", "var"}, "y")
	tg.output("y")
	wantUnsupported(t, importError(t, tg), "BatchNormalization", "bn", `input 3 ("short") has shape [2]; want 3 floats`)
}

func TestMaxPool(t *testing.T) {
	tg := newTestGraph(-1, 2, 6, 6)
	tg.node("MaxPool", "pool", []string{"x"}, "y", attrInts("kernel_shape", 3, 2), attrInts("strides", 2, 1),
		attrInts("pads", 1, 1, 1, 0), attrInt("ceil_mode", 0), attrInts("dilations", 1, 1), attrInt("storage_order", 0))
	tg.output("y")
	m := tg.load(t)
	checkKinds(t, m, model.KindMaxPool)
	want := model.MaxPool{KernelH: 3, KernelW: 2, StrideH: 2, StrideW: 1, Pad: model.Padding{Top: 1, Left: 1, Bottom: 1}}
	if p := m.Layers[0].(*model.MaxPool); *p != want {
		t.Fatalf("max pool %+v, want %+v", *p, want)
	}
	x := tg.random(2 * 6 * 6)
	checkForward(t, m, x, toImg(x, 2, 6, 6).maxPool(3, 2, 2, 1, 1, 1, 3, 6).flat())
}

func TestMaxPoolErrors(t *testing.T) {
	for name, c := range map[string]struct {
		attrs []*onnxpb.AttributeProto
		want  string
	}{
		"ceil":     {[]*onnxpb.AttributeProto{attrInt("ceil_mode", 1)}, "ceil_mode=1"},
		"dilation": {[]*onnxpb.AttributeProto{attrInts("dilations", 2, 2)}, "dilations 2×2"},
		"no shape": {nil, "kernel_shape []"},
	} {
		tg := newTestGraph(-1, 1, 4, 4)
		attrs := c.attrs
		if name != "no shape" {
			attrs = append(attrs, attrInts("kernel_shape", 2, 2))
		}
		tg.node("MaxPool", "pool", []string{"x"}, "y", attrs...)
		tg.output("y")
		t.Run(name, func(t *testing.T) { wantUnsupported(t, importError(t, tg), "MaxPool", "pool", c.want) })
	}
	tg := newTestGraph(-1, 1, 4, 4)
	tg.node("MaxPool", "pool", []string{"x"}, "y", attrInts("kernel_shape", 2, 2))
	tg.g.Node[0].Output = append(tg.g.Node[0].Output, "indices")
	tg.output("y")
	wantUnsupported(t, importError(t, tg), "MaxPool", "pool", "Indices output")

	// A zero Pad before a max pool is not its padding (which is ignored, not zero).
	tg = newTestGraph(-1, 1, 4, 4)
	tg.initInts("pads", 0, 0, 1, 1, 0, 0, 1, 1)
	tg.node("Pad", "pad", []string{"x", "pads"}, "p")
	tg.node("MaxPool", "pool", []string{"p"}, "y", attrInts("kernel_shape", 2, 2))
	tg.output("y")
	wantUnsupported(t, importError(t, tg), "Pad", "pad", "only supported right before a Conv or AveragePool")
}

func TestElementwiseActivations(t *testing.T) {
	tg := newTestGraph(-1, 5)
	tg.node("Relu", "relu", []string{"x"}, "a")
	tg.node("Tanh", "tanh", []string{"a"}, "b")
	tg.node("Gelu", "gelu", []string{"b"}, "c", attrString("approximate", "none"))
	tg.node("Sigmoid", "sigmoid", []string{"c"}, "d")
	tg.node("LogSoftmax", "logsoftmax", []string{"d"}, "y", attrInt("axis", 1))
	tg.output("y")
	tg.opset = 20
	m := tg.load(t)
	checkKinds(t, m, model.KindReLU, model.KindTanh, model.KindGELU, model.KindSigmoid, model.KindLogSoftmax)
	x := tg.random(5)
	v := mapVec(mapVec(mapVec(mapVec(x, func(v float64) float64 { return math.Max(v, 0) }), math.Tanh), gelu),
		func(v float64) float64 { return 1 / (1 + math.Exp(-v)) })
	checkForward(t, m, x, mapVec(softmaxVec(v), math.Log))

	tg = newTestGraph(-1, 5)
	tg.node("Gelu", "gelu", []string{"x"}, "y", attrString("approximate", "tanh"))
	tg.output("y")
	tg.opset = 20
	wantUnsupported(t, importError(t, tg), "Gelu", "gelu", `approximate="tanh"`, "approximate='none'")
}

func gelu(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

// geluGroup writes GELU of x into y the way PyTorch 1.13 exports nn.GELU(), or with the
// 0.5 applied to x first (variant) and x/√2 written as a product.
func (tg *testGraph) geluGroup(x, y string, variant bool) {
	if !variant {
		tg.constant("sqrt2", float64(float32(math.Sqrt2)))
		tg.node("Div", "div", []string{x, "sqrt2"}, "g1")
	} else {
		tg.param("half", nil, []float64{0.5})
		tg.node("Mul", "half_x", []string{"half", x}, "hx")
		tg.constant("inv_sqrt2", float64(float32(1/math.Sqrt2)))
		tg.node("Mul", "scale", []string{x, "inv_sqrt2"}, "g1")
	}
	tg.node("Erf", "erf", []string{"g1"}, "g2")
	tg.constant("one", 1)
	tg.node("Add", "add", []string{"one", "g2"}, "g3")
	if !variant {
		tg.node("Mul", "mul", []string{x, "g3"}, "g4")
		tg.constant("half", 0.5)
		tg.node("Mul", "mul_half", []string{"g4", "half"}, y)
	} else {
		tg.node("Mul", "mul", []string{"g3", "hx"}, y)
	}
}

func TestGELUGroup(t *testing.T) {
	for _, variant := range []bool{false, true} {
		tg := newTestGraph(-1, 6)
		w := tg.random(6 * 4)
		tg.param("w", []int64{4, 6}, w)
		tg.node("Gemm", "fc", []string{"x", "w"}, "h", attrInt("transB", 1))
		tg.geluGroup("h", "g", variant)
		tg.node("Softmax", "softmax", []string{"g"}, "y")
		tg.output("y")
		m := tg.load(t)
		checkKinds(t, m, model.KindDense, model.KindGELU, model.KindSoftmax)
		x := tg.random(6)
		// The layer is the exact GELU; the graph's float32 √2 differs by ~1e-8 relative.
		checkForward(t, m, x, softmaxVec(mapVec(gemm(x, w, 6, 4, true, 1, nil, 0), gelu)))
	}
}

// TestGELUGroupNotMatched: a group whose constants or structure differ is not GELU.
func TestGELUGroupNotMatched(t *testing.T) {
	tg := newTestGraph(-1, 6)
	tg.geluGroup("x", "y", false)
	for _, n := range tg.g.Node {
		if n.GetName() == "mul_half" {
			n.Input[1] = "one" // multiply by 1 instead of 0.5
		}
	}
	tg.output("y")
	wantUnsupported(t, importError(t, tg), "Erf", "erf", "only supported inside GELU")

	// x is also read outside the group: the graph branches.
	tg = newTestGraph(-1, 6)
	tg.geluGroup("x", "g", false)
	tg.node("Add", "residual", []string{"g", "x"}, "y")
	tg.output("y")
	wantUnsupported(t, importError(t, tg), "Erf", "erf", "only supported inside GELU")
}

func TestSiLUGroup(t *testing.T) {
	for _, order := range [][]string{{"x", "s"}, {"s", "x"}} {
		tg := newTestGraph(-1, 4)
		tg.node("Sigmoid", "sig", []string{"x"}, "s")
		tg.node("Mul", "mul", order, "y")
		tg.output("y")
		m := tg.load(t)
		checkKinds(t, m, model.KindSiLU)
		x := tg.random(4)
		checkForward(t, m, x, mapVec(x, func(v float64) float64 { return v / (1 + math.Exp(-v)) }))
	}
	// The sigmoid is also the graph output: not a SiLU group.
	tg := newTestGraph(-1, 4)
	tg.node("Sigmoid", "sig", []string{"x"}, "s")
	tg.node("Mul", "mul", []string{"x", "s"}, "y")
	tg.output("s")
	wantUnsupported(t, importError(t, tg), "Mul", "mul", "graph branches")
}
