package onnx

import (
	"math"

	"github.com/cryptonets/cryptonets/core/onnx/onnxpb"
)

// batchDim stands for the (symbolic) batch size in an intVec.
const batchDim = math.MinInt64

// intVec is a small integer tensor computed at import time from tensor shapes, such as
// the target shape of PyTorch's x.view(x.size(0), -1). A value may be batchDim.
type intVec struct {
	vals   []int64
	scalar bool
}

// isShapeOp reports whether op is one of the integer operators that PyTorch uses to
// compute target shapes.
func isShapeOp(op string) bool {
	switch op {
	case "Shape", "Gather", "Unsqueeze", "Concat", "Cast":
		return true
	}
	return false
}

// shapeOp evaluates a shape computation whose inputs are all known at import time
// (Shape of a chain tensor only needs its shape).
func (b *builder) shapeOp(n *node) error {
	var v intVec
	var err error
	switch n.op {
	case "Shape":
		v, err = b.shapeOfTensor(n)
	case "Gather":
		v, err = b.gather(n)
	case "Unsqueeze":
		v, err = b.unsqueeze(n)
	case "Concat":
		v, err = b.concat(n)
	case "Cast":
		v, err = b.cast(n)
	}
	if err != nil {
		return err
	}
	out, err := n.output()
	if err != nil {
		return err
	}
	b.shapes[out] = v
	return nil
}

// intsInput returns input i of n as an integer vector: a shape value or an integer
// constant.
func (b *builder) intsInput(n *node, i int) (intVec, error) {
	if v, ok := b.shapes[n.input(i)]; ok {
		return v, nil
	}
	t, err := b.tensorInput(n, i)
	if err != nil {
		return intVec{}, err
	}
	if t.ints == nil && t.size() > 0 {
		return intVec{}, unsupportedUse(n, "", "input %d (%q) must be an integer tensor", i, n.input(i))
	}
	if len(t.dims) > 1 {
		return intVec{}, unsupportedUse(n, "", "input %d (%q) has %d dimensions; only vectors are supported", i, n.input(i), len(t.dims))
	}
	return intVec{vals: t.ints, scalar: len(t.dims) == 0}, nil
}

// shapeOfTensor evaluates Shape of a chain tensor (or of a constant).
func (b *builder) shapeOfTensor(n *node) (intVec, error) {
	var dims []int64
	if act, ok := b.chain[n.input(0)]; ok {
		batch := int64(batchDim)
		if b.batch > 0 {
			batch = b.batch
		}
		dims = append([]int64{batch}, act.dims()...)
	} else {
		t, err := b.tensorInput(n, 0)
		if err != nil {
			return intVec{}, err
		}
		for _, d := range t.dims {
			dims = append(dims, int64(d))
		}
	}
	start, err := n.intAttr("start", 0)
	if err != nil {
		return intVec{}, err
	}
	end, err := n.intAttr("end", int64(len(dims)))
	if err != nil {
		return intVec{}, err
	}
	lo, hi := clampAxis(start, len(dims)), clampAxis(end, len(dims))
	if lo > hi {
		lo = hi
	}
	return intVec{vals: dims[lo:hi]}, nil
}

// clampAxis resolves a possibly negative slice bound and clamps it to [0, n].
func clampAxis(i int64, n int) int {
	if i < 0 {
		i += int64(n)
	}
	return int(min(max(i, 0), int64(n)))
}

// gather evaluates Gather along axis 0 of an integer vector.
func (b *builder) gather(n *node) (intVec, error) {
	axis, err := n.intAttr("axis", 0)
	if err != nil {
		return intVec{}, err
	}
	data, err := b.intsInput(n, 0)
	if err != nil {
		return intVec{}, err
	}
	idx, err := b.intsInput(n, 1)
	if err != nil {
		return intVec{}, err
	}
	if (axis != 0 && axis != -1) || data.scalar {
		return intVec{}, unsupportedUse(n, "", "along axis %d of a shape is not supported", axis)
	}
	out := intVec{scalar: idx.scalar}
	for _, i := range idx.vals {
		if i < 0 {
			i += int64(len(data.vals))
		}
		if i < 0 || i >= int64(len(data.vals)) {
			return intVec{}, unsupportedUse(n, "", "index %d is out of range [0, %d)", i, len(data.vals))
		}
		out.vals = append(out.vals, data.vals[i])
	}
	return out, nil
}

// unsqueeze evaluates Unsqueeze of a scalar into a one-element vector.
func (b *builder) unsqueeze(n *node) (intVec, error) {
	data, err := b.intsInput(n, 0)
	if err != nil {
		return intVec{}, err
	}
	axes, err := n.intsAttr("axes", nil)
	if err != nil {
		return intVec{}, err
	}
	if n.input(1) != "" {
		v, err := b.intsInput(n, 1)
		if err != nil {
			return intVec{}, err
		}
		axes = v.vals
	}
	if !data.scalar || len(axes) != 1 || (axes[0] != 0 && axes[0] != -1) {
		return intVec{}, unsupportedUse(n, "", "of a shape is only supported from a scalar to a vector (axes [0])")
	}
	return intVec{vals: data.vals}, nil
}

// concat evaluates Concat of integer vectors.
func (b *builder) concat(n *node) (intVec, error) {
	axis, err := n.intAttr("axis", 0)
	if err != nil {
		return intVec{}, err
	}
	if axis != 0 && axis != -1 {
		return intVec{}, unsupportedUse(n, "", "along axis %d of a shape is not supported", axis)
	}
	var out intVec
	for i, in := range n.inputs {
		if in == "" {
			continue
		}
		v, err := b.intsInput(n, i)
		if err != nil {
			return intVec{}, err
		}
		if v.scalar {
			return intVec{}, unsupportedUse(n, "", "of scalars is not valid ONNX")
		}
		out.vals = append(out.vals, v.vals...)
	}
	return out, nil
}

// cast evaluates Cast of an integer vector to an integer type.
func (b *builder) cast(n *node) (intVec, error) {
	to, err := n.intAttr("to", 0)
	if err != nil {
		return intVec{}, err
	}
	if dt := onnxpb.TensorProto_DataType(to); dt != onnxpb.TensorProto_INT64 && dt != onnxpb.TensorProto_INT32 {
		return intVec{}, unsupportedUse(n, "", "of a shape to %v is not supported", dt)
	}
	return b.intsInput(n, 0)
}
