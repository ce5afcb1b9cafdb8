//go:build cn_testing

/* Built only with the cn_testing tag: the test-only entry points (see
 * bindings/c/tests/cryptonets_testing.h). */
#include "cryptonets.h"
#include "_cgo_export.h"

CN_API int cn_debug_force_panic(void);

int cn_debug_force_panic(void) { return cngo_debug_force_panic(); }
