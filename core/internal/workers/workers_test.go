package workers

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRunsEveryTaskOnce(t *testing.T) {
	var seen [1000]atomic.Int32
	if err := Run(len(seen), 3, func(w, i int) error {
		if w < 0 || w >= 3 {
			t.Errorf("worker %d", w)
		}
		seen[i].Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Fatalf("task %d ran %d times", i, seen[i].Load())
		}
	}
}

func TestErrorsAndPanicsAreReturned(t *testing.T) {
	boom := errors.New("boom")
	if err := Run(100, 2, func(_, i int) error {
		if i == 10 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	err := Run(100, 2, func(_, i int) error {
		if i == 42 {
			panic("injected")
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("panic not returned: %v", err)
	}
	if err := Run(0, 2, func(int, int) error { return boom }); err != nil {
		t.Fatalf("no tasks: %v", err)
	}
}

func TestFirstReturnsTheLowestFailure(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		var seen [100]atomic.Int32
		err := First(len(seen), workers, func(i int) error {
			seen[i].Add(1)
			if i == 37 || i == 90 {
				return fmt.Errorf("task %d", i)
			}
			return nil
		})
		if err == nil || err.Error() != "task 37" {
			t.Fatalf("%d workers: %v, want task 37's error", workers, err)
		}
		for i := range 37 {
			if seen[i].Load() != 1 {
				t.Fatalf("%d workers: task %d ran %d times", workers, i, seen[i].Load())
			}
		}
	}
	if err := First(0, 2, func(int) error { return errors.New("no task") }); err != nil {
		t.Fatal(err)
	}
	if err := First(10, 2, func(i int) error {
		if i == 7 {
			panic("boom")
		}
		return nil
	}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("a panic gave %v", err)
	}
}
