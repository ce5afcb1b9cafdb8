package compile_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
)

// TestCacheCompilesOnce asks a cache for the same plan from several goroutines at
// once and again later: one compilation; another plan is one more, and the oldest
// is dropped when the cache is full.
func TestCacheCompilesOnce(t *testing.T) {
	m, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	manifestFor := func(perRequest int) compile.Plan {
		p, err := compile.Compile(m, compile.Options{Packing: "batch", Params: params.InsecureN11.Name, AllowInsecure: true,
			Tuning: packing.Options{ImagesPerRequest: perRequest}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := manifestFor(0).Manifest()
	cache := compile.NewCache(m, 1)
	var wg sync.WaitGroup
	plans := make([]compile.Plan, 4)
	for i := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if plans[i], err = cache.ForManifest(a, true); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, p := range plans {
		if p != plans[0] {
			t.Fatal("concurrent callers got different plans")
		}
	}
	if got := plans[0].Manifest(); got.Fingerprint() != a.Fingerprint() {
		t.Fatal("the cached plan is not the manifest's")
	}
	if again, _ := cache.ForManifest(a, true); again != plans[0] || cache.Compiles() != 1 {
		t.Fatalf("%d compilations for one plan", cache.Compiles())
	}
	// Without the opt-in, an insecure manifest is refused, cached or not.
	if _, err := cache.ForManifest(a, false); !errors.Is(err, errs.ErrInsecure) {
		t.Fatalf("insecure plan without the opt-in: %v", err)
	}
	b := manifestFor(16).Manifest()
	if _, err := cache.ForManifest(b, true); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.ForManifest(a, true); err != nil || cache.Compiles() != 4 {
		t.Fatalf("%d compilations, want 4 (a, a refused, b, a again after b pushed it out): %v", cache.Compiles(), err)
	}
	// A manifest the model does not compile to is an error, not kept.
	other, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range other.Layers {
		if d, ok := l.(*model.Dense); ok {
			d.Bias[0] += 1
			break
		}
	}
	if _, err := compile.NewCache(other, 2).ForManifest(a, true); !errors.Is(err, errs.ErrMismatch) {
		t.Fatalf("another model's manifest: %v", err)
	}
}
