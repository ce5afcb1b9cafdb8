package single

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/cryptonets/cryptonets/core/errs"
)

// pair is the second goroutine of one evaluation: it runs the other half of every
// step the evaluation shares between two goroutines (twoWay). It is started once per
// evaluation and, between steps, spins for up to pairSpin before it sleeps: handing a
// step to a sleeping goroutine means waking an idle processor, which on a virtual
// machine takes tens of microseconds, as long as many of the steps themselves. Its
// spinning yields the processor to any other thread that can run (yield), and a half
// the helper has not started when the caller finishes its own is run by the caller,
// so that on a loaded machine the spinning costs little.
type pair struct {
	state atomic.Int32
	// f is the step posted; err the result of its second half.
	f    func(h int) error
	err  error
	wake chan struct{} // wakes a sleeping helper
	done chan struct{} // the helper's half is done (for a caller that sleeps)
}

// The states of a pair.
const (
	pairIdle    int32 = iota // no step: the helper spins
	pairPosted               // a step for the helper
	pairRunning              // the helper runs the second half
	pairDone                 // the helper's half is done: err holds its result
	pairAsleep               // the helper sleeps until woken
	pairStop                 // the evaluation is over: the helper returns
)

// pairSpin bounds how long either goroutine spins waiting for the other before it
// sleeps.
const pairSpin = 200 * time.Microsecond

// startPair starts the second goroutine of an evaluation; stop ends it.
func startPair() *pair {
	q := &pair{wake: make(chan struct{}, 1), done: make(chan struct{}, 1)}
	go q.run()
	return q
}

func (q *pair) run() {
	var idleSince time.Time
	for {
		switch q.state.Load() {
		case pairPosted:
			if !q.state.CompareAndSwap(pairPosted, pairRunning) {
				continue // taken back by the caller, or stopped
			}
			q.err = q.call()
			if !q.state.CompareAndSwap(pairRunning, pairDone) {
				return // stopped meanwhile
			}
			q.done <- struct{}{}
			idleSince = time.Time{}
		case pairIdle, pairDone:
			now := time.Now()
			if idleSince.IsZero() {
				idleSince = now
			}
			if now.Sub(idleSince) < pairSpin {
				yield()
				continue
			}
			if q.state.CompareAndSwap(pairIdle, pairAsleep) {
				<-q.wake
				idleSince = time.Time{}
			}
		case pairStop:
			return
		}
	}
}

// call runs the helper's half of the posted step; a panic becomes an error.
func (q *pair) call() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errs.New(errs.ErrInternal, "panic: %v", r)
		}
	}()
	return q.f(1)
}

// do runs f(0) on the calling goroutine and f(1) on the helper (or on the calling
// goroutine too, if the helper has not started it when f(0) returns), and returns
// both results.
func (q *pair) do(f func(h int) error) error {
	q.f = f
	for posted := false; !posted; {
		switch q.state.Load() {
		case pairIdle:
			posted = q.state.CompareAndSwap(pairIdle, pairPosted)
		case pairAsleep:
			q.state.Store(pairPosted)
			q.wake <- struct{}{}
			posted = true
		}
	}
	err := f(0)
	if q.state.CompareAndSwap(pairPosted, pairIdle) {
		return errors.Join(err, f(1)) // the helper had not started it
	}
	for start := time.Now(); q.state.Load() != pairDone && time.Since(start) < pairSpin; {
		yield()
	}
	<-q.done // the helper's signal: at once if it is done
	other := q.err
	q.state.Store(pairIdle)
	return errors.Join(err, other)
}

// stop ends the helper, whatever it is doing (a step it runs is finished, not
// waited for).
func (q *pair) stop() {
	for {
		switch s := q.state.Load(); s {
		case pairAsleep:
			q.state.Store(pairStop)
			q.wake <- struct{}{}
			return
		default:
			if q.state.CompareAndSwap(s, pairStop) {
				return
			}
		}
	}
}
