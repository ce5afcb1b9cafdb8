package batch

import (
	"hash"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// squaredLinearStep is a square and the linear step that reads its outputs,
// evaluated as one: where the linear step would copy its inputs into its slab, it
// computes the components of their squares there instead (see linearStep.evaluate),
// with the same arithmetic as the square, so the results are bit for bit the same.
// The squares (three rows per limb and input for the shipped model's 845 values,
// 650 MB) are never written out, nor read back.
type squaredLinearStep struct {
	square *squareStep
	linear *linearStep
}

// fuse returns steps as the plan evaluates them: every square that does not rescale,
// followed by a linear step that does not keep its inputs (see segmentStep), becomes
// a squaredLinearStep, in segments' chunks too. steps is left as it is: it is what the
// plan describes and hashes.
func fuse(steps []step) []step {
	var out []step
	for i := 0; i < len(steps); i++ {
		switch s := steps[i].(type) {
		case *squareStep:
			if ls, ok := at(steps, i+1).(*linearStep); ok && s.rescales == 0 && !ls.keep {
				out = append(out, &squaredLinearStep{square: s, linear: ls})
				i++
				continue
			}
		case *segmentStep:
			seg := *s
			seg.chunks = make([]segmentChunk, len(s.chunks))
			for k, c := range s.chunks {
				c.steps = fuse(c.steps)
				seg.chunks[k] = c
			}
			out = append(out, &seg)
			continue
		}
		out = append(out, steps[i])
	}
	return out
}

// at returns steps[i], or nil past the end.
func at(steps []step, i int) step {
	if i < len(steps) {
		return steps[i]
	}
	return nil
}

// covers returns how many of the plan's steps s evaluates.
func covers(s step) int {
	if _, ok := s.(*squaredLinearStep); ok {
		return 2
	}
	return 1
}

// info describes the step as the linear step (Plan.Steps lists both).
func (s *squaredLinearStep) info() packing.Step { return s.linear.info() }

func (s *squaredLinearStep) hash(h hash.Hash) {
	s.square.hash(h)
	s.linear.hash(h)
}

func (s *squaredLinearStep) apply(ev *evaluation, in []*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	if len(in) != s.square.n {
		return nil, errs.New(errs.ErrInternal, "square step: %d inputs, want %d", len(in), s.square.n)
	}
	return s.linear.evaluate(ev, in, true)
}
