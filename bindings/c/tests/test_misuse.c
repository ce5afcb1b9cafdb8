/*
 * test_misuse: every way a caller can get the C API wrong gives a status and a
 * message, never a crash or another object's data.
 *
 *   test_misuse MODEL.cnm IMAGES.f64 WORKDIR FIXTURES
 *
 * Uses the insecure test parameters (through the allow_insecure options)
 * and a 128-bit set for the "other parameters" cases. FIXTURES is models/fixtures,
 * whose ONNX networks cn_model_from_onnx imports and whose hostile/ folder holds the
 * reproducers of the attacks of issue 12 (made by the Go tests).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_util.h"
#ifdef CN_TESTING
#include "cryptonets_testing.h"
#endif

#define TEST_PARAMS "InsecureN11QP215"
#define OTHER_PARAMS "N13QP215"

/* Compiles model for batch packing under params (insecure sets allowed). */
static int compile_batch(cn_manifest **out, const cn_model *model, const char *params, int allow_insecure) {
    cn_compile_options opts = CN_COMPILE_OPTIONS_INIT;
    opts.params = params;
    opts.packing = CN_PACKING_BATCH;
    opts.allow_insecure = allow_insecure;
    return cn_model_compile(out, model, &opts);
}

/* Deserializes a manifest, insecure parameters allowed or not. */
static int read_manifest(cn_manifest **out, const uint8_t *data, size_t len, int allow_insecure) {
    cn_manifest_options opts = CN_MANIFEST_OPTIONS_INIT;
    opts.allow_insecure = allow_insecure;
    return cn_manifest_deserialize(out, data, len, &opts);
}

static int failures = 0;
static int checks = 0;

/* Checks a status, and for a failure that the message is one non-empty line naming
 * a cn_ function (and containing `needle` when given). */
static void expect(int line, const char *what, int got, int want, const char *needle) {
    checks++;
    const char *msg = cn_last_error();
    if (got != want) {
        fprintf(stderr, "line %d: %s returned %d, want %d (last error: %s)\n", line, what, got, want, msg);
        failures++;
        return;
    }
    if (want == CN_OK) return;
    if (msg == NULL || strncmp(msg, "cn_", 3) != 0 || strchr(msg, '\n') != NULL) {
        fprintf(stderr, "line %d: %s: bad message \"%s\"\n", line, what, msg ? msg : "(null)");
        failures++;
    } else if (needle && strstr(msg, needle) == NULL) {
        fprintf(stderr, "line %d: %s: message \"%s\" lacks \"%s\"\n", line, what, msg, needle);
        failures++;
    }
}

#define EXPECT(call, want) expect(__LINE__, #call, (call), (want), NULL)
#define EXPECT_MSG(call, want, needle) expect(__LINE__, #call, (call), (want), (needle))
#define INVALID CN_E_INVALID_ARGUMENT
#define TRUE_OR_FAIL(cond)                                                        \
    do {                                                                          \
        checks++;                                                                 \
        if (!(cond)) {                                                            \
            fprintf(stderr, "line %d: expected %s\n", __LINE__, #cond);           \
            failures++;                                                           \
        }                                                                         \
    } while (0)

/* ------------------------------------------------------------- threads -- */

static void *error_in_thread(void *arg) {
    (void)arg;
    cn_model *m = NULL;
    int rc = cn_model_load(&m, "/nonexistent/thread-local.cnm");
    int ok = rc == CN_E_IO && strstr(cn_last_error(), "thread-local.cnm") != NULL;
    return (void *)(intptr_t)ok;
}

struct free_race {
    cn_manifest *m;
    int rc;
};

static void *free_in_thread(void *arg) {
    struct free_race *r = arg;
    r->rc = cn_manifest_free(r->m);
    return NULL;
}

/* One client and one server shared by several threads, each running the whole
 * encrypt -> predict -> decrypt path. */
struct pipeline {
    cn_client *client;
    cn_server *server;
    const double *pixels;
    size_t n, values;
    double logits[64];
    int rc;
};

static void *pipeline_in_thread(void *arg) {
    struct pipeline *p = arg;
    cn_encrypted_batch *b = NULL;
    cn_encrypted_result *r = NULL;
    size_t images = 0, classes = 0;
    uint8_t req[CN_REQUEST_SIZE];
    p->rc = cn_client_encrypt(&b, p->client, p->pixels, p->n, p->values);
    if (p->rc == CN_OK) p->rc = cn_encrypted_batch_request_ids(req, sizeof req, b);
    if (p->rc == CN_OK) p->rc = cn_server_predict(&r, p->server, b);
    if (p->rc == CN_OK) p->rc = cn_client_decrypt(p->logits, 64, &images, &classes, p->client, req, sizeof req, r);
    cn_encrypted_result_free(r);
    cn_encrypted_batch_free(b);
    return NULL;
}

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL.cnm IMAGES.f64 WORKDIR FIXTURES\n", argv[0]);
        return 2;
    }
    const char *model_path = argv[1];
    char path[4096];

    /* ---- valid objects to misuse ------------------------------------------ */
    cn_model *model = NULL;
    cn_manifest *man = NULL;
    cn_client *client = NULL;
    cn_eval_keys *ek = NULL;
    cn_server *server = NULL;
    CHECK(cn_model_load(&model, model_path));
    CHECK(compile_batch(&man, model, TEST_PARAMS, 1));
    CHECK(cn_client_new(&client, man));
    CHECK(cn_client_eval_keys(&ek, client));
    CHECK(cn_server_new(&server, model, ek));

    size_t values = 0, outputs = 0, per_batch = 0, n = 2;
    CHECK(cn_manifest_input_size(&values, man));
    CHECK(cn_manifest_outputs(&outputs, man));
    CHECK(cn_manifest_images_per_batch(&per_batch, man));
    double *pixels = read_images(argv[2], n, values);

    cn_encrypted_batch *batch = NULL;
    cn_encrypted_result *result = NULL;
    uint8_t *batch_bytes = NULL, *result_bytes = NULL, *man_bytes = NULL, *ek_bytes = NULL,
            *sk_bytes = NULL, *model_bytes = NULL;
    size_t batch_len = 0, result_len = 0, man_len = 0, ek_len = 0, sk_len = 0, model_len = 0;
    uint8_t req[CN_REQUEST_SIZE];
    CHECK(cn_client_encrypt(&batch, client, pixels, n, values));
    CHECK(cn_encrypted_batch_request_ids(req, sizeof req, batch));
    CHECK(cn_encrypted_batch_serialize(&batch_bytes, &batch_len, batch));
    CHECK(cn_server_predict(&result, server, batch));
    CHECK(cn_encrypted_result_serialize(&result_bytes, &result_len, result));
    CHECK(cn_manifest_serialize(&man_bytes, &man_len, man));
    CHECK(cn_eval_keys_serialize(&ek_bytes, &ek_len, ek));
    CHECK(cn_client_export_secret_key(&sk_bytes, &sk_len, client));
    CHECK(cn_model_serialize(&model_bytes, &model_len, model));

    cn_model *m_out = NULL;
    cn_manifest *man_out = NULL;
    cn_client *c_out = NULL;
    cn_eval_keys *k_out = NULL;
    cn_server *s_out = NULL;
    cn_encrypted_batch *b_out = NULL;
    cn_encrypted_result *r_out = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0, sz = 0, sz2 = 0, sz3 = 0;
    double lo, hi, logits[64];
    int flag;
    char name[CN_PARAMS_NAME_MAX];

    /* ---- NULL for every pointer argument of every function ---------------- */
    EXPECT(cn_bytes_free(NULL), CN_OK);
    EXPECT(cn_model_load(NULL, model_path), INVALID);
    EXPECT_MSG(cn_model_load(&m_out, NULL), INVALID, "path is NULL");
    EXPECT(cn_model_serialize(NULL, &len, model), INVALID);
    EXPECT(cn_model_serialize(&bytes, NULL, model), INVALID);
    EXPECT_MSG(cn_model_serialize(&bytes, &len, NULL), INVALID, "m is NULL");
    EXPECT(cn_model_deserialize(NULL, model_bytes, model_len), INVALID);
    EXPECT(cn_model_deserialize(&m_out, NULL, model_len), INVALID);
    EXPECT(cn_model_from_onnx(NULL, model_bytes, model_len, NULL, 0, 0, 0), INVALID);
    EXPECT_MSG(cn_model_from_onnx(&m_out, NULL, model_len, NULL, 0, 0, 0), INVALID, "onnx is NULL");
    EXPECT_MSG(cn_model_from_onnx(&m_out, model_bytes, model_len, NULL, 2, values, 0), INVALID, "calibration is NULL");
    {
        /* Compilation options: NULLs, an unset struct_size, an unknown packing, an
           insecure set without the opt-in, a batch set forced to single. */
        cn_compile_options opts = {0};
        char packing[CN_PACKING_NAME_MAX];
        EXPECT(cn_model_compile(NULL, model, NULL), INVALID);
        EXPECT(cn_model_compile(&man_out, NULL, NULL), INVALID);
        EXPECT_MSG(cn_model_compile(&man_out, model, &opts), INVALID, "struct_size");
        cn_compile_options init = CN_COMPILE_OPTIONS_INIT;
        opts = init;
        opts.packing = "diagonal";
        EXPECT_MSG(cn_model_compile(&man_out, model, &opts), INVALID, "packing");
        opts.packing = CN_PACKING_SINGLE;
        opts.params = TEST_PARAMS;
        EXPECT(cn_model_compile(&man_out, model, &opts), CN_E_INSECURE_PARAMETERS);
        opts.allow_insecure = 1;
        EXPECT_MSG(cn_model_compile(&man_out, model, &opts), INVALID, "special prime");
        opts.packing = CN_PACKING_BATCH;
        EXPECT(cn_model_compile(&man_out, model, &opts), CN_OK);
        EXPECT(cn_manifest_packing(packing, sizeof packing, man_out), CN_OK);
        if (strcmp(packing, CN_PACKING_BATCH) != 0) {
            fprintf(stderr, "cn_manifest_packing gave %s, want %s\n", packing, CN_PACKING_BATCH);
            failures++;
        }
        EXPECT(cn_manifest_packing(NULL, sizeof packing, man_out), INVALID);
        EXPECT(cn_manifest_packing(packing, 3, man_out), CN_E_BUFFER_TOO_SMALL);
        EXPECT(cn_manifest_free(man_out), CN_OK);
        man_out = NULL;
    }
    EXPECT(cn_model_free(NULL), CN_OK);

    EXPECT(cn_manifest_serialize(NULL, &len, man), INVALID);
    EXPECT(cn_manifest_serialize(&bytes, NULL, man), INVALID);
    EXPECT(cn_manifest_serialize(&bytes, &len, NULL), INVALID);
    EXPECT(cn_manifest_deserialize(NULL, man_bytes, man_len, NULL), INVALID);
    EXPECT(cn_manifest_deserialize(&man_out, NULL, man_len, NULL), INVALID);
    EXPECT(read_manifest(NULL, man_bytes, man_len, 1), INVALID);
    EXPECT(read_manifest(&man_out, NULL, man_len, 1), INVALID);
    {
        cn_manifest_options unset = {0};
        EXPECT_MSG(cn_manifest_deserialize(&man_out, man_bytes, man_len, &unset), INVALID, "struct_size");
    }
    EXPECT(cn_manifest_input_shape(NULL, &sz2, &sz3, man), INVALID);
    EXPECT(cn_manifest_input_shape(&sz, NULL, &sz3, man), INVALID);
    EXPECT(cn_manifest_input_shape(&sz, &sz2, NULL, man), INVALID);
    EXPECT(cn_manifest_input_shape(&sz, &sz2, &sz3, NULL), INVALID);
    EXPECT(cn_manifest_input_size(NULL, man), INVALID);
    EXPECT(cn_manifest_input_size(&sz, NULL), INVALID);
    EXPECT(cn_manifest_input_range(NULL, &hi, man), INVALID);
    EXPECT(cn_manifest_input_range(&lo, NULL, man), INVALID);
    EXPECT(cn_manifest_input_range(&lo, &hi, NULL), INVALID);
    EXPECT(cn_manifest_outputs(NULL, man), INVALID);
    EXPECT(cn_manifest_outputs(&sz, NULL), INVALID);
    EXPECT(cn_manifest_images_per_batch(NULL, man), INVALID);
    EXPECT(cn_manifest_images_per_batch(&sz, NULL), INVALID);
    EXPECT(cn_manifest_params_name(NULL, sizeof name, man), INVALID);
    EXPECT(cn_manifest_params_name(name, sizeof name, NULL), INVALID);
    EXPECT(cn_manifest_insecure(NULL, man), INVALID);
    EXPECT(cn_manifest_insecure(&flag, NULL), INVALID);
    EXPECT(cn_manifest_free(NULL), CN_OK);

    EXPECT(cn_client_new(NULL, man), INVALID);
    EXPECT(cn_client_new(&c_out, NULL), INVALID);
    EXPECT(cn_client_restore(NULL, man, sk_bytes, sk_len), INVALID);
    EXPECT(cn_client_restore(&c_out, NULL, sk_bytes, sk_len), INVALID);
    EXPECT(cn_client_restore(&c_out, man, NULL, sk_len), INVALID);
    EXPECT(cn_client_export_secret_key(NULL, &len, client), INVALID);
    EXPECT(cn_client_export_secret_key(&bytes, NULL, client), INVALID);
    EXPECT(cn_client_export_secret_key(&bytes, &len, NULL), INVALID);
    EXPECT(cn_client_eval_keys(NULL, client), INVALID);
    EXPECT(cn_client_eval_keys(&k_out, NULL), INVALID);
    EXPECT(cn_client_encrypt(NULL, client, pixels, n, values), INVALID);
    EXPECT(cn_client_encrypt(&b_out, NULL, pixels, n, values), INVALID);
    EXPECT(cn_client_encrypt(&b_out, client, NULL, n, values), INVALID);
    EXPECT(cn_client_decrypt(NULL, 64, &sz, &sz2, client, req, sizeof req, result), INVALID);
    EXPECT(cn_client_decrypt(logits, 64, NULL, &sz2, client, req, sizeof req, result), INVALID);
    EXPECT(cn_client_decrypt(logits, 64, &sz, NULL, client, req, sizeof req, result), INVALID);
    EXPECT(cn_client_decrypt(logits, 64, &sz, &sz2, NULL, req, sizeof req, result), INVALID);
    EXPECT_MSG(cn_client_decrypt(logits, 64, &sz, &sz2, client, NULL, sizeof req, result), INVALID, "request_ids is NULL");
    EXPECT_MSG(cn_client_decrypt(logits, 64, &sz, &sz2, client, req, sizeof req - 1, result), INVALID, "CN_REQUEST_SIZE");
    EXPECT(cn_client_decrypt(logits, 64, &sz, &sz2, client, req, sizeof req, NULL), INVALID);
    EXPECT(cn_client_free(NULL), CN_OK);

    EXPECT(cn_eval_keys_serialize(NULL, &len, ek), INVALID);
    EXPECT(cn_eval_keys_serialize(&bytes, NULL, ek), INVALID);
    EXPECT(cn_eval_keys_serialize(&bytes, &len, NULL), INVALID);
    EXPECT(cn_eval_keys_deserialize(NULL, man, ek_bytes, ek_len), INVALID);
    EXPECT(cn_eval_keys_deserialize(&k_out, NULL, ek_bytes, ek_len), INVALID);
    EXPECT(cn_eval_keys_deserialize(&k_out, man, NULL, ek_len), INVALID);
    EXPECT(cn_eval_keys_free(NULL), CN_OK);

    EXPECT(cn_server_new(NULL, model, ek), INVALID);
    EXPECT(cn_server_new(&s_out, NULL, ek), INVALID);
    EXPECT(cn_server_new(&s_out, model, NULL), INVALID);
    EXPECT(cn_server_manifest(NULL, server), INVALID);
    EXPECT(cn_server_manifest(&man_out, NULL), INVALID);
    EXPECT(cn_server_predict(NULL, server, batch), INVALID);
    EXPECT(cn_server_predict(&r_out, NULL, batch), INVALID);
    EXPECT(cn_server_predict(&r_out, server, NULL), INVALID);
    EXPECT(cn_server_free(NULL), CN_OK);

    EXPECT(cn_encrypted_batch_serialize(NULL, &len, batch), INVALID);
    EXPECT(cn_encrypted_batch_serialize(&bytes, NULL, batch), INVALID);
    EXPECT(cn_encrypted_batch_serialize(&bytes, &len, NULL), INVALID);
    EXPECT(cn_encrypted_batch_deserialize(NULL, man, batch_bytes, batch_len), INVALID);
    EXPECT(cn_encrypted_batch_deserialize(&b_out, NULL, batch_bytes, batch_len), INVALID);
    EXPECT(cn_encrypted_batch_deserialize(&b_out, man, NULL, batch_len), INVALID);
    EXPECT(cn_encrypted_batch_images(NULL, batch), INVALID);
    EXPECT(cn_encrypted_batch_images(&sz, NULL), INVALID);
    EXPECT(cn_encrypted_batch_requests(NULL, batch), INVALID);
    EXPECT(cn_encrypted_batch_requests(&sz, NULL), INVALID);
    EXPECT(cn_encrypted_batch_request_ids(NULL, CN_REQUEST_SIZE, batch), INVALID);
    EXPECT(cn_encrypted_batch_request_ids(req, sizeof req, NULL), INVALID);
    {
        uint8_t small[CN_REQUEST_SIZE - 1];
        EXPECT(cn_encrypted_batch_request_ids(small, sizeof small, batch), CN_E_BUFFER_TOO_SMALL);
    }
    EXPECT(cn_encrypted_batch_free(NULL), CN_OK);
    EXPECT(cn_encrypted_result_serialize(NULL, &len, result), INVALID);
    EXPECT(cn_encrypted_result_serialize(&bytes, NULL, result), INVALID);
    EXPECT(cn_encrypted_result_serialize(&bytes, &len, NULL), INVALID);
    EXPECT(cn_encrypted_result_deserialize(NULL, man, result_bytes, result_len), INVALID);
    EXPECT(cn_encrypted_result_deserialize(&r_out, NULL, result_bytes, result_len), INVALID);
    EXPECT(cn_encrypted_result_deserialize(&r_out, man, NULL, result_len), INVALID);
    EXPECT(cn_encrypted_result_images(NULL, result), INVALID);
    EXPECT(cn_encrypted_result_images(&sz, NULL), INVALID);
    EXPECT(cn_encrypted_result_free(NULL), CN_OK);
    TRUE_OR_FAIL(m_out == NULL && man_out == NULL && c_out == NULL && k_out == NULL && s_out == NULL &&
                 b_out == NULL && r_out == NULL && bytes == NULL);

    /* ---- failure clears the out pointer ------------------------------------ */
    m_out = (cn_model *)(uintptr_t)1;
    EXPECT_MSG(cn_model_load(&m_out, "/nonexistent/model.cnm"), CN_E_IO, "no such file");
    TRUE_OR_FAIL(m_out == NULL);

    bytes = (uint8_t *)(uintptr_t)1;
    len = 7;
    EXPECT(cn_manifest_serialize(&bytes, &len, NULL), INVALID);
    TRUE_OR_FAIL(bytes == NULL && len == 0);
    bytes = (uint8_t *)(uintptr_t)1;
    EXPECT(cn_encrypted_batch_serialize(&bytes, NULL, batch), INVALID);
    TRUE_OR_FAIL(bytes == NULL);

    /* ---- wrong type, foreign pointer, double free, use after free ------------ */
    EXPECT_MSG(cn_manifest_outputs(&sz, (const cn_manifest *)client), INVALID, "is a cn_client, expected a cn_manifest");
    EXPECT_MSG(cn_client_free((cn_client *)man), INVALID, "expected a cn_client");
    int on_stack[8] = {0};
    EXPECT_MSG(cn_model_free((cn_model *)on_stack), INVALID, "not a live cn_model");
    EXPECT(cn_server_free((cn_server *)(uintptr_t)0x10), INVALID);
    cn_manifest *m2 = NULL;
    CHECK(cn_server_manifest(&m2, server));
    CHECK(cn_manifest_free(m2));
    EXPECT_MSG(cn_manifest_outputs(&sz, m2), INVALID, "already freed");
    EXPECT_MSG(cn_manifest_free(m2), INVALID, "already freed");
    CHECK(cn_manifest_serialize(&bytes, &len, man));
    EXPECT(cn_bytes_free(bytes), CN_OK);
    EXPECT_MSG(cn_bytes_free(bytes), INVALID, "not a live buffer");
    uint8_t *foreign = malloc(16);
    EXPECT(cn_bytes_free(foreign), INVALID);
    free(foreign);
    bytes = NULL;

    /* Object addresses are never reused: 10000 objects made and freed in turn (more
     * than one arena chunk, whose memory is then returned) all differ, and the first,
     * long freed, is still reported as freed. */
    enum { ROUNDS = 10000 };
    uintptr_t *seen = malloc(ROUNDS * sizeof *seen);
    cn_manifest *first = NULL;
    for (int i = 0; i < ROUNDS; i++) {
        cn_manifest *tmp = NULL;
        CHECK(cn_server_manifest(&tmp, server));
        seen[i] = (uintptr_t)tmp;
        if (i == 0) first = tmp;
        CHECK(cn_manifest_free(tmp));
    }
    qsort(seen, ROUNDS, sizeof *seen, cmp_ptr);
    int repeats = 0;
    for (int i = 1; i < ROUNDS; i++) repeats += seen[i] == seen[i - 1];
    TRUE_OR_FAIL(repeats == 0);
    free(seen);
    EXPECT_MSG(cn_manifest_outputs(&sz, first), INVALID, "already freed");

    /* Several threads free one object: exactly one succeeds. */
    struct free_race race[4];
    pthread_t threads[4];
    cn_manifest *shared = NULL;
    CHECK(cn_server_manifest(&shared, server));
    for (int i = 0; i < 4; i++) {
        race[i].m = shared;
        pthread_create(&threads[i], NULL, free_in_thread, &race[i]);
    }
    int freed = 0, refused = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        freed += race[i].rc == CN_OK;
        refused += race[i].rc == INVALID;
    }
    TRUE_OR_FAIL(freed == 1 && refused == 3);

    /* ---- bad files and bytes ------------------------------------------------ */
    snprintf(path, sizeof path, "%s/truncated.cnm", argv[3]);
    write_file(path, model_bytes, model_len / 2);
    EXPECT_MSG(cn_model_load(&m_out, path), CN_E_MALFORMED, "truncated.cnm");
    EXPECT(cn_model_deserialize(&m_out, model_bytes, model_len / 2), CN_E_MALFORMED);
    EXPECT(cn_model_deserialize(&m_out, (const uint8_t *)"hello", 5), CN_E_MALFORMED);
    EXPECT(cn_model_deserialize(&m_out, model_bytes, 0), CN_E_MALFORMED);
    EXPECT(read_manifest(&man_out, man_bytes, man_len - 1, 1), CN_E_MALFORMED);
    EXPECT(cn_encrypted_batch_deserialize(&b_out, man, batch_bytes, batch_len - 1), CN_E_MALFORMED);
    EXPECT(cn_encrypted_batch_deserialize(&b_out, man, batch_bytes, 10), CN_E_MALFORMED);
    batch_bytes[0] ^= 0xff; /* bad magic */
    EXPECT(cn_encrypted_batch_deserialize(&b_out, man, batch_bytes, batch_len), CN_E_MALFORMED);
    batch_bytes[0] ^= 0xff;
    /* An object of another kind where one is expected. */
    EXPECT(cn_encrypted_batch_deserialize(&b_out, man, result_bytes, result_len), CN_E_MISMATCH);
    EXPECT(cn_eval_keys_deserialize(&k_out, man, man_bytes, man_len), CN_E_MISMATCH);
    TRUE_OR_FAIL(m_out == NULL && man_out == NULL && b_out == NULL && k_out == NULL);

    /* ---- insecure parameters need the explicit opt-in ------------------------- */
    EXPECT_MSG(compile_batch(&man_out, model, TEST_PARAMS, 0), CN_E_INSECURE_PARAMETERS, "insecure");
    EXPECT_MSG(read_manifest(&man_out, man_bytes, man_len, 0), CN_E_INSECURE_PARAMETERS, "insecure");
    EXPECT_MSG(compile_batch(&man_out, model, "N99", 0), INVALID, "N99");
    EXPECT(compile_batch(&man_out, model, "N99", 1), INVALID);
    CHECK(cn_manifest_insecure(&flag, man));
    TRUE_OR_FAIL(flag == 1);
    CHECK(cn_manifest_params_name(name, sizeof name, man));
    TRUE_OR_FAIL(strcmp(name, TEST_PARAMS) == 0);

    /* ---- objects made for other parameters ---------------------------------- */
    cn_manifest *other = NULL, *other_received = NULL;
    cn_client *other_client = NULL;
    cn_eval_keys *other_keys = NULL;
    cn_server *other_server = NULL;
    uint8_t *other_bytes = NULL;
    size_t other_len = 0;
    CHECK(compile_batch(&other, model, OTHER_PARAMS, 0));
    CHECK(cn_manifest_insecure(&flag, other));
    TRUE_OR_FAIL(flag == 0);
    CHECK(cn_manifest_serialize(&other_bytes, &other_len, other));
    CHECK(cn_manifest_deserialize(&other_received, other_bytes, other_len, NULL)); /* secure: accepted */
    CHECK(cn_bytes_free(other_bytes));
    CHECK(cn_client_new(&other_client, other_received));
    CHECK(cn_client_eval_keys(&other_keys, other_client));
    CHECK(cn_eval_keys_serialize(&other_bytes, &other_len, other_keys));
    EXPECT_MSG(cn_eval_keys_deserialize(&k_out, man, other_bytes, other_len), CN_E_MISMATCH, "other CKKS parameters");
    CHECK(cn_bytes_free(other_bytes));
    EXPECT(cn_encrypted_batch_deserialize(&b_out, other, batch_bytes, batch_len), CN_E_MISMATCH);
    EXPECT(cn_encrypted_result_deserialize(&r_out, other, result_bytes, result_len), CN_E_MISMATCH);
    EXPECT(cn_client_restore(&c_out, other, sk_bytes, sk_len), CN_E_MISMATCH);
    EXPECT(cn_client_decrypt(logits, 64, &sz, &sz2, other_client, req, sizeof req, result), CN_E_MISMATCH);
    CHECK(cn_server_new(&other_server, model, other_keys));
    cn_encrypted_batch *again = NULL;
    CHECK(cn_encrypted_batch_deserialize(&again, man, batch_bytes, batch_len));
    EXPECT(cn_server_predict(&r_out, other_server, again), CN_E_MISMATCH);
    EXPECT(cn_encrypted_batch_images(&sz, again), CN_OK);
    TRUE_OR_FAIL(sz == n);
    TRUE_OR_FAIL(c_out == NULL && k_out == NULL && s_out == NULL && b_out == NULL && r_out == NULL);

    /* ---- a predicted batch is left as it was ----------------------------------- */
    EXPECT(cn_encrypted_batch_images(&sz, batch), CN_OK);
    TRUE_OR_FAIL(sz == n);
    CHECK(cn_encrypted_batch_serialize(&bytes, &len, batch));
    TRUE_OR_FAIL(len == batch_len && memcmp(bytes, batch_bytes, len) == 0);
    CHECK(cn_bytes_free(bytes));
    {
        cn_encrypted_result *twice = NULL;
        double first[64], second[64];
        CHECK(cn_server_predict(&twice, server, batch));
        CHECK(cn_client_decrypt(first, 64, &sz, &sz2, client, req, sizeof req, result));
        CHECK(cn_client_decrypt(second, 64, &sz, &sz2, client, req, sizeof req, twice));
        int same_labels = 1;
        for (size_t i = 0; i < n; i++) same_labels &= argmax(first + i * outputs, outputs) == argmax(second + i * outputs, outputs);
        TRUE_OR_FAIL(same_labels);
        CHECK(cn_encrypted_result_free(twice));
    }

    /* ---- any number of images: requests of images_per_batch, in order ------------ */
    {
        cn_compile_options single = CN_COMPILE_OPTIONS_INIT;
        single.params = "InsecureN12QP215S";
        single.packing = CN_PACKING_SINGLE;
        single.allow_insecure = 1;
        cn_manifest *sman = NULL;
        cn_client *sclient = NULL;
        cn_eval_keys *skeys = NULL;
        cn_server *sserver = NULL, *sserver2 = NULL;
        cn_encrypted_batch *several = NULL, *several_back = NULL;
        cn_encrypted_result *several_results = NULL, *several_back_results = NULL;
        uint8_t *several_bytes = NULL, *results_bytes = NULL;
        size_t several_len = 0, results_len = 0, per = 0;
        double enc_logits[64], plain_logits[64];
        CHECK(cn_model_compile(&sman, model, &single));
        CHECK(cn_manifest_images_per_batch(&per, sman));
        TRUE_OR_FAIL(per == 1);
        CHECK(cn_client_new(&sclient, sman));
        CHECK(cn_client_eval_keys(&skeys, sclient));
        CHECK(cn_server_new(&sserver, model, skeys));
        CHECK(cn_server_new(&sserver2, model, skeys)); /* the model keeps the plan: no second compilation */
        CHECK(cn_client_encrypt(&several, sclient, pixels, n, values));
        CHECK(cn_encrypted_batch_requests(&sz, several));
        TRUE_OR_FAIL(sz == n);
        CHECK(cn_encrypted_batch_serialize(&several_bytes, &several_len, several));
        CHECK(cn_encrypted_batch_deserialize(&several_back, sman, several_bytes, several_len));
        EXPECT_MSG(cn_encrypted_batch_deserialize(&b_out, sman, several_bytes, several_len - 1), CN_E_MALFORMED, "request 2 of 2");
        CHECK(cn_server_predict(&several_results, sserver2, several_back));
        CHECK(cn_encrypted_result_requests(&sz, several_results));
        TRUE_OR_FAIL(sz == n);
        CHECK(cn_encrypted_result_serialize(&results_bytes, &results_len, several_results));
        CHECK(cn_encrypted_result_deserialize(&several_back_results, sman, results_bytes, results_len));
        EXPECT(cn_encrypted_result_images(&sz, several_back_results), CN_OK);
        TRUE_OR_FAIL(sz == n);
        uint8_t several_ids[64 * CN_REQUEST_SIZE];
        CHECK(cn_encrypted_batch_request_ids(several_ids, sizeof several_ids, several));
        EXPECT_MSG(cn_client_decrypt(enc_logits, 64, &sz, &sz2, sclient, several_ids, CN_REQUEST_SIZE, several_back_results), INVALID,
                   "request_ids_len");
        CHECK(cn_client_decrypt(enc_logits, 64, &sz, &sz2, sclient, several_ids, n * CN_REQUEST_SIZE, several_back_results));
        TRUE_OR_FAIL(sz == n && sz2 == outputs);
        CHECK(cn_model_predict_plain(plain_logits, 64, &sz2, model, pixels, n, values));
        int agree = 1;
        for (size_t i = 0; i < n; i++) agree &= argmax(enc_logits + i * outputs, outputs) == argmax(plain_logits + i * outputs, outputs);
        TRUE_OR_FAIL(agree);
        cn_encrypted_result_free(several_back_results);
        cn_bytes_free(results_bytes);
        cn_encrypted_result_free(several_results);
        cn_encrypted_batch_free(several_back);
        cn_bytes_free(several_bytes);
        cn_encrypted_batch_free(several);
        cn_server_free(sserver2);
        cn_server_free(sserver);
        cn_eval_keys_free(skeys);
        cn_client_free(sclient);
        cn_manifest_free(sman);
    }

    /* ---- plaintext evaluation: shapes, sizes, bad inputs ----------------------------- */
    {
        double plain[64];
        size_t c = 0, h = 0, w = 0;
        CHECK(cn_model_input_shape(&c, &h, &w, model));
        TRUE_OR_FAIL(c * h * w == values);
        CHECK(cn_model_outputs(&sz, model));
        TRUE_OR_FAIL(sz == outputs);
        EXPECT(cn_model_input_shape(NULL, &h, &w, model), INVALID);
        EXPECT(cn_model_input_shape(&c, &h, &w, NULL), INVALID);
        EXPECT(cn_model_outputs(NULL, model), INVALID);
        EXPECT(cn_model_outputs(&sz, NULL), INVALID);
        sz = 0;
        EXPECT(cn_model_predict_plain(NULL, 0, &sz, model, pixels, n, values), CN_E_BUFFER_TOO_SMALL);
        TRUE_OR_FAIL(sz == outputs);
        EXPECT(cn_model_predict_plain(plain, 64, NULL, model, pixels, n, values), INVALID);
        EXPECT(cn_model_predict_plain(plain, 64, &sz, NULL, pixels, n, values), INVALID);
        EXPECT(cn_model_predict_plain(plain, 64, &sz, model, NULL, n, values), INVALID);
        EXPECT_MSG(cn_model_predict_plain(plain, 64, &sz, model, pixels, n, values - 1), INVALID, "values_per_input");
        EXPECT(cn_model_predict_plain(plain, 64, &sz, model, pixels, 0, values), INVALID);
        double *bad = malloc(n * values * sizeof *bad);
        memcpy(bad, pixels, n * values * sizeof *bad);
        bad[values + 3] = 7;
        EXPECT_MSG(cn_model_predict_plain(plain, 64, &sz, model, bad, n, values), INVALID, "record 1: pixel (x 3, y 0) is 7");
        EXPECT_MSG(cn_client_encrypt(&b_out, client, bad, n, values), INVALID, "record 1: pixel (x 3, y 0) is 7");
        free(bad);
        TRUE_OR_FAIL(b_out == NULL);
    }

    /* ---- decryption: sizes, buffers, keys ------------------------------------- */
    sz = sz2 = 0;
    EXPECT(cn_client_decrypt(NULL, 0, &sz, &sz2, client, req, sizeof req, result), CN_E_BUFFER_TOO_SMALL);
    TRUE_OR_FAIL(sz == n && sz2 == outputs);
    EXPECT_MSG(cn_client_decrypt(logits, n * outputs - 1, &sz, &sz2, client, req, sizeof req, result), CN_E_BUFFER_TOO_SMALL, "needs");
    TRUE_OR_FAIL(sz == n && sz2 == outputs);
    double expected[64], restored_logits[64];
    EXPECT(cn_client_decrypt(expected, 64, &sz, &sz2, client, req, sizeof req, result), CN_OK);
    cn_client *restored = NULL, *stranger = NULL;
    CHECK(cn_client_restore(&restored, man, sk_bytes, sk_len));
    EXPECT(cn_client_decrypt(restored_logits, 64, &sz, &sz2, restored, req, sizeof req, result), CN_OK);
    int close_enough = 1;
    for (size_t i = 0; i < n * outputs; i++)
        close_enough &= fabs(expected[i] - restored_logits[i]) < 1e-9;
    TRUE_OR_FAIL(close_enough);
    /* Another client's key (same parameters) cannot decrypt: an error, not noise. */
    CHECK(cn_client_new(&stranger, man));
    EXPECT_MSG(cn_client_decrypt(logits, 64, &sz, &sz2, stranger, req, sizeof req, result), CN_E_INTEGRITY, "not this client's");
    EXPECT(cn_manifest_params_name(name, 4, man), CN_E_BUFFER_TOO_SMALL);

    /* ---- a client and a server shared between threads ---------------------------- */
    struct pipeline pipes[2];
    pthread_t pipe_threads[2];
    for (int i = 0; i < 2; i++) {
        pipes[i] = (struct pipeline){.client = client, .server = server, .pixels = pixels, .n = n, .values = values};
        pthread_create(&pipe_threads[i], NULL, pipeline_in_thread, &pipes[i]);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(pipe_threads[i], NULL);
        EXPECT(pipes[i].rc, CN_OK);
        for (size_t k = 0; k < n; k++)
            TRUE_OR_FAIL(argmax(pipes[i].logits + k * outputs, outputs) == argmax(expected + k * outputs, outputs));
    }

    /* ---- bad inputs to encrypt ------------------------------------------------- */
    EXPECT_MSG(cn_client_encrypt(&b_out, client, pixels, n, values - 1), INVALID, "values_per_image");
    EXPECT(cn_client_encrypt(&b_out, client, pixels, 0, values), INVALID);
    {
        /* A bad record in a later request is found too, in a buffer that holds them all. */
        size_t count = per_batch + 1;
        double *many = calloc(count * values, sizeof *many);
        TRUE_OR_FAIL(many != NULL);
        many[per_batch * values + 3] = 7;
        char want[64];
        snprintf(want, sizeof want, "record %zu: pixel (x 3, y 0) is 7", per_batch);
        EXPECT_MSG(cn_client_encrypt(&b_out, client, many, count, values), INVALID, want);
        free(many);
    }
    EXPECT(cn_client_encrypt(&b_out, client, pixels, SIZE_MAX, values), INVALID);
    double saved = pixels[5];
    pixels[5] = 2.0;
    EXPECT(cn_client_encrypt(&b_out, client, pixels, n, values), INVALID);
    pixels[5] = NAN;
    EXPECT(cn_client_encrypt(&b_out, client, pixels, n, values), INVALID);
    pixels[5] = saved;
    TRUE_OR_FAIL(b_out == NULL);

    /* ---- importing ONNX networks ---------------------------------------------------- */
    {
        enum { CALIBRATION = 16 };
        double *calibration = read_images(argv[2], CALIBRATION, values);
        size_t square_len = 0, relu_len = 0;
        snprintf(path, sizeof path, "%s/cryptonets.onnx", argv[4]);
        uint8_t *square_onnx = read_file(path, &square_len);
        snprintf(path, sizeof path, "%s/relu_mlp.onnx", argv[4]);
        uint8_t *relu_onnx = read_file(path, &relu_len);
        cn_model *converted = NULL;
        cn_manifest *converted_man = NULL;

        /* x^2 activations only: no calibration needed (values_per_image ignored). */
        EXPECT(cn_model_from_onnx(&converted, square_onnx, square_len, NULL, 0, 12345, 0), CN_OK);
        EXPECT(compile_batch(&converted_man, converted, TEST_PARAMS, 1), CN_OK);
        CHECK(cn_manifest_outputs(&sz, converted_man));
        TRUE_OR_FAIL(sz == 10);
        EXPECT(cn_manifest_free(converted_man), CN_OK);
        EXPECT(cn_model_free(converted), CN_OK);
        converted = NULL;
        converted_man = NULL;

        /* A ReLU network needs calibration images of the network's input size. */
        m_out = (cn_model *)(uintptr_t)1;
        EXPECT_MSG(cn_model_from_onnx(&m_out, relu_onnx, relu_len, NULL, 0, 0, 2), INVALID, "calibration images");
        TRUE_OR_FAIL(m_out == NULL);
        EXPECT_MSG(cn_model_from_onnx(&m_out, relu_onnx, relu_len, calibration, CALIBRATION, values - 1, 2), INVALID, "want 784");
        EXPECT(cn_model_from_onnx(&m_out, relu_onnx, relu_len, calibration, CALIBRATION, 0, 2), INVALID);
        EXPECT_MSG(cn_model_from_onnx(&m_out, relu_onnx, relu_len, calibration, SIZE_MAX, values, 2), INVALID, "out of range");
        EXPECT_MSG(cn_model_from_onnx(&m_out, relu_onnx, relu_len, calibration, CALIBRATION, values, 17), INVALID, "degree 17");
        double saved_value = calibration[7];
        calibration[7] = NAN;
        EXPECT_MSG(cn_model_from_onnx(&m_out, relu_onnx, relu_len, calibration, CALIBRATION, values, 2), INVALID, "NaN");
        calibration[7] = saved_value;
        EXPECT(cn_model_from_onnx(&converted, relu_onnx, relu_len, calibration, CALIBRATION, values, -1), CN_OK);
        EXPECT(compile_batch(&converted_man, converted, TEST_PARAMS, 1), CN_OK);
        EXPECT(cn_manifest_free(converted_man), CN_OK);
        EXPECT(cn_model_free(converted), CN_OK);

        /* Bytes that are not an ONNX network we can import. */
        EXPECT_MSG(cn_model_from_onnx(&m_out, (const uint8_t *)"hello", 5, NULL, 0, 0, 0), CN_E_MALFORMED, "onnx");
        EXPECT(cn_model_from_onnx(&m_out, relu_onnx, 0, NULL, 0, 0, 0), CN_E_MALFORMED);
        EXPECT(cn_model_from_onnx(&m_out, relu_onnx, relu_len / 2, NULL, 0, 0, 0), CN_E_MALFORMED);
        EXPECT(cn_model_from_onnx(&m_out, model_bytes, model_len, NULL, 0, 0, 0), CN_E_MALFORMED); /* a .cnm */
        /* An unsupported operator: the Relu node's op_type (field 4, length 4) made Selu. */
        int patched = 0;
        for (size_t i = 0; i + 6 <= relu_len; i++) {
            if (memcmp(relu_onnx + i, "\x22\x04Relu", 6) == 0) {
                relu_onnx[i + 2] = 'S';
                relu_onnx[i + 3] = 'e';
                patched++;
            }
        }
        TRUE_OR_FAIL(patched == 1);
        EXPECT_MSG(cn_model_from_onnx(&m_out, relu_onnx, relu_len, calibration, CALIBRATION, values, 2), CN_E_UNSUPPORTED,
                   "operator Selu is not supported");
        TRUE_OR_FAIL(m_out == NULL);
        free(relu_onnx);
        free(square_onnx);
        free(calibration);
    }

    /* ---- hostile bytes (issue 12): an error of the right class, and the next call works */
    {
        char hp[4096];
        size_t hlen = 0;
        uint8_t *h = NULL;

        /* Hole 1: Lattigo's encoding of a key with a row length of 0x80000 or a limb
           count of 2^40 took the process down; random mutations of a real key are a
           valid key or CN_E_MALFORMED. */
        const char *keys[] = {"secret_key_row_length.bin", "secret_key_limb_count.bin"};
        for (int i = 0; i < 2; i++) {
            snprintf(hp, sizeof hp, "%s/hostile/%s", argv[4], keys[i]);
            h = read_file(hp, &hlen);
            EXPECT_MSG(cn_client_restore(&c_out, man, h, hlen), CN_E_MALFORMED, "secret key");
            free(h);
        }
        uint8_t *mut = malloc(sk_len);
        int valid = 0, malformed = 0;
        srand(12);
        for (int i = 0; i < 100; i++) {
            memcpy(mut, sk_bytes, sk_len);
            for (int k = 1 + rand() % 8; k > 0; k--) mut[64 + (size_t)rand() % (sk_len - 64)] = (uint8_t)rand();
            int rc = cn_client_restore(&c_out, man, mut, sk_len);
            if (rc == CN_OK) {
                valid++;
                CHECK(cn_client_free(c_out));
                c_out = NULL;
            } else if (rc == CN_E_MALFORMED) {
                malformed++;
            }
        }
        TRUE_OR_FAIL(valid + malformed == 100 && malformed > 0);
        free(mut);

        /* Hole 3: the batch decoder kept a pointer into the caller's buffer. */
        uint8_t *copy = malloc(batch_len), *again_bytes = NULL;
        size_t again_len = 0;
        memcpy(copy, batch_bytes, batch_len);
        cn_encrypted_batch *kept = NULL;
        CHECK(cn_encrypted_batch_deserialize(&kept, man, copy, batch_len));
        memset(copy, 0xa5, batch_len);
        free(copy);
        CHECK(cn_encrypted_batch_serialize(&again_bytes, &again_len, kept));
        TRUE_OR_FAIL(again_len == batch_len && memcmp(again_bytes, batch_bytes, batch_len) == 0);
        CHECK(cn_bytes_free(again_bytes));
        CHECK(cn_encrypted_batch_free(kept));

        /* Hole 4: a limit on the evaluation keys a manifest may ask for. */
        cn_manifest_options lim = CN_MANIFEST_OPTIONS_INIT;
        lim.allow_insecure = 1;
        lim.max_eval_key_bytes = 16;
        cn_manifest *limited = NULL;
        CHECK(cn_manifest_deserialize(&limited, man_bytes, man_len, &lim));
        EXPECT_MSG(cn_client_new(&c_out, limited), CN_E_LIMIT, "limit");
        EXPECT(cn_client_restore(&c_out, limited, sk_bytes, sk_len), CN_E_LIMIT);
        CHECK(cn_manifest_free(limited));

        /* Hole 5: a result answers one request, for its number of images. */
        cn_encrypted_batch *b2 = NULL;
        cn_encrypted_result *r2 = NULL, *tampered = NULL;
        uint8_t req2[CN_REQUEST_SIZE];
        CHECK(cn_client_encrypt(&b2, client, pixels, n, values));
        CHECK(cn_encrypted_batch_request_ids(req2, sizeof req2, b2));
        CHECK(cn_server_predict(&r2, server, b2));
        EXPECT_MSG(cn_client_decrypt(logits, 64, &sz, &sz2, client, req2, sizeof req2, result), CN_E_MISMATCH, "another request");
        uint8_t *rb = malloc(result_len);
        memcpy(rb, result_bytes, result_len);
        rb[64] = 1; /* the payload's image count: 2 -> 1 */
        CHECK(cn_encrypted_result_deserialize(&tampered, man, rb, result_len));
        EXPECT(cn_client_decrypt(logits, 64, &sz, &sz2, client, req, sizeof req, tampered), CN_E_INTEGRITY);
        CHECK(cn_encrypted_result_free(tampered));
        memcpy(rb, result_bytes, result_len);
        memcpy(rb + 64 + 16, req2, sizeof req2); /* request 1's result relabelled as request 2's */
        CHECK(cn_encrypted_result_deserialize(&tampered, man, rb, result_len));
        EXPECT_MSG(cn_client_decrypt(logits, 64, &sz, &sz2, client, req2, sizeof req2, tampered), CN_E_INTEGRITY, "check values");
        CHECK(cn_encrypted_result_free(tampered));
        free(rb);
        EXPECT(cn_client_decrypt(logits, 64, &sz, &sz2, client, req2, sizeof req2, r2), CN_OK);
        EXPECT(cn_client_decrypt(logits, 64, &sz, &sz2, client, req, sizeof req, result), CN_OK);
        CHECK(cn_encrypted_result_free(r2));
        CHECK(cn_encrypted_batch_free(b2));

        /* Holes 6 and 7: lowering cost and CBOR lengths bounded before allocation. */
        snprintf(hp, sizeof hp, "%s/hostile/sumpool_96.cnm", argv[4]);
        EXPECT(cn_model_load(&m_out, hp), CN_E_LIMIT);
        snprintf(hp, sizeof hp, "%s/hostile/averagepool_96.onnx", argv[4]);
        h = read_file(hp, &hlen);
        EXPECT(cn_model_from_onnx(&m_out, h, hlen, NULL, 0, 0, 0), CN_E_LIMIT);
        free(h);
        snprintf(hp, sizeof hp, "%s/hostile/cbor_nested_arrays.cnm", argv[4]);
        EXPECT(cn_model_load(&m_out, hp), CN_E_MALFORMED);
        snprintf(hp, sizeof hp, "%s/hostile/cbor_nested_arrays_manifest.bin", argv[4]);
        h = read_file(hp, &hlen);
        EXPECT(read_manifest(&man_out, h, hlen, 1), CN_E_MALFORMED);
        free(h);
        TRUE_OR_FAIL(m_out == NULL && man_out == NULL && c_out == NULL);

        /* Hole 2: single-image packing, a server holding another client's evaluation
           keys: an integrity error, not wrong labels; with the right keys it works. */
        cn_compile_options so = CN_COMPILE_OPTIONS_INIT;
        so.packing = CN_PACKING_SINGLE;
        so.params = "InsecureN12QP215S";
        so.allow_insecure = 1;
        cn_manifest *sman = NULL;
        cn_client *alice = NULL, *mallory = NULL;
        cn_eval_keys *alice_keys = NULL, *mallory_keys = NULL;
        cn_server *wrong = NULL, *right = NULL;
        CHECK(cn_model_compile(&sman, model, &so));
        CHECK(cn_client_new(&alice, sman));
        CHECK(cn_client_new(&mallory, sman));
        CHECK(cn_client_eval_keys(&alice_keys, alice));
        CHECK(cn_client_eval_keys(&mallory_keys, mallory));
        CHECK(cn_server_new(&wrong, model, mallory_keys));
        CHECK(cn_server_new(&right, model, alice_keys));
        for (int w = 0; w < 2; w++) {
            cn_encrypted_batch *sb = NULL;
            cn_encrypted_result *sr = NULL;
            uint8_t sreq[CN_REQUEST_SIZE];
            CHECK(cn_client_encrypt(&sb, alice, pixels, 1, values));
            CHECK(cn_encrypted_batch_request_ids(sreq, sizeof sreq, sb));
            CHECK(cn_server_predict(&sr, w == 0 ? wrong : right, sb));
            if (w == 0) {
                EXPECT_MSG(cn_client_decrypt(logits, 64, &sz, &sz2, alice, sreq, sizeof sreq, sr), CN_E_INTEGRITY, "check values");
            } else {
                EXPECT(cn_client_decrypt(logits, 64, &sz, &sz2, alice, sreq, sizeof sreq, sr), CN_OK);
                TRUE_OR_FAIL(sz == 1 && argmax(logits, outputs) == argmax(expected, outputs));
            }
            CHECK(cn_encrypted_result_free(sr));
            CHECK(cn_encrypted_batch_free(sb));
        }
        CHECK(cn_server_free(right));
        CHECK(cn_server_free(wrong));
        CHECK(cn_eval_keys_free(mallory_keys));
        CHECK(cn_eval_keys_free(alice_keys));
        CHECK(cn_client_free(mallory));
        CHECK(cn_client_free(alice));
        CHECK(cn_manifest_free(sman));
    }

#ifdef CN_TESTING
    /* ---- a panic inside the library (the test build's cn_debug_force_panic) ------ */
    EXPECT_MSG(cn_debug_force_panic(), CN_E_INTERNAL, "panic");
    EXPECT(cn_manifest_outputs(&sz, man), CN_OK); /* the process and library go on */
    TRUE_OR_FAIL(sz == outputs);
#endif

    /* ---- the message is thread-local ---------------------------------------------- */
    EXPECT(cn_model_load(&m_out, "/nonexistent/main-thread.cnm"), CN_E_IO);
    pthread_t t;
    void *thread_ok = NULL;
    pthread_create(&t, NULL, error_in_thread, NULL);
    pthread_join(t, &thread_ok);
    TRUE_OR_FAIL(thread_ok == (void *)1);
    TRUE_OR_FAIL(strstr(cn_last_error(), "main-thread.cnm") != NULL);
    /* A successful call leaves the message alone. */
    CHECK(cn_manifest_outputs(&sz, man));
    TRUE_OR_FAIL(strstr(cn_last_error(), "main-thread.cnm") != NULL);

    /* ---- cleanup: every free succeeds exactly once -------------------------------- */
    EXPECT(cn_client_free(stranger), CN_OK);
    EXPECT(cn_client_free(restored), CN_OK);
    EXPECT(cn_encrypted_batch_free(again), CN_OK);
    EXPECT(cn_server_free(other_server), CN_OK);
    EXPECT(cn_eval_keys_free(other_keys), CN_OK);
    EXPECT(cn_client_free(other_client), CN_OK);
    EXPECT(cn_manifest_free(other_received), CN_OK);
    EXPECT(cn_manifest_free(other), CN_OK);
    EXPECT(cn_bytes_free(model_bytes), CN_OK);
    EXPECT(cn_bytes_free(sk_bytes), CN_OK);
    EXPECT(cn_bytes_free(ek_bytes), CN_OK);
    EXPECT(cn_bytes_free(man_bytes), CN_OK);
    EXPECT(cn_bytes_free(result_bytes), CN_OK);
    EXPECT(cn_bytes_free(batch_bytes), CN_OK);
    EXPECT(cn_encrypted_result_free(result), CN_OK);
    EXPECT(cn_encrypted_batch_free(batch), CN_OK);
    EXPECT(cn_server_free(server), CN_OK);
    EXPECT(cn_eval_keys_free(ek), CN_OK);
    EXPECT(cn_client_free(client), CN_OK);
    EXPECT(cn_manifest_free(man), CN_OK);
    EXPECT(cn_model_free(model), CN_OK);
    EXPECT(cn_model_free(model), INVALID);
    EXPECT(cn_encrypted_result_free(result), INVALID);
    free(pixels);

    printf("test_misuse: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
