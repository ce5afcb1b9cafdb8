package rewrite

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/model"
)

// FoldBatchNorm folds every ChannelAffine (an imported BatchNormalization, or a
// normalization of the input) into a neighbouring linear layer:
//
//   - one right after a Conv2D or a Dense layer into that layer: output channel (or
//     feature) c of the layer is scaled by Scale[c] and shifted by Shift[c], in its
//     weights and bias;
//   - one at the input or after an activation into the Conv2D or Dense layer after it
//     (through Flatten and Reshape for a Dense layer): the layer's weights on input
//     channel c are scaled by Scale[c], and its bias takes the shifts. Into a
//     convolution this is exact only where every tap lies inside the input, so it is
//     done only when the convolution has no zero padding or every Shift is 0.
//
// The function is unchanged (up to rounding). A ChannelAffine anywhere else stays; being
// linear, it is still evaluated on encrypted data (one multiply-add per value), and
// MergeLinear may merge it with its neighbours.
func FoldBatchNorm(m *model.Model) (*model.Model, error) {
	out, _, err := foldBatchNorm(m)
	return out, err
}

// foldBatchNorm is FoldBatchNorm that also describes each fold.
func foldBatchNorm(m *model.Model) (*model.Model, []string, error) {
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	shapes, _ := m.Shapes()
	out := clone(m)
	var layers []model.Layer
	var notes []string
	kept := []int{} // index in m of each layer kept
	for i, l := range out.Layers {
		if a, ok := l.(*model.ChannelAffine); ok && len(layers) > 0 && scaleOutputs(layers[len(layers)-1], a) {
			notes = append(notes, fmt.Sprintf("fold-batchnorm: layer %d (channel_affine) into layer %d (%s)",
				i, kept[len(kept)-1], layers[len(layers)-1].Kind()))
			continue
		}
		layers = append(layers, l)
		kept = append(kept, i)
	}
	// Forward folds, from the last so that consecutive ones fold in turn.
	for k := len(layers) - 1; k >= 0; k-- {
		a, ok := layers[k].(*model.ChannelAffine)
		if !ok {
			continue
		}
		next := k + 1
		for next < len(layers) && isReshape(layers[next]) {
			next++
		}
		if next == len(layers) || !scaleInputs(layers[next], a, shapes[kept[k]], next == k+1) {
			continue
		}
		what := "fold-batchnorm"
		if k == 0 {
			what = "fold-normalization"
		}
		notes = append(notes, fmt.Sprintf("%s: layer %d (channel_affine) into layer %d (%s)", what, kept[k], kept[next], layers[next].Kind()))
		layers = append(layers[:k], layers[k+1:]...)
		kept = append(kept[:k], kept[k+1:]...)
	}
	out.Layers = layers
	if err := out.Validate(); err != nil {
		return nil, nil, fmt.Errorf("rewrite: folding batch normalization: %w", err)
	}
	return out, notes, nil
}

// isReshape reports whether l only relabels the shape of its input.
func isReshape(l model.Layer) bool {
	switch l.(type) {
	case model.Flatten, *model.Reshape:
		return true
	}
	return false
}

// scaleInputs applies a, on inputs of shape in, to the inputs of l, in place, if l is
// a Dense layer or (when adjacent, not through a reshape) a Conv2D on which the fold
// is exact, and reports whether it did.
func scaleInputs(l model.Layer, a *model.ChannelAffine, in model.Shape, adjacent bool) bool {
	plane := in.H * in.W
	switch l := l.(type) {
	case *model.Dense:
		for j := range l.Out {
			row := l.Weights[j*l.In : (j+1)*l.In]
			for i := range row {
				c := i / plane
				l.Bias[j] += row[i] * a.Shift[c]
				row[i] *= a.Scale[c]
			}
		}
		return true
	case *model.Conv2D:
		shifted := false
		for _, t := range a.Shift {
			shifted = shifted || t != 0
		}
		if !adjacent || (shifted && l.Pad != (model.Padding{})) {
			return false
		}
		per := l.KernelH * l.KernelW
		for o := range l.OutChannels {
			for c := range l.InChannels {
				taps := l.Weights[(o*l.InChannels+c)*per : (o*l.InChannels+c+1)*per]
				for k := range taps {
					l.Bias[o] += taps[k] * a.Shift[c]
					taps[k] *= a.Scale[c]
				}
			}
		}
		return true
	}
	return false
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
