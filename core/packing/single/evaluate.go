package single

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
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
	p.idle.running.Add(1)
	defer p.idle.running.Add(-1)
	ws := p.idle.get(p, evk)
	if out, err = p.evaluateWith(ctx, ws, in, progress); err == nil {
		p.idle.put(ws)
	}
	return out, err
}

// Prepare checks evk against the manifest and builds an evaluation's workspace ahead
// of the first request (packing.Preparer), its memory written once so that the first
// evaluation does not take the page faults: building it costs as much as a small
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
	// running counts the evaluations under way; procs is GOMAXPROCS at compilation.
	running atomic.Int32
	procs   int
}

// crowded reports whether the evaluations under way would have more goroutines than
// there are processors if each had two: each then runs on one (see workspace.twoWay),
// for a second goroutine would only wait for a processor, spinning.
func (w *workspaces) crowded() bool { return 2*int(w.running.Load()) > w.procs }

// maxIdleWorkspaces bounds the workspaces kept: one per concurrent call.
const maxIdleWorkspaces = 2

// workspace is the scratch of one evaluation: two evaluators (the second with its own
// buffers, for the other goroutine of every step shared between two); for each
// goroutine, an accumulator, a giant step's sum and a key product modulo QP at the
// top level and two rows; and room for the baby steps of the plan's transformations
// modulo QP.
type workspace struct {
	evals    [2]*hefloat.Evaluator
	acc, tmp [2]*qpElement
	rows     [2][][]uint64
	// babies and sums hold a transformation's baby steps and its rotating giant
	// steps' sums.
	babies, sums []*qpElement
	// c2 is a square's c1² term, before relinearization.
	c2 ring.Poly
	// cts are the rows of two ciphertexts at the top level, for the intermediate
	// results.
	cts [2][2]ring.Poly
	// pair is the evaluation's second goroutine (nil: one goroutine).
	pair *pair
	// owner is the plan's workspaces, which count the evaluations under way.
	owner *workspaces
}

// ciphertext returns a degree-1 ciphertext at the level whose rows are those of the
// workspace's ciphertext i, with fresh metadata.
func (ws *workspace) ciphertext(i, level int) *rlwe.Ciphertext {
	ct := &rlwe.Ciphertext{Element: rlwe.Element[ring.Poly]{MetaData: &rlwe.MetaData{}}}
	for _, v := range ws.cts[i] {
		ct.Value = append(ct.Value, ring.Poly{Coeffs: v.Coeffs[:level+1]})
	}
	return ct
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
	ws := &workspace{evals: [2]*hefloat.Evaluator{eval, eval.ShallowCopy()}, owner: w}
	for h := range 2 {
		ws.acc[h], ws.tmp[h] = p.newQP(p.params.MaxLevel()), p.newQP(p.params.MaxLevel())
		ws.rows[h] = [][]uint64{make([]uint64, p.params.N()), make([]uint64, p.params.N())}
	}
	for range p.maxBabies {
		ws.babies = append(ws.babies, p.newQP(p.babyLevel))
	}
	for range p.maxGiants {
		ws.sums = append(ws.sums, p.newQP(p.babyLevel))
	}
	ws.c2 = p.params.RingQ().NewPoly()
	for i := range ws.cts {
		ws.cts[i] = [2]ring.Poly{p.params.RingQ().NewPoly(), p.params.RingQ().NewPoly()}
	}
	ws.touch()
	return ws
}

// touch writes every buffer the evaluation uses once, so that the operating system
// maps their pages now (when Prepare builds the workspace) rather than during the
// first evaluation.
func (ws *workspace) touch() {
	qp := append(append([]*qpElement{ws.acc[0], ws.acc[1], ws.tmp[0], ws.tmp[1]}, ws.babies...), ws.sums...)
	var polys []ring.Poly
	for _, e := range qp {
		for _, v := range e.Value {
			polys = append(polys, v.Q, v.P)
		}
	}
	for _, e := range ws.evals {
		polys = append(polys, e.BuffInvNTT)
		for _, d := range e.GetBuffDecompQP() {
			polys = append(polys, d.Q, d.P)
		}
	}
	polys = append(polys, ws.c2, ws.cts[0][0], ws.cts[0][1], ws.cts[1][0], ws.cts[1][1])
	for _, p := range polys {
		for _, row := range p.Coeffs {
			clear(row)
		}
	}
	for _, rows := range ws.rows {
		for _, row := range rows {
			clear(row)
		}
	}
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

// evaluateWith runs the network with the given workspace and, for a plan of two
// workers, a second goroutine it starts and ends (also on a panic).
func (p *Plan) evaluateWith(ctx context.Context, ws *workspace, in []*rlwe.Ciphertext, progress packing.Progress) ([]*rlwe.Ciphertext, error) {
	ws.begin(p)
	defer ws.end()
	prm := p.params
	eval := ws.evals[0]

	// First layer: Σ_c weights_c ⊙ in_c, rescale, fold the segments, bias.
	f := p.first
	level := in[0].Level()
	// The intermediate ciphertexts live in the workspace's two: cur holds ct.
	acc := ws.ciphertext(0, level)
	*acc.MetaData = *in[0].MetaData
	acc.Scale = in[0].Scale.Mul(f.weights[0].Scale)
	if err := ws.twoWay(func(h int) error {
		terms := make([][]uint64, 3*len(in))
		for l := h; l <= level; l += 2 {
			for c, ct := range in {
				terms[3*c], terms[3*c+1], terms[3*c+2] = ct.Value[0].Coeffs[l], ct.Value[1].Coeffs[l], f.montgomery[c].Coeffs[l]
			}
			p.keys.chain.Arith(l).MontgomeryDot(acc.Value[0].Coeffs[l], acc.Value[1].Coeffs[l], terms, false)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("single: first layer: %w", err)
	}
	for _, fs := range f.folds {
		if err := p.fold(ws, acc, fs.stride, fs.n); err != nil {
			return nil, fmt.Errorf("single: first layer fold: %w", err)
		}
	}
	cur := 1
	ct := ws.ciphertext(cur, acc.Level()-1)
	if err := p.rescale(ws, acc, ct); err != nil {
		return nil, fmt.Errorf("single: first layer: %w", err)
	}
	if err := addBias(eval, ct, f.biasPt, f.bias); err != nil {
		return nil, fmt.Errorf("single: first layer bias: %w", err)
	}

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
			cur = -1 // Lattigo's
			continue
		}
		if s.square {
			if err := p.square(ws, ct); err != nil {
				return nil, fmt.Errorf("single: step %d (square): %w", i+1, err)
			}
			if err := p.rescale(ws, ct, ct); err != nil {
				return nil, fmt.Errorf("single: step %d (square): %w", i+1, err)
			}
			continue
		}
		next := 0
		if cur == 0 {
			next = 1
		}
		out := ws.ciphertext(next, ct.Level())
		if err := p.linear(ws, ct, s.tr, out); err != nil {
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
		ct, cur = out, next
	}
	// The result: a fresh ciphertext at level 0.
	res := hefloat.NewCiphertext(prm, 1, 0)
	*res.MetaData = *ct.MetaData
	for k := range res.Value {
		copy(res.Value[k].Coeffs[0], ct.Value[k].Coeffs[0])
	}
	progress.Report("evaluate", len(p.steps)+1, len(p.steps)+1)
	return []*rlwe.Ciphertext{res}, nil
}

// twoWay runs f(0) on the calling goroutine and f(1) on the evaluation's second
// goroutine (its pair), or after f(0) if it has none or other evaluations crowd the
// processors; a panic in the other goroutine becomes an error.
func (ws *workspace) twoWay(f func(h int) error) error {
	if ws.pair == nil || ws.owner.crowded() {
		return errors.Join(f(0), f(1))
	}
	return ws.pair.do(f)
}

// shared runs f(h, i) for i = 0 … n−1 on the evaluation's goroutines (two, or one),
// each taking the next task in order as it finishes its last; h names the goroutine,
// for its scratch.
func (ws *workspace) shared(n int, f func(h, i int) error) error {
	var next atomic.Int64
	return ws.twoWay(func(h int) error {
		for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
			if err := f(h, i); err != nil {
				return err
			}
		}
		return nil
	})
}

// begin starts the evaluation's second goroutine if the plan has two workers and the
// processors are not crowded; end stops it.
func (ws *workspace) begin(p *Plan) {
	if p.workers >= 2 && !ws.owner.crowded() {
		ws.pair = startPair()
	}
}

func (ws *workspace) end() {
	if ws.pair != nil {
		ws.pair.stop()
		ws.pair = nil
	}
}

// addBias adds the pre-encoded bias, or encodes it anew if the ciphertext is not at
// the level and scale the plan expected.
func addBias(eval *hefloat.Evaluator, ct *rlwe.Ciphertext, pt *rlwe.Plaintext, bias []float64) error {
	if pt != nil && pt.Level() == ct.Level() && pt.Scale.Cmp(ct.Scale) == 0 {
		return eval.Add(ct, pt, ct)
	}
	return eval.Add(ct, bias, ct)
}
