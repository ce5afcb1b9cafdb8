package model

import (
	"fmt"
	"math"
	"runtime"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/workers"
)

// Model is a network: an input shape, the range its input values lie in, and the
// layers applied in order.
type Model struct {
	Name string
	// Input is the shape of one input image: C×H×W for images, C×1×L for signals of
	// length L, F×1×1 for records of F features.
	Input Shape
	// InputRange bounds every input value, [min, max]; the compiler plans CKKS scales
	// from it, and the client rejects inputs outside it.
	InputRange [2]float64
	// ChannelRanges, when set, bounds the values of each input channel (each feature
	// of a record) on its own, one [min, max] per channel inside InputRange: the
	// compiler plans from them and the client checks them.
	ChannelRanges [][2]float64
	// Preprocessing records the normalization the network applies to its raw inputs
	// before its first layer (nil if none): the inputs the client takes are the raw
	// ones, and the conversion folds the normalization into the first linear layer.
	Preprocessing *Normalization
	Layers        []Layer
	// Calibration holds what calibration data showed of the network's values, for
	// precision plans (nil when the model was not calibrated).
	Calibration *Calibration
	Provenance  Provenance
}

// Normalization is y = (x − Mean[c]) / Std[c] per input channel.
type Normalization struct {
	Mean []float64 `codec:"mean"`
	Std  []float64 `codec:"std"`
}

// validate checks that there is one finite mean and one finite non-zero std per
// channel.
func (n *Normalization) validate(channels int) error {
	if len(n.Mean) != channels || len(n.Std) != channels {
		return errs.New(errs.ErrInvalidArgument, "model: normalization has %d means and %d stds for %d channels", len(n.Mean), len(n.Std), channels)
	}
	for c := range n.Std {
		if !finite(n.Mean[c]) || !finite(n.Std[c]) || n.Std[c] == 0 {
			return errs.New(errs.ErrInvalidArgument, "model: normalization of channel %d: mean %g, std %g", c, n.Mean[c], n.Std[c])
		}
	}
	return nil
}

// ValueRanges returns the [min, max] of every input value (channel-major): its
// channel's range when ChannelRanges is set, InputRange otherwise.
func (m *Model) ValueRanges() [][2]float64 {
	out := make([][2]float64, m.Input.Size())
	plane := m.Input.H * m.Input.W
	for i := range out {
		out[i] = m.InputRange
		if len(m.ChannelRanges) == m.Input.C {
			out[i] = m.ChannelRanges[i/plane]
		}
	}
	return out
}

// Provenance records where a model came from.
type Provenance struct {
	Source       string   `codec:"source"`
	SourceSHA256 string   `codec:"source_sha256"`
	Converter    string   `codec:"converter"`
	Rewrites     []string `codec:"rewrites"`
	Notes        string   `codec:"notes"`
}

// Shapes returns the input shape followed by every layer's output shape, checking each
// layer against its input.
func (m *Model) Shapes() ([]Shape, error) {
	if !m.Input.Valid() {
		return nil, errs.New(errs.ErrInvalidArgument, "model: invalid input shape %v", m.Input)
	}
	if len(m.Layers) == 0 {
		return nil, errs.New(errs.ErrInvalidArgument, "model: no layers")
	}
	shapes := []Shape{m.Input}
	for i, l := range m.Layers {
		if l == nil {
			return nil, errs.New(errs.ErrInvalidArgument, "model: layer %d is empty", i)
		}
		out, err := l.OutputShape(shapes[i])
		if err != nil {
			return nil, fmt.Errorf("model: layer %d: %w", i, err)
		}
		if !out.Valid() {
			return nil, errs.New(errs.ErrInvalidArgument, "model: layer %d (%s): invalid output shape %v", i, l.Kind(), out)
		}
		shapes = append(shapes, out)
	}
	return shapes, nil
}

// Validate checks shapes, weight counts, that every number is finite, that the
// input range is ordered and that lowering the model costs at most MaxLoweringCost
// (an ErrLimit error otherwise).
func (m *Model) Validate() error {
	lo, hi := m.InputRange[0], m.InputRange[1]
	if !finite(lo) || !finite(hi) || lo > hi {
		return errs.New(errs.ErrInvalidArgument, "model: invalid input range [%g, %g]", lo, hi)
	}
	shapes, err := m.Shapes()
	if err != nil {
		return err
	}
	if err := CheckChannelRanges(m.ChannelRanges, m.InputRange, m.Input.C); err != nil {
		return err
	}
	if m.Preprocessing != nil {
		if err := m.Preprocessing.validate(m.Input.C); err != nil {
			return err
		}
	}
	if m.Calibration != nil {
		if err := m.Calibration.validate(m); err != nil {
			return err
		}
	}
	for i, l := range m.Layers {
		if !allFinite(numbers(l)...) {
			return errs.New(errs.ErrInvalidArgument, "model: layer %d (%s) has a NaN or infinite number", i, l.Kind())
		}
	}
	return m.checkLoweringCost(shapes)
}

// CheckChannelRanges checks per-channel input ranges: none, or one ordered, finite
// range per channel inside the overall range.
func CheckChannelRanges(ranges [][2]float64, overall [2]float64, channels int) error {
	if len(ranges) == 0 {
		return nil
	}
	if len(ranges) != channels {
		return errs.New(errs.ErrInvalidArgument, "model: %d channel ranges for %d channels", len(ranges), channels)
	}
	for c, r := range ranges {
		if !finite(r[0]) || !finite(r[1]) || r[0] > r[1] || r[0] < overall[0] || r[1] > overall[1] {
			return errs.New(errs.ErrInvalidArgument, "model: channel %d range [%g, %g] is invalid or outside [%g, %g]", c, r[0], r[1], overall[0], overall[1])
		}
	}
	return nil
}

func numbers(l Layer) [][]float64 {
	switch l := l.(type) {
	case *Conv2D:
		return [][]float64{l.Weights, l.Bias}
	case *Dense:
		return [][]float64{l.Weights, l.Bias}
	case *SumPool:
		return [][]float64{{l.Scale}}
	case *Polynomial:
		return [][]float64{l.Coeffs, l.Interval[:], {l.FitError}}
	case *ChannelAffine:
		return [][]float64{l.Scale, l.Shift}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func allFinite(vs ...[]float64) bool {
	for _, v := range vs {
		for _, x := range v {
			if !finite(x) {
				return false
			}
		}
	}
	return true
}

// Stage is one step of evaluation: exactly one of Affine, Activation and Tensor is set.
// Flatten and Reshape layers produce no stage: the values are already channel-major.
type Stage struct {
	// Layer is the index of the layer the stage comes from.
	Layer      int
	Affine     *Affine
	Activation Activation
	// Tensor is a layer that maps the whole tensor at once; Stages only returns the
	// softmax ones (Softmax is then set), the plaintext evaluator runs them all.
	Tensor  TensorOp
	Softmax bool
	In, Out Shape
}

// Stages lowers the layers to affine maps, activations and final softmaxes, the steps
// an encrypted evaluation plans for. A tensor operation other than a softmax (max
// pooling) is an error: it has no encrypted form, and the conversion replaces it.
func (m *Model) Stages() ([]Stage, error) {
	stages, err := m.lower()
	if err != nil {
		return nil, err
	}
	for _, st := range stages {
		if st.Tensor != nil && !st.Softmax {
			return nil, errs.New(errs.ErrUnsupported, "model: layer %d (%s) cannot be evaluated on encrypted data; convert the model first (rewrite.Convert)",
				st.Layer, st.Tensor.Kind())
		}
	}
	return stages, nil
}

// lower turns every layer but Flatten and Reshape into a stage.
func (m *Model) lower() ([]Stage, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	shapes, _ := m.Shapes()
	var stages []Stage
	for i, l := range m.Layers {
		st := Stage{Layer: i, In: shapes[i], Out: shapes[i+1]}
		switch l := l.(type) {
		case Flatten, *Reshape:
			continue
		case TensorOp:
			st.Tensor = l
			st.Softmax = l.Kind() == KindSoftmax || l.Kind() == KindLogSoftmax
		case Activation:
			st.Activation = l
		case Linear:
			a, err := l.Affine(shapes[i])
			if err != nil {
				return nil, fmt.Errorf("model: layer %d: %w", i, err)
			}
			st.Affine = a
		default:
			return nil, errs.New(errs.ErrInvalidArgument, "model: layer %d: unknown kind %s", i, l.Kind())
		}
		stages = append(stages, st)
	}
	return stages, nil
}

// Reference is the float64 plaintext evaluator of a model.
type Reference struct {
	stages []Stage
	in     int
	layers int
}

// NewReference prepares the plaintext evaluation of m. Unlike Stages, it accepts every
// layer kind, so it evaluates imported, unconverted networks too.
func NewReference(m *Model) (*Reference, error) {
	stages, err := m.lower()
	if err != nil {
		return nil, err
	}
	return &Reference{stages: stages, in: m.Input.Size(), layers: len(m.Layers)}, nil
}

// apply evaluates one stage.
func (r *Reference) apply(st Stage, x []float64) []float64 {
	switch {
	case st.Affine != nil:
		return st.Affine.Apply(x)
	case st.Tensor != nil:
		return st.Tensor.Eval(st.In, x)
	}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = st.Activation.Apply(v)
	}
	return y
}

// Forward evaluates the network on one input image (channel-major values).
func (r *Reference) Forward(x []float64) ([]float64, error) { return r.Trace(x, nil) }

// Trace is Forward that also shows visit (when not nil) the input of every
// activation layer, with the layer's index; visit must not keep or change in.
func (r *Reference) Trace(x []float64, visit func(layer int, in []float64)) ([]float64, error) {
	if len(x) != r.in {
		return nil, errs.New(errs.ErrInvalidArgument, "model: input has %d values, want %d", len(x), r.in)
	}
	for _, st := range r.stages {
		if st.Activation != nil && visit != nil {
			visit(st.Layer, x)
		}
		x = r.apply(st, x)
	}
	return x, nil
}

// ForwardAll evaluates the network on every input, on all cores; a panic while
// evaluating becomes an error.
func (r *Reference) ForwardAll(inputs [][]float64) ([][]float64, error) {
	out := make([][]float64, len(inputs))
	err := workers.Run(len(inputs), runtime.GOMAXPROCS(0), func(_, i int) error {
		var err error
		out[i], err = r.Forward(inputs[i])
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Argmax returns the index of the largest value (the first one on ties).
func Argmax(x []float64) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
