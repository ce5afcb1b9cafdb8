package onnx

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// testGraph builds a small ONNX model in memory with the generated types.
type testGraph struct {
	g     *onnxpb.GraphProto
	opset int64
	rng   *rand.Rand
}

// newTestGraph starts a graph (opset 13) whose input "x" has the given dimensions; a
// negative dimension is symbolic ("N").
func newTestGraph(dims ...int64) *testGraph {
	tg := &testGraph{g: &onnxpb.GraphProto{Name: proto.String("test")}, opset: 13, rng: rand.New(rand.NewPCG(1, 2))}
	tg.input("x", dims...)
	return tg
}

// input declares a float graph input.
func (tg *testGraph) input(name string, dims ...int64) {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
		if d < 0 {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	tg.g.Input = append(tg.g.Input, &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape}}}})
}

// random returns n random values in [-1, 1) that float32 represents exactly.
func (tg *testGraph) random(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(float32(2*tg.rng.Float64() - 1))
	}
	return v
}

// floatTensor makes a FLOAT tensor stored in float_data, or in raw_data if raw.
func floatTensor(name string, dims []int64, vals []float64, raw bool) *onnxpb.TensorProto {
	t := &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}
	for _, v := range vals {
		if raw {
			t.RawData = binary.LittleEndian.AppendUint32(t.RawData, math.Float32bits(float32(v)))
		} else {
			t.FloatData = append(t.FloatData, float32(v))
		}
	}
	return t
}

// intTensor makes a 1-D INT64 tensor.
func intTensor(name string, vals ...int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(vals))},
		DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: vals}
}

// param adds a FLOAT initializer, in raw_data when it has an even number of values,
// else in float_data, so that tests exercise both encodings.
func (tg *testGraph) param(name string, dims []int64, vals []float64) {
	tg.g.Initializer = append(tg.g.Initializer, floatTensor(name, dims, vals, len(vals)%2 == 0))
}

// initInts adds a 1-D INT64 initializer.
func (tg *testGraph) initInts(name string, vals ...int64) {
	tg.g.Initializer = append(tg.g.Initializer, intTensor(name, vals...))
}

// node appends a node with one output.
func (tg *testGraph) node(op, name string, inputs []string, output string, attrs ...*onnxpb.AttributeProto) {
	tg.g.Node = append(tg.g.Node, &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name),
		Input: inputs, Output: []string{output}, Attribute: attrs})
}

// output declares the graph output.
func (tg *testGraph) output(name string) {
	tg.g.Output = append(tg.g.Output, &onnxpb.ValueInfoProto{Name: proto.String(name)})
}

// marshal serializes the model.
func (tg *testGraph) marshal() ([]byte, error) {
	mp := &onnxpb.ModelProto{IrVersion: proto.Int64(7), ProducerName: proto.String("go-test"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(tg.opset)}},
		Graph:       tg.g}
	return proto.Marshal(mp)
}

// bytes serializes the model, failing the test on error.
func (tg *testGraph) bytes(t *testing.T) []byte {
	t.Helper()
	data, err := tg.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// load serializes and imports the model, failing the test on error.
func (tg *testGraph) load(t *testing.T) *model.Model {
	t.Helper()
	m, err := Import(tg.bytes(t))
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return m
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func attrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func attrTensor(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}

// ---- Direct computations, independent of package model's evaluator. ----

// img is a C×H×W image stored as nested slices.
type img [][][]float64

func newImg(c, h, w int) img {
	x := make(img, c)
	for i := range x {
		x[i] = make([][]float64, h)
		for y := range x[i] {
			x[i][y] = make([]float64, w)
		}
	}
	return x
}

// toImg reshapes a flat channel-major vector.
func toImg(v []float64, c, h, w int) img {
	x := newImg(c, h, w)
	for i := range c {
		for y := range h {
			copy(x[i][y], v[(i*h+y)*w:(i*h+y+1)*w])
		}
	}
	return x
}

// flat flattens channel-major, as torch.flatten(x, 1).
func (x img) flat() []float64 {
	var v []float64
	for _, ch := range x {
		for _, row := range ch {
			v = append(v, row...)
		}
	}
	return v
}

// pad adds zeros: top, left, bottom, right.
func (x img) pad(t, l, b, r int) img {
	h, w := len(x[0]), len(x[0][0])
	y := newImg(len(x), h+t+b, w+l+r)
	for c := range x {
		for i := range h {
			copy(y[c][i+t][l:], x[c][i])
		}
	}
	return y
}

// conv is a direct convolution of an already padded image; weights [oc][ic][kh][kw].
func (x img) conv(w []float64, bias []float64, oc, kh, kw, sh, sw int) img {
	ic, h, wd := len(x), len(x[0]), len(x[0][0])
	oh, ow := (h-kh)/sh+1, (wd-kw)/sw+1
	y := newImg(oc, oh, ow)
	for o := range oc {
		for i := range oh {
			for j := range ow {
				s := 0.0
				if bias != nil {
					s = bias[o]
				}
				for c := range ic {
					for a := range kh {
						for b := range kw {
							s += w[((o*ic+c)*kh+a)*kw+b] * x[c][i*sh+a][j*sw+b]
						}
					}
				}
				y[o][i][j] = s
			}
		}
	}
	return y
}

// avgPool averages each window of an already padded image (padded zeros count).
func (x img) avgPool(kh, kw, sh, sw int) img {
	c, h, wd := len(x), len(x[0]), len(x[0][0])
	oh, ow := (h-kh)/sh+1, (wd-kw)/sw+1
	y := newImg(c, oh, ow)
	for ch := range c {
		for i := range oh {
			for j := range ow {
				s := 0.0
				for a := range kh {
					for b := range kw {
						s += x[ch][i*sh+a][j*sw+b]
					}
				}
				y[ch][i][j] = s / float64(kh*kw)
			}
		}
	}
	return y
}

// square squares every value.
func (x img) square() img {
	return toImg(squareVec(x.flat()), len(x), len(x[0]), len(x[0][0]))
}

func squareVec(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * x
	}
	return out
}

// gemm computes alpha·B·x + beta·c; B is [out][in] if transB, else [in][out].
func gemm(x, B []float64, in, out int, transB bool, alpha float64, c []float64, beta float64) []float64 {
	y := make([]float64, out)
	for j := range out {
		s := 0.0
		for i := range in {
			if transB {
				s += B[j*in+i] * x[i]
			} else {
				s += B[i*out+j] * x[i]
			}
		}
		y[j] = alpha * s
		if c != nil {
			y[j] += beta * c[j]
		}
	}
	return y
}

func softmaxVec(v []float64) []float64 {
	out := make([]float64, len(v))
	s := 0.0
	for i, x := range v {
		out[i] = math.Exp(x)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// checkForward compares the imported model's reference output on x with want.
func checkForward(t *testing.T, m *model.Model, x, want []float64) {
	t.Helper()
	ref, err := model.NewReference(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ref.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d outputs, want %d", len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); d > 1e-12*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("output %d = %.17g, want %.17g (diff %.3g)", i, got[i], want[i], d)
		}
	}
}

// checkKinds compares the model's layer kinds.
func checkKinds(t *testing.T, m *model.Model, want ...model.Kind) {
	t.Helper()
	var got []model.Kind
	for _, l := range m.Layers {
		got = append(got, l.Kind())
	}
	if len(got) != len(want) {
		t.Fatalf("layers %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("layers %v, want %v", got, want)
		}
	}
}
