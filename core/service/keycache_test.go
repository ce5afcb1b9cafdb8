package service

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/keystore"
)

// TestKeyCacheLoadsOnceAndReleasesPlansOnce: requests for the same keys at once load
// them once when the cache has room; when it has none, each request gets an entry of
// its own; either way every entry's plan is released exactly once, when the entry
// is neither cached nor in use.
func TestKeyCacheLoadsOnceAndReleasesPlansOnce(t *testing.T) {
	for _, tc := range []struct {
		name      string
		capacity  int64
		wantLoads func(int32) bool
	}{
		{"room", 100, func(n int32) bool { return n == 1 }},
		{"no room", 5, func(n int32) bool { return n >= 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newKeyCache(tc.capacity)
			var loads, released atomic.Int32
			load := func(context.Context) (*keyEntry, error) {
				loads.Add(1)
				time.Sleep(20 * time.Millisecond)
				return &keyEntry{bytes: 10, planDone: func() { released.Add(1) }}, nil
			}
			id := keystore.Sum([]byte("k"))
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					_, done, err := c.get(context.Background(), "o", id, load)
					if err != nil {
						t.Error(err)
						return
					}
					time.Sleep(5 * time.Millisecond)
					done()
				})
			}
			wg.Wait()
			c.remove("o", id)
			if n := loads.Load(); !tc.wantLoads(n) || released.Load() != n {
				t.Errorf("%d loads, %d plans released", n, released.Load())
			}
			if n, b := c.stats(); n != 0 || b != 0 {
				t.Errorf("%d entries of %d bytes left", n, b)
			}
		})
	}
}
