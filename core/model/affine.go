package model

import (
	"math"

	"github.com/cryptonets/cryptonets/core/errs"
)

// Term is one weight of an affine map: output += Weight · input[Index].
type Term struct {
	Index  int
	Weight float64
}

// Affine is the sparse affine map y = W·x + b that every linear layer reduces to.
// Rows[j] lists the non-zero weights of output j.
type Affine struct {
	In   int
	Rows [][]Term
	Bias []float64
}

// Out returns the number of outputs.
func (a *Affine) Out() int { return len(a.Rows) }

// Apply computes W·x + b.
func (a *Affine) Apply(x []float64) []float64 {
	y := make([]float64, len(a.Rows))
	for j, row := range a.Rows {
		s := a.Bias[j]
		for _, t := range row {
			s += t.Weight * x[t.Index]
		}
		y[j] = s
	}
	return y
}

// Then returns the affine map x ↦ next(a(x)).
func (a *Affine) Then(next *Affine) (*Affine, error) {
	if next.In != a.Out() {
		return nil, errs.New(errs.ErrInvalidArgument, "model: cannot compose affine maps %d→%d and %d→%d", a.In, a.Out(), next.In, next.Out())
	}
	out := &Affine{In: a.In, Rows: make([][]Term, next.Out()), Bias: make([]float64, next.Out())}
	dense := make([]float64, a.In)
	for j, row := range next.Rows {
		clear(dense)
		bias := next.Bias[j]
		for _, t := range row {
			bias += t.Weight * a.Bias[t.Index]
			for _, u := range a.Rows[t.Index] {
				dense[u.Index] += t.Weight * u.Weight
			}
		}
		out.Bias[j] = bias
		out.Rows[j] = sparse(dense)
	}
	return out, nil
}

// MaxAbsOutput bounds |y_j| for every input whose entries lie in [-inBound, inBound]
// (interval arithmetic), given per-input bounds.
func (a *Affine) MaxAbsOutput(inBound []float64) []float64 {
	out := make([]float64, len(a.Rows))
	for j, row := range a.Rows {
		s := math.Abs(a.Bias[j])
		for _, t := range row {
			s += math.Abs(t.Weight) * inBound[t.Index]
		}
		out[j] = s
	}
	return out
}

func sparse(dense []float64) []Term {
	var row []Term
	for i, w := range dense {
		if w != 0 {
			row = append(row, Term{Index: i, Weight: w})
		}
	}
	return row
}

// denseToAffine turns a row-major out×in matrix and a bias into an Affine.
func denseToAffine(in, out int, weights, bias []float64) *Affine {
	a := &Affine{In: in, Rows: make([][]Term, out), Bias: append([]float64(nil), bias...)}
	for j := range out {
		a.Rows[j] = sparse(weights[j*in : (j+1)*in])
	}
	return a
}
