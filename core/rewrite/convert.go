package rewrite

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/model"
)

// Convert applies the conversion pipeline (DropFinalSoftmax, MergeLinear), validates
// the result (no Softmax left anywhere), and records the rewrites applied in
// m.Provenance.Rewrites (of the returned model; m itself is not modified).
func Convert(m *model.Model) (*model.Model, error) {
	out, dropped, err := dropFinalSoftmax(m)
	if err != nil {
		return nil, err
	}
	for i, l := range out.Layers {
		if l.Kind() == model.KindSoftmax {
			return nil, fmt.Errorf("rewrite: layer %d is a softmax that is not the last layer; it cannot be evaluated on encrypted data", i)
		}
	}
	out, merged, err := mergeLinear(out)
	if err != nil {
		return nil, err
	}
	if dropped != "" {
		out.Provenance.Rewrites = append(out.Provenance.Rewrites, dropped)
	}
	out.Provenance.Rewrites = append(out.Provenance.Rewrites, merged...)
	return out, nil
}
