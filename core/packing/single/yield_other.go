//go:build !linux

package single

import "runtime"

// yield lets other goroutines run (other systems: no portable way to yield the
// thread).
func yield() { runtime.Gosched() }
