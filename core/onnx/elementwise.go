package onnx

import (
	"slices"

	"github.com/cryptonets/cryptonets/core/model"
)

// affineOp translates Add, Sub, Mul or Div of the chain tensor and a constant that
// broadcasts per channel (per feature of a flat tensor) into a ChannelAffine layer,
// composed with the ChannelAffine just before it if there is one: input
// normalization ((x − mean)/std on the graph input) and scalings exported as their own
// nodes. An Add right after a Conv, Gemm or MatMul is folded into its bias instead.
func (b *builder) affineOp(n *node) error {
	x, c, err := b.constOperand(n)
	if err != nil {
		return err
	}
	if n.op == "Add" {
		switch l := b.lastLayer().(type) {
		case *model.Dense:
			if err := addTo(n, l.Bias, c, featureVector); err != nil {
				return err
			}
			return b.follow(n, b.chain[b.cur])
		case *model.Conv2D:
			if b.curAct.rank == rankImage || b.curAct.rank == rankSignal {
				if err := addTo(n, l.Bias, c, b.channelVector); err != nil {
					return err
				}
				return b.follow(n, b.chain[b.cur])
			}
		}
	}
	vector := b.channelVector
	if b.curAct.flat() {
		vector = featureVector
	}
	v, err := vector(n, c, b.curAct.shape.C)
	if err != nil {
		return err
	}
	ch := b.curAct.shape.C
	a := &model.ChannelAffine{Scale: slices.Repeat([]float64{1}, ch), Shift: make([]float64, ch)}
	for k, cv := range v {
		switch {
		case n.op == "Add":
			a.Shift[k] = cv
		case n.op == "Sub" && x == 0:
			a.Shift[k] = -cv
		case n.op == "Sub":
			a.Scale[k], a.Shift[k] = -1, cv
		case n.op == "Mul":
			a.Scale[k] = cv
		case n.op == "Div" && x == 0 && cv != 0:
			a.Scale[k] = 1 / cv
		case n.op == "Div" && x == 0:
			return unsupportedUse(n, "", "by a constant with a zero value (channel %d) is not supported", k)
		default:
			return unsupportedUse(n, "", "of a constant by the activations (1/x) is not supported: it is not a polynomial")
		}
	}
	if prev, ok := b.lastLayer().(*model.ChannelAffine); ok {
		for k := range a.Scale {
			prev.Shift[k] = a.Scale[k]*prev.Shift[k] + a.Shift[k]
			prev.Scale[k] *= a.Scale[k]
		}
		return b.follow(n, b.chain[b.cur])
	}
	return b.emit(n, a, b.curAct.rank)
}

// constOperand returns which input of a two-input node is the chain tensor (0 or 1)
// and the other one, a constant.
func (b *builder) constOperand(n *node) (int, *tensor, error) {
	switch {
	case len(n.inputs) != 2:
		return 0, nil, unsupportedUse(n, "", "with %d inputs is not supported", len(n.inputs))
	case b.isData(n, 0) && b.isData(n, 1):
		return 0, nil, unsupportedUse(n, "", "of the activations with themselves is not supported")
	case b.isData(n, 1):
		c, err := b.tensorInput(n, 0)
		return 1, c, err
	case !b.isData(n, 0):
		return 0, nil, b.data(n, 0)
	}
	c, err := b.tensorInput(n, 1)
	return 0, c, err
}

// channelVector broadcasts a constant of shape [], [1] or one value per channel
// ([c, 1, 1] or [1, c, 1, 1] for images, [c, 1] or [1, c, 1] for signals) to c values.
func (b *builder) channelVector(n *node, t *tensor, c int) ([]float64, error) {
	if t.size() == 1 {
		return slices.Repeat(t.values(), c), nil
	}
	ones := slices.Repeat([]int{1}, b.curAct.rank-1)
	if t.size() == c && (slices.Equal(t.dims, append([]int{c}, ones...)) || slices.Equal(t.dims, append([]int{1, c}, ones...))) {
		return t.values(), nil
	}
	return nil, unsupportedUse(n, "", "constant %q of shape %v does not broadcast per channel (want [%d%s])", t.name, t.dims, c,
		map[int]string{rankImage: ", 1, 1", rankSignal: ", 1"}[b.curAct.rank])
}

// reshape translates Reshape of the chain tensor: to [N, features] it is a Flatten;
// to [N, C, L] or [N, C, H, W] a Reshape layer (the values keep their channel-major
// order, as in PyTorch).
func (b *builder) reshape(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	var target []int64
	if n.input(1) == "" {
		var err error
		if target, err = n.intsAttr("shape", nil); err != nil {
			return err
		}
	} else {
		v, err := b.intsInput(n, 1)
		if err != nil {
			return err
		}
		target = v.vals
	}
	allowZero, err := n.intAttr("allowzero", 0)
	if err != nil {
		return err
	}
	dims, ok := b.resolveShape(target, allowZero == 0)
	if !ok {
		return unsupportedUse(n, "reshape each input on its own: [N, -1], [N, features], [N, C, L] or [N, C, H, W] with the same number of values",
			"to shape %s is not supported", formatShape(target))
	}
	return b.reshapeTo(n, dims)
}

// resolveShape resolves a Reshape target (with the batch dimension first) against the
// chain tensor: copyZero reads 0 as "the input's size there", and one -1 takes the rest.
// It returns the per-input dimensions, or false if the target does not keep the
// batch dimension and the number of values of each input.
func (b *builder) resolveShape(target []int64, copyZero bool) ([]int64, bool) {
	if len(target) < 2 || len(target) > 4 {
		return nil, false
	}
	first := target[0]
	size := int64(b.curAct.shape.Size())
	in := append([]int64{batchDim}, b.curAct.dims()...)
	if !(first == batchDim || first == 1 || (first == 0 && copyZero) || (b.batch > 0 && first == b.batch) || first == -1) {
		return nil, false
	}
	dims := slices.Clone(target[1:])
	unknown, prod := -1, int64(1)
	for i, d := range dims {
		switch {
		case d == 0 && copyZero && i+1 < len(in):
			dims[i] = in[i+1]
		case d == -1 && unknown < 0 && first != -1:
			unknown = i
			continue
		case d <= 0:
			return nil, false
		}
		prod *= dims[i]
	}
	if unknown >= 0 {
		if prod == 0 || size%prod != 0 {
			return nil, false
		}
		dims[unknown] = size / prod
		prod = size
	}
	return dims, prod == size
}

// reshapeTo makes the chain tensor of per-input dimensions dims: a Flatten to one
// dimension, a Reshape layer to two or three, nothing if the shape does not change.
func (b *builder) reshapeTo(n *node, dims []int64) error {
	act, ok := shapeOf(dims)
	if !ok || act.shape.Size() != b.curAct.shape.Size() {
		return unsupportedUse(n, "", "to %v values per input is not supported (the input has %v)", dims, b.curAct.dims())
	}
	switch {
	case act.flat():
		return b.toFlat(n)
	case act.shape == b.curAct.shape:
		return b.advance(n, act)
	}
	return b.emit(n, &model.Reshape{To: act.shape}, act.rank)
}

// squeezeOp translates Unsqueeze and Squeeze of the chain tensor (axes from the
// attribute or, from opset 13, the second input; never the batch axis) into a reshape.
func (b *builder) squeezeOp(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	axes, err := n.intsAttr("axes", nil)
	if err != nil {
		return err
	}
	if n.input(1) != "" {
		if axes, err = b.constInts(n, 1); err != nil {
			return err
		}
	}
	dims := append([]int64{batchDim}, b.curAct.dims()...)
	rank := len(dims)
	if n.op == "Unsqueeze" {
		rank += len(axes)
	}
	at := map[int64]bool{}
	for _, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		if a <= 0 || a >= int64(rank) || at[a] {
			return unsupportedUse(n, "", "over axes %v is not supported (only axes after the batch axis, once each)", axes)
		}
		at[a] = true
	}
	var out []int64
	if n.op == "Unsqueeze" {
		k := 0
		for i := range rank {
			if at[int64(i)] {
				out = append(out, 1)
				continue
			}
			out = append(out, dims[k])
			k++
		}
	} else {
		for i, d := range dims {
			switch {
			case at[int64(i)] && d != 1:
				return unsupportedUse(n, "", "of axis %d, of size %d, is not valid", i, d)
			case at[int64(i)], len(axes) == 0 && i > 0 && d == 1:
				continue
			}
			out = append(out, d)
		}
	}
	return b.reshapeTo(n, out[1:])
}
