/*
 * consumer: a program built against an installed cryptonets, either with CMake
 * (find_package(cryptonets CONFIG)) or with pkg-config:
 *
 *   cc main.c $(pkg-config --cflags --libs cryptonets) -o consumer
 *
 *   consumer MODEL.cnm IMAGES.f64 REFERENCE.txt N
 *
 * Predicts N images through the encrypted pipeline (insecure test parameters, for
 * speed) and checks the labels against the plaintext reference.
 */
#include <stdio.h>
#include <stdlib.h>

#include <cryptonets.h>

#define TRY(call)                                                                  \
    do {                                                                           \
        if ((call) != CN_OK) {                                                     \
            fprintf(stderr, "%s failed: %s\n", #call, cn_last_error());            \
            return 1;                                                              \
        }                                                                          \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL.cnm IMAGES.f64 REFERENCE.txt N\n", argv[0]);
        return 2;
    }
    if (cn_abi_version() != CN_ABI_VERSION) {
        fprintf(stderr, "library ABI %d, header ABI %d\n", cn_abi_version(), CN_ABI_VERSION);
        return 1;
    }
    size_t n = strtoul(argv[4], NULL, 10), values = 0;
    cn_model *model = NULL;
    cn_manifest *manifest = NULL;
    cn_client *client = NULL;
    cn_eval_keys *keys = NULL;
    cn_server *server = NULL;
    cn_encrypted_batch *batch = NULL;
    cn_encrypted_result *result = NULL;

    TRY(cn_model_load(&model, argv[1]));
    cn_compile_options opts = CN_COMPILE_OPTIONS_INIT;
    opts.params = "InsecureN11QP215";
    opts.allow_insecure = 1; /* fast test parameters: NOT secure */
    TRY(cn_model_compile(&manifest, model, &opts));
    TRY(cn_manifest_input_size(&values, manifest));
    TRY(cn_client_new(&client, manifest));
    TRY(cn_client_eval_keys(&keys, client));
    TRY(cn_server_new(&server, model, keys));

    double *pixels = malloc(n * values * sizeof(double));
    FILE *f = fopen(argv[2], "rb");
    if (!pixels || !f || fread(pixels, sizeof(double), n * values, f) != n * values) {
        fprintf(stderr, "cannot read %zu images from %s\n", n, argv[2]);
        return 1;
    }
    fclose(f);
    size_t requests = 0;
    TRY(cn_client_encrypt(&batch, client, pixels, n, values));
    TRY(cn_encrypted_batch_requests(&requests, batch));
    uint8_t *request_ids = malloc(requests * CN_REQUEST_SIZE); /* kept to decrypt */
    if (!request_ids) return 1;
    TRY(cn_encrypted_batch_request_ids(request_ids, requests * CN_REQUEST_SIZE, batch));
    TRY(cn_server_predict(&result, server, batch));

    size_t images = 0, classes = 0;
    if (cn_client_decrypt(NULL, 0, &images, &classes, client, request_ids, requests * CN_REQUEST_SIZE, result) != CN_E_BUFFER_TOO_SMALL) {
        fprintf(stderr, "size query failed: %s\n", cn_last_error());
        return 1;
    }
    double *logits = malloc(images * classes * sizeof(double));
    TRY(cn_client_decrypt(logits, images * classes, &images, &classes, client, request_ids, requests * CN_REQUEST_SIZE, result));

    FILE *ref = fopen(argv[3], "r");
    if (!ref) { perror(argv[3]); return 1; }
    size_t agree = 0;
    for (size_t i = 0; i < images; i++) {
        size_t best = 0;
        for (size_t j = 1; j < classes; j++)
            if (logits[i * classes + j] > logits[i * classes + best]) best = j;
        int want = -1;
        if (fscanf(ref, "%d", &want) != 1) { fprintf(stderr, "short reference\n"); return 1; }
        agree += (int)best == want;
        printf("%zu", best);
    }
    fclose(ref);
    printf("\nconsumer (cryptonets %s): %zu of %zu labels equal the plaintext reference\n", cn_version(), agree, images);

    free(logits);
    free(pixels);
    cn_encrypted_result_free(result);
    cn_encrypted_batch_free(batch);
    cn_server_free(server);
    cn_eval_keys_free(keys);
    cn_client_free(client);
    cn_manifest_free(manifest);
    cn_model_free(model);
    return agree == images ? 0 : 1;
}
