// Package rewrite holds the CryptoNets conversion steps that turn an imported network
// into one that can be evaluated on encrypted data: each step is a small pure function
// from a model to a new model (DropFinalSoftmax, FoldBatchNorm, MaxPoolToSumPool,
// ApproximateActivations, MergeLinear), and ConvertWith chains them.
//
// No function modifies its input: the result is a deep copy of the layers it keeps.
package rewrite

import (
	"slices"

	"github.com/cryptonets/cryptonets/core/model"
)

// clone returns a deep copy of m without its calibration, which describes the
// layers the rewrite is about to change (ConvertWith calibrates the result).
func clone(m *model.Model) *model.Model {
	out := *m
	out.Layers = make([]model.Layer, len(m.Layers))
	for i, l := range m.Layers {
		out.Layers[i] = cloneLayer(l)
	}
	out.ChannelRanges = slices.Clone(m.ChannelRanges)
	if p := m.Preprocessing; p != nil {
		out.Preprocessing = &model.Normalization{Mean: slices.Clone(p.Mean), Std: slices.Clone(p.Std)}
	}
	out.Calibration = nil
	out.Provenance.Rewrites = slices.Clone(m.Provenance.Rewrites)
	return &out
}

// cloneLayer returns a deep copy of a layer. Layer types of other packages, unknown
// here, are shared: the rewrites never modify a layer in place.
func cloneLayer(l model.Layer) model.Layer {
	switch l := l.(type) {
	case *model.Conv2D:
		c := *l
		c.Weights, c.Bias = slices.Clone(l.Weights), slices.Clone(l.Bias)
		return &c
	case *model.Dense:
		d := *l
		d.Weights, d.Bias = slices.Clone(l.Weights), slices.Clone(l.Bias)
		return &d
	case *model.SumPool:
		p := *l
		return &p
	case *model.Polynomial:
		p := *l
		p.Coeffs = slices.Clone(l.Coeffs)
		return &p
	case *model.ChannelAffine:
		return &model.ChannelAffine{Scale: slices.Clone(l.Scale), Shift: slices.Clone(l.Shift)}
	case *model.MaxPool:
		p := *l
		return &p
	case *model.Reshape:
		r := *l
		return &r
	}
	return l
}
