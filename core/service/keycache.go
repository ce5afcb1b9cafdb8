package service

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/keystore"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// keyEntry is one client's decoded evaluation keys, ready to serve their plan.
type keyEntry struct {
	owner string
	id    keystore.ID
	plan  *plan
	// planDone ends the entry's use of its plan (when it leaves the cache).
	planDone func()
	server   *server.Server
	// bytes is the decoded keys' memory.
	bytes int64

	users  int
	elem   *list.Element
	cached bool
}

type cacheKey struct {
	owner string
	id    keystore.ID
}

// keyCache holds decoded evaluation keys, at most capacity bytes of them: entries
// in use stay, the least recently used of the others leave first. Keys it does not
// hold are loaded from the store, once however many requests ask at a time.
type keyCache struct {
	capacity int64

	mu      sync.Mutex
	used    int64
	entries map[cacheKey]*keyEntry
	lru     *list.List
	loading map[cacheKey]*loadCall
}

// loadCall is a load in progress, which other requests for the same keys wait for.
type loadCall struct{ done chan struct{} }

func newKeyCache(capacity int64) *keyCache {
	return &keyCache{capacity: capacity, entries: map[cacheKey]*keyEntry{}, lru: list.New(), loading: map[cacheKey]*loadCall{}}
}

// stats returns the number of entries and their bytes.
func (c *keyCache) stats() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.used
}

// get returns the owner's keys of that id, in use until done is called: from the
// cache, or made by load. One request loads keys at a time; the others wait for it
// and then look in the cache again (keys the cache had no room for are loaded again,
// so that an entry outside the cache serves exactly one request).
func (c *keyCache) get(ctx context.Context, owner string, id keystore.ID, load func(context.Context) (*keyEntry, error)) (e *keyEntry, done func(), err error) {
	k := cacheKey{owner, id}
	for {
		c.mu.Lock()
		if e := c.entries[k]; e != nil {
			done := c.use(e)
			c.mu.Unlock()
			return e, done, nil
		}
		call, waiting := c.loading[k]
		if !waiting {
			call = &loadCall{done: make(chan struct{})}
			c.loading[k] = call
		}
		c.mu.Unlock()
		if waiting {
			select {
			case <-call.done:
				continue
			case <-ctx.Done():
				return nil, nil, errs.New(errs.ErrLimit, "loading keys %s: %w", id, ctx.Err())
			}
		}
		e, err := load(ctx)
		c.mu.Lock()
		delete(c.loading, k)
		if err == nil {
			e.owner, e.id = owner, id
			c.insert(e)
			done = c.use(e)
		}
		c.mu.Unlock()
		close(call.done)
		return e, done, err
	}
}

// put adds freshly uploaded keys to the cache if it has room (else they are
// dropped: the store has them).
func (c *keyCache) put(e *keyEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[cacheKey{e.owner, e.id}] == nil {
		c.insert(e)
	}
	if !e.cached {
		e.planDone()
	}
}

// insert caches e if room can be made by dropping unused entries (under c.mu);
// otherwise e serves only the requests that hold it, and ends with the last.
func (c *keyCache) insert(e *keyEntry) {
	for el := c.lru.Back(); el != nil && c.used+e.bytes > c.capacity; {
		old := el.Value.(*keyEntry)
		el = el.Prev()
		if old.users == 0 {
			c.drop(old)
		}
	}
	if c.used+e.bytes > c.capacity {
		return
	}
	e.cached = true
	e.elem = c.lru.PushFront(e)
	c.entries[cacheKey{e.owner, e.id}] = e
	c.used += e.bytes
}

// drop removes e from the cache (under c.mu).
func (c *keyCache) drop(e *keyEntry) {
	c.lru.Remove(e.elem)
	delete(c.entries, cacheKey{e.owner, e.id})
	c.used -= e.bytes
	e.cached = false
	if e.users == 0 {
		e.planDone()
	}
}

// remove drops the owner's keys of that id from the cache, if there.
func (c *keyCache) remove(owner string, id keystore.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[cacheKey{owner, id}]; e != nil {
		c.drop(e)
	}
}

// use marks e as used (under c.mu) and returns the function that ends the use.
func (c *keyCache) use(e *keyEntry) func() {
	e.users++
	if e.cached {
		c.lru.MoveToFront(e.elem)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			e.users--
			if e.users == 0 && !e.cached {
				e.planDone()
			}
		})
	}
}

// loadKeys reads an owner's keys from the store and decodes them for their plan,
// with the memory of the sealed and the decoded keys reserved meanwhile.
func (s *Service) loadKeys(ctx context.Context, owner string, id keystore.ID) (*keyEntry, error) {
	size, err := s.cfg.Store.Size(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	// Decoded keys take at most twice their packed size (every coefficient has 32
	// bits or more, unpacked into 64).
	release, err := s.budget.acquire(ctx, 3*size, "loading evaluation keys")
	if err != nil {
		return nil, err
	}
	defer release()
	data, err := s.cfg.Store.Get(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	man, err := wire.EvaluationKeysManifest(data)
	if err != nil {
		return nil, fmt.Errorf("stored keys %s: %w", id, err)
	}
	p, planDone, err := s.plans.forManifest(ctx, s.models, man)
	if err != nil {
		return nil, err
	}
	e, err := decodeKeys(p, data)
	if err != nil {
		planDone()
		return nil, fmt.Errorf("stored keys %s: %w", id, err)
	}
	e.planDone = planDone
	return e, nil
}

// decodeKeys decodes sealed keys for plan p and makes their server.
func decodeKeys(p *plan, data []byte) (*keyEntry, error) {
	keys, err := wire.DecodeEvaluationKeys(data, &p.manifest)
	if err != nil {
		return nil, err
	}
	srv, err := server.New(p.plan, keys)
	if err != nil {
		return nil, err
	}
	size, err := wire.EvaluationKeysMemory(&p.manifest)
	if err != nil {
		return nil, err
	}
	return &keyEntry{plan: p, server: srv, bytes: size}, nil
}
