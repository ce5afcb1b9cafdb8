package compile

import (
	"sync"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
)

// Cache holds the plans one model compiled to, keyed by manifest, so that a server
// serving many uploads, or many clients of the same plan, compiles each plan once.
// It keeps the plans of the most recently used manifests, up to its size. It is safe
// for concurrent use: callers asking for a plan being compiled wait for it.
type Cache struct {
	model *model.Model
	size  int

	mu       sync.Mutex
	entries  []*cacheEntry // the most recently used first
	compiles int
}

// cacheEntry is one plan, compiled or being compiled (done is closed when it is).
type cacheEntry struct {
	key      [32]byte
	insecure bool
	done     chan struct{}
	plan     Plan
	err      error
}

// NewCache returns an empty cache of the plans of m, holding up to size of them
// (at least one). m must not change while the cache is in use.
func NewCache(m *model.Model, size int) *Cache {
	return &Cache{model: m, size: max(size, 1)}
}

// ForManifest returns the plan of manifest man, compiling it as ForManifest does the
// first time. A failed compilation is not kept.
func (c *Cache) ForManifest(man manifest.Manifest, allowInsecure bool) (Plan, error) {
	if c == nil || c.model == nil {
		return nil, errs.New(errs.ErrInvalidArgument, "compile: nil cache or model")
	}
	key := man.Fingerprint()
	c.mu.Lock()
	e := c.lookup(key, allowInsecure)
	if e == nil {
		e = &cacheEntry{key: key, insecure: allowInsecure, done: make(chan struct{})}
		c.entries = append([]*cacheEntry{e}, c.entries...)
		if len(c.entries) > c.size {
			c.entries = c.entries[:c.size]
		}
		c.compiles++
		c.mu.Unlock()
		e.plan, e.err = ForManifest(c.model, man, allowInsecure)
		close(e.done)
		if e.err != nil {
			c.forget(e)
		}
		return e.plan, e.err
	}
	c.mu.Unlock()
	<-e.done
	return e.plan, e.err
}

// lookup finds the entry of key and moves it to the front; c.mu is held.
func (c *Cache) lookup(key [32]byte, allowInsecure bool) *cacheEntry {
	for i, e := range c.entries {
		if e.key == key && e.insecure == allowInsecure {
			copy(c.entries[1:i+1], c.entries[:i])
			c.entries[0] = e
			return e
		}
	}
	return nil
}

// forget drops e from the cache.
func (c *Cache) forget(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.entries {
		if x == e {
			c.entries = append(c.entries[:i], c.entries[i+1:]...)
			return
		}
	}
}

// Compiles returns the number of compilations the cache has started.
func (c *Cache) Compiles() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.compiles
}
