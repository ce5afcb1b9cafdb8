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
	// Input is the shape of one input image.
	Input Shape
	// InputRange bounds every input value, [min, max]; the compiler plans CKKS scales
	// from it, and the client rejects inputs outside it.
	InputRange [2]float64
	Layers     []Layer
	Provenance Provenance
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
	for i, l := range m.Layers {
		if !allFinite(numbers(l)...) {
			return errs.New(errs.ErrInvalidArgument, "model: layer %d (%s) has a NaN or infinite number", i, l.Kind())
		}
	}
	return m.checkLoweringCost(shapes)
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
// Flatten layers produce no stage: the values are already channel-major.
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

// lower turns every layer but Flatten into a stage.
func (m *Model) lower() ([]Stage, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	shapes, _ := m.Shapes()
	var stages []Stage
	for i, l := range m.Layers {
		st := Stage{Layer: i, In: shapes[i], Out: shapes[i+1]}
		switch l := l.(type) {
		case Flatten:
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
}

// NewReference prepares the plaintext evaluation of m. Unlike Stages, it accepts every
// layer kind, so it evaluates imported, unconverted networks too.
func NewReference(m *Model) (*Reference, error) {
	stages, err := m.lower()
	if err != nil {
		return nil, err
	}
	return &Reference{stages: stages, in: m.Input.Size()}, nil
}

// Forward evaluates the network on one input image (channel-major values).
func (r *Reference) Forward(x []float64) ([]float64, error) {
	if len(x) != r.in {
		return nil, errs.New(errs.ErrInvalidArgument, "model: input has %d values, want %d", len(x), r.in)
	}
	for _, st := range r.stages {
		switch {
		case st.Affine != nil:
			x = st.Affine.Apply(x)
		case st.Tensor != nil:
			x = st.Tensor.Eval(st.In, x)
		default:
			y := make([]float64, len(x))
			for i, v := range x {
				y[i] = st.Activation.Apply(v)
			}
			x = y
		}
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
