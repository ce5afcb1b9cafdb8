package service

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/cryptonets/cryptonets/core/errs"
)

// budget is the memory work in flight may take: each evaluation, key upload or key
// load reserves its estimate before it starts. Requests that do not fit wait in
// order of arrival, at most maxQueue of them and each for at most timeout; beyond
// that they are refused as busy.
type budget struct {
	sem      *semaphore.Weighted
	capacity int64
	maxQueue int64
	timeout  time.Duration
	waiting  atomic.Int64
	inUse    atomic.Int64
}

func newBudget(capacity int64, maxQueue int, timeout time.Duration) *budget {
	return &budget{sem: semaphore.NewWeighted(capacity), capacity: capacity, maxQueue: int64(maxQueue), timeout: timeout}
}

// errBusy is the class of a request refused because the server is busy: the queue
// is full or the request waited too long. The client may retry it later.
var errBusy = errs.New(errs.ErrLimit, "the server is busy")

// acquire reserves n bytes, waiting in the queue if they are not free, and returns
// the function that gives them back. It fails at once if n exceeds the whole budget
// or the queue is full, and after the queue timeout or when ctx is done.
func (b *budget) acquire(ctx context.Context, n int64, what string) (release func(), err error) {
	if n > b.capacity {
		return nil, errs.New(errs.ErrLimit, "%s needs %s of memory, more than this server's budget for work in flight (%s)", what, byteSize(n), byteSize(b.capacity))
	}
	if !b.sem.TryAcquire(n) {
		if b.waiting.Add(1) > b.maxQueue {
			b.waiting.Add(-1)
			return nil, busy("%s: %d requests are already waiting for memory", what, b.maxQueue)
		}
		wait, cancel := context.WithTimeout(ctx, b.timeout)
		err := b.sem.Acquire(wait, n)
		cancel()
		b.waiting.Add(-1)
		if err != nil {
			if ctx.Err() != nil {
				return nil, errs.New(errs.ErrLimit, "%s: %w", what, ctx.Err())
			}
			return nil, busy("%s waited %s for %s of memory", what, b.timeout, byteSize(n))
		}
	}
	b.inUse.Add(n)
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			b.inUse.Add(-n)
			b.sem.Release(n)
		}
	}, nil
}

// busy returns an error that wraps errBusy.
func busy(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBusy}, args...)...)
}
