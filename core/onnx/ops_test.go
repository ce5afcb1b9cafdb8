package onnx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// TestConvPadsStrideNonSquare: the kernel, the strides, the padding and so the output
// are not square (TestNonSquareImages has non-square inputs).
func TestConvPadsStrideNonSquare(t *testing.T) {
	tg := newTestGraph(-1, 2, 7, 7)
	w, b := tg.random(3*2*3*2), tg.random(3)
	tg.param("w", []int64{3, 2, 3, 2}, w)
	tg.param("b", []int64{3}, b)
	tg.node("Conv", "conv", []string{"x", "w", "b"}, "y",
		attrInts("kernel_shape", 3, 2), attrInts("strides", 2, 1), attrInts("pads", 1, 0, 2, 1),
		attrInts("dilations", 1, 1), attrInt("group", 1))
	tg.node("Flatten", "flat", []string{"y"}, "z", attrInt("axis", 1))
	tg.output("z")
	m := tg.load(t)
	checkKinds(t, m, model.KindConv2D, model.KindFlatten)
	if m.Input != (model.Shape{C: 2, H: 7, W: 7}) {
		t.Fatalf("input shape %v", m.Input)
	}
	if out, err := m.Layers[0].OutputShape(m.Input); err != nil || out != (model.Shape{C: 3, H: 4, W: 7}) {
		t.Fatalf("output shape %v, %v", out, err)
	}
	x := tg.random(2 * 7 * 7)
	want := toImg(x, 2, 7, 7).pad(1, 0, 2, 1).conv(w, b, 3, 3, 2, 2, 1).flat()
	checkForward(t, m, x, want)
}

func TestPadFoldedIntoConv(t *testing.T) {
	for _, opset := range []int64{10, 13} {
		tg := newTestGraph(1, 1, 5, 5)
		tg.opset = opset
		w := tg.random(2 * 1 * 3 * 3)
		tg.param("w", []int64{2, 1, 3, 3}, w)
		pads := []int64{0, 0, 1, 2, 0, 0, 2, 1} // top 1, left 2, bottom 2, right 1
		if opset >= 11 {
			tg.initInts("pads", pads...)
			tg.node("Pad", "pad", []string{"x", "pads"}, "p", attrString("mode", "constant"))
		} else {
			tg.node("Pad", "pad", []string{"x"}, "p", attrInts("pads", pads...), attrFloat("value", 0))
		}
		tg.node("Identity", "id", []string{"p"}, "q")
		// The Conv adds its own padding (top 1, left 1) to the Pad's; no bias.
		tg.node("Conv", "conv", []string{"q", "w"}, "y", attrInts("pads", 1, 1, 0, 0))
		tg.output("y")
		m := tg.load(t)
		checkKinds(t, m, model.KindConv2D)
		if got := m.Layers[0].(*model.Conv2D).Pad; got != (model.Padding{Top: 2, Left: 3, Bottom: 2, Right: 1}) {
			t.Fatalf("opset %d: padding %+v", opset, got)
		}
		x := tg.random(5 * 5)
		checkForward(t, m, x, toImg(x, 1, 5, 5).pad(2, 3, 2, 1).conv(w, nil, 2, 3, 3, 1, 1).flat())
	}
}

func TestGemmDropoutSoftmax(t *testing.T) {
	tg := newTestGraph(-1, 6)
	b1, c1 := tg.random(4*6), tg.random(4)
	b2, c2 := tg.random(4*3), tg.random(3)
	tg.param("b1", []int64{4, 6}, b1)
	tg.param("c1", []int64{4}, c1)
	tg.param("b2", []int64{4, 3}, b2)
	tg.param("c2", []int64{1, 3}, c2)
	tg.node("Gemm", "fc1", []string{"x", "b1", "c1"}, "h",
		attrInt("transB", 1), attrFloat("alpha", 0.5), attrFloat("beta", 2))
	tg.node("Dropout", "drop", []string{"h"}, "d")
	tg.node("Gemm", "fc2", []string{"d", "b2", "c2"}, "l")
	tg.node("Softmax", "softmax", []string{"l"}, "p", attrInt("axis", 1))
	tg.output("p")
	m := tg.load(t)
	checkKinds(t, m, model.KindDense, model.KindDense, model.KindSoftmax)
	x := tg.random(6)
	h := gemm(x, b1, 6, 4, true, 0.5, c1, 2)
	checkForward(t, m, x, softmaxVec(gemm(h, b2, 4, 3, false, 1, c2, 1)))
}

func TestMatMulAdd(t *testing.T) {
	tg := newTestGraph(1, 5)
	w1, c := tg.random(5*4), tg.random(4)
	w2 := tg.random(4 * 2)
	tg.param("w1", []int64{5, 4}, w1)
	tg.param("c", []int64{4}, c)
	tg.param("w2", []int64{4, 2}, w2)
	tg.node("MatMul", "mm1", []string{"x", "w1"}, "h")
	tg.node("Add", "add", []string{"c", "h"}, "a") // constant first: Add commutes
	tg.node("MatMul", "mm2", []string{"a", "w2"}, "y")
	tg.output("y")
	m := tg.load(t)
	checkKinds(t, m, model.KindDense, model.KindDense)
	x := tg.random(5)
	checkForward(t, m, x, gemm(gemm(x, w1, 5, 4, false, 1, c, 1), w2, 4, 2, false, 1, nil, 0))
}

func TestAddAfterConvIsBias(t *testing.T) {
	tg := newTestGraph(-1, 1, 4, 4)
	w, c := tg.random(2*1*2*2), tg.random(2)
	tg.param("w", []int64{2, 1, 2, 2}, w)
	tg.param("c", []int64{1, 2, 1, 1}, c)
	tg.node("Conv", "conv", []string{"x", "w"}, "h")
	tg.node("Add", "add", []string{"h", "c"}, "y")
	tg.output("y")
	m := tg.load(t)
	checkKinds(t, m, model.KindConv2D)
	x := tg.random(16)
	checkForward(t, m, x, toImg(x, 1, 4, 4).conv(w, c, 2, 2, 2, 1, 1).flat())
}

func TestSquares(t *testing.T) {
	tg := newTestGraph(-1, 1, 4, 4)
	w, b := tg.random(2*1*3*3), tg.random(2)
	f := tg.random(3 * 8)
	tg.param("w", []int64{2, 1, 3, 3}, w)
	tg.param("b", []int64{2}, b)
	tg.param("f", []int64{3, 8}, f)
	tg.node("Conv", "conv", []string{"x", "w", "b"}, "c")
	tg.node("Mul", "sq1", []string{"c", "c"}, "s")
	tg.node("Flatten", "flat", []string{"s"}, "v")
	tg.node("Gemm", "fc", []string{"v", "f"}, "g", attrInt("transB", 1))
	tg.g.Node = append(tg.g.Node, &onnxpb.NodeProto{OpType: proto.String("Constant"), Output: []string{"two"},
		Attribute: []*onnxpb.AttributeProto{attrTensor("value", floatTensor("", nil, []float64{2}, false))}})
	tg.node("Pow", "sq2", []string{"g", "two"}, "y")
	tg.output("y")
	m := tg.load(t)
	checkKinds(t, m, model.KindConv2D, model.KindSquare, model.KindFlatten, model.KindDense, model.KindSquare)
	x := tg.random(16)
	v := toImg(x, 1, 4, 4).conv(w, b, 2, 3, 3, 1, 1).square().flat()
	checkForward(t, m, x, squareVec(gemm(v, f, 8, 3, true, 1, nil, 0)))
}

func TestAveragePoolCountIncludePad(t *testing.T) {
	tg := newTestGraph(-1, 2, 6, 6)
	// The pooled image is 3×6: the global average pool averages a non-square image.
	tg.node("AveragePool", "pool", []string{"x"}, "y", attrInts("kernel_shape", 3, 2), attrInts("strides", 2, 1),
		attrInts("pads", 1, 1, 1, 0), attrInt("count_include_pad", 1), attrInt("ceil_mode", 0))
	tg.node("GlobalAveragePool", "gap", []string{"y"}, "z")
	tg.output("z")
	m := tg.load(t)
	checkKinds(t, m, model.KindSumPool, model.KindSumPool)
	if p := m.Layers[0].(*model.SumPool); p.Scale != 1.0/6 {
		t.Fatalf("scale %g, want 1/6", p.Scale)
	}
	x := tg.random(2 * 6 * 6)
	pooled := toImg(x, 2, 6, 6).pad(1, 1, 1, 0).avgPool(3, 2, 2, 1)
	checkForward(t, m, x, pooled.avgPool(len(pooled[0]), len(pooled[0][0]), 1, 1).flat())
}

func TestAveragePoolWithoutPadsIgnoresCountIncludePad(t *testing.T) {
	tg := newTestGraph(-1, 1, 4, 4)
	tg.node("AveragePool", "pool", []string{"x"}, "y", attrInts("kernel_shape", 2, 2), attrInts("strides", 2, 2))
	tg.output("y")
	m := tg.load(t)
	x := tg.random(16)
	checkForward(t, m, x, toImg(x, 1, 4, 4).avgPool(2, 2, 2, 2).flat())
}

// TestReshapeForms checks flattening reshapes: constant target shapes and PyTorch's
// x.view(x.size(0), -1) pattern Shape → Gather → Unsqueeze → Concat → Reshape.
func TestReshapeForms(t *testing.T) {
	shapes := map[string]func(tg *testGraph){
		"[0,-1]":  func(tg *testGraph) { tg.initInts("shape", 0, -1) },
		"[-1,12]": func(tg *testGraph) { tg.initInts("shape", -1, 12) },
		"[1,12]":  func(tg *testGraph) { tg.initInts("shape", 1, 12) },
		"torch": func(tg *testGraph) {
			tg.g.Initializer = append(tg.g.Initializer,
				&onnxpb.TensorProto{Name: proto.String("zero"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{0}})
			tg.initInts("axes", 0)
			tg.initInts("minus1", -1)
			tg.node("Shape", "shape_of", []string{"x"}, "s")
			tg.node("Gather", "batch", []string{"s", "zero"}, "n", attrInt("axis", 0))
			tg.node("Unsqueeze", "unsq", []string{"n", "axes"}, "n1")
			tg.node("Concat", "cat", []string{"n1", "minus1"}, "shape", attrInt("axis", 0))
		},
		"torch-opset11": func(tg *testGraph) {
			tg.opset = 11
			tg.g.Initializer = append(tg.g.Initializer,
				&onnxpb.TensorProto{Name: proto.String("zero"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{0}})
			tg.node("Shape", "shape_of", []string{"x"}, "s")
			tg.node("Gather", "batch", []string{"s", "zero"}, "n")
			tg.node("Unsqueeze", "unsq", []string{"n"}, "n1", attrInts("axes", 0))
			tg.g.Node = append(tg.g.Node, &onnxpb.NodeProto{OpType: proto.String("Constant"), Output: []string{"minus1"},
				Attribute: []*onnxpb.AttributeProto{attrInts("value_ints", -1)}})
			tg.node("Concat", "cat", []string{"n1", "minus1"}, "shape", attrInt("axis", 0))
		},
	}
	for name, shape := range shapes {
		tg := newTestGraph(-1, 3, 2, 2)
		f := tg.random(12 * 2)
		tg.param("f", []int64{2, 12}, f)
		shape(tg)
		tg.node("Reshape", "reshape", []string{"x", "shape"}, "v")
		tg.node("Gemm", "fc", []string{"v", "f"}, "y", attrInt("transB", 1))
		tg.output("y")
		m, err := Import(tg.bytes(t))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkKinds(t, m, model.KindFlatten, model.KindDense)
		x := tg.random(12)
		checkForward(t, m, x, gemm(x, f, 12, 2, true, 1, nil, 0))
	}
}

// TestCryptoNetsGraph imports the graph PyTorch 1.13 exports for the CryptoNets MNIST
// network (with an explicit Pad before the pool and raw_data weights).
func TestCryptoNetsGraph(t *testing.T) {
	tg := newTestGraph(-1, 1, 9, 9)
	w, b := tg.random(3*1*3*3), tg.random(3)
	f1, c1 := tg.random(6*75), tg.random(6)
	f2, c2 := tg.random(4*6), tg.random(4)
	for _, p := range []struct {
		name string
		dims []int64
		v    []float64
	}{{"w", []int64{3, 1, 3, 3}, w}, {"b", []int64{3}, b}, {"f1", []int64{6, 75}, f1},
		{"c1", []int64{6}, c1}, {"f2", []int64{4, 6}, f2}, {"c2", []int64{4}, c2}} {
		tg.g.Initializer = append(tg.g.Initializer, floatTensor(p.name, p.dims, p.v, true))
		// Older exporters also list the initializers as graph inputs.
		tg.input(p.name, p.dims...)
	}
	constant := func(out string, t *onnxpb.TensorProto) {
		tg.g.Node = append(tg.g.Node, &onnxpb.NodeProto{OpType: proto.String("Constant"), Name: proto.String(out),
			Output: []string{out}, Attribute: []*onnxpb.AttributeProto{attrTensor("value", t)}})
	}
	tg.node("Conv", "/conv/Conv", []string{"x", "w", "b"}, "c", attrInts("kernel_shape", 3, 3),
		attrInts("strides", 2, 2), attrInts("pads", 1, 1, 1, 1))
	tg.node("Mul", "/Mul", []string{"c", "c"}, "s")
	constant("pads", intTensor("", 0, 0, 1, 1, 0, 0, 1, 1))
	tg.node("Pad", "/pool/Pad", []string{"s", "pads"}, "p", attrString("mode", "constant"))
	tg.node("AveragePool", "/pool/AveragePool", []string{"p"}, "a", attrInts("kernel_shape", 3, 3),
		attrInts("strides", 1, 1), attrInts("pads", 0, 0, 0, 0), attrInt("ceil_mode", 0))
	tg.node("Flatten", "/Flatten", []string{"a"}, "v", attrInt("axis", 1))
	tg.node("Gemm", "/fc1/Gemm", []string{"v", "f1", "c1"}, "h", attrInt("transB", 1))
	constant("two", floatTensor("", nil, []float64{2}, true))
	tg.node("Pow", "/Pow", []string{"h", "two"}, "q")
	tg.node("Gemm", "/fc2/Gemm", []string{"q", "f2", "c2"}, "l", attrInt("transB", 1))
	tg.node("Softmax", "/Softmax", []string{"l"}, "y", attrInt("axis", 1))
	tg.output("y")
	m := tg.load(t)
	checkKinds(t, m, model.KindConv2D, model.KindSquare, model.KindSumPool, model.KindFlatten,
		model.KindDense, model.KindSquare, model.KindDense, model.KindSoftmax)
	x := tg.random(81)
	s := toImg(x, 1, 9, 9).pad(1, 1, 1, 1).conv(w, b, 3, 3, 3, 2, 2).square()
	v := s.pad(1, 1, 1, 1).avgPool(3, 3, 1, 1).flat()
	logits := gemm(squareVec(gemm(v, f1, 75, 6, true, 1, c1, 1)), f2, 6, 4, true, 1, c2, 1)
	checkForward(t, m, x, softmaxVec(logits))
}

func TestImportFileAndProvenance(t *testing.T) {
	tg := newTestGraph(-1, 3)
	tg.node("Softmax", "softmax", []string{"x"}, "y")
	tg.output("y")
	data := tg.bytes(t)
	path := filepath.Join(t.TempDir(), "tiny-net.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ImportFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "tiny-net" || m.InputRange != [2]float64{0, 1} {
		t.Errorf("name %q, input range %v", m.Name, m.InputRange)
	}
	p := m.Provenance
	if p.Source != "onnx" || len(p.SourceSHA256) != 64 || !strings.Contains(p.Notes, "opset 13") ||
		!strings.Contains(p.Notes, `"go-test"`) {
		t.Errorf("provenance %+v", p)
	}
	m2, err := Import(data)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Name != "test" || m2.Provenance.SourceSHA256 != p.SourceSHA256 {
		t.Errorf("Import: name %q, sha %s; ImportFile sha %s", m2.Name, m2.Provenance.SourceSHA256, p.SourceSHA256)
	}
	if _, err := ImportFile(filepath.Join(t.TempDir(), "missing.onnx")); err == nil {
		t.Error("ImportFile of a missing file: no error")
	}
}

func TestSupportedOpsHaveHandlers(t *testing.T) {
	b := newBuilder(13)
	for _, op := range supportedOps() {
		if b.handler(op) == nil && !isShapeOp(op) && op != "Constant" {
			t.Errorf("operator %s is listed as supported but has no handler", op)
		}
	}
}
