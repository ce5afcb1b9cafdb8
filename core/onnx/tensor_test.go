package onnx

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

func dataType(dt onnxpb.TensorProto_DataType) *int32 { return proto.Int32(int32(dt)) }

func TestDecodeTensor(t *testing.T) {
	var rawDouble, rawInt32 []byte
	for _, v := range []float64{1.5, -2.25, 1e-300} {
		rawDouble = binary.LittleEndian.AppendUint64(rawDouble, math.Float64bits(v))
	}
	for _, v := range []int32{-7, 0, 1 << 30} {
		rawInt32 = binary.LittleEndian.AppendUint32(rawInt32, uint32(v))
	}
	cases := []struct {
		name   string
		tp     *onnxpb.TensorProto
		floats []float64
		ints   []int64
	}{
		{"float_data", floatTensor("a", []int64{2}, []float64{0.5, -3}, false), []float64{0.5, -3}, nil},
		{"float raw", floatTensor("a", []int64{2}, []float64{0.5, -3}, true), []float64{0.5, -3}, nil},
		{"double_data", &onnxpb.TensorProto{Dims: []int64{3}, DataType: dataType(onnxpb.TensorProto_DOUBLE),
			DoubleData: []float64{1.5, -2.25, 1e-300}}, []float64{1.5, -2.25, 1e-300}, nil},
		{"double raw", &onnxpb.TensorProto{Dims: []int64{3, 1}, DataType: dataType(onnxpb.TensorProto_DOUBLE),
			RawData: rawDouble}, []float64{1.5, -2.25, 1e-300}, nil},
		{"int64_data", intTensor("i", 4, -1), nil, []int64{4, -1}},
		{"int32 raw", &onnxpb.TensorProto{Dims: []int64{3}, DataType: dataType(onnxpb.TensorProto_INT32),
			RawData: rawInt32}, nil, []int64{-7, 0, 1 << 30}},
		{"int32_data scalar", &onnxpb.TensorProto{DataType: dataType(onnxpb.TensorProto_INT32),
			Int32Data: []int32{9}}, nil, []int64{9}},
	}
	for _, c := range cases {
		got, err := decodeTensor(c.tp)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.Equal(got.floats, c.floats) || !slices.Equal(got.ints, c.ints) {
			t.Errorf("%s: floats %v ints %v, want %v %v", c.name, got.floats, got.ints, c.floats, c.ints)
		}
	}
}

func TestDecodeTensorErrors(t *testing.T) {
	cases := map[string]struct {
		tp   *onnxpb.TensorProto
		want string
	}{
		"short raw": {&onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{2}, DataType: dataType(onnxpb.TensorProto_FLOAT),
			RawData: []byte{0, 0, 0}}, "raw_data has 3 bytes"},
		"too few values": {&onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{2, 2}, DataType: dataType(onnxpb.TensorProto_FLOAT),
			FloatData: []float32{1, 2, 3}}, "3 values, want 4"},
		"negative dim": {&onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{-1}, DataType: dataType(onnxpb.TensorProto_FLOAT)},
			"invalid dimensions"},
		"huge dims": {&onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{1 << 20, 1 << 20}, DataType: dataType(onnxpb.TensorProto_FLOAT)},
			"invalid dimensions"},
		"uint8": {&onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{1}, DataType: dataType(onnxpb.TensorProto_UINT8),
			Int32Data: []int32{1}}, "data type UINT8"},
		"external": {&onnxpb.TensorProto{Name: proto.String("w"), DataType: dataType(onnxpb.TensorProto_FLOAT),
			DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()}, "external file"},
	}
	for name, c := range cases {
		_, err := decodeTensor(c.tp)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"w"`) {
			t.Errorf("%s: error %v, want one naming \"w\" and containing %q", name, err, c.want)
		}
	}
}
