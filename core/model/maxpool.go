package model

import (
	"fmt"
	"math"

	"github.com/cryptonets/cryptonets/core/errs"
)

// KindMaxPool is the tag of MaxPool layers.
const KindMaxPool Kind = "maxpool"

// MaxPool takes the largest value of each window, per channel. Padded positions are
// ignored (as if they held −∞), so each side's padding must be smaller than the
// kernel: every window then holds at least one input value.
//
// A maximum has no encrypted form: the conversion replaces max pooling by a scaled sum
// pool (rewrite.MaxPoolToSumPool), which changes the function.
type MaxPool struct {
	KernelH int     `codec:"kernel_h"`
	KernelW int     `codec:"kernel_w"`
	StrideH int     `codec:"stride_h"`
	StrideW int     `codec:"stride_w"`
	Pad     Padding `codec:"pad"`
}

// Kind returns KindMaxPool.
func (*MaxPool) Kind() Kind { return KindMaxPool }

func (p *MaxPool) window() window {
	return window{kh: p.KernelH, kw: p.KernelW, sh: p.StrideH, sw: p.StrideW, pad: p.Pad}
}

// OutputShape implements Layer.
func (p *MaxPool) OutputShape(in Shape) (Shape, error) {
	h, w, err := p.window().outputSize(in)
	if err != nil {
		return Shape{}, fmt.Errorf("maxpool: %w", err)
	}
	if max(p.Pad.Top, p.Pad.Bottom) >= p.KernelH || max(p.Pad.Left, p.Pad.Right) >= p.KernelW {
		return Shape{}, errs.New(errs.ErrInvalidArgument, "maxpool: padding %+v is not smaller than the kernel %d×%d", p.Pad, p.KernelH, p.KernelW)
	}
	return Shape{C: in.C, H: h, W: w}, nil
}

// Eval implements TensorOp: x holds the in.Size() values of an input of shape in,
// which OutputShape accepts.
func (p *MaxPool) Eval(in Shape, x []float64) []float64 {
	out, _ := p.OutputShape(in)
	y := make([]float64, out.Size())
	win := p.window()
	for c := range out.C {
		for oy := range out.H {
			for ox := range out.W {
				m := math.Inf(-1)
				win.taps(in, oy, ox, func(_, _, iy, ix int) {
					m = math.Max(m, x[in.Index(c, iy, ix)])
				})
				y[out.Index(c, oy, ox)] = m
			}
		}
	}
	return y
}
