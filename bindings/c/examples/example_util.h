/*
 * Small helpers shared by the C examples and tests: file I/O, the MNIST fixtures
 * written by bindings/c/tools/mnistdump, argmax, and a CHECK macro that prints
 * cn_last_error(). Header-only; not part of the library.
 */
#ifndef CN_EXAMPLE_UTIL_H
#define CN_EXAMPLE_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cryptonets.h>

/* Runs a cn_* call; on failure prints the call, its status and message, and exits. */
#define CHECK(call)                                                                   \
    do {                                                                              \
        int cn_rc_ = (call);                                                          \
        if (cn_rc_ != CN_OK) {                                                        \
            fprintf(stderr, "%s:%d: %s failed with %d: %s\n", __FILE__, __LINE__,     \
                    #call, cn_rc_, cn_last_error());                                  \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* Reads a whole file into a malloc'ed buffer; exits on failure. */
static inline uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    if (fseek(f, 0, SEEK_END) != 0) { perror(path); exit(1); }
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) { perror(path); exit(1); }
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf) { fprintf(stderr, "out of memory reading %s\n", path); exit(1); }
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(1); }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Writes len bytes to path; exits on failure. */
static inline void write_file(const char *path, const uint8_t *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) { perror(path); exit(1); }
}

/* Reads n images of `values` doubles each from images.f64 (little-endian float64,
 * as mnistdump writes it; this is also the host's layout on x86-64 and arm64). */
static inline double *read_images(const char *path, size_t n, size_t values) {
    size_t len;
    uint8_t *raw = read_file(path, &len);
    if (len < n * values * sizeof(double)) {
        fprintf(stderr, "%s holds %zu bytes, need %zu images of %zu values\n", path, len, n, values);
        exit(1);
    }
    double *px = malloc(n * values * sizeof(double));
    if (!px) { fprintf(stderr, "out of memory\n"); exit(1); }
    memcpy(px, raw, n * values * sizeof(double));
    free(raw);
    return px;
}

/* Reads n integer labels, one per line. */
static inline int *read_labels(const char *path, size_t n) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(1); }
    int *labels = malloc(n * sizeof(int));
    if (!labels) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (size_t i = 0; i < n; i++) {
        if (fscanf(f, "%d", &labels[i]) != 1) {
            fprintf(stderr, "%s: fewer than %zu labels\n", path, n);
            exit(1);
        }
    }
    fclose(f);
    return labels;
}

/* The index of the largest of n values (the first one on ties). */
static inline int argmax(const double *v, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return (int)best;
}

#endif
