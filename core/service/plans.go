package service

import (
	"container/list"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// servedModel is a model the service hosts, under the name its paths use.
type servedModel struct {
	name  string
	model *model.Model
}

// plan is a compiled plan the service holds, with what it serves it with.
type plan struct {
	model    *servedModel
	plan     packing.Plan
	manifest manifest.Manifest
	// sealed is the sealed manifest; fingerprint is the plan's fingerprint in hex.
	sealed      []byte
	fingerprint string
	memory      packing.Memory
	// requestBytes is the exact length of one request; keyBytes of its keys.
	requestBytes, keyBytes int64
	// seconds is the cost model's evaluation time of one request.
	seconds float64
	// keyless serves the plan if it needs no evaluation keys (nil otherwise).
	keyless *server.Server

	// Bookkeeping of plans (under plans.mu).
	users   int
	elem    *list.Element
	release []func() // gives back the memory reserved for the plan
	used    bool     // an evaluation ran: Kept is reserved
}

// needsKeys reports whether a manifest's plan needs evaluation keys.
func needsKeys(m *manifest.Manifest) bool { return m.Relinearize || len(m.GaloisElements) > 0 }

// optionsKey identifies a plan request: a model and compile options.
type optionsKey struct {
	model string
	opts  compile.Options
}

// plans holds the compiled plans, by fingerprint, up to max of them (least recently
// used first out, among those nobody uses); each reserves its memory in the budget.
type plans struct {
	budget   *budget
	max      int
	insecure bool

	compileMu sync.Mutex // one compilation at a time

	mu            sync.Mutex
	byFingerprint map[[32]byte]*plan
	byOptions     map[optionsKey][32]byte
	lru           *list.List
}

// maxOptionKeys bounds the remembered option → plan pairs.
const maxOptionKeys = 1024

func newPlans(b *budget, max int, insecure bool) *plans {
	return &plans{budget: b, max: max, insecure: insecure, byFingerprint: map[[32]byte]*plan{},
		byOptions: map[optionsKey][32]byte{}, lru: list.New()}
}

// count returns the number of plans held.
func (ps *plans) count() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.byFingerprint)
}

// forOptions returns the plan that opts compile m to, compiling it if needed, in
// use until done is called.
func (ps *plans) forOptions(ctx context.Context, m *servedModel, opts compile.Options) (p *plan, done func(), err error) {
	opts.AllowInsecure = ps.insecure
	key := optionsKey{m.name, opts}
	ps.mu.Lock()
	if fp, ok := ps.byOptions[key]; ok {
		if p := ps.byFingerprint[fp]; p != nil {
			done := ps.use(p)
			ps.mu.Unlock()
			return p, done, nil
		}
	}
	ps.mu.Unlock()
	p, done, err = ps.add(ctx, m, func() (packing.Plan, error) { return compile.Compile(m.model, opts) })
	if err != nil {
		return nil, nil, err
	}
	ps.mu.Lock()
	if len(ps.byOptions) >= maxOptionKeys {
		clear(ps.byOptions)
	}
	ps.byOptions[key] = p.manifest.Fingerprint()
	ps.mu.Unlock()
	return p, done, nil
}

// forManifest returns the plan of manifest man among the served models (the first
// whose model compiles to it), compiling it if needed, in use until done is called.
func (ps *plans) forManifest(ctx context.Context, models []*servedModel, man *manifest.Manifest) (p *plan, done func(), err error) {
	fp := man.Fingerprint()
	ps.mu.Lock()
	if p := ps.byFingerprint[fp]; p != nil {
		done := ps.use(p)
		ps.mu.Unlock()
		return p, done, nil
	}
	ps.mu.Unlock()
	if man.Insecure && !ps.insecure {
		return nil, nil, errs.New(errs.ErrInsecure, "the plan uses %s, which is NOT secure, and this server does not accept insecure parameters", man.Params)
	}
	var failures []error
	for _, m := range models {
		if m.model.Name != man.Model {
			continue
		}
		p, done, err := ps.add(ctx, m, func() (packing.Plan, error) { return compile.ForManifest(m.model, *man, ps.insecure) })
		if err == nil {
			return p, done, nil
		}
		failures = append(failures, err)
		if errs.ClassOf(err) != errs.ErrMismatch {
			return nil, nil, err
		}
	}
	if len(failures) == 0 {
		return nil, nil, errs.New(errs.ErrMismatch, "the plan is for a model %q, which this server does not serve", man.Model)
	}
	return nil, nil, errs.New(errs.ErrMismatch, "no model served here compiles to the plan: %w", failures[0])
}

// add compiles a plan (one compilation at a time), unless a plan of the same
// fingerprint is held, reserves its memory and holds it.
func (ps *plans) add(ctx context.Context, m *servedModel, compileIt func() (packing.Plan, error)) (*plan, func(), error) {
	ps.compileMu.Lock()
	defer ps.compileMu.Unlock()
	compiled, err := compileIt()
	if err != nil {
		return nil, nil, err
	}
	man := compiled.Manifest()
	fp := man.Fingerprint()
	ps.mu.Lock()
	if p := ps.byFingerprint[fp]; p != nil {
		done := ps.use(p)
		ps.mu.Unlock()
		return p, done, nil
	}
	ps.mu.Unlock()
	p, err := newPlan(m, compiled)
	if err != nil {
		return nil, nil, err
	}
	release, err := ps.budget.acquire(ctx, p.memory.Resident, fmt.Sprintf("the %s plan of %s", man.Packing, m.name))
	if err != nil {
		return nil, nil, err
	}
	p.release = []func(){release}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.byFingerprint[fp] = p
	p.elem = ps.lru.PushFront(p)
	done := ps.use(p)
	ps.evict()
	return p, done, nil
}

// newPlan prepares a compiled plan for serving.
func newPlan(m *servedModel, compiled packing.Plan) (*plan, error) {
	man := compiled.Manifest()
	sealed, err := wire.EncodeManifest(&man)
	if err != nil {
		return nil, err
	}
	requestBytes, err := wire.EncryptedBatchSize(&man)
	if err != nil {
		return nil, err
	}
	keyBytes, err := wire.EvaluationKeysSize(&man, compiled.Parameters())
	if err != nil {
		return nil, err
	}
	fp := man.Fingerprint()
	p := &plan{model: m, plan: compiled, manifest: man, sealed: sealed, fingerprint: hex.EncodeToString(fp[:]),
		memory: compiled.Memory(), requestBytes: requestBytes, keyBytes: keyBytes,
		seconds: compile.EstimateOf(compiled, man.ImagesPerBatch).EvaluateSeconds}
	if !needsKeys(&man) {
		if p.keyless, err = server.New(compiled, &wire.EvaluationKeys{Params: man.ParamsFingerprint}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// use marks p as used (under ps.mu) and returns the function that ends the use.
func (ps *plans) use(p *plan) func() {
	p.users++
	ps.lru.MoveToFront(p.elem)
	var once sync.Once
	return func() {
		once.Do(func() {
			ps.mu.Lock()
			defer ps.mu.Unlock()
			p.users--
			ps.evict()
		})
	}
}

// evict drops the least recently used plans nobody uses while more than max are
// held (under ps.mu).
func (ps *plans) evict() {
	for e := ps.lru.Back(); e != nil && len(ps.byFingerprint) > ps.max; {
		p := e.Value.(*plan)
		e = e.Prev()
		if p.users > 0 {
			continue
		}
		ps.lru.Remove(p.elem)
		delete(ps.byFingerprint, p.manifest.Fingerprint())
		for _, r := range p.release {
			r()
		}
	}
}

// beforeEvaluation reserves, before p's first evaluation, the memory the plan keeps
// for later ones (packing.Memory.Kept).
func (ps *plans) beforeEvaluation(ctx context.Context, p *plan) error {
	ps.mu.Lock()
	if p.used || p.memory.Kept == 0 {
		ps.mu.Unlock()
		return nil
	}
	ps.mu.Unlock()
	release, err := ps.budget.acquire(ctx, p.memory.Kept, fmt.Sprintf("the memory the %s plan of %s keeps", p.manifest.Packing, p.model.name))
	if err != nil {
		return err
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p.used {
		release() // another request reserved it meanwhile
		return nil
	}
	p.used = true
	p.release = append(p.release, release)
	return nil
}

// planOptions reads the compile options of a request's query: packing, expect and
// params (httpapi.QueryPacking, …).
func planOptions(r *http.Request) (compile.Options, error) {
	q := r.URL.Query()
	opts := compile.Options{Packing: manifest.Packing(q.Get("packing")), Params: q.Get("params")}
	if opts.Packing == "" {
		opts.Packing = compile.Auto
	} else if opts.Packing != compile.Auto {
		if _, err := compile.Lookup(opts.Packing); err != nil {
			return opts, err
		}
	}
	if e := q.Get("expect"); e != "" {
		if _, err := fmt.Sscanf(e, "%d", &opts.ExpectedImages); err != nil || opts.ExpectedImages < 0 || fmt.Sprint(opts.ExpectedImages) != e {
			return opts, errs.New(errs.ErrInvalidArgument, "expect=%q: want a number of images, 0 or more", e)
		}
	}
	return opts, nil
}
