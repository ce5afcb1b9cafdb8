package rewrite

import (
	"fmt"

	"github.com/cryptonets/cryptonets/core/model"
)

// MaxPoolToSumPool replaces every MaxPool by a SumPool with the same geometry and
// Scale 1/(KernelH·KernelW): CryptoNets' scaled mean pool, which is linear. Unlike the
// other rewrites this changes the function (the mean of a window instead of its
// maximum, with padded positions counted as zeros), so the network's accuracy must be
// measured again after the conversion.
func MaxPoolToSumPool(m *model.Model) (*model.Model, error) {
	out, _, err := maxPoolToSumPool(m)
	return out, err
}

// maxPoolToSumPool is MaxPoolToSumPool that also describes each replacement.
func maxPoolToSumPool(m *model.Model) (*model.Model, []string, error) {
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	out := clone(m)
	var notes []string
	for i, l := range out.Layers {
		p, ok := l.(*model.MaxPool)
		if !ok {
			continue
		}
		out.Layers[i] = &model.SumPool{KernelH: p.KernelH, KernelW: p.KernelW, StrideH: p.StrideH, StrideW: p.StrideW,
			Pad: p.Pad, Scale: 1 / float64(p.KernelH*p.KernelW)}
		notes = append(notes, fmt.Sprintf("maxpool-to-sumpool: layer %d (%d×%d max → mean; changes the function)",
			i, p.KernelH, p.KernelW))
	}
	if err := out.Validate(); err != nil {
		return nil, nil, fmt.Errorf("rewrite: replacing max pooling: %w", err)
	}
	return out, notes, nil
}
