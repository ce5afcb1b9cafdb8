package rewrite

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/model"
)

// DropFinalSoftmax removes a final normalizer: a Softmax, LogSoftmax, or sigmoid or
// tanh activation that is the last layer. Each is strictly increasing in the logits
// (softmax and log-softmax jointly, the others value by value), so argmax is unchanged.
// A model without one is returned unchanged (as a copy).
func DropFinalSoftmax(m *model.Model) (*model.Model, error) {
	out, _, err := dropFinalSoftmax(m)
	return out, err
}

// dropFinalSoftmax is DropFinalSoftmax that also describes what it did ("" if nothing).
func dropFinalSoftmax(m *model.Model) (*model.Model, string, error) {
	if err := m.Validate(); err != nil {
		return nil, "", err
	}
	out := clone(m)
	last := len(out.Layers) - 1
	kind := out.Layers[last].Kind()
	if !finalNormalizer(kind) {
		return out, "", nil
	}
	out.Layers = out.Layers[:last]
	if err := out.Validate(); err != nil {
		return nil, "", fmt.Errorf("rewrite: dropping the final %s: %w", kind, err)
	}
	return out, "drop-final-" + string(kind), nil
}

// finalNormalizer reports whether a last layer of kind k can be dropped without
// changing argmax.
func finalNormalizer(k model.Kind) bool {
	switch k {
	case model.KindSoftmax, model.KindLogSoftmax, model.KindSigmoid, model.KindTanh:
		return true
	}
	return false
}
