package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// The networks the conversion tests convert: the fixtures of models/fixtures, and the
// trained ReLU network of models/mnist_relu.
var (
	fixturesDir = filepath.Join("..", "..", "models", "fixtures")
	mnistReLU   = filepath.Join("..", "..", "models", "mnist_relu", "mnist_relu.onnx")
)

// convertCase is a network and what its conversion should give.
type convertCase struct {
	path          string
	before, after string // layer kinds
	// fitted is the number of fitted polynomial activations; when it is not 0 the
	// conversion needs calibration.
	fitted int
	// params is the 128-bit parameter set the report chooses: batch packing's
	// N13QP215, or N14QP438R (batch packing with relinearization) for the three
	// stacked polynomials that N13QP215 cannot hold.
	params string
}

func convertCases() []convertCase {
	fx := func(name string) string { return filepath.Join(fixturesDir, name+".onnx") }
	return []convertCase{
		{fx("activations"), "flatten dense gelu dense silu dense tanh dense logsoftmax",
			"flatten dense polynomial dense polynomial dense polynomial dense", 3, "N14QP438R"},
		{fx("avgpool_pad"), "conv2d square sumpool flatten dense softmax", "conv2d square sumpool flatten dense", 0, "N13QP215"},
		{fx("batchnorm"), "conv2d channel_affine square flatten dense channel_affine square dense",
			"conv2d square flatten dense square dense", 0, "N13QP215"},
		{fx("cryptonets"), "conv2d square sumpool flatten dense square dense softmax", "conv2d square dense square dense", 0, "N13QP215"},
		{fx("maxpool"), "conv2d square maxpool flatten dense", "conv2d square sumpool flatten dense", 0, "N13QP215"},
		{fx("relu_mlp"), "flatten dense relu dense", "flatten dense polynomial dense", 1, "N13QP215"},
		{fx("sigmoid_out"), "flatten dense square dense sigmoid", "flatten dense square dense", 0, "N13QP215"},
		{mnistReLU, "conv2d channel_affine relu flatten dense channel_affine relu dense",
			"conv2d polynomial flatten dense polynomial dense", 2, "N13QP215"},
	}
}

// kinds returns the layer kinds of a report's model, space-separated.
func kinds(info map[string]any) string {
	var ks []string
	for _, l := range info["layers"].([]any) {
		ks = append(ks, l.(map[string]any)["kind"].(string))
	}
	return strings.Join(ks, " ")
}

func TestConvertNetworks(t *testing.T) {
	if n, _ := filepath.Glob(filepath.Join(fixturesDir, "*.onnx")); len(n) != len(convertCases())-1 {
		t.Fatalf("%d fixtures in %s; the test knows %d", len(n), fixturesDir, len(convertCases())-1)
	}
	for _, c := range convertCases() {
		name := strings.TrimSuffix(filepath.Base(c.path), ".onnx")
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), name+".cnm")
			// Degree 2 whatever the accuracy: these conversions are checked against
			// the figures below, not against the budget (TestConvertBudget).
			args := []string{"convert", c.path, "-o", out, "--calibration", "200", "--degree", "2", "--force", "-q"}
			if name == "mnist_relu" {
				args = append(args, "--test-images", "200")
			}
			v := okJSON(t, args...)
			if got := kinds(v["before"].(map[string]any)); got != c.before {
				t.Errorf("before: %q, want %q", got, c.before)
			}
			after := v["after"].(map[string]any)
			if got := kinds(after); got != c.after {
				t.Errorf("after: %q, want %q", got, c.after)
			}
			if len(v["rewrites"].([]any)) == 0 {
				t.Error("no rewrites reported")
			}
			fitted := v["fitted_activations"].([]any)
			if len(fitted) != c.fitted {
				t.Errorf("%d fitted activations, want %d", len(fitted), c.fitted)
			}
			for _, f := range fitted {
				f := f.(map[string]any)
				iv := f["interval"].([]any)
				if f["degree"] != 2.0 || !(f["max_error"].(float64) > 0) || !(iv[0].(float64) < iv[1].(float64)) {
					t.Errorf("fitted activation %v", f)
				}
			}
			// MNIST-shaped networks are calibrated whether they need it or not: the
			// calibration measures the conversion's cost and serves precision plans.
			cal, _ := v["calibration"].(map[string]any)
			if cal == nil || cal["images"] != 200.0 || cal["source"] != "mnist-train" {
				t.Errorf("calibration %v", cal)
			}
			if conv, _ := v["conversion"].(map[string]any); conv == nil || conv["inputs"] != 200.0 || conv["labeled"] != true {
				t.Errorf("conversion report %v", conv)
			}
			enc := v["encryption"].(map[string]any)
			if enc["params"] != c.params || enc["security_bits"] != 128.0 || !(enc["precision_bits"].(float64) >= 8) ||
				enc["max_level"] == nil || enc["input_level"] == nil || enc["output_level"] == nil || enc["error"] != nil {
				t.Errorf("encryption %v, want %s", enc, c.params)
			}
			if acc, ok := v["accuracy"].(map[string]any); ok {
				t.Logf("accuracy on 200 test images: %v", acc)
				if acc["images"] != 200.0 || acc["agreement"].(float64) < 0.95 || acc["after"].(float64) < 0.95 {
					t.Errorf("accuracy %v", acc)
				}
			}
			m, err := model.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if st, _ := os.Stat(out); st.Size() != int64(v["file_bytes"].(float64)) {
				t.Errorf("file is %d bytes, the report says %v", st.Size(), v["file_bytes"])
			}
			if _, err := m.Stages(); err != nil {
				t.Errorf("the converted model: %v", err)
			}
			if m.Provenance.Converter != "cryptonets convert" || len(m.Provenance.Rewrites) == 0 {
				t.Errorf("provenance %+v", m.Provenance)
			}
		})
	}
}

func TestConvertText(t *testing.T) {
	out := filepath.Join(t.TempDir(), "relu.cnm")
	text := ok(t, "convert", filepath.Join(fixturesDir, "relu_mlp.onnx"), "-o", out, "--calibration", "200",
		"--degree", "3", "--force", "--test-images", "100")
	for _, want := range []string{
		"calibration: 200 images (the first MNIST training images), values in [0, 1]; degree-3 polynomials",
		"before (imported, 4 layers):", "relu (convert fits a polynomial to it",
		"after (converted, 4 layers):", "degree 3 on [",
		"rewrites:\n  approximate-activations: layer 2 relu → degree-3 polynomial",
		"fitted activations (chosen on the calibration images):\n  layer 2: relu ≈ degree-3 polynomial on [", "% of the inputs outside",
		"conversion cost: accuracy on 200 calibration images:", "value bounds:", "packing:",
		"parameters:", "N13QP215: log N = 13, log QP = 215.0, 128-bit", "levels:", "planned precision:",
		"plaintext accuracy on the first 100 MNIST test images:", "argmax agreement:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
	// The layers of a batch-norm network print their details before conversion.
	text = ok(t, "convert", filepath.Join(fixturesDir, "batchnorm.onnx"), "-o", out)
	if !strings.Contains(text, "scale and shift of") || !strings.Contains(text, "fold-batchnorm") {
		t.Errorf("batchnorm report:\n%s", text)
	}
	text = ok(t, "inspect", filepath.Join(fixturesDir, "maxpool.onnx"))
	if !strings.Contains(text, "window 3×3, stride 2×2, pad 1,1,1,1 (convert makes it a scaled sum pool)") {
		t.Errorf("maxpool inspect:\n%s", text)
	}
}

// testNet builds a small ONNX model (opset 13) with the generated types.
type testNet struct {
	g *onnxpb.GraphProto
}

// newTestNet starts a graph with float inputs x, y, … of the given dimensions; a
// string dimension is symbolic.
func newTestNet(inputs ...[]any) *testNet {
	n := &testNet{g: &onnxpb.GraphProto{Name: proto.String("test")}}
	for i, dims := range inputs {
		name := string(rune('x' + i))
		shape := &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			switch d := d.(type) {
			case int:
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
			case string:
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}
			}
			shape.Dim = append(shape.Dim, dim)
		}
		n.g.Input = append(n.g.Input, &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
			Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
				ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape}}}})
	}
	return n
}

// node appends a node with one output.
func (n *testNet) node(op string, inputs []string, output string) {
	n.g.Node = append(n.g.Node, &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(output),
		Input: inputs, Output: []string{output}})
}

// gemm appends a Gemm node from in to out features, with small weights.
func (n *testNet) gemm(x string, in, out int, y string) {
	w := &onnxpb.TensorProto{Name: proto.String(y + ".w"), Dims: []int64{int64(in), int64(out)},
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}
	for i := range in * out {
		w.FloatData = append(w.FloatData, float32(math.Sin(float64(i)))/8)
	}
	n.g.Initializer = append(n.g.Initializer, w)
	n.node("Gemm", []string{x, y + ".w"}, y)
}

// write serializes the model into path.
func (n *testNet) write(t *testing.T, path string) {
	t.Helper()
	n.g.Output = []*onnxpb.ValueInfoProto{{Name: proto.String(n.g.Node[len(n.g.Node)-1].GetOutput()[0])}}
	data, err := proto.Marshal(&onnxpb.ModelProto{IrVersion: proto.Int64(7),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}, Graph: n.g})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// mlp writes a network: input x (dims) → Flatten → Gemm → act → Gemm to 10 outputs.
// act is an operator of one input, or Mul for x².
func mlp(t *testing.T, path string, act string, dims ...any) {
	t.Helper()
	n := newTestNet(dims)
	size := 1
	for _, d := range dims[1:] {
		if v, ok := d.(int); ok {
			size *= v
		}
	}
	n.node("Flatten", []string{"x"}, "flat")
	n.gemm("flat", size, 16, "h")
	if act == "Mul" {
		n.node(act, []string{"h", "h"}, "a")
	} else {
		n.node(act, []string{"h"}, "a")
	}
	n.gemm("a", 16, 10, "y")
	n.write(t, path)
}

// writeFloats writes values as raw little-endian float64.
func writeFloats(t *testing.T, path string, n int, value func(i int) float64) {
	t.Helper()
	data := make([]byte, 0, 8*n)
	for i := range n {
		data = binary.LittleEndian.AppendUint64(data, math.Float64bits(value(i)))
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// emptyDir fails the test unless dir holds no file.
func emptyDir(t *testing.T, dir string, after []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("cryptonets %s failed but left %s in the output folder", strings.Join(after, " "), e.Name())
	}
}

func TestConvertErrors(t *testing.T) {
	in, outDir := t.TempDir(), t.TempDir()
	out := filepath.Join(outDir, "out.cnm")
	path := func(name string) string { return filepath.Join(in, name) }

	// An unsupported operator: relu_mlp.onnx with its Relu node's op_type made Selu.
	data, err := os.ReadFile(filepath.Join(fixturesDir, "relu_mlp.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	opType := []byte("\x22\x04Relu") // NodeProto field 4 (op_type), length 4
	if bytes.Count(data, opType) != 1 {
		t.Fatalf("relu_mlp.onnx has %d Relu op_type fields, want 1", bytes.Count(data, opType))
	}
	if err := os.WriteFile(path("selu.onnx"), bytes.Replace(data, opType, []byte("\x22\x04Selu"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	two := newTestNet([]any{"N", 784}, []any{"N", 784})
	two.node("Add", []string{"x", "y"}, "s")
	two.gemm("s", 784, 10, "z")
	two.write(t, path("two.onnx"))
	mlp(t, path("dynamic.onnx"), "Relu", "N", 1, "H", 28)
	fiveD := newTestNet([]any{"N", 1, 2, 28, 28})
	fiveD.node("Flatten", []string{"x"}, "flat")
	fiveD.gemm("flat", 1568, 10, "z")
	fiveD.write(t, path("fived.onnx"))
	// small.onnx and small_x2.onnx take 20×20 images, not MNIST's 28×28.
	mlp(t, path("small.onnx"), "Relu", "N", 1, 20, 20)
	mlp(t, path("small_x2.onnx"), "Mul", "N", 1, 20, 20)
	writeFloats(t, path("small.f64"), 3*400, func(i int) float64 { return float64(i%7) / 7 })
	writeFloats(t, path("short.f64"), 399, func(int) float64 { return 0.5 })
	writeFloats(t, path("nan.f64"), 400, func(int) float64 { return math.NaN() })
	if err := os.WriteFile(path("garbage.onnx"), []byte("this is not a protobuf"), 0o644); err != nil {
		t.Fatal(err)
	}
	relu := filepath.Join(fixturesDir, "relu_mlp.onnx")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{path("selu.onnx")}, "operator Selu is not supported yet"},
		{[]string{path("two.onnx")}, "the graph has 2 inputs"},
		{[]string{path("dynamic.onnx")}, `dimension 2 is dynamic ("H")`},
		{[]string{path("fived.onnx")}, `input "x" has 5 dimensions; want [N, C, H, W] (images), [N, C, L] (signals) or [N, features] (records)`},
		{[]string{path("small.onnx")}, "needs MNIST images (1×28×28), but the network takes 1×20×20 images; give your own calibration images with --calibration-file"},
		{[]string{path("small.onnx"), "--calibration-file", path("small.f64"), "--force", "--test-images", "10"}, "--test-images needs MNIST images"},
		{[]string{path("small.onnx"), "--calibration-file", path("short.f64")}, "3192 bytes is not a whole number of 1×20×20 images"},
		{[]string{path("small.onnx"), "--calibration-file", path("nan.f64")}, "calibration image 0 has a NaN"},
		{[]string{path("small.onnx"), "--calibration-file", path("none.f64")}, "no such file"},
		{[]string{path("garbage.onnx")}, "onnx: cannot decode the model"},
		{[]string{path("none.onnx")}, "no such file"},
		{[]string{relu, "--calibration", "10", "--calibration-file", path("small.f64")}, "not both"},
		{[]string{relu, "--calibration", "0"}, "--calibration 0: must be 1 or more"},
		{[]string{relu, "--calibration", "60001"}, "the MNIST training set has 60000 images"},
		{[]string{relu, "--degree", "-1"}, "--degree -1: must be 0 (chosen within the budget) or 1 to 16"},
		{[]string{relu, "--degree", "17"}, "--degree 17: must be 0 (chosen within the budget) or 1 to 16"},
		{[]string{relu, "--degree", "1"}, "no polynomial approximation keeps the budget"},
		{[]string{relu, "--input-range", "1"}, "--input-range \"1\": want LO,HI"},
		{[]string{relu, "--normalize", "0.5"}, "want MEANS/STDS"},
		{[]string{relu, "--normalize", "0.5,0.1/0.2"}, "2 means and 1 stds for the 1 input channels"},
		{[]string{relu, "--test-images", "10001"}, "the MNIST test set has 10000 images"},
	} {
		args := append([]string{"convert", "-o", out}, c.args...)
		fails(t, cn(t, args...), c.want)
		emptyDir(t, outDir, args)
	}
	// A non-MNIST network with x² activations needs no calibration.
	v := okJSON(t, "convert", path("small_x2.onnx"), "-o", out)
	if v["calibration"] != nil || kinds(v["after"].(map[string]any)) != "flatten dense square dense" {
		t.Errorf("small_x2.onnx: %v", v)
	}
	// The non-MNIST ReLU network converts with calibration images of its own shape;
	// values outside [0, 1] give the model the calibration's range, widened.
	r := cn(t, "convert", path("small.onnx"), "-o", out, "--calibration-file", path("small.f64"), "--force", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"source": "`+path("small.f64")) {
		t.Fatalf("small.onnx with --calibration-file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	writeFloats(t, path("small2.f64"), 400, func(i int) float64 { return float64(i%5) - 1 })
	r = cn(t, "convert", path("small.onnx"), "-o", out, "--calibration-file", path("small2.f64"), "--force")
	if r.code != 0 || !strings.Contains(r.stdout, "input-range: from the 1 calibration inputs, per channel, widened by 10 %") {
		t.Fatalf("calibration outside the input range: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	m, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.InputRange != [2]float64{-1.4, 3.4} || len(m.ChannelRanges) != 1 {
		t.Errorf("input range %v, channel ranges %v; want [-1.4, 3.4] from the calibration", m.InputRange, m.ChannelRanges)
	}
}

// TestConvertBudget: without --force, a conversion outside the accuracy budget
// writes nothing and says by how much it misses it; --budget and --agreement move
// the budget.
func TestConvertBudget(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "relu.cnm")
	relu := filepath.Join(fixturesDir, "relu_mlp.onnx")
	r := cn(t, "convert", relu, "-o", out, "--calibration", "200", "--degree", "1")
	fails(t, r, "on the 200 calibration inputs, the original")
	fails(t, r, "cryptonets.finetune")
	emptyDir(t, dir, []string{"convert", relu})
	v := okJSON(t, "convert", relu, "-o", out, "--calibration", "200", "--budget", "5")
	conv := v["conversion"].(map[string]any)
	if conv["within_budget"] != true || conv["budget"].(map[string]any)["points"] != 5.0 {
		t.Errorf("conversion %v", conv)
	}
	acts := conv["activations"].([]any)
	if len(acts) != 1 || acts[0].(map[string]any)["degree"] != 2.0 {
		t.Errorf("a 5-point budget should keep degree 2: %v", acts)
	}
}

// TestCommittedReLUModel checks that models/mnist_relu/mnist_relu.cnm is what
// `cryptonets convert` makes of mnist_relu.onnx today (the command of its model card),
// within rounding.
func TestCommittedReLUModel(t *testing.T) {
	dir := filepath.Join("..", "..", "models", "mnist_relu")
	fresh := filepath.Join(t.TempDir(), "mnist_relu.cnm")
	ok(t, "convert", filepath.Join(dir, "mnist_relu.onnx"), "-o", fresh, "--calibration", "1000", "--degree", "2", "--force")
	committed, err := model.Load(filepath.Join(dir, "mnist_relu.cnm"))
	if err != nil {
		t.Fatal(err)
	}
	converted, err := model.Load(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if len(converted.Layers) != len(committed.Layers) {
		t.Fatalf("fresh conversion has %d layers, the committed file %d", len(converted.Layers), len(committed.Layers))
	}
	for i := range converted.Layers {
		a, b := layerNumbers(converted.Layers[i]), layerNumbers(committed.Layers[i])
		if len(a) != len(b) {
			t.Fatalf("layer %d: %d numbers, the committed file has %d", i, len(a), len(b))
		}
		for k := range a {
			if math.Abs(a[k]-b[k]) > 1e-9*math.Max(1, math.Abs(b[k])) {
				t.Fatalf("layer %d, number %d: %.17g, the committed file has %.17g", i, k, a[k], b[k])
			}
		}
	}
}

// layerNumbers lists the parameters of a layer.
func layerNumbers(l model.Layer) []float64 {
	switch l := l.(type) {
	case *model.Conv2D:
		return append(append([]float64(nil), l.Weights...), l.Bias...)
	case *model.Dense:
		return append(append([]float64(nil), l.Weights...), l.Bias...)
	case *model.Polynomial:
		return append(append([]float64(nil), l.Coeffs...), l.Interval[0], l.Interval[1], l.FitError)
	}
	return nil
}
