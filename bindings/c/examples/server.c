/*
 * server: the model owner's side, talking to client.c through files.
 *
 *   server [--insecure-for-testing] manifest MODEL.cnm PARAMS OUT_MANIFEST
 *       compiles the model and writes the public manifest for clients;
 *   server [--insecure-for-testing] predict MODEL.cnm PARAMS EVAL_KEYS BATCH OUT_RESULT
 *       evaluates an encrypted batch with the client's evaluation keys.
 *
 * PARAMS names the CKKS parameter set, or "auto" for the smallest 128-bit one.
 * --insecure-for-testing allows the insecure, fast test parameter sets. The server
 * never sees a secret key: no server function takes one.
 */
#include <stdio.h>
#include <string.h>

#include "example_util.h"

static int insecure = 0;

static const char *params_arg(const char *s) { return strcmp(s, "auto") == 0 ? NULL : s; }

static cn_manifest *compile_manifest(const cn_model *model, const char *params) {
    cn_compile_options opts = CN_COMPILE_OPTIONS_INIT;
    opts.params = params;
    opts.packing = CN_PACKING_BATCH;
    opts.allow_insecure = insecure;
    cn_manifest *m = NULL;
    CHECK(cn_model_compile(&m, model, &opts));
    return m;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--insecure-for-testing") == 0) {
        insecure = 1;
        argc--, argv++;
    }
    cn_model *model = NULL;
    if (argc == 5 && strcmp(argv[1], "manifest") == 0) {
        CHECK(cn_model_load(&model, argv[2]));
        cn_manifest *m = compile_manifest(model, params_arg(argv[3]));
        uint8_t *bytes = NULL;
        size_t len = 0;
        CHECK(cn_manifest_serialize(&bytes, &len, m));
        write_file(argv[4], bytes, len);
        printf("server: wrote the manifest (%zu bytes) to %s\n", len, argv[4]);
        CHECK(cn_bytes_free(bytes));
        CHECK(cn_manifest_free(m));
        CHECK(cn_model_free(model));
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "predict") == 0) {
        const char *params = params_arg(argv[3]);
        CHECK(cn_model_load(&model, argv[2]));
        cn_manifest *m = compile_manifest(model, params);

        size_t len = 0;
        uint8_t *data = read_file(argv[4], &len);
        cn_eval_keys *keys = NULL;
        CHECK(cn_eval_keys_deserialize(&keys, m, data, len));
        free(data);

        cn_server *server = NULL;
        CHECK(cn_server_new(&server, model, keys)); /* the plan of the keys' manifest */
        CHECK(cn_eval_keys_free(keys));
        CHECK(cn_model_free(model)); /* the server keeps what it needs */

        data = read_file(argv[5], &len);
        cn_encrypted_batch *batch = NULL;
        CHECK(cn_encrypted_batch_deserialize(&batch, m, data, len));
        free(data);
        size_t images = 0;
        CHECK(cn_encrypted_batch_images(&images, batch));

        cn_encrypted_result *result = NULL;
        CHECK(cn_server_predict(&result, server, batch));
        CHECK(cn_encrypted_batch_free(batch)); /* predicting left it as it was */

        uint8_t *bytes = NULL;
        CHECK(cn_encrypted_result_serialize(&bytes, &len, result));
        write_file(argv[6], bytes, len);
        printf("server: predicted %zu images; wrote the encrypted result (%zu bytes) to %s\n", images, len, argv[6]);
        CHECK(cn_bytes_free(bytes));
        CHECK(cn_encrypted_result_free(result));
        CHECK(cn_server_free(server));
        CHECK(cn_manifest_free(m));
        return 0;
    }
    fprintf(stderr,
            "usage: %s [--insecure-for-testing] manifest MODEL.cnm PARAMS OUT_MANIFEST\n"
            "       %s [--insecure-for-testing] predict MODEL.cnm PARAMS EVAL_KEYS BATCH OUT_RESULT\n",
            argv[0], argv[0]);
    return 2;
}
