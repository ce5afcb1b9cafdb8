package batch

import (
	"fmt"
	"hash"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/kernel"
	"github.com/cryptonets/cryptonets/core/internal/workers"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// relinStep relinearizes degree-2 ciphertexts into degree-1 ones with the client's
// relinearization key: where the plan puts it, the next products and linear steps
// work on two polynomials per value instead of three or more. It changes neither
// level nor scale.
type relinStep struct {
	n     int
	level int
	scale rlwe.Scale
	bound float64
}

func (s *relinStep) info() packing.Step {
	return packing.Step{Kind: "relinearize", Inputs: s.n, Outputs: s.n, Level: s.level, Degree: 1,
		LogScale: packing.Log2(s.scale), Bound: s.bound}
}

func (s *relinStep) hash(h hash.Hash) { hashInts(h, 4, int64(s.n), int64(s.level)) }

// apply relinearizes every ciphertext in place: each gives its third polynomial back
// to the pool.
func (s *relinStep) apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	if len(in) != s.n {
		return nil, errs.New(errs.ErrInternal, "relinearization step: %d inputs, want %d", len(in), s.n)
	}
	scratch := ev.relinScratch(s.level, ev.workers)
	defer ev.releaseRows(scratch)
	err := ev.parallelErr(len(in), func(w, i int) error { return ev.relinearize(in[i], scratch[w]) })
	return in, err
}

// relinScratch returns, for each of n workers, scratch rows from the pool for
// relinearizing at level (see kernel.RelinearizationRows).
func (ev *evaluation) relinScratch(level, n int) [][][]uint64 {
	out := make([][][]uint64, n)
	for w := range out {
		out[w] = make([][]uint64, kernel.RelinearizationRows(level))
		for i := range out[w] {
			out[w][i] = ev.pool.get()
		}
	}
	return out
}

// releaseRows gives the rows of relinScratch back to the pool.
func (ev *evaluation) releaseRows(rows [][][]uint64) {
	for _, r := range rows {
		ev.pool.put(r...)
	}
}

// relinearize turns the degree-2 ciphertext ct into a degree-1 one in place, on the
// kernels (kernel.KeySwitch), with the client's relinearization key; its third
// polynomial goes back to the pool. scratch holds kernel.RelinearizationRows rows
// for ct's level.
func (ev *evaluation) relinearize(ct *rlwe.Ciphertext, scratch [][]uint64) error {
	if ev.rlk == nil || ev.kernels.keys == nil {
		return errs.New(errs.ErrInvalidArgument, "batch: the plan relinearizes, but no relinearization key was given")
	}
	if ct.Degree() != 2 {
		return errs.New(errs.ErrInternal, "batch: relinearizing a ciphertext of degree %d", ct.Degree())
	}
	v := ct.Value
	if err := ev.kernels.keys.Relinearize(v[0].Coeffs, v[1].Coeffs, v[2].Coeffs, ct.Level(), ev.rlk, scratch); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	ev.pool.put(v[2].Coeffs...)
	ct.Value = v[:2]
	return nil
}

// parallelErr runs f(worker, i) for i in [0, n) on the evaluation's workers; the first
// error stops the run, and a panic becomes an error (see package workers).
func (ev *evaluation) parallelErr(n int, f func(worker, i int) error) error {
	if err := workers.Run(n, ev.workers, f); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	return nil
}
