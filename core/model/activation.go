package model

import (
	"math"

	"github.com/cryptonets/cryptonets/core/errs"
)

// The kinds of NamedActivation layers: the tag of each is its function's name.
const (
	KindReLU    Kind = "relu"
	KindSigmoid Kind = "sigmoid"
	KindTanh    Kind = "tanh"
	KindGELU    Kind = "gelu"
	KindSiLU    Kind = "silu"
)

// NamedActivation is an activation function of a network trained the ordinary way:
// Func is "relu", "sigmoid", "tanh", "gelu" (the exact form x·Φ(x) = x·(1+erf(x/√2))/2)
// or "silu" (x·sigmoid(x)). None has an encrypted form: the conversion replaces each by
// a Polynomial fitted on calibration data (rewrite.ApproximateActivations), or drops a
// final sigmoid or tanh (both increasing, so argmax is unchanged).
type NamedActivation struct {
	Func string
}

// NamedActivations lists the functions a NamedActivation may name.
func NamedActivations() []string {
	return []string{string(KindReLU), string(KindSigmoid), string(KindTanh), string(KindGELU), string(KindSiLU)}
}

// Kind returns the function's name as a Kind, e.g. KindReLU.
func (a NamedActivation) Kind() Kind { return Kind(a.Func) }

// OutputShape implements Layer; it checks that Func names a known function.
func (a NamedActivation) OutputShape(in Shape) (Shape, error) {
	if _, ok := namedFunc(a.Func); !ok {
		return Shape{}, errs.New(errs.ErrInvalidArgument, "activation: unknown function %q (want one of %v)", a.Func, NamedActivations())
	}
	return in, nil
}

// Apply implements Activation; it returns NaN for an unknown function.
func (a NamedActivation) Apply(x float64) float64 {
	f, ok := namedFunc(a.Func)
	if !ok {
		return math.NaN()
	}
	return f(x)
}

// namedFunc returns the function called name.
func namedFunc(name string) (func(float64) float64, bool) {
	switch Kind(name) {
	case KindReLU:
		return func(x float64) float64 { return math.Max(x, 0) }, true
	case KindSigmoid:
		return sigmoid, true
	case KindTanh:
		return math.Tanh, true
	case KindGELU:
		return func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }, true
	case KindSiLU:
		return func(x float64) float64 { return x * sigmoid(x) }, true
	}
	return nil, false
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// isNamedActivation reports whether k is the kind of a NamedActivation.
func isNamedActivation(k Kind) bool {
	_, ok := namedFunc(string(k))
	return ok
}
