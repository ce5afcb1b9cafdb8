package onnx

import (
	"slices"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// conv translates Conv (2-D, group 1, dilation 1) into a Conv2D layer.
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
	if len(w.dims) != 4 || w.floats == nil {
		return unsupportedUse(n, "", "weight %q has shape %v; want floats of shape [out, in, kh, kw]", w.name, w.dims)
	}
	if w.dims[1] != b.curAct.shape.C {
		return errs.New(errs.ErrMalformed, "onnx: node %q (Conv): weight %q has %d input channels, the input has %d", n.name, w.name, w.dims[1], b.curAct.shape.C)
	}
	if ks, err := n.intsAttr("kernel_shape", nil); err != nil {
		return err
	} else if ks != nil && !slices.Equal(ks, []int64{int64(w.dims[2]), int64(w.dims[3])}) {
		return errs.New(errs.ErrMalformed, "onnx: node %q (Conv): kernel_shape %v does not match weight shape %v", n.name, ks, w.dims)
	}
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
	sh, sw, pad, err := b.window(n)
	if err != nil {
		return err
	}
	l := &model.Conv2D{InChannels: w.dims[1], OutChannels: w.dims[0], KernelH: w.dims[2], KernelW: w.dims[3],
		StrideH: sh, StrideW: sw, Pad: b.takePad(pad), Weights: slices.Clone(w.floats), Bias: bias}
	return b.emit(n, l, false)
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
	return b.emit(n, d, true)
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
	return b.emit(n, d, true)
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

// add folds the Add of a constant into the bias of the layer just before it.
func (b *builder) add(n *node) error {
	ci := 1
	switch {
	case b.isData(n, 0) && b.isData(n, 1):
		return unsupportedUse(n, "", "of the activations to themselves is not supported")
	case b.isData(n, 1):
		ci = 0
	case !b.isData(n, 0):
		return b.data(n, 0)
	}
	c, err := b.tensorInput(n, ci)
	if err != nil {
		return err
	}
	switch l := b.lastLayer().(type) {
	case *model.Dense:
		err = addTo(n, l.Bias, c, featureVector)
	case *model.Conv2D:
		err = addTo(n, l.Bias, c, channelVector)
	default:
		return unsupportedUse(n, "fold the constant into the bias of the preceding Conv or Gemm before export",
			"of a constant is only supported right after a Conv, Gemm or MatMul (it is folded into their bias)")
	}
	if err != nil {
		return err
	}
	return b.follow(n, b.chain[b.cur])
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

// channelVector broadcasts a constant of shape [], [1], [c, 1, 1] or [1, c, 1, 1] to c
// values, one per channel of a [N, c, H, W] tensor.
func channelVector(n *node, t *tensor, c int) ([]float64, error) {
	if t.size() == 1 {
		return slices.Repeat(t.values(), c), nil
	}
	if t.size() == c && (slices.Equal(t.dims, []int{c, 1, 1}) || slices.Equal(t.dims, []int{1, c, 1, 1})) {
		return t.values(), nil
	}
	return nil, unsupportedUse(n, "", "constant %q of shape %v does not broadcast per channel (want [%d, 1, 1])", t.name, t.dims, c)
}
