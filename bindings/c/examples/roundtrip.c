/*
 * roundtrip: the whole client -> server -> client flow in one process, with every
 * object that travels going through its bytes, at the default 128-bit parameters.
 *
 *   roundtrip MODEL.cnm IMAGES.f64 REFERENCE.txt N [auto|batch|single]
 *
 * Compiles the model for the packing asked for (default auto, chosen for N images),
 * encrypts the first N images in one call (the library splits them into requests of
 * up to images-per-batch images, sent as one upload), has the server predict them,
 * decrypts, and checks that every encrypted prediction equals the plaintext reference
 * prediction of the same model, which it also computes with cn_model_predict_plain.
 * Exit status 0 if all agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_util.h"

/* predict_all sends the n images through one encrypted upload and writes their logits
 * to logits[0 .. n*classes). */
static void predict_all(cn_client *client, const cn_manifest *manifest, cn_server *server,
                        const cn_manifest *server_manifest, const double *pixels, size_t n,
                        size_t values, double *logits, size_t classes) {
    /* Client: encrypt and send. */
    cn_encrypted_batch *batch = NULL;
    uint8_t *batch_bytes = NULL;
    size_t batch_len = 0, requests = 0;
    CHECK(cn_client_encrypt(&batch, client, pixels, n, values));
    CHECK(cn_encrypted_batch_requests(&requests, batch));
    /* The requests' identifiers, kept to decrypt the answer (not secret). */
    uint8_t *request_ids = malloc(requests * CN_REQUEST_SIZE);
    if (!request_ids) { fprintf(stderr, "out of memory\n"); exit(1); }
    CHECK(cn_encrypted_batch_request_ids(request_ids, requests * CN_REQUEST_SIZE, batch));
    CHECK(cn_encrypted_batch_serialize(&batch_bytes, &batch_len, batch));
    CHECK(cn_encrypted_batch_free(batch));

    /* Server: decode, predict, send the result back. */
    cn_encrypted_batch *received = NULL;
    cn_encrypted_result *result = NULL;
    uint8_t *result_bytes = NULL;
    size_t result_len = 0, still = 0;
    CHECK(cn_encrypted_batch_deserialize(&received, server_manifest, batch_bytes, batch_len));
    CHECK(cn_bytes_free(batch_bytes));
    CHECK(cn_server_predict(&result, server, received));
    CHECK(cn_encrypted_batch_images(&still, received)); /* predicting leaves the batch as it was */
    if (still != n) {
        fprintf(stderr, "the batch holds %zu images after the prediction, want %zu\n", still, n);
        exit(1);
    }
    CHECK(cn_encrypted_result_serialize(&result_bytes, &result_len, result));
    printf("%zu images in %zu requests: %zu bytes up, %zu bytes down\n", n, requests, batch_len, result_len);

    /* Client: decode and decrypt (size query first). */
    cn_encrypted_result *answer = NULL;
    CHECK(cn_encrypted_result_deserialize(&answer, manifest, result_bytes, result_len));
    size_t images = 0, got_classes = 0;
    int rc = cn_client_decrypt(NULL, 0, &images, &got_classes, client, request_ids, requests * CN_REQUEST_SIZE, answer);
    if (rc != CN_E_BUFFER_TOO_SMALL || images != n || got_classes != classes) {
        fprintf(stderr, "size query gave %d, %zu x %zu\n", rc, images, got_classes);
        exit(1);
    }
    CHECK(cn_client_decrypt(logits, n * classes, &images, &got_classes, client, request_ids, requests * CN_REQUEST_SIZE, answer));
    free(request_ids);
    CHECK(cn_encrypted_result_free(answer));
    CHECK(cn_bytes_free(result_bytes));
    CHECK(cn_encrypted_result_free(result));
    CHECK(cn_encrypted_batch_free(received));
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s MODEL.cnm IMAGES.f64 REFERENCE.txt N [auto|batch|single]\n", argv[0]);
        return 2;
    }
    size_t n = strtoul(argv[4], NULL, 10);
    cn_compile_options opts = CN_COMPILE_OPTIONS_INIT;
    opts.expected_images = n;
    if (argc == 6) opts.packing = argv[5]; /* CN_PACKING_AUTO, _BATCH or _SINGLE */
    printf("cryptonets %s (ABI %d)\n", cn_version(), cn_abi_version());

    /* Server: load the model and publish its manifest (params NULL: automatic 128-bit). */
    cn_model *model = NULL;
    cn_manifest *published = NULL;
    uint8_t *manifest_bytes = NULL;
    size_t manifest_len = 0;
    CHECK(cn_model_load(&model, argv[1]));
    CHECK(cn_model_compile(&published, model, &opts));
    CHECK(cn_manifest_serialize(&manifest_bytes, &manifest_len, published));

    /* Client: read the manifest, make keys, send the evaluation keys. */
    cn_manifest *manifest = NULL;
    cn_client *client = NULL;
    cn_eval_keys *keys = NULL;
    uint8_t *key_bytes = NULL;
    size_t key_len = 0;
    CHECK(cn_manifest_deserialize(&manifest, manifest_bytes, manifest_len, NULL));
    CHECK(cn_client_new(&client, manifest));
    CHECK(cn_client_eval_keys(&keys, client));
    CHECK(cn_eval_keys_serialize(&key_bytes, &key_len, keys));

    size_t values, outputs, per_batch;
    char packing[CN_PACKING_NAME_MAX];
    char params[CN_PARAMS_NAME_MAX];
    CHECK(cn_manifest_input_size(&values, manifest));
    CHECK(cn_manifest_outputs(&outputs, manifest));
    CHECK(cn_manifest_images_per_batch(&per_batch, manifest));
    CHECK(cn_manifest_params_name(params, sizeof params, manifest));
    CHECK(cn_manifest_packing(packing, sizeof packing, manifest));
    printf("manifest: %s packing, %zu values per image, %zu outputs, up to %zu images per request, "
           "parameters %s (%zu bytes); evaluation keys %zu bytes\n",
           packing, values, outputs, per_batch, params,
           manifest_len, key_len);
    if (n < 1) {
        fprintf(stderr, "N must be at least 1\n");
        return 2;
    }

    /* Server: check the keys against its manifest and build the server. */
    cn_eval_keys *server_keys = NULL;
    cn_server *server = NULL;
    cn_manifest *server_manifest = NULL;
    CHECK(cn_eval_keys_deserialize(&server_keys, published, key_bytes, key_len));
    CHECK(cn_server_new(&server, model, server_keys)); /* the plan of the keys' manifest */
    CHECK(cn_server_manifest(&server_manifest, server));

    double *pixels = read_images(argv[2], n, values);
    double *logits = malloc(n * outputs * sizeof(double));
    double *plain = malloc(n * outputs * sizeof(double));
    if (logits == NULL || plain == NULL) return 1;
    predict_all(client, manifest, server, server_manifest, pixels, n, values, logits, outputs);

    /* The plaintext reference, from the model itself. */
    size_t plain_classes = 0;
    CHECK(cn_model_predict_plain(plain, n * outputs, &plain_classes, model, pixels, n, values));
    int *reference = read_labels(argv[3], n);
    size_t agree = 0;
    for (size_t i = 0; i < n; i++) {
        int label = argmax(logits + i * outputs, outputs), plain_label = argmax(plain + i * outputs, outputs);
        if (label == reference[i] && plain_label == reference[i]) agree++;
        else fprintf(stderr, "image %zu: encrypted prediction %d, cn_model_predict_plain %d, plaintext reference %d\n",
                     i, label, plain_label, reference[i]);
    }
    printf("%zu of %zu encrypted predictions equal the plaintext reference\n", agree, n);

    free(reference);
    free(plain);
    free(logits);
    free(pixels);
    CHECK(cn_manifest_free(server_manifest));
    CHECK(cn_server_free(server));
    CHECK(cn_eval_keys_free(server_keys));
    CHECK(cn_bytes_free(key_bytes));
    CHECK(cn_eval_keys_free(keys));
    CHECK(cn_client_free(client));
    CHECK(cn_manifest_free(manifest));
    CHECK(cn_bytes_free(manifest_bytes));
    CHECK(cn_manifest_free(published));
    CHECK(cn_model_free(model));
    return agree == n ? 0 : 1;
}
