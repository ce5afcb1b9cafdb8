//go:build cn_testing

package main

import "C"

import "fmt"

// This file is built only with the cn_testing tag (the library the C and Python tests
// load): cn_debug_force_panic is not part of the released library. Its declaration
// is in bindings/c/tests/cryptonets_testing.h.

// debugNil is dereferenced by cn_debug_force_panic.
var debugNil *struct{ x int }

//export cngo_debug_force_panic
func cngo_debug_force_panic() C.int {
	return guard("cn_debug_force_panic", func() error {
		// A nil dereference rather than a plain panic: it also proves that Go's signal
		// handling works inside the host process (SIGSEGV becomes a Go panic).
		return fmt.Errorf("unreachable: %d", debugNil.x)
	})
}
