package onnx

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/hostile"
	"github.com/cryptonets/cryptonets/core/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// importError imports the graph and returns the error, failing if there is none.
func importError(t *testing.T, tg *testGraph) error {
	t.Helper()
	m, err := Import(tg.bytes(t))
	if err == nil {
		t.Fatalf("Import succeeded with layers %v, want an error", m.Layers)
	}
	return err
}

// wantUnsupported checks that err is an *UnsupportedError for op at node and that its
// message contains every fragment.
func wantUnsupported(t *testing.T, err error, op, node string, fragments ...string) {
	t.Helper()
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("error %q is not an *UnsupportedError", err)
	}
	if ue.Op != op || ue.Node != node {
		t.Errorf("UnsupportedError{Op: %q, Node: %q}, want %q, %q", ue.Op, ue.Node, op, node)
	}
	t.Log(err)
	for _, f := range append(fragments, op, `"`+node+`"`) {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}

func TestUnsupportedOperator(t *testing.T) {
	tg := newTestGraph(-1, 4)
	tg.node("LeakyRelu", "LeakyRelu_3", []string{"x"}, "y")
	tg.output("y")
	err := importError(t, tg)
	want := `onnx: node "LeakyRelu_3": operator LeakyRelu is not supported yet; ` +
		`use ReLU, sigmoid, tanh, GELU or SiLU (the conversion fits polynomials to them) or x*x (square) instead`
	if err.Error() != want {
		t.Errorf("error\n %s\nwant\n %s", err, want)
	}
	wantUnsupported(t, err, "LeakyRelu", "LeakyRelu_3")
}

func TestUnsupportedGlobalMaxPoolAndUnnamedNode(t *testing.T) {
	tg := newTestGraph(-1, 1, 4, 4)
	tg.g.Node = append(tg.g.Node, &onnxpb.NodeProto{OpType: proto.String("GlobalMaxPool"), Input: []string{"x"},
		Output: []string{"y"}})
	tg.output("y")
	wantUnsupported(t, importError(t, tg), "GlobalMaxPool", "#0 (GlobalMaxPool)", "AdaptiveAvgPool2d")
}

// TestLoneErf: Erf outside the GELU group names the group.
func TestLoneErf(t *testing.T) {
	tg := newTestGraph(-1, 4)
	tg.node("Erf", "erf", []string{"x"}, "y")
	tg.output("y")
	wantUnsupported(t, importError(t, tg), "Erf", "erf", "only supported inside GELU")
}

func TestUnknownOperatorListsSupported(t *testing.T) {
	tg := newTestGraph(-1, 4)
	tg.node("Einsum", "e", []string{"x"}, "y")
	tg.output("y")
	wantUnsupported(t, importError(t, tg), "Einsum", "e", "supported operators: Conv, Gemm")
}

func TestCustomDomain(t *testing.T) {
	tg := newTestGraph(-1, 4)
	tg.node("Square", "sq", []string{"x"}, "y")
	tg.g.Node[0].Domain = proto.String("com.example")
	tg.output("y")
	wantUnsupported(t, importError(t, tg), "Square", "sq", "com.example")
}

func TestCountIncludePadZeroWithPads(t *testing.T) {
	tg := newTestGraph(-1, 1, 4, 4)
	tg.node("AveragePool", "pool", []string{"x"}, "y", attrInts("kernel_shape", 3, 3), attrInts("pads", 1, 1, 1, 1),
		attrInt("count_include_pad", 0))
	tg.output("y")
	wantUnsupported(t, importError(t, tg), "AveragePool", "pool", "count_include_pad=0", "not a uniform sum-pool")
}

func TestUnsupportedUses(t *testing.T) {
	cases := []struct {
		name      string
		build     func(tg *testGraph)
		op, node  string
		fragments []string
	}{
		{"grouped conv", func(tg *testGraph) {
			tg.param("w", []int64{2, 1, 1, 1}, []float64{1, 2})
			tg.node("Conv", "dw", []string{"x", "w"}, "y", attrInt("group", 2))
		}, "Conv", "dw", []string{"group=2"}},
		{"same padding", func(tg *testGraph) {
			tg.param("w", []int64{1, 2, 3, 3}, make([]float64, 18))
			tg.node("Conv", "same", []string{"x", "w"}, "y", attrString("auto_pad", "SAME_UPPER"))
		}, "Conv", "same", []string{"auto_pad=SAME_UPPER"}},
		{"gemm on 4-D", func(tg *testGraph) {
			tg.param("w", []int64{3, 2}, make([]float64, 6))
			tg.node("Gemm", "fc", []string{"x", "w"}, "y")
		}, "Gemm", "fc", []string{"flatten first"}},
		{"pad before mul", func(tg *testGraph) {
			tg.initInts("pads", 0, 0, 1, 1, 0, 0, 1, 1)
			tg.node("Pad", "pad", []string{"x", "pads"}, "p")
			tg.node("Mul", "sq", []string{"p", "p"}, "y")
		}, "Pad", "pad", []string{"right before a Conv or AveragePool"}},
		{"pad at the end", func(tg *testGraph) {
			tg.initInts("pads", 0, 0, 1, 1, 0, 0, 1, 1)
			tg.node("Pad", "pad", []string{"x", "pads"}, "y")
		}, "Pad", "pad", []string{"right before a Conv or AveragePool"}},
		{"pad channels", func(tg *testGraph) {
			tg.initInts("pads", 0, 1, 0, 0, 0, 0, 0, 0)
			tg.node("Pad", "pad", []string{"x", "pads"}, "p")
		}, "Pad", "pad", []string{"channel"}},
		{"reflect pad", func(tg *testGraph) {
			tg.initInts("pads", 0, 0, 1, 1, 0, 0, 1, 1)
			tg.node("Pad", "pad", []string{"x", "pads"}, "p", attrString("mode", "reflect"))
		}, "Pad", "pad", []string{`"reflect"`}},
		{"softmax over width", func(tg *testGraph) {
			tg.node("Softmax", "sm", []string{"x"}, "y")
		}, "Softmax", "sm", []string{"axis 3"}},
		{"reshape across inputs", func(tg *testGraph) {
			tg.initInts("shape", -1, 16)
			tg.node("Reshape", "rs", []string{"x", "shape"}, "y")
		}, "Reshape", "rs", []string{"[-1, 16]", "reshape each input on its own"}},
		{"reshape to 5-D", func(tg *testGraph) {
			tg.initInts("shape", 0, 2, 2, 2, 2)
			tg.node("Reshape", "rs", []string{"x", "shape"}, "y")
		}, "Reshape", "rs", []string{"[0, 2, 2, 2, 2]"}},
		{"squeeze the batch axis", func(tg *testGraph) {
			tg.node("Squeeze", "sq", []string{"x"}, "y", attrInts("axes", 0))
		}, "Squeeze", "sq", []string{"only axes after the batch axis"}},
		{"one over x", func(tg *testGraph) {
			tg.param("k", []int64{1}, []float64{3})
			tg.node("Div", "inv", []string{"k", "x"}, "y")
		}, "Div", "inv", []string{"1/x", "not a polynomial"}},
		{"divide by zero", func(tg *testGraph) {
			tg.param("k", []int64{2, 1, 1}, []float64{3, 0})
			tg.node("Div", "norm", []string{"x", "k"}, "y")
		}, "Div", "norm", []string{"zero value (channel 1)"}},
		{"per-pixel constant", func(tg *testGraph) {
			tg.param("k", []int64{1, 4, 4}, make([]float64, 16))
			tg.node("Sub", "center", []string{"x", "k"}, "y")
		}, "Sub", "center", []string{"does not broadcast per channel", "[2, 1, 1]"}},
		{"transpose", func(tg *testGraph) {
			tg.node("Transpose", "tr", []string{"x"}, "y", attrInts("perm", 0, 1, 3, 2))
		}, "Transpose", "tr", []string{"not supported"}},
		{"dilated pool", func(tg *testGraph) {
			tg.node("AveragePool", "pool", []string{"x"}, "y", attrInts("kernel_shape", 2, 2), attrInts("dilations", 2, 2))
		}, "AveragePool", "pool", []string{"dilations 2×2"}},
		{"ceil mode", func(tg *testGraph) {
			tg.node("AveragePool", "pool", []string{"x"}, "y", attrInts("kernel_shape", 2, 2), attrInt("ceil_mode", 1))
		}, "AveragePool", "pool", []string{"ceil_mode"}},
		{"residual", func(tg *testGraph) {
			tg.param("w", []int64{2, 2, 1, 1}, []float64{1, 2, 3, 4})
			tg.node("Conv", "conv", []string{"x", "w"}, "c")
			tg.node("Add", "res", []string{"c", "x"}, "y")
		}, "Add", "res", []string{"branches"}},
		{"weights computed at run time", func(tg *testGraph) {
			tg.param("w", []int64{2, 2, 1, 1}, []float64{1, 2, 3, 4})
			tg.node("Conv", "conv", []string{"x", "w"}, "c")
			tg.node("Conv", "conv2", []string{"c", "c"}, "y")
		}, "Conv", "conv2", []string{"must be a constant"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := newTestGraph(-1, 2, 4, 4)
			c.build(tg)
			tg.output("y")
			wantUnsupported(t, importError(t, tg), c.op, c.node, c.fragments...)
		})
	}
}

func TestGraphErrors(t *testing.T) {
	cases := []struct {
		name      string
		build     func(tg *testGraph)
		fragments []string
	}{
		{"5-D input", func(tg *testGraph) {
			tg.g.Input[0].GetType().GetTensorType().GetShape().Dim = append(tg.g.Input[0].GetType().GetTensorType().GetShape().Dim,
				&onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 2}})
			tg.node("Mul", "sq", []string{"x", "x"}, "y")
		}, []string{`input "x" has 5 dimensions`, "[N, C, L] (signals)"}},
		{"two inputs", func(tg *testGraph) {
			tg.input("mask", -1, 2, 4, 4)
			tg.node("Mul", "sq", []string{"x", "x"}, "y")
		}, []string{"2 inputs", `"x"`, `"mask"`}},
		{"dynamic height", func(tg *testGraph) {
			tg.g.Input[0].GetType().GetTensorType().GetShape().GetDim()[2].Value =
				&onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "height"}
			tg.node("Mul", "sq", []string{"x", "x"}, "y")
		}, []string{`input "x"`, "dimension 2", `"height"`}},
		{"not sorted", func(tg *testGraph) {
			tg.node("Mul", "sq2", []string{"s", "s"}, "y")
			tg.node("Mul", "sq1", []string{"x", "x"}, "s")
		}, []string{`"sq2"`, `input "s"`, "topologically sorted"}},
		{"output not at the end", func(tg *testGraph) {
			tg.node("Mul", "sq", []string{"x", "x"}, "s")
			tg.node("Mul", "sq2", []string{"s", "s"}, "y2")
		}, []string{`graph output "y"`, `"y2"`}},
		{"external weights", func(tg *testGraph) {
			w := floatTensor("w", []int64{1, 2, 1, 1}, nil, false)
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			tg.g.Initializer = append(tg.g.Initializer, w)
			tg.node("Conv", "conv", []string{"x", "w"}, "y")
		}, []string{`tensor "w"`, "external"}},
		{"wrong weight size", func(tg *testGraph) {
			tg.g.Initializer = append(tg.g.Initializer, floatTensor("w", []int64{1, 2, 1, 1}, []float64{1, 2, 3}, false))
			tg.node("Conv", "conv", []string{"x", "w"}, "y")
		}, []string{`tensor "w"`, "3 values, want 2"}},
		{"channel mismatch", func(tg *testGraph) {
			tg.param("w", []int64{1, 3, 1, 1}, []float64{1, 2, 3})
			tg.node("Conv", "conv", []string{"x", "w"}, "y")
		}, []string{`"conv"`, "3 input channels, the input has 2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := newTestGraph(-1, 2, 4, 4)
			c.build(tg)
			tg.output("y")
			err := importError(t, tg)
			for _, f := range c.fragments {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not contain %q", err, f)
				}
			}
		})
	}
}

func TestBadFiles(t *testing.T) {
	tg := newTestGraph(-1, 4)
	tg.param("w", []int64{4, 4}, make([]float64, 16))
	tg.node("Gemm", "fc", []string{"x", "w"}, "y")
	tg.output("y")
	good := tg.bytes(t)
	if _, err := Import(good); err != nil {
		t.Fatal(err)
	}
	noOpset := &onnxpb.ModelProto{Graph: tg.g}
	noOpsetBytes, _ := proto.Marshal(noOpset)
	for name, data := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-10],
		"garbage":   []byte("this is not an ONNX model, just some text \xff\xfe\x00\x01"),
		"no opset":  noOpsetBytes,
	} {
		if _, err := Import(data); err == nil {
			t.Errorf("%s: Import succeeded", name)
		} else if !strings.HasPrefix(err.Error(), "onnx: ") {
			t.Errorf("%s: error %q lacks the onnx: prefix", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestCostlyPoolIsALimitError is hole 6 of issue 12 through ONNX: a 200-byte file
// with an AveragePool whose window covers a 96 × 96 image allocated 2.8 GB.
func TestCostlyPoolIsALimitError(t *testing.T) {
	tg := newTestGraph(-1, 1, 96, 96)
	tg.node("AveragePool", "pool", []string{"x"}, "y", attrInts("kernel_shape", 96, 96),
		attrInts("pads", 48, 48, 47, 47), attrInt("count_include_pad", 1))
	tg.output("y")
	data := tg.bytes(t)
	if len(data) > 256 {
		t.Fatalf("the file is %d bytes", len(data))
	}
	hostile.Check(t, "averagepool_96.onnx", data)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Import(data)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, errs.ErrLimit) {
		t.Fatalf("%v, want a limit error", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<22 {
		t.Fatalf("rejecting the file allocated %d bytes", grew)
	}
}
