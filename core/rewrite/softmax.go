package rewrite

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/model"
)

// DropFinalSoftmax removes a Softmax that is the last layer (argmax is unchanged).
// A model without a final Softmax is returned unchanged (as a copy).
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
	if out.Layers[last].Kind() != model.KindSoftmax {
		return out, "", nil
	}
	out.Layers = out.Layers[:last]
	if err := out.Validate(); err != nil {
		return nil, "", fmt.Errorf("rewrite: dropping the final softmax: %w", err)
	}
	return out, "drop-final-softmax", nil
}
