package rewrite

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/model"
)

// FoldBatchNorm folds every ChannelAffine (an imported BatchNormalization) that comes
// right after a Conv2D or a Dense layer into that layer: output channel (or feature) c
// of the layer is scaled by Scale[c] and shifted by Shift[c], in its weights and bias.
// The function is unchanged (up to rounding). A ChannelAffine anywhere else stays; being
// linear, MergeLinear may still merge it with its neighbours.
func FoldBatchNorm(m *model.Model) (*model.Model, error) {
	out, _, err := foldBatchNorm(m)
	return out, err
}

// foldBatchNorm is FoldBatchNorm that also describes each fold.
func foldBatchNorm(m *model.Model) (*model.Model, []string, error) {
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	out := clone(m)
	var layers []model.Layer
	var notes []string
	prev := -1 // index in m of the last layer kept
	for i, l := range out.Layers {
		if a, ok := l.(*model.ChannelAffine); ok && len(layers) > 0 && scaleOutputs(layers[len(layers)-1], a) {
			notes = append(notes, fmt.Sprintf("fold-batchnorm: layer %d (channel_affine) into layer %d (%s)",
				i, prev, layers[len(layers)-1].Kind()))
			continue
		}
		layers = append(layers, l)
		prev = i
	}
	out.Layers = layers
	if err := out.Validate(); err != nil {
		return nil, nil, fmt.Errorf("rewrite: folding batch normalization: %w", err)
	}
	return out, notes, nil
}

// scaleOutputs applies a to the outputs of l, in place, if l is a Conv2D or a Dense
// layer, and reports whether it did.
func scaleOutputs(l model.Layer, a *model.ChannelAffine) bool {
	var weights, bias []float64
	switch l := l.(type) {
	case *model.Conv2D:
		weights, bias = l.Weights, l.Bias
	case *model.Dense:
		weights, bias = l.Weights, l.Bias
	default:
		return false
	}
	// Both store the weights of output c contiguously, [out][…].
	per := len(weights) / len(bias)
	for c, s := range a.Scale {
		for k := range per {
			weights[c*per+k] *= s
		}
		bias[c] = s*bias[c] + a.Shift[c]
	}
	return true
}
