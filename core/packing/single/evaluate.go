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
// and the Galois keys the manifest lists. Calls may run concurrently, each with its
// own workspace: evaluators (Lattigo's buffers, the automorphism indices of the
// Galois elements) and scratch, kept for the next calls without the keys (see
// workspaces and Prepare).
// A panic inside Lattigo becomes an error. ctx is checked between steps.
func (p *Plan) Evaluate(ctx context.Context, in []*rlwe.Ciphertext, evk rlwe.EvaluationKeySet, progress packing.Progress) (out []*rlwe.Ciphertext, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, errs.New(errs.ErrInternal, "single: evaluation failed: %v", r)
		}
	}()
	m := &p.manifest
	if err := packing.CheckCiphertexts(in, m.InputCiphertexts, 1, m.InputLevel, float64(m.InputLogScale), p.params); err != nil {
		return nil, fmt.Errorf("single: %w", err)
	}
	if err := p.checkKeys(evk); err != nil {
		return nil, err
	}
	ws := p.idle.get(p, evk)
	if out, err = p.evaluateWith(ctx, ws, in, progress); err == nil {
		p.idle.put(ws)
	}
	return out, err
}

// Prepare checks evk against the manifest and builds an evaluation's workspace ahead
// of the first request (packing.Preparer): building it costs as much as a small
// evaluation.
func (p *Plan) Prepare(evk rlwe.EvaluationKeySet) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errs.New(errs.ErrInternal, "single: preparing the keys failed: %v", r)
		}
	}()
	if err := p.checkKeys(evk); err != nil {
		return err
	}
	p.idle.put(p.idle.get(p, evk))
	return nil
}

// checkKeys reports whether evk holds every key the manifest lists.
func (p *Plan) checkKeys(evk rlwe.EvaluationKeySet) error {
	if mem, ok := evk.(*rlwe.MemEvaluationKeySet); evk == nil || ok && mem == nil {
		return errs.New(errs.ErrInvalidArgument, "single: nil evaluation keys")
	}
	if _, err := evk.GetRelinearizationKey(); err != nil {
		return errs.New(errs.ErrMismatch, "single: %w", err)
	}
	for _, g := range p.manifest.GaloisElements {
		if _, err := evk.GetGaloisKey(g); err != nil {
			return errs.New(errs.ErrMismatch, "single: %w", err)
		}
	}
	return nil
}

// workspaces keeps idle workspaces for the next evaluations (shared by WithWorkers
// copies). They hold no keys: an evaluation lends its keys to the workspace it takes
// and takes them back when it returns it, so a plan never keeps a client's keys.
type workspaces struct {
	mu   sync.Mutex
	free []*workspace
}

// maxIdleWorkspaces bounds the workspaces kept: one per concurrent call.
const maxIdleWorkspaces = 2

// workspace is the scratch of one evaluation: two evaluators (the second with its own
// buffers, for the other goroutine of every step shared between two), polynomials
// modulo QP at the top level, and two rows per goroutine.
type workspace struct {
	evals [2]*hefloat.Evaluator
	qp    [6]*rlwe.Element[ringqp.Poly]
	rows  [2][][]uint64
}

// qpAt returns scratch polynomial i, its limbs up to level zeroed if zero is set.
func (ws *workspace) qpAt(i, level int, zero bool) *rlwe.Element[ringqp.Poly] {
	e := ws.qp[i]
	if zero {
		for _, p := range e.Value {
			for _, row := range p.Q.Coeffs[:level+1] {
				clear(row)
			}
			for _, row := range p.P.Coeffs {
				clear(row)
			}
		}
	}
	return e
}

// get returns an idle workspace, or a new one, with its evaluators on evk (the
// automorphism indices of the manifest's Galois elements, computed when the workspace
// is built, are the same for every key set checkKeys accepts).
func (w *workspaces) get(p *Plan, evk rlwe.EvaluationKeySet) *workspace {
	w.mu.Lock()
	if n := len(w.free); n > 0 {
		ws := w.free[n-1]
		w.free = w.free[:n-1]
		w.mu.Unlock()
		ws.setKeys(evk)
		return ws
	}
	w.mu.Unlock()
	eval := hefloat.NewEvaluator(p.params, evk)
	ws := &workspace{evals: [2]*hefloat.Evaluator{eval, eval.ShallowCopy()}}
	for i := range ws.qp {
		ws.qp[i] = p.newQP(p.params.MaxLevel())
	}
	for h := range ws.rows {
		ws.rows[h] = [][]uint64{make([]uint64, p.params.N()), make([]uint64, p.params.N())}
	}
	return ws
}

// put keeps a workspace, without its keys, for later calls.
func (w *workspaces) put(ws *workspace) {
	ws.setKeys(nil)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.free) < maxIdleWorkspaces {
		w.free = append(w.free, ws)
	}
}

// setKeys points the workspace's evaluators at evk.
func (ws *workspace) setKeys(evk rlwe.EvaluationKeySet) {
	for _, e := range ws.evals {
		e.Evaluator.Evaluator.EvaluationKeySet = evk
	}
}

// evaluateWith runs the network with the given workspace.
func (p *Plan) evaluateWith(ctx context.Context, ws *workspace, in []*rlwe.Ciphertext, progress packing.Progress) ([]*rlwe.Ciphertext, error) {
	prm := p.params
	eval := ws.evals[0]

	// First layer: Σ_c weights_c ⊙ in_c, rescale, fold the segments, bias.
	f := p.first
	level := in[0].Level()
	acc := hefloat.NewCiphertext(prm, 1, level)
	*acc.MetaData = *in[0].MetaData
	acc.Scale = in[0].Scale.Mul(f.weights[0].Scale)
	terms := make([][]uint64, 3*len(in))
	for l := range level + 1 {
		for c, ct := range in {
			terms[3*c], terms[3*c+1], terms[3*c+2] = ct.Value[0].Coeffs[l], ct.Value[1].Coeffs[l], f.montgomery[c].Coeffs[l]
		}
		p.keys.Chain().Arith(l).MontgomeryDot(acc.Value[0].Coeffs[l], acc.Value[1].Coeffs[l], terms, false)
	}
	for _, fs := range f.folds {
		if err := p.fold(ws, acc, fs.stride, fs.n); err != nil {
			return nil, fmt.Errorf("single: first layer fold: %w", err)
		}
	}
	ct := hefloat.NewCiphertext(prm, 1, acc.Level()-1)
	if err := p.rescale(ws, acc, ct); err != nil {
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
			if err := p.relinearize(ws, ct); err != nil {
				return nil, fmt.Errorf("single: step %d (square): %w", i+1, err)
			}
			if err := p.rescale(ws, ct, ct); err != nil {
				return nil, fmt.Errorf("single: step %d (square): %w", i+1, err)
			}
			continue
		}
		out := hefloat.NewCiphertext(prm, 1, ct.Level())
		var err error
		switch {
		case s.lt.N1 == 0:
			err = p.linearHoisted(ws, ct, he.LinearTransformation(s.lt), out)
		case len(s.parts) == 2:
			err = p.linearParallel(ws.evals, ct, s.parts, out)
		default:
			err = ltEval.Evaluate(ct, s.lt, out)
		}
		if err != nil {
			return nil, fmt.Errorf("single: step %d (affine): %w", i+1, err)
		}
		// Folding before the rescale divides the folds' key-switching noise by q_l.
		for _, f := range s.folds {
			if err := p.fold(ws, out, f.stride, f.n); err != nil {
				return nil, fmt.Errorf("single: step %d (fold): %w", i+1, err)
			}
		}
		if err := p.rescale(ws, out, out); err != nil {
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
// the digits shared between two goroutines: digit i is c1's limb i as a centred
// integer, reduced modulo every prime of Q (up to level) and P, in the NTT domain —
// Lattigo's DecomposeSingleNTT with one special prime, on the kernels.
func (p *Plan) decompose(evals [2]*hefloat.Evaluator, level int, c1 ring.Poly, decomp []ringqp.Poly) error {
	k := p.keys
	inv := evals[0].BuffInvNTT
	for l := range level + 1 {
		k.Chain().NTT(l).Inverse(inv.Coeffs[l], c1.Coeffs[l])
	}
	return p.twoWay(func(h int) error {
		for i := h; i <= level; i += 2 {
			k.Digit(decomp[i], level, i, inv.Coeffs[i], c1.Coeffs[i])
		}
		return nil
	})
}

// fold replaces ct by the sum of its rotations by batch·j, j = 0 … n−1: one
// decomposition, then n−1 hoisted key switches shared between two goroutines and
// summed modulo QP, then one division by P.
func (p *Plan) fold(ws *workspace, ct *rlwe.Ciphertext, batch, n int) error {
	evals := ws.evals
	eval := evals[0]
	level := ct.Level()
	decomp := eval.GetBuffDecompQP()
	if err := p.decompose(evals, level, ct.Value[1], decomp); err != nil {
		return err
	}
	sums := [2]*rlwe.Element[ringqp.Poly]{ws.qpAt(0, level, true), ws.qpAt(1, level, true)}
	err := p.twoWay(func(h int) error {
		tmp := ws.qpAt(2+h, level, false)
		for j := 1 + h; j < n; j += 2 {
			if err := p.automorphismHoisted(evals[h], level, ct, decomp, p.params.GaloisElement(batch*j), tmp, sums[h], true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n > 2 {
		p.addQP(level, sums[1], sums[0])
	}
	return p.modDownThenAdd(ws, sums[0], ct)
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
