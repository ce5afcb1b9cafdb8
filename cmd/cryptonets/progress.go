package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cryptonets/cryptonets/core/packing"
)

// progressInterval is the least time between two progress lines of one task.
const progressInterval = time.Second

// progress writes throttled progress lines to stderr. It is safe for concurrent use.
type progress struct {
	w    io.Writer // nil: silent
	mu   sync.Mutex
	last time.Time
}

// newProgress returns a progress writer on w, or a silent one if quiet.
func newProgress(w io.Writer, quiet bool) *progress {
	if quiet {
		return &progress{}
	}
	return &progress{w: w}
}

// logf writes one line at once, not throttled.
func (p *progress) logf(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// task returns a library progress callback for one task, labelled like "encrypt" or
// "encrypt batch 1/2". Lines come at most once per progressInterval, plus the last one.
func (p *progress) task(label string) packing.Progress {
	if p.w == nil {
		return nil
	}
	start := time.Now()
	return func(what string, done, total int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		now := time.Now()
		if done != total && (done == 0 || now.Sub(p.last) < progressInterval) {
			return
		}
		p.last = now
		fmt.Fprintf(p.w, "%s: %d/%d %s (%.1fs)\n", label, done, total, unit(what), now.Sub(start).Seconds())
	}
}

// unit names what a library task counts ("encrypt request 2/5": ciphertexts of
// request 2 of 5).
func unit(what string) string {
	head, rest, _ := strings.Cut(what, " ")
	switch head {
	case "encrypt":
		head = "ciphertexts"
	case "evaluate":
		head = "steps"
	}
	if rest != "" {
		return head + " (" + rest + ")"
	}
	return head
}
