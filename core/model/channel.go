package model

import "github.com/cryptonets/cryptonets/core/errs"

// KindChannelAffine is the tag of ChannelAffine layers.
const KindChannelAffine Kind = "channel_affine"

// ChannelAffine scales and shifts every value of channel c: y = Scale[c]·x + Shift[c].
// It is BatchNormalization in inference form (Scale = γ/√(σ²+ε), Shift = β − μ·Scale).
// On a flat input of n features (shape n×1×1) each feature is a channel, so it also
// follows Dense layers. The conversion folds it into the Conv2D or Dense layer before
// it (rewrite.FoldBatchNorm); being linear, it can also be merged with its neighbours.
type ChannelAffine struct {
	Scale []float64 `codec:"scale"`
	Shift []float64 `codec:"shift"`
}

// Kind returns KindChannelAffine.
func (*ChannelAffine) Kind() Kind { return KindChannelAffine }

// OutputShape implements Layer.
func (a *ChannelAffine) OutputShape(in Shape) (Shape, error) {
	if len(a.Scale) != in.C || len(a.Shift) != in.C {
		return Shape{}, errs.New(errs.ErrInvalidArgument, "channel_affine: %d scales and %d shifts, input %v has %d channels",
			len(a.Scale), len(a.Shift), in, in.C)
	}
	return in, nil
}

// Affine implements Linear: a diagonal map.
func (a *ChannelAffine) Affine(in Shape) (*Affine, error) {
	if _, err := a.OutputShape(in); err != nil {
		return nil, err
	}
	out := &Affine{In: in.Size(), Rows: make([][]Term, in.Size()), Bias: make([]float64, in.Size())}
	plane := in.H * in.W
	for j := range out.Rows {
		c := j / plane
		out.Bias[j] = a.Shift[c]
		if a.Scale[c] != 0 {
			out.Rows[j] = []Term{{Index: j, Weight: a.Scale[c]}}
		}
	}
	return out, nil
}
