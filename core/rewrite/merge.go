package rewrite

import (
	"fmt"
	"strings"

	"github.com/cryptonets/cryptonets/core/model"
)

// maxMergedWeights bounds the number of weights of a merged Dense layer. A run whose
// merge would be larger is kept as it is: merging saves multiplicative depth but is
// never needed for correctness.
const maxMergedWeights = 1 << 24

// MergeLinear replaces every run of two or more adjacent linear layers (Conv2D, Dense,
// SumPool, ChannelAffine, with Flatten and Reshape inside a run ignored) by one Dense
// layer whose weights are the composed affine map, when that layer has fewer non-zero
// weights (fewer multiply-adds on encrypted data) than the run; a run of one linear
// layer (plus Flatten) stays as it is, and so does a run whose merge would cost more,
// such as a convolution merged into the layer after it.
//
// A Dense layer outputs a flat vector, so a run whose output is spatial (height or
// width above 1) is merged only if no Conv2D or SumPool needs that spatial shape
// before the next Flatten or Dense layer (activations in between are element-wise and
// do not care). Otherwise, or if the merged matrix would exceed 2^24 weights, the run
// is kept unchanged. In CryptoNets' MNIST network the average pool is thus merged
// into the dense layer after it, while the first convolution stays; in a LeNet-5
// network the last pool stays apart from the dense layer after it (merged, 122,880
// multiply-adds instead of 31,744).
func MergeLinear(m *model.Model) (*model.Model, error) {
	out, _, err := mergeLinear(m)
	return out, err
}

// mergeLinear is MergeLinear that also describes each merge.
func mergeLinear(m *model.Model) (*model.Model, []string, error) {
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	shapes, _ := m.Shapes()
	out := clone(m)
	var layers []model.Layer
	var notes []string
	for i := 0; i < len(out.Layers); {
		j := runEnd(out.Layers, i)
		if j == i {
			layers = append(layers, out.Layers[i])
			i++
			continue
		}
		run := out.Layers[i:j]
		if !mergeable(run, shapes[i], shapes[j], out.Layers[j:]) {
			layers = append(layers, run...)
			i = j
			continue
		}
		d, separate, err := merge(run, shapes[i:j])
		if err != nil {
			return nil, nil, fmt.Errorf("rewrite: merging layers %d to %d: %w", i, j-1, err)
		}
		if d == nil { // composing would cost too much: keep the run
			layers = append(layers, run...)
			i = j
			continue
		}
		merged := nonZero(d.Weights)
		if merged >= separate {
			layers = append(layers, run...)
			i = j
			continue
		}
		layers = append(layers, d)
		notes = append(notes, fmt.Sprintf("merge-linear: layers %d-%d (%s) → dense %d→%d: %d multiply-adds instead of %d",
			i, j-1, kinds(run), d.In, d.Out, merged, separate))
		i = j
	}
	out.Layers = layers
	if err := out.Validate(); err != nil {
		return nil, nil, fmt.Errorf("rewrite: merging linear layers: %w", err)
	}
	return out, notes, nil
}

// runEnd returns the index after the run of linear and Flatten layers that starts at
// i (i itself when layer i is neither).
func runEnd(layers []model.Layer, i int) int {
	for i < len(layers) && inRun(layers[i]) {
		i++
	}
	return i
}

func inRun(l model.Layer) bool {
	_, linear := l.(model.Linear)
	return linear || isReshape(l)
}

// mergeable reports whether a run from shape in to shape out, followed by the layers
// rest, should become one Dense layer.
func mergeable(run []model.Layer, in, out model.Shape, rest []model.Layer) bool {
	linear := 0
	for _, l := range run {
		if _, ok := l.(model.Linear); ok {
			linear++
		}
	}
	if linear < 2 || in.Size() > maxMergedWeights/out.Size() {
		return false
	}
	spatial := out.H > 1 || out.W > 1
	return !spatial || !needsSpatial(rest)
}

// needsSpatial reports whether a Conv2D or SumPool (or a layer unknown here) comes
// before the next Flatten or Dense layer.
func needsSpatial(rest []model.Layer) bool {
	for _, l := range rest {
		switch l.(type) {
		case *model.Dense, model.Flatten, *model.Reshape:
			return false
		case model.Activation, model.Softmax, model.LogSoftmax:
			continue
		default:
			return true
		}
	}
	return false
}

// merge composes the affine maps of a run (shapes[k] is the input shape of run[k])
// into one Dense layer, or returns nil if composing would take more than
// model.MaxLoweringCost multiply-adds; separate is the number of multiply-adds of the
// run's layers.
func merge(run []model.Layer, shapes []model.Shape) (d *model.Dense, separate int, err error) {
	var a *model.Affine
	for k, l := range run {
		lin, ok := l.(model.Linear)
		if !ok {
			continue // Flatten, Reshape: values are already channel-major
		}
		next, err := lin.Affine(shapes[k])
		if err != nil {
			return nil, 0, err
		}
		for _, row := range next.Rows {
			separate += len(row)
		}
		if a == nil {
			a = next
			continue
		}
		if composeWork(a, next) > model.MaxLoweringCost {
			return nil, separate, nil
		}
		if a, err = a.Then(next); err != nil {
			return nil, 0, err
		}
	}
	return toDense(a), separate, nil
}

// nonZero counts the non-zero values.
func nonZero(v []float64) int {
	n := 0
	for _, x := range v {
		if x != 0 {
			n++
		}
	}
	return n
}

// composeWork counts the multiply-adds of a.Then(next).
func composeWork(a, next *model.Affine) int64 {
	var n int64
	for _, row := range next.Rows {
		for _, t := range row {
			if t.Index < len(a.Rows) {
				n += int64(len(a.Rows[t.Index]))
			}
		}
	}
	return n
}

// toDense writes a sparse affine map as a Dense layer.
func toDense(a *model.Affine) *model.Dense {
	d := &model.Dense{In: a.In, Out: a.Out(), Weights: make([]float64, a.In*a.Out()), Bias: append([]float64(nil), a.Bias...)}
	for j, row := range a.Rows {
		for _, t := range row {
			d.Weights[j*a.In+t.Index] += t.Weight
		}
	}
	return d
}

// kinds lists the kinds of the layers, e.g. "sumpool, flatten, dense".
func kinds(layers []model.Layer) string {
	s := make([]string, len(layers))
	for i, l := range layers {
		s[i] = string(l.Kind())
	}
	return strings.Join(s, ", ")
}
