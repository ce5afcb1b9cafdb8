package onnx

import (
	"math"

	"github.com/cryptonets/cryptonets/core/model"
)

// batchNorm translates BatchNormalization in inference form, y = scale·(x − mean)/
// √(var + epsilon) + B per channel (per feature of a flat tensor), into a ChannelAffine
// layer. The scale and shift are computed in float64 from the stored parameters; the
// epsilon attribute is a float32 (1e-5 is stored as 9.99999975e-6).
func (b *builder) batchNorm(n *node) error {
	if err := b.data(n, 0); err != nil {
		return err
	}
	training, err := n.intAttr("training_mode", 0)
	if err != nil {
		return err
	}
	spatial, err := n.intAttr("spatial", 1)
	if err != nil {
		return err
	}
	if training != 0 || len(nonEmpty(n.outputs)) > 1 {
		return unsupportedUse(n, "export in eval mode (model.eval())", "in training mode is not supported")
	}
	if spatial != 1 {
		return unsupportedUse(n, "", "with spatial=%d is not supported", spatial)
	}
	eps, err := n.floatAttr("epsilon", 1e-5)
	if err != nil {
		return err
	}
	c := b.curAct.shape.C
	params := make([][]float64, 4) // scale, B, mean, var
	for i := range params {
		t, err := b.tensorInput(n, i+1)
		if err != nil {
			return err
		}
		if len(t.dims) != 1 || t.dims[0] != c || t.floats == nil {
			return unsupportedUse(n, "", "input %d (%q) has shape %v; want %d floats, one per channel", i+1, t.name, t.dims, c)
		}
		params[i] = t.floats
	}
	scale, bias, mean, variance := params[0], params[1], params[2], params[3]
	l := &model.ChannelAffine{Scale: make([]float64, c), Shift: make([]float64, c)}
	for k := range c {
		if !(variance[k]+eps > 0) {
			return unsupportedUse(n, "", "channel %d: variance %g + epsilon %g is not positive", k, variance[k], eps)
		}
		l.Scale[k] = scale[k] / math.Sqrt(variance[k]+eps)
		l.Shift[k] = bias[k] - mean[k]*l.Scale[k]
	}
	return b.emit(n, l, b.curAct.rank)
}

// nonEmpty returns the names that are not "" (absent optional inputs or outputs).
func nonEmpty(names []string) []string {
	var out []string
	for _, s := range names {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
