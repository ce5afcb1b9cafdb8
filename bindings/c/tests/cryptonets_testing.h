/*
 * Test-only entry points of libcryptonets, present only in the library built with
 * the Go build tag cn_testing (CMake option CN_TESTING, which the test suites use);
 * the released library does not have them.
 */
#ifndef CRYPTONETS_TESTING_H
#define CRYPTONETS_TESTING_H

#include "cryptonets.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Dereferences a nil pointer inside the library, to prove that the resulting Go panic
 * becomes CN_E_INTERNAL with a message and that the process goes on. Always returns
 * CN_E_INTERNAL. */
CN_API int cn_debug_force_panic(void);

#ifdef __cplusplus
}
#endif

#endif /* CRYPTONETS_TESTING_H */
