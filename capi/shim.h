/* Private to capi/: what the Go code needs of shim.c. Not installed. */
#ifndef CRYPTONETS_CAPI_SHIM_H
#define CRYPTONETS_CAPI_SHIM_H
#include <stddef.h>
#include <stdint.h>

/* The size of the thread-local error message buffer, NUL included. */
#define CNSHIM_ERROR_MAX 1024

/* Copies msg[0..len) (len < CNSHIM_ERROR_MAX) into this thread's error message. */
void cnshim_set_error(const char *msg, size_t len);

/* malloc that returns NULL on failure (cgo's C.malloc aborts the process instead). */
void *cnshim_alloc(size_t n);
void cnshim_free(void *p);

#endif
