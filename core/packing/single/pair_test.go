package single

import (
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPair runs steps through an evaluation's second goroutine: both halves run once,
// their errors are joined, a panic in the helper's half is an error, a half the
// helper has not started is run by the caller, the helper sleeps between steps far
// apart and wakes for the next, and stop ends it.
func TestPair(t *testing.T) {
	before := runtime.NumGoroutine()
	q := startPair()
	var runs [2]atomic.Int32
	for range 200 {
		if err := q.do(func(h int) error { runs[h].Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := runs[0].Load(), runs[1].Load(); a != 200 || b != 200 {
		t.Fatalf("halves run %d and %d times, want 200 each", a, b)
	}
	errA, errB := errors.New("a"), errors.New("b")
	err := q.do(func(h int) error {
		if h == 0 {
			return errA
		}
		return errB
	})
	if !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Fatalf("got %v, want both halves' errors", err)
	}
	// The helper's half panics while the caller's is still running.
	err = q.do(func(h int) error {
		if h == 1 {
			panic("boom")
		}
		time.Sleep(20 * time.Millisecond)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("a panic in the helper's half gave %v", err)
	}
	// Far apart, the helper sleeps (once it runs again after pairSpin: a loaded
	// machine may take a while); the next step wakes it or is run by the caller.
	for deadline := time.Now().Add(5 * time.Second); q.state.Load() != pairAsleep; time.Sleep(pairSpin) {
		if time.Now().After(deadline) {
			t.Fatalf("helper state %d after a pause, want asleep", q.state.Load())
		}
	}
	var ran [2]bool
	if err := q.do(func(h int) error {
		if h == 0 {
			time.Sleep(10 * time.Millisecond) // time for the helper to wake
		}
		ran[h] = true
		return nil
	}); err != nil || !ran[0] || !ran[1] {
		t.Fatalf("after a pause: %v, halves run %v", err, ran)
	}
	q.stop()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after stop, %d before start", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}
