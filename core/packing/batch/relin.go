package batch

import (
	"fmt"
	"hash"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/internal/workers"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
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

func (s *relinStep) apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	if len(in) != s.n {
		return nil, errs.New(errs.ErrInternal, "relinearization step: %d inputs, want %d", len(in), s.n)
	}
	out := make([]*rlwe.Ciphertext, len(in))
	err := ev.withEvaluators(len(in), func(eval *hefloat.Evaluator, i int) error {
		ct := ev.pool.ciphertext(1, in[i].Level(), in[i].MetaData)
		if err := eval.Relinearize(in[i], ct); err != nil {
			return errs.New(errs.ErrInternal, "batch: relinearize: %w", err)
		}
		ev.pool.release(in[i])
		out[i] = ct
		return nil
	})
	return out, err
}

// withEvaluators runs f(eval, i) for i in [0, n) on the evaluation's workers, each
// with its own Lattigo evaluator holding the evaluation keys (made once per
// evaluation); the first error stops the run.
func (ev *evaluation) withEvaluators(n int, f func(eval *hefloat.Evaluator, i int) error) error {
	if ev.keys == nil {
		return errs.New(errs.ErrInvalidArgument, "batch: the plan relinearizes, but no evaluation keys were given")
	}
	if ev.evals == nil {
		ev.evals = make([]*hefloat.Evaluator, ev.workers)
		ev.evals[0] = hefloat.NewEvaluator(ev.params, ev.keys)
		for w := 1; w < len(ev.evals); w++ {
			ev.evals[w] = ev.evals[0].ShallowCopy()
		}
	}
	if err := workers.Run(n, ev.workers, func(w, i int) error { return f(ev.evals[w], i) }); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	return nil
}
