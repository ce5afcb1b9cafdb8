package onnx

import (
	"fmt"
	"strings"

	"github.com/cryptonets/cryptonets/core/model"
)

// mul translates x*x into a Square layer, and x times a constant into a
// ChannelAffine (affineOp).
func (b *builder) mul(n *node) error {
	if b.isData(n, 0) && b.isData(n, 1) {
		return b.emit(n, model.Square{}, b.curAct.rank)
	}
	for i := range 2 {
		if _, chain := b.chain[n.input(i)]; chain && !b.isData(n, i) {
			return b.data(n, i) // the graph branches
		}
	}
	return b.affineOp(n)
}

// pow translates x**2 into a Square layer.
func (b *builder) pow(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	e, err := b.tensorInput(n, 1)
	if err != nil {
		return err
	}
	if e.size() != 1 || e.values()[0] != 2 {
		return unsupportedUse(n, "use x**2 (or x*x) as the activation", "with exponent %v is not supported (only 2)", e.values())
	}
	return b.emit(n, model.Square{}, b.curAct.rank)
}

// flatten translates Flatten with axis 1 into a Flatten layer.
func (b *builder) flatten(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	axis, err := n.intAttr("axis", 1)
	if err != nil {
		return err
	}
	if axis < 0 {
		axis += int64(1 + len(b.curAct.dims()))
	}
	if axis != 1 {
		return unsupportedUse(n, "flatten from dimension 1 (torch.flatten(x, 1))", "with axis %d is not supported (only 1)", axis)
	}
	return b.toFlat(n)
}

// toFlat makes the output of n the flattened chain tensor [N, C·H·W].
func (b *builder) toFlat(n *node) error {
	if b.curAct.flat() {
		return b.follow(n, b.curAct)
	}
	return b.emit(n, model.Flatten{}, rankFlat)
}

// formatShape formats a target shape, writing the symbolic batch size as N.
func formatShape(dims []int64) string {
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = fmt.Sprint(d)
		if d == batchDim {
			s[i] = "N"
		}
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// softmax returns the translation of Softmax or LogSoftmax over all the values of an
// image into the layer l (model.Softmax or model.LogSoftmax).
func (b *builder) softmax(l model.Layer) func(*node) error {
	return func(n *node) error { return b.softmaxAs(n, l) }
}

// softmaxAs translates a Softmax or LogSoftmax node n into the layer l.
func (b *builder) softmaxAs(n *node, l model.Layer) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	def := int64(-1)
	if b.opset < 13 {
		def = 1 // before opset 13, (Log)Softmax flattens from axis (default 1) onwards
	}
	axis, err := n.intAttr("axis", def)
	if err != nil {
		return err
	}
	dims := b.curAct.dims()
	if axis < 0 {
		axis += int64(1 + len(dims))
	}
	if !b.softmaxOverImage(axis, dims) {
		return unsupportedUse(n, "apply "+n.op+" to the flat logits (axis 1 of [N, classes])",
			"over axis %d of a [N, %s] tensor is not supported (only over all the values of an image)",
			axis, strings.Trim(formatShape(dims), "[]"))
	}
	return b.emit(n, l, b.curAct.rank)
}

// softmaxOverImage reports whether Softmax along axis normalizes all the values of one
// image together.
func (b *builder) softmaxOverImage(axis int64, dims []int64) bool {
	if axis < 1 || axis > int64(len(dims)) {
		return false
	}
	if b.opset < 13 {
		return axis == 1
	}
	for i, d := range dims {
		if int64(i+1) != axis && d != 1 {
			return false
		}
	}
	return true
}

// passThrough drops Identity and Dropout (inference mode).
func (b *builder) passThrough(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	return b.follow(n, b.chain[b.cur])
}

// needSpatial checks that the chain tensor is an image [N, C, H, W].
func (b *builder) needSpatial(n *node) error {
	if b.curAct.flat() {
		return unsupportedUse(n, "", "of a flat [N, features] tensor is not supported (want [N, C, H, W])")
	}
	return nil
}

// needFlat checks that the chain tensor is flat, [N, features].
func (b *builder) needFlat(n *node) error {
	if !b.curAct.flat() {
		return unsupportedUse(n, "flatten first (Flatten, or Reshape to [N, -1])",
			"of a [N, %s] tensor is not supported (want [N, features])", strings.Trim(formatShape(b.curAct.dims()), "[]"))
	}
	return nil
}

// activation returns the translation of an element-wise activation operator into a
// NamedActivation of kind k.
func (b *builder) activation(k model.Kind) func(*node) error {
	return func(n *node) error {
		if err := b.data(n, 0); err != nil {
			return err
		}
		return b.emit(n, model.NamedActivation{Func: string(k)}, b.curAct.rank)
	}
}

// gelu translates Gelu (opset 20) with its exact erf form into a NamedActivation.
func (b *builder) gelu(n *node) error {
	approx, err := n.stringAttr("approximate", "none")
	if err != nil {
		return err
	}
	if approx != "none" {
		return unsupportedUse(n, "export nn.GELU() with approximate='none'",
			"with approximate=%q is not supported (only the exact erf form)", approx)
	}
	return b.activation(model.KindGELU)(n)
}
