package model

import "github.com/cryptonets/cryptonets/core/errs"

// MaxLoweringCost bounds the size of a model's lowered form: for every layer, the
// values it outputs plus, for a linear layer, the terms (weights) of its affine map
// and, for a pooling layer, the window taps it reads. Lowering (Stages, NewReference,
// the conversion's merges) allocates in proportion to it, and a few bytes of a model
// file can ask for a lot: a sum pool with a 96 × 96 window on a 96 × 96 image is
// side^4 ≈ 85 million terms. The networks the library evaluates stay far below it
// (the largest shipped one, LeNet-5, costs about 0.3 million).
const MaxLoweringCost = 1 << 25

// loweringCost returns the lowering cost of layer l on input shape in (which l
// accepts) without allocating.
func loweringCost(l Layer, in, out Shape) int64 {
	cost := int64(out.Size())
	switch l := l.(type) {
	case *Conv2D:
		cost += int64(l.InChannels) * int64(out.C) * l.window().taps2D(in, out)
	case *SumPool:
		cost += int64(out.C) * l.window().taps2D(in, out)
	case *MaxPool:
		cost += int64(out.C) * l.window().taps2D(in, out)
	case *Dense:
		cost += int64(l.In) * int64(l.Out)
	case *ChannelAffine:
		cost += int64(in.Size())
	}
	return cost
}

// taps2D counts the (output position, kernel offset) pairs of one channel whose
// input position is inside the unpadded input: the terms taps enumerates.
func (w window) taps2D(in, out Shape) int64 {
	return axisTaps(in.H, out.H, w.kh, w.sh, w.pad.Top) * axisTaps(in.W, out.W, w.kw, w.sw, w.pad.Left)
}

// axisTaps counts, along one axis, the pairs (o, k) with 0 ≤ o·stride + k − pad < size.
func axisTaps(size, outs, kernel, stride, pad int) int64 {
	var n int64
	for o := range outs {
		start := o*stride - pad
		lo, hi := max(start, 0), min(start+kernel, size)
		if hi > lo {
			n += int64(hi - lo)
		}
	}
	return n
}

// checkLoweringCost reports an ErrLimit error if lowering the layers, whose input
// and output shapes are shapes, would cost more than MaxLoweringCost.
func (m *Model) checkLoweringCost(shapes []Shape) error {
	var total int64
	for i, l := range m.Layers {
		total += loweringCost(l, shapes[i], shapes[i+1])
		if total > MaxLoweringCost {
			return errs.New(errs.ErrLimit, "model: layers 0 to %d (%s) would take more than %d terms and values to lower; the model is too large for encrypted evaluation", i, l.Kind(), MaxLoweringCost)
		}
	}
	return nil
}

// LoweringCost returns the lowering cost of m (see MaxLoweringCost); m must be valid.
func (m *Model) LoweringCost() (int64, error) {
	shapes, err := m.Shapes()
	if err != nil {
		return 0, err
	}
	var total int64
	for i, l := range m.Layers {
		total += loweringCost(l, shapes[i], shapes[i+1])
	}
	return total, nil
}
