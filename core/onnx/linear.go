package onnx

import (
	"slices"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// conv translates Conv (2-D on images, 1-D on signals; group 1) into a Conv2D layer.
func (b *builder) conv(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	if err := b.needSpatial(n); err != nil {
		return err
	}
	group, err := n.intAttr("group", 1)
	if err != nil {
		return err
	}
	if group != 1 {
		return unsupportedUse(n, "use group=1 (no grouped or depthwise convolution)", "with group=%d is not supported", group)
	}
	w, err := b.tensorInput(n, 1)
	if err != nil {
		return err
	}
	d := b.spatialDims()
	if len(w.dims) != 2+d || w.floats == nil {
		return unsupportedUse(n, "", "weight %q has shape %v; want floats of shape [out, in, %s]", w.name, w.dims,
			map[int]string{1: "k", 2: "kh, kw"}[d])
	}
	if w.dims[1] != b.curAct.shape.C {
		return errs.New(errs.ErrMalformed, "onnx: node %q (Conv): weight %q has %d input channels, the input has %d", n.name, w.name, w.dims[1], b.curAct.shape.C)
	}
	kernel := make([]int64, d)
	for i := range kernel {
		kernel[i] = int64(w.dims[2+i])
	}
	if ks, err := n.intsAttr("kernel_shape", nil); err != nil {
		return err
	} else if ks != nil && !slices.Equal(ks, kernel) {
		return errs.New(errs.ErrMalformed, "onnx: node %q (Conv): kernel_shape %v does not match weight shape %v", n.name, ks, w.dims)
	}
	kernel = b.to2D(kernel, 1)
	bias := make([]float64, w.dims[0])
	if n.input(2) != "" {
		t, err := b.tensorInput(n, 2)
		if err != nil {
			return err
		}
		if t.size() != w.dims[0] || len(t.dims) != 1 {
			return errs.New(errs.ErrMalformed, "onnx: node %q (Conv): bias %q has shape %v, want [%d]", n.name, t.name, t.dims, w.dims[0])
		}
		copy(bias, t.values())
	}
	sh, sw, dh, dw, pad, err := b.window(n)
	if err != nil {
		return err
	}
	l := &model.Conv2D{InChannels: w.dims[1], OutChannels: w.dims[0], KernelH: int(kernel[0]), KernelW: int(kernel[1]),
		StrideH: sh, StrideW: sw, Pad: b.takePad(pad), Weights: slices.Clone(w.floats), Bias: bias}
	if dh != 1 || dw != 1 {
		l.DilationH, l.DilationW = dh, dw
	}
	return b.emit(n, l, b.curAct.rank)
}

// gemm translates Gemm (alpha·A·B + beta·C with A the activations) into a Dense layer.
func (b *builder) gemm(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	if err := b.needFlat(n); err != nil {
		return err
	}
	transA, err := n.intAttr("transA", 0)
	if err != nil {
		return err
	}
	transB, err := n.intAttr("transB", 0)
	if err != nil {
		return err
	}
	if transA != 0 || (transB != 0 && transB != 1) {
		return unsupportedUse(n, "", "with transA=%d, transB=%d is not supported (want transA=0)", transA, transB)
	}
	alpha, err := n.floatAttr("alpha", 1)
	if err != nil {
		return err
	}
	beta, err := n.floatAttr("beta", 1)
	if err != nil {
		return err
	}
	d, err := b.dense(n, 1, transB == 1, alpha)
	if err != nil {
		return err
	}
	if n.input(2) != "" {
		c, err := b.tensorInput(n, 2)
		if err != nil {
			return err
		}
		v, err := featureVector(n, c, d.Out)
		if err != nil {
			return err
		}
		for j := range d.Bias {
			d.Bias[j] = beta * v[j]
		}
	}
	return b.emit(n, d, rankFlat)
}

// matMul translates MatMul of the activations by a constant matrix into a Dense layer
// with a zero bias (a following Add of a constant becomes its bias).
func (b *builder) matMul(n *node) error {
	if b.isData(n, 1) && !b.isData(n, 0) {
		return unsupportedUse(n, "", "of a constant by the activations is not supported (the activations must be the left operand)")
	}
	if err := b.data(n, 0); err != nil {
		return err
	}
	if err := b.needFlat(n); err != nil {
		return err
	}
	d, err := b.dense(n, 1, false, 1)
	if err != nil {
		return err
	}
	return b.emit(n, d, rankFlat)
}

// dense builds a Dense layer with zero bias from the constant matrix input i of n,
// [in][out] or, if transposed, [out][in], scaled by alpha.
func (b *builder) dense(n *node, i int, transposed bool, alpha float64) (*model.Dense, error) {
	w, err := b.tensorInput(n, i)
	if err != nil {
		return nil, err
	}
	if len(w.dims) != 2 || w.floats == nil {
		return nil, unsupportedUse(n, "", "weight %q has shape %v; want a float matrix", w.name, w.dims)
	}
	in, out := w.dims[0], w.dims[1]
	if transposed {
		in, out = out, in
	}
	if in != b.curAct.shape.C {
		return nil, errs.New(errs.ErrMalformed, "onnx: node %q (%s): weight %q has %d inputs, the input has %d features", n.name, n.op, w.name, in, b.curAct.shape.C)
	}
	d := &model.Dense{In: in, Out: out, Weights: make([]float64, in*out), Bias: make([]float64, out)}
	for j := range out {
		for k := range in {
			v := w.floats[k*out+j]
			if transposed {
				v = w.floats[j*in+k]
			}
			d.Weights[j*in+k] = alpha * v
		}
	}
	return d, nil
}

// addTo adds the constant c, broadcast to len(bias) values by vector, to bias.
func addTo(n *node, bias []float64, c *tensor, vector func(*node, *tensor, int) ([]float64, error)) error {
	v, err := vector(n, c, len(bias))
	if err != nil {
		return err
	}
	for j := range bias {
		bias[j] += v[j]
	}
	return nil
}

// featureVector broadcasts a constant of shape [], [1], [m] or [1, m] to m values, one
// per feature of a [N, m] tensor.
func featureVector(n *node, t *tensor, m int) ([]float64, error) {
	if t.size() == 1 {
		return slices.Repeat(t.values(), m), nil
	}
	if t.size() == m && len(t.dims) <= 2 && t.dims[len(t.dims)-1] == m {
		return t.values(), nil
	}
	return nil, unsupportedUse(n, "", "constant %q of shape %v does not broadcast per feature (want [%d] or [1, %d])", t.name, t.dims, m, m)
}
