package model

import "math"

// KindLogSoftmax is the tag of LogSoftmax layers.
const KindLogSoftmax Kind = "logsoftmax"

// TensorOp is a layer that is neither affine nor applied to each value on its own: it
// maps the whole tensor of one image at once (Softmax, LogSoftmax, MaxPool). Tensor
// operations have no encrypted form: the conversion drops a final softmax and replaces
// max pooling; only the plaintext evaluator runs them.
type TensorOp interface {
	Layer
	// Eval computes the output for the in.Size() values x of an input of shape in,
	// which OutputShape accepts.
	Eval(in Shape, x []float64) []float64
}

// Eval implements TensorOp.
func (Softmax) Eval(_ Shape, x []float64) []float64 { return Probabilities(x) }

// LogSoftmax is the logarithm of Softmax, log(exp(x_i)/Σ exp(x_j)). Like Softmax it is
// present only in imported, unconverted graphs: argmax is unchanged without it.
type LogSoftmax struct{}

// Kind returns KindLogSoftmax.
func (LogSoftmax) Kind() Kind { return KindLogSoftmax }

// OutputShape implements Layer.
func (LogSoftmax) OutputShape(in Shape) (Shape, error) { return in, nil }

// Eval implements TensorOp.
func (LogSoftmax) Eval(_ Shape, x []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - m)
	}
	lse := m + math.Log(s)
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v - lse
	}
	return y
}
