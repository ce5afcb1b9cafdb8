/*
 * client: the data owner's side, talking to server.c through files.
 *
 *   client [--insecure-for-testing] keygen MANIFEST OUT_SECRET_KEY OUT_EVAL_KEYS
 *       makes a secret key (kept here) and the evaluation keys (for the server);
 *   client [--insecure-for-testing] encrypt MANIFEST SECRET_KEY IMAGES.f64 N OUT_BATCH
 *       encrypts the first N images of IMAGES.f64 into OUT_BATCH, and writes the
 *       identifiers of its requests (CN_REQUEST_SIZE bytes each, not secret) to
 *       OUT_BATCH.request;
 *   client [--insecure-for-testing] decrypt MANIFEST SECRET_KEY REQUEST RESULT OUT_LABELS [REFERENCE]
 *       decrypts the result of that request, writes the predicted labels (one per
 *       line) and, given a reference file, checks that they are equal to it.
 *
 * --insecure-for-testing accepts a manifest for the insecure test parameter sets.
 * The decrypted logits stay in this process: only labels are written out.
 */
#include <stdio.h>
#include <string.h>

#include "example_util.h"

static cn_manifest *load_manifest(const char *path, int insecure) {
    size_t len = 0;
    uint8_t *data = read_file(path, &len);
    cn_manifest *m = NULL;
    cn_manifest_options opts = CN_MANIFEST_OPTIONS_INIT;
    opts.allow_insecure = insecure;
    CHECK(cn_manifest_deserialize(&m, data, len, &opts));
    free(data);
    return m;
}

static cn_client *restore_client(const cn_manifest *m, const char *path) {
    size_t len = 0;
    uint8_t *key = read_file(path, &len);
    cn_client *c = NULL;
    CHECK(cn_client_restore(&c, m, key, len));
    memset(key, 0, len);
    free(key);
    return c;
}

int main(int argc, char **argv) {
    int insecure = 0;
    if (argc > 1 && strcmp(argv[1], "--insecure-for-testing") == 0) {
        insecure = 1;
        argc--, argv++;
    }
    if (argc == 5 && strcmp(argv[1], "keygen") == 0) {
        cn_manifest *m = load_manifest(argv[2], insecure);
        cn_client *c = NULL;
        cn_eval_keys *keys = NULL;
        uint8_t *bytes = NULL;
        size_t len = 0;
        CHECK(cn_client_new(&c, m));
        CHECK(cn_client_export_secret_key(&bytes, &len, c));
        write_file(argv[3], bytes, len); /* a real client would protect this file */
        CHECK(cn_bytes_free(bytes));     /* zeroes the key */
        CHECK(cn_client_eval_keys(&keys, c));
        CHECK(cn_eval_keys_serialize(&bytes, &len, keys));
        write_file(argv[4], bytes, len);
        printf("client: wrote the secret key to %s and the evaluation keys (%zu bytes) to %s\n", argv[3], len, argv[4]);
        CHECK(cn_bytes_free(bytes));
        CHECK(cn_eval_keys_free(keys));
        CHECK(cn_client_free(c));
        CHECK(cn_manifest_free(m));
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "encrypt") == 0) {
        cn_manifest *m = load_manifest(argv[2], insecure);
        cn_client *c = restore_client(m, argv[3]);
        size_t values = 0, n = strtoul(argv[5], NULL, 10);
        CHECK(cn_manifest_input_size(&values, m));
        double *pixels = read_images(argv[4], n, values);
        cn_encrypted_batch *batch = NULL;
        uint8_t *bytes = NULL;
        size_t len = 0, requests = 0;
        char request_path[4096];
        CHECK(cn_client_encrypt(&batch, c, pixels, n, values));
        CHECK(cn_encrypted_batch_requests(&requests, batch));
        uint8_t *request_ids = malloc(requests * CN_REQUEST_SIZE);
        if (!request_ids) { fprintf(stderr, "out of memory\n"); return 1; }
        CHECK(cn_encrypted_batch_request_ids(request_ids, requests * CN_REQUEST_SIZE, batch));
        CHECK(cn_encrypted_batch_serialize(&bytes, &len, batch));
        write_file(argv[6], bytes, len);
        snprintf(request_path, sizeof request_path, "%s.request", argv[6]);
        write_file(request_path, request_ids, requests * CN_REQUEST_SIZE);
        free(request_ids);
        printf("client: wrote %zu encrypted images (%zu bytes) to %s\n", n, len, argv[6]);
        CHECK(cn_bytes_free(bytes));
        CHECK(cn_encrypted_batch_free(batch));
        free(pixels);
        CHECK(cn_client_free(c));
        CHECK(cn_manifest_free(m));
        return 0;
    }
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "decrypt") == 0) {
        cn_manifest *m = load_manifest(argv[2], insecure);
        cn_client *c = restore_client(m, argv[3]);
        size_t len = 0, request_len = 0;
        uint8_t *request = read_file(argv[4], &request_len);
        uint8_t *data = read_file(argv[5], &len);
        cn_encrypted_result *r = NULL;
        CHECK(cn_encrypted_result_deserialize(&r, m, data, len));
        free(data);

        size_t images = 0, classes = 0;
        int rc = cn_client_decrypt(NULL, 0, &images, &classes, c, request, request_len, r); /* size query */
        if (rc != CN_E_BUFFER_TOO_SMALL) CHECK(rc);
        double *logits = malloc(images * classes * sizeof(double));
        CHECK(cn_client_decrypt(logits, images * classes, &images, &classes, c, request, request_len, r));
        free(request);

        FILE *out = fopen(argv[6], "w");
        if (!out) { perror(argv[6]); return 1; }
        int *reference = argc == 8 ? read_labels(argv[7], images) : NULL;
        size_t agree = 0;
        for (size_t i = 0; i < images; i++) {
            int label = argmax(logits + i * classes, classes);
            fprintf(out, "%d\n", label);
            if (reference && label == reference[i]) agree++;
            else if (reference) fprintf(stderr, "image %zu: predicted %d, reference %d\n", i, label, reference[i]);
        }
        fclose(out);
        printf("client: decrypted %zu predictions into %s\n", images, argv[5]);
        if (reference) printf("client: %zu of %zu equal the plaintext reference\n", agree, images);
        int ok = reference == NULL || agree == images;
        memset(logits, 0, images * classes * sizeof(double));
        free(logits);
        free(reference);
        CHECK(cn_encrypted_result_free(r));
        CHECK(cn_client_free(c));
        CHECK(cn_manifest_free(m));
        return ok ? 0 : 1;
    }
    fprintf(stderr,
            "usage: %s [--insecure-for-testing] keygen MANIFEST OUT_SECRET_KEY OUT_EVAL_KEYS\n"
            "       %s [--insecure-for-testing] encrypt MANIFEST SECRET_KEY IMAGES.f64 N OUT_BATCH\n"
            "       %s [--insecure-for-testing] decrypt MANIFEST SECRET_KEY RESULT OUT_LABELS [REFERENCE]\n",
            argv[0], argv[0], argv[0]);
    return 2;
}
