package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/onnx/onnxpb"
)

// maxTensorElements bounds the number of values of one constant tensor; a model file
// of MaxFileSize bytes cannot hold more float32 values than this.
const maxTensorElements = MaxFileSize / 4

// tensor is a decoded constant: its dimensions and its values, either floating-point
// or integer.
type tensor struct {
	name   string
	dims   []int
	floats []float64 // set for FLOAT and DOUBLE tensors
	ints   []int64   // set for INT32 and INT64 tensors
}

// size returns the number of values.
func (t *tensor) size() int { return max(len(t.floats), len(t.ints)) }

// values returns the values as float64, converting integers.
func (t *tensor) values() []float64 {
	if t.ints == nil {
		return t.floats
	}
	v := make([]float64, len(t.ints))
	for i, x := range t.ints {
		v[i] = float64(x)
	}
	return v
}

// decodeTensor decodes the values of a TensorProto stored inside the model file.
func decodeTensor(tp *onnxpb.TensorProto) (*tensor, error) {
	t := &tensor{name: tp.GetName()}
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, errs.New(errs.ErrUnsupported, "onnx: tensor %q is stored in an external file; save the model with all tensors inside it", t.name)
	}
	if tp.Segment != nil {
		return nil, errs.New(errs.ErrUnsupported, "onnx: tensor %q is segmented; this is not supported", t.name)
	}
	n := 1
	for _, d := range tp.GetDims() {
		if d < 0 || d > maxTensorElements || n*int(d) > maxTensorElements {
			return nil, errs.New(errs.ErrMalformed, "onnx: tensor %q has invalid dimensions %v", t.name, tp.GetDims())
		}
		n *= int(d)
		t.dims = append(t.dims, int(d))
	}
	var err error
	switch dt := onnxpb.TensorProto_DataType(tp.GetDataType()); dt {
	case onnxpb.TensorProto_FLOAT:
		t.floats, err = decodeValues(tp.RawData, tp.FloatData, n, 4, func(b []byte) float64 {
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		}, func(x float32) float64 { return float64(x) })
	case onnxpb.TensorProto_DOUBLE:
		t.floats, err = decodeValues(tp.RawData, tp.DoubleData, n, 8, func(b []byte) float64 {
			return math.Float64frombits(binary.LittleEndian.Uint64(b))
		}, func(x float64) float64 { return x })
	case onnxpb.TensorProto_INT64:
		t.ints, err = decodeValues(tp.RawData, tp.Int64Data, n, 8, func(b []byte) int64 {
			return int64(binary.LittleEndian.Uint64(b))
		}, func(x int64) int64 { return x })
	case onnxpb.TensorProto_INT32:
		t.ints, err = decodeValues(tp.RawData, tp.Int32Data, n, 4, func(b []byte) int64 {
			return int64(int32(binary.LittleEndian.Uint32(b)))
		}, func(x int32) int64 { return int64(x) })
	default:
		return nil, errs.New(errs.ErrUnsupported, "onnx: tensor %q has data type %v; only FLOAT, DOUBLE, INT32 and INT64 constants are supported", t.name, dt)
	}
	if err != nil {
		return nil, fmt.Errorf("onnx: tensor %q: %w", t.name, err)
	}
	return t, nil
}

// decodeValues decodes n values either from raw little-endian bytes (width bytes each)
// or from the typed repeated field.
func decodeValues[F, T any](raw []byte, typed []F, n, width int, fromRaw func([]byte) T, convert func(F) T) ([]T, error) {
	if len(raw) > 0 {
		if len(typed) > 0 {
			return nil, errs.New(errs.ErrMalformed, "both raw_data and typed data are set")
		}
		if len(raw) != n*width {
			return nil, errs.New(errs.ErrMalformed, "raw_data has %d bytes, want %d values of %d bytes", len(raw), n, width)
		}
		out := make([]T, n)
		for i := range out {
			out[i] = fromRaw(raw[i*width : (i+1)*width])
		}
		return out, nil
	}
	if len(typed) != n {
		return nil, errs.New(errs.ErrMalformed, "%d values, want %d", len(typed), n)
	}
	out := make([]T, n)
	for i, x := range typed {
		out[i] = convert(x)
	}
	return out, nil
}

// constantTensor turns the attribute of a Constant node into a TensorProto.
func constantTensor(n *node) (*onnxpb.TensorProto, error) {
	if len(n.proto.GetAttribute()) != 1 {
		return nil, unsupportedUse(n, "", "with %d attributes (want exactly one value)", len(n.proto.GetAttribute()))
	}
	a := n.proto.GetAttribute()[0]
	switch a.GetName() {
	case "value":
		if a.GetT() == nil {
			return nil, unsupportedUse(n, "", "has no tensor in its value attribute")
		}
		return a.GetT(), nil
	case "value_float":
		return &onnxpb.TensorProto{DataType: ptr(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{a.GetF()}}, nil
	case "value_floats":
		return &onnxpb.TensorProto{DataType: ptr(int32(onnxpb.TensorProto_FLOAT)),
			Dims: []int64{int64(len(a.GetFloats()))}, FloatData: a.GetFloats()}, nil
	case "value_int":
		return &onnxpb.TensorProto{DataType: ptr(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{a.GetI()}}, nil
	case "value_ints":
		return &onnxpb.TensorProto{DataType: ptr(int32(onnxpb.TensorProto_INT64)),
			Dims: []int64{int64(len(a.GetInts()))}, Int64Data: a.GetInts()}, nil
	}
	return nil, unsupportedUse(n, "", "with attribute %q is not supported (only numeric values)", a.GetName())
}

func ptr[T any](v T) *T { return &v }
