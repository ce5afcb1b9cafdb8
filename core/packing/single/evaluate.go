package single

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
)

// Evaluate runs the network on the ciphertexts of one request (as the packing's
// layout fills them) and returns one ciphertext whose slots hold the logits as the
// manifest's result layout says, at level 0. evk must hold the relinearization key
// and the Galois keys the manifest lists. Evaluate uses its own evaluators, so calls
// may run concurrently; a panic inside Lattigo becomes an error. ctx is checked
// between steps.
func (p *Plan) Evaluate(ctx context.Context, in []*rlwe.Ciphertext, evk rlwe.EvaluationKeySet, progress packing.Progress) (out []*rlwe.Ciphertext, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, errs.New(errs.ErrInternal, "single: evaluation failed: %v", r)
		}
	}()
	return p.evaluate(ctx, in, evk, progress)
}

func (p *Plan) evaluate(ctx context.Context, in []*rlwe.Ciphertext, evk rlwe.EvaluationKeySet, progress packing.Progress) ([]*rlwe.Ciphertext, error) {
	m := &p.manifest
	if err := packing.CheckCiphertexts(in, m.InputCiphertexts, 1, m.InputLevel, float64(m.InputLogScale), p.params); err != nil {
		return nil, fmt.Errorf("single: %w", err)
	}
	if evk == nil {
		return nil, errs.New(errs.ErrInvalidArgument, "single: nil evaluation keys")
	}
	if _, err := evk.GetRelinearizationKey(); err != nil {
		return nil, errs.New(errs.ErrMismatch, "single: %w", err)
	}
	for _, g := range m.GaloisElements {
		if _, err := evk.GetGaloisKey(g); err != nil {
			return nil, errs.New(errs.ErrMismatch, "single: %w", err)
		}
	}
	prm := p.params
	eval := hefloat.NewEvaluator(prm, evk)
	// The second evaluator (own buffers, same keys) serves the other goroutine of
	// every step that shares its work between two.
	evals := [2]*hefloat.Evaluator{eval, eval.ShallowCopy()}

	// First layer: Σ_c weights_c ⊙ in_c, rescale, fold the segments, bias.
	f := p.first
	acc := hefloat.NewCiphertext(prm, 1, in[0].Level())
	if err := eval.Mul(in[0], f.weights[0], acc); err != nil {
		return nil, fmt.Errorf("single: first layer: %w", err)
	}
	for c := 1; c < len(in); c++ {
		if err := eval.MulThenAdd(in[c], f.weights[c], acc); err != nil {
			return nil, fmt.Errorf("single: first layer: %w", err)
		}
	}
	for _, fs := range f.folds {
		if err := p.fold(evals, acc, fs.stride, fs.n); err != nil {
			return nil, fmt.Errorf("single: first layer fold: %w", err)
		}
	}
	ct := hefloat.NewCiphertext(prm, 1, acc.Level()-1)
	if err := eval.Rescale(acc, ct); err != nil {
		return nil, fmt.Errorf("single: first layer: %w", err)
	}
	if err := addBias(eval, ct, f.biasPt, f.bias); err != nil {
		return nil, fmt.Errorf("single: first layer bias: %w", err)
	}

	ltEval := hefloat.NewLinearTransformationEvaluator(eval)
	for i, s := range p.steps {
		if err := ctx.Err(); err != nil {
			return nil, errs.New(errs.ErrLimit, "single: evaluation stopped before step %d: %w", i+1, err)
		}
		progress.Report("evaluate", i+1, len(p.steps)+1)
		if s.poly != nil {
			var err error
			if ct, err = p.evaluatePoly(eval, s.poly, ct); err != nil {
				return nil, fmt.Errorf("single: step %d (polynomial): %w", i+1, err)
			}
			continue
		}
		if s.square {
			if err := eval.Mul(ct, ct, ct); err != nil {
				return nil, fmt.Errorf("single: step %d (square): %w", i+1, err)
			}
			if err := p.relinearize(evals, ct); err != nil {
				return nil, fmt.Errorf("single: step %d (square): %w", i+1, err)
			}
			if err := eval.Rescale(ct, ct); err != nil {
				return nil, fmt.Errorf("single: step %d (square): %w", i+1, err)
			}
			continue
		}
		out := hefloat.NewCiphertext(prm, 1, ct.Level())
		var err error
		switch {
		case s.lt.N1 == 0:
			err = p.linearHoisted(evals, ct, he.LinearTransformation(s.lt), out)
		case len(s.parts) == 2:
			err = p.linearParallel(evals, ct, s.parts, out)
		default:
			err = ltEval.Evaluate(ct, s.lt, out)
		}
		if err != nil {
			return nil, fmt.Errorf("single: step %d (affine): %w", i+1, err)
		}
		// Folding before the rescale divides the folds' key-switching noise by q_l.
		for _, f := range s.folds {
			if err := p.fold(evals, out, f.stride, f.n); err != nil {
				return nil, fmt.Errorf("single: step %d (fold): %w", i+1, err)
			}
		}
		if err := eval.Rescale(out, out); err != nil {
			return nil, fmt.Errorf("single: step %d (affine): %w", i+1, err)
		}
		if err := addBias(eval, out, s.biasPt, s.bias); err != nil {
			return nil, fmt.Errorf("single: step %d (bias): %w", i+1, err)
		}
		ct = out
	}
	if ct.Level() > 0 {
		eval.DropLevel(ct, ct.Level())
	}
	progress.Report("evaluate", len(p.steps)+1, len(p.steps)+1)
	return []*rlwe.Ciphertext{ct}, nil
}

// twoWay runs f(0) on the calling goroutine and, if the plan has two workers, f(1)
// on another (else f(1) after f(0)); a panic in the other goroutine becomes an error.
func (p *Plan) twoWay(f func(h int) error) error {
	if p.workers < 2 {
		return errors.Join(f(0), f(1))
	}
	var other error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			if r := recover(); r != nil {
				other = errs.New(errs.ErrInternal, "panic: %v", r)
			}
		}()
		other = f(1)
	}()
	err := f(0)
	wg.Wait()
	return errors.Join(err, other)
}

// decompose writes the RNS decomposition of c1 (NTT domain, at level) into decomp,
// the digits shared between evals[0] and evals[1].
func (p *Plan) decompose(evals [2]*hefloat.Evaluator, level int, c1 ring.Poly, decomp []ringqp.Poly) error {
	prm := p.params
	inv := evals[0].BuffInvNTT
	prm.RingQ().AtLevel(level).INTT(c1, inv)
	digits := prm.BaseRNSDecompositionVectorSize(level, prm.MaxLevelP())
	return p.twoWay(func(h int) error {
		for i := h; i < digits; i += 2 {
			evals[h].DecomposeSingleNTT(level, prm.MaxLevelP(), prm.PCount(), i, c1, inv, decomp[i].Q, decomp[i].P)
		}
		return nil
	})
}

// fold replaces ct by the sum of its rotations by batch·j, j = 0 … n−1: one
// decomposition, then n−1 hoisted key switches shared between two goroutines and
// summed modulo QP, then one division by P.
func (p *Plan) fold(evals [2]*hefloat.Evaluator, ct *rlwe.Ciphertext, batch, n int) error {
	eval := evals[0]
	level := ct.Level()
	decomp := eval.GetBuffDecompQP()
	if err := p.decompose(evals, level, ct.Value[1], decomp); err != nil {
		return err
	}
	sums := [2]*rlwe.Element[ringqp.Poly]{p.newQP(level), p.newQP(level)}
	err := p.twoWay(func(h int) error {
		rot := p.newQP(level)
		for j := 1 + h; j < n; j += 2 {
			if err := evals[h].AutomorphismHoistedLazy(level, ct, decomp, p.params.GaloisElement(batch*j), rot); err != nil {
				return err
			}
			p.addQP(level, rot, sums[h])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n > 2 {
		p.addQP(level, sums[1], sums[0])
	}
	return p.modDownThenAdd(evals, sums[0], ct)
}

// linearParallel evaluates the sum of two BSGS transformations with the same baby
// steps on two goroutines: one decomposition of ct, the baby-step rotations split
// between the goroutines, then half of the giant steps each, then one addition.
func (p *Plan) linearParallel(evals [2]*hefloat.Evaluator, ct *rlwe.Ciphertext, parts []he.LinearTransformation, out *rlwe.Ciphertext) (err error) {
	eval := evals[0]
	prm := p.params
	level := min(ct.Level(), parts[0].Level)
	decomp := eval.GetBuffDecompQP()
	if err := p.decompose(evals, level, ct.Value[1], decomp); err != nil {
		return err
	}
	_, _, babyA := parts[0].BSGSIndex()
	_, _, babyB := parts[1].BSGSIndex()
	baby := mergeSorted(babyA, babyB)
	half := [2][]int{baby[:len(baby)/2], baby[len(baby)/2:]}
	preRot := [2]map[int]*rlwe.Element[ringqp.Poly]{{}, {}}
	outs := [2]*rlwe.Ciphertext{out, hefloat.NewCiphertext(prm, 1, out.Level())}
	// The decomposition lives in eval's buffer; both goroutines only read it.
	if err = p.twoWay(func(h int) error {
		return he.GetPreRotatedCiphertextForDiagonalMatrixMultiplication(level, evals[h], ct, decomp, half[h], preRot[h])
	}); err != nil {
		return err
	}
	for k, v := range preRot[1] {
		preRot[0][k] = v
	}
	if err = p.twoWay(func(h int) error {
		return he.MultiplyByDiagMatrixBSGS(evals[h], ct, parts[h], preRot[0], outs[h])
	}); err != nil {
		return err
	}
	return eval.Add(outs[0], outs[1], out)
}

// mergeSorted returns the sorted union of two sorted lists.
func mergeSorted(a, b []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, v := range append(append([]int(nil), a...), b...) {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// addBias adds the pre-encoded bias, or encodes it anew if the ciphertext is not at
// the level and scale the plan expected.
func addBias(eval *hefloat.Evaluator, ct *rlwe.Ciphertext, pt *rlwe.Plaintext, bias []float64) error {
	if pt != nil && pt.Level() == ct.Level() && pt.Scale.Cmp(ct.Scale) == 0 {
		return eval.Add(ct, pt, ct)
	}
	return eval.Add(ct, bias, ct)
}
