package batch

import (
	"context"
	"fmt"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// Evaluate runs the network on an encrypted batch: one ciphertext per input value,
// image i in slot i. It returns one ciphertext per output, then one per monitor (see
// GuaranteeCalibrated). keys holds the relinearization key if the manifest asks for
// one (plans that do not relinearize use no key: keys may be nil). It takes ownership
// of the inputs: their memory is recycled, so the caller must not use them again. ctx
// is checked between steps.
func (p *Plan) Evaluate(ctx context.Context, in []*rlwe.Ciphertext, keys rlwe.EvaluationKeySet, progress packing.Progress) ([]*rlwe.Ciphertext, error) {
	m := &p.manifest
	if err := packing.CheckCiphertexts(in, m.InputCiphertexts, 1, m.InputLevel, float64(m.InputLogScale), p.params); err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	ev := &evaluation{params: p.params, workers: defaultWorkers(), pool: p.pool, kernels: p.kernels}
	if m.Relinearize {
		if mem, ok := keys.(*rlwe.MemEvaluationKeySet); keys == nil || ok && mem == nil {
			return nil, errs.New(errs.ErrInvalidArgument, "batch: the plan relinearizes: the client's relinearization key is needed")
		}
		rlk, err := keys.GetRelinearizationKey()
		if err != nil {
			return nil, errs.New(errs.ErrMismatch, "batch: %w", err)
		}
		ev.rlk = rlk
	}
	p.pool.begin()
	defer p.pool.end()
	x := append([]*rlwe.Ciphertext(nil), in...)
	// Progress and errors count the plan's steps, a fused square and linear step two.
	done := 0
	for _, s := range p.run {
		if err := ctx.Err(); err != nil {
			ev.pool.release(x...)
			return nil, errs.New(errs.ErrLimit, "batch: evaluation stopped before step %d: %w", done, err)
		}
		progress.Report("evaluate", done, len(p.steps))
		var err error
		if x, err = s.apply(ev, x); err != nil {
			return nil, fmt.Errorf("batch: step %d: %w", done, err)
		}
		done += covers(s)
	}
	progress.Report("evaluate", len(p.steps), len(p.steps))
	return x, nil
}
