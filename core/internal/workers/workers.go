// Package workers runs independent tasks on several goroutines, turning a panic in a
// task into an error: no panic may take down the process, or a C or Python host.
package workers

import (
	"sync"
	"sync/atomic"

	"github.com/cryptonets/cryptonets/core/errs"
)

// Run calls f(worker, i) for every i in [0, n) on up to `workers` goroutines; worker
// identifies the goroutine (0 ≤ worker < workers) so that f can use per-worker
// scratch. It returns the first error or recovered panic; remaining tasks are skipped
// once one has failed.
func Run(n, workers int, f func(worker, i int) error) error {
	var (
		wg     sync.WaitGroup
		next   atomic.Int64
		failed atomic.Bool
		once   sync.Once
		first  error
	)
	fail := func(err error) {
		once.Do(func() { first = err })
		failed.Store(true)
	}
	for w := range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					fail(errs.New(errs.ErrInternal, "internal error: %v", r))
				}
			}()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(w, i); err != nil {
					fail(err)
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// First calls check(i) for i in [0, n), split into contiguous ranges over up to
// `workers` goroutines, and returns the error of the lowest i that fails (or a
// recovered panic, as Run): the answer a loop over i in order would give. A range
// stops at its first failure.
func First(n, workers int, check func(i int) error) error {
	parts := max(1, min(workers, n))
	found := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					found[p] = errs.New(errs.ErrInternal, "internal error: %v", r)
				}
			}()
			for i := p * n / parts; i < (p+1)*n/parts; i++ {
				if err := check(i); err != nil {
					found[p] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range found {
		if err != nil {
			return err
		}
	}
	return nil
}
