package onnx

import (
	"slices"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// maxWindowValue bounds kernel sizes, strides and pads read from attributes.
const maxWindowValue = 1 << 20

// averagePool translates AveragePool into a SumPool scaled by 1/(kh·kw).
func (b *builder) averagePool(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	if err := b.needSpatial(n); err != nil {
		return err
	}
	kh, kw, err := b.kernel(n)
	if err != nil {
		return err
	}
	countPad, err := n.intAttr("count_include_pad", 0)
	if err != nil {
		return err
	}
	sh, sw, dh, dw, pad, err := b.window(n)
	if err != nil {
		return err
	}
	if err := noDilation(n, dh, dw); err != nil {
		return err
	}
	if countPad == 0 && pad != (model.Padding{}) {
		return unsupportedUse(n, "export with count_include_pad=True (PyTorch's default), or pad explicitly before the pool",
			"with count_include_pad=0 and pads %v is not a uniform sum-pool: windows at the border average fewer values", padList(pad))
	}
	l := &model.SumPool{KernelH: kh, KernelW: kw, StrideH: sh, StrideW: sw, Pad: b.takePad(pad), Scale: 1 / float64(kh*kw)}
	return b.emit(n, l, b.curAct.rank)
}

// maxPool translates MaxPool (ceil_mode 0, dilation 1, no Indices output) into a
// MaxPool layer; its padded positions are ignored, as in ONNX.
func (b *builder) maxPool(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	if err := b.needSpatial(n); err != nil {
		return err
	}
	if len(nonEmpty(n.outputs)) > 1 {
		return unsupportedUse(n, "export the pooled values only (return_indices=False)", "with an Indices output is not supported")
	}
	kh, kw, err := b.kernel(n)
	if err != nil {
		return err
	}
	sh, sw, dh, dw, pad, err := b.window(n)
	if err != nil {
		return err
	}
	if err := noDilation(n, dh, dw); err != nil {
		return err
	}
	l := &model.MaxPool{KernelH: kh, KernelW: kw, StrideH: sh, StrideW: sw, Pad: pad}
	return b.emit(n, l, b.curAct.rank)
}

// kernel reads the kernel_shape and ceil_mode attributes of a pooling node, one size
// per spatial dimension (a 1-D kernel k is 1×k).
func (b *builder) kernel(n *node) (kh, kw int, err error) {
	ks, err := n.intsAttr("kernel_shape", nil)
	if err != nil {
		return 0, 0, err
	}
	if len(ks) != b.spatialDims() || !inRange(ks, 1, maxWindowValue) {
		return 0, 0, unsupportedUse(n, "", "with kernel_shape %v is not supported (want %d positive sizes)", ks, b.spatialDims())
	}
	ceil, err := n.intAttr("ceil_mode", 0)
	if err != nil {
		return 0, 0, err
	}
	if ceil != 0 {
		return 0, 0, unsupportedUse(n, "export with ceil_mode=False", "with ceil_mode=1 is not supported")
	}
	ks = b.to2D(ks, 1)
	return int(ks[0]), int(ks[1]), nil
}

// spatialDims is the number of spatial dimensions of the chain tensor: 2 for images,
// 1 for signals.
func (b *builder) spatialDims() int { return b.curAct.rank - 1 }

// to2D returns per-dimension values of the chain tensor's spatial dimensions as
// height and width: a signal's one value becomes (fill, value).
func (b *builder) to2D(v []int64, fill int64) []int64 {
	if b.curAct.rank == rankSignal && len(v) == 1 {
		return []int64{fill, v[0]}
	}
	return v
}

// globalAveragePool translates GlobalAveragePool into a SumPool over the whole image.
func (b *builder) globalAveragePool(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	if err := b.needSpatial(n); err != nil {
		return err
	}
	s := b.curAct.shape
	l := &model.SumPool{KernelH: s.H, KernelW: s.W, StrideH: 1, StrideW: 1, Scale: 1 / float64(s.H*s.W)}
	return b.emit(n, l, b.curAct.rank)
}

// window reads the strides, pads, auto_pad and dilations attributes that Conv,
// AveragePool and MaxPool share, for the chain tensor's spatial dimensions (a signal's
// as the width of a 1×L image). pad is the node's own padding, without pending Pad
// nodes.
func (b *builder) window(n *node) (sh, sw, dh, dw int, pad model.Padding, err error) {
	autoPad, err := n.stringAttr("auto_pad", "NOTSET")
	if err != nil {
		return 0, 0, 0, 0, pad, err
	}
	if autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "" {
		return 0, 0, 0, 0, pad, unsupportedUse(n, "export with explicit padding", "with auto_pad=%s is not supported", autoPad)
	}
	d := b.spatialDims()
	ones, zeros := slices.Repeat([]int64{1}, d), make([]int64, 2*d)
	strides, err := n.intsAttr("strides", ones)
	if err != nil {
		return 0, 0, 0, 0, pad, err
	}
	dilations, err := n.intsAttr("dilations", ones)
	if err != nil {
		return 0, 0, 0, 0, pad, err
	}
	pads, err := n.intsAttr("pads", zeros)
	if err != nil {
		return 0, 0, 0, 0, pad, err
	}
	switch {
	case len(strides) != d || !inRange(strides, 1, maxWindowValue):
		return 0, 0, 0, 0, pad, unsupportedUse(n, "", "with strides %v is not supported (want %d positive values)", strides, d)
	case len(dilations) != d || !inRange(dilations, 1, maxWindowValue):
		return 0, 0, 0, 0, pad, unsupportedUse(n, "", "with dilations %v is not supported (want %d positive values)", dilations, d)
	case len(pads) != 2*d || !inRange(pads, 0, maxWindowValue):
		return 0, 0, 0, 0, pad, unsupportedUse(n, "", "with pads %v is not supported (want %d non-negative values)", pads, 2*d)
	case autoPad == "VALID" && !slices.Equal(pads, zeros):
		return 0, 0, 0, 0, pad, errs.New(errs.ErrMalformed, "onnx: node %q (%s): auto_pad=VALID with explicit pads %v", n.name, n.op, pads)
	}
	strides, dilations = b.to2D(strides, 1), b.to2D(dilations, 1)
	// ONNX pads are [begins…, ends…]: [y_begin, x_begin, y_end, x_end] for images.
	if d == 1 {
		pads = []int64{0, pads[0], 0, pads[1]}
	}
	pad = model.Padding{Top: int(pads[0]), Left: int(pads[1]), Bottom: int(pads[2]), Right: int(pads[3])}
	return int(strides[0]), int(strides[1]), int(dilations[0]), int(dilations[1]), pad, nil
}

// noDilation checks that a pooling node does not dilate its window.
func noDilation(n *node, dh, dw int) error {
	if dh != 1 || dw != 1 {
		return unsupportedUse(n, "use dilation 1 for pooling", "with dilations %d×%d is not supported", dh, dw)
	}
	return nil
}

// takePad returns own plus the padding of pending Pad nodes, which it clears.
func (b *builder) takePad(own model.Padding) model.Padding {
	p := model.Padding{Top: own.Top + b.pad.Top, Left: own.Left + b.pad.Left,
		Bottom: own.Bottom + b.pad.Bottom, Right: own.Right + b.pad.Right}
	b.pad, b.padNode = model.Padding{}, nil
	return p
}

// padOp records a zero Pad of the spatial dimensions, to be folded into the padding of
// the Conv or AveragePool that follows.
func (b *builder) padOp(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	if err := b.needSpatial(n); err != nil {
		return err
	}
	mode, err := n.stringAttr("mode", "constant")
	if err != nil {
		return err
	}
	if mode != "constant" {
		return unsupportedUse(n, "use zero padding", "with mode %q is not supported (only constant zero padding)", mode)
	}
	begin, end, err := b.padAmounts(n)
	if err != nil {
		return err
	}
	if b.curAct.rank == rankSignal { // [N, C, L]: the length is the width of a 1×L image
		begin, end = []int64{begin[0], begin[1], 0, begin[2]}, []int64{end[0], end[1], 0, end[2]}
	}
	if begin[0] != 0 || begin[1] != 0 || end[0] != 0 || end[1] != 0 {
		return unsupportedUse(n, "", "of the batch or channel dimension is not supported (only height and width)")
	}
	if !inRange(begin, 0, maxWindowValue) || !inRange(end, 0, maxWindowValue) {
		return unsupportedUse(n, "", "with pads %v, %v is not supported (want non-negative pads; cropping is not supported)", begin, end)
	}
	act := b.chain[b.cur]
	act.shape.H += int(begin[2] + end[2])
	act.shape.W += int(begin[3] + end[3])
	if act.shape != b.chain[b.cur].shape {
		b.pad.Top += int(begin[2])
		b.pad.Left += int(begin[3])
		b.pad.Bottom += int(end[2])
		b.pad.Right += int(end[3])
		b.padNode = n
	}
	return b.follow(n, act)
}

// padAmounts returns the pads before and after each axis of the chain tensor (4 for
// images, 3 for signals) of a Pad node: from its inputs (opset ≥ 11: pads,
// constant_value, axes) or its attributes (older opsets).
func (b *builder) padAmounts(n *node) (begin, end []int64, err error) {
	rank := int64(b.curAct.rank + 1)
	var pads, axes []int64
	value := 0.0
	if n.input(1) == "" {
		if pads, err = n.intsAttr("pads", nil); err != nil {
			return nil, nil, err
		}
		if value, err = n.floatAttr("value", 0); err != nil {
			return nil, nil, err
		}
	} else {
		if pads, err = b.constInts(n, 1); err != nil {
			return nil, nil, err
		}
		if n.input(2) != "" {
			t, err := b.tensorInput(n, 2)
			if err != nil {
				return nil, nil, err
			}
			if t.size() != 1 {
				return nil, nil, unsupportedUse(n, "", "constant_value %q has %d values, want 1", t.name, t.size())
			}
			value = t.values()[0]
		}
		if n.input(3) != "" {
			if axes, err = b.constInts(n, 3); err != nil {
				return nil, nil, err
			}
		}
	}
	if value != 0 {
		return nil, nil, unsupportedUse(n, "use zero padding", "with value %g is not supported (only zero padding)", value)
	}
	if axes == nil {
		for a := range rank {
			axes = append(axes, a)
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, nil, unsupportedUse(n, "", "with %d pads for %d axes is not valid", len(pads), len(axes))
	}
	begin, end = make([]int64, rank), make([]int64, rank)
	for i, a := range axes {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return nil, nil, unsupportedUse(n, "", "axis %d is out of range", axes[i])
		}
		begin[a], end[a] = pads[i], pads[len(axes)+i]
	}
	return begin, end, nil
}

// constInts returns input i of n as integers known at import time, without the batch
// size.
func (b *builder) constInts(n *node, i int) ([]int64, error) {
	v, err := b.intsInput(n, i)
	if err != nil {
		return nil, err
	}
	if slices.Contains(v.vals, batchDim) {
		return nil, unsupportedUse(n, "", "input %d (%q) depends on the batch size", i, n.input(i))
	}
	return v.vals, nil
}

// inRange reports whether every value lies in [lo, hi].
func inRange(vs []int64, lo, hi int64) bool {
	for _, v := range vs {
		if v < lo || v > hi {
			return false
		}
	}
	return true
}

// padList formats a padding in ONNX order [y_begin, x_begin, y_end, x_end].
func padList(p model.Padding) []int {
	return []int{p.Top, p.Left, p.Bottom, p.Right}
}
