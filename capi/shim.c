/*
 * The public symbols of libcryptonets.so: each cn_* function of include/cryptonets.h
 * forwards to its Go export cngo_* (capi/exports.go). Because this file includes the
 * public header, the compiler checks every definition here against the contract;
 * the cngo_* names are hidden by the linker version script (capi/cryptonets.map).
 *
 * Also here, in C: the version queries and the thread-local error message.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cryptonets.h"
#include "shim.h"
#include "_cgo_export.h"

/* ------------------------------------------------------------ errors, memory -- */

static _Thread_local char cn_error_message[CNSHIM_ERROR_MAX];

void cnshim_set_error(const char *msg, size_t len) {
    if (len >= CNSHIM_ERROR_MAX) len = CNSHIM_ERROR_MAX - 1;
    memcpy(cn_error_message, msg, len);
    cn_error_message[len] = '\0';
}

const char *cn_last_error(void) { return cn_error_message; }

void *cnshim_alloc(size_t n) { return malloc(n ? n : 1); }
void cnshim_free(void *p) { free(p); }

/* ---------------------------------------------------------------- versions -- */

const char *cn_version(void) { return CN_VERSION; }

int cn_abi_version(void) { return CN_ABI_VERSION; }

/* ---------------------------------------------------------------- forwards -- */
/* The casts only drop const: Go cannot spell it in an export's signature. */

#define OBJ(p) ((void *)(p))
#define OUT(p) ((void **)(p))

int cn_bytes_free(uint8_t *b) { return cngo_bytes_free(b); }

int cn_model_load(cn_model **out, const char *path) { return cngo_model_load(OUT(out), (char *)path); }
int cn_model_serialize(uint8_t **out, size_t *out_len, const cn_model *m) { return cngo_model_serialize(out, out_len, OBJ(m)); }
int cn_model_deserialize(cn_model **out, const uint8_t *data, size_t len) { return cngo_model_deserialize(OUT(out), (uint8_t *)data, len); }
int cn_model_from_onnx(cn_model **out, const uint8_t *onnx, size_t len, const double *calibration, size_t n_images, size_t values_per_image, int degree) {
    return cngo_model_from_onnx(OUT(out), (uint8_t *)onnx, len, (double *)calibration, n_images, values_per_image, degree);
}
int cn_model_input_shape(size_t *out_channels, size_t *out_height, size_t *out_width, const cn_model *m) { return cngo_model_input_shape(out_channels, out_height, out_width, OBJ(m)); }
int cn_model_outputs(size_t *out, const cn_model *m) { return cngo_model_outputs(out, OBJ(m)); }
int cn_model_predict_plain(double *logits, size_t logits_len, size_t *out_classes, const cn_model *m, const double *inputs, size_t n_inputs, size_t values_per_input) {
    return cngo_model_predict_plain(logits, logits_len, out_classes, OBJ(m), (double *)inputs, n_inputs, values_per_input);
}
int cn_model_free(cn_model *m) { return cngo_model_free(OBJ(m)); }

/* The field of an options struct *opts of type T if the caller's struct_size covers
 * it, else dflt: Go receives scalars, never the struct. */
#define OPT_FIELD(T, opts, field, dflt) \
  ((opts) != NULL && (opts)->struct_size >= offsetof(T, field) + sizeof((opts)->field) ? (opts)->field : (dflt))
#define OPT_HEAD(opts) (opts) != NULL, (opts) != NULL ? (opts)->struct_size : 0
#define COMPILE_OPTS(o) OPT_HEAD(o), (char *)OPT_FIELD(cn_compile_options, o, params, NULL), \
  (char *)OPT_FIELD(cn_compile_options, o, packing, NULL), OPT_FIELD(cn_compile_options, o, expected_images, 0), \
  OPT_FIELD(cn_compile_options, o, allow_insecure, 0)
int cn_model_compile(cn_manifest **out, const cn_model *m, const cn_compile_options *opts) { return cngo_model_compile(OUT(out), OBJ(m), COMPILE_OPTS(opts)); }

int cn_manifest_serialize(uint8_t **out, size_t *out_len, const cn_manifest *m) { return cngo_manifest_serialize(out, out_len, OBJ(m)); }
int cn_manifest_deserialize(cn_manifest **out, const uint8_t *data, size_t len, const cn_manifest_options *opts) {
    return cngo_manifest_deserialize(OUT(out), (uint8_t *)data, len, OPT_HEAD(opts), OPT_FIELD(cn_manifest_options, opts, allow_insecure, 0),
                                     OPT_FIELD(cn_manifest_options, opts, max_eval_key_bytes, 0));
}
int cn_manifest_input_shape(size_t *out_channels, size_t *out_height, size_t *out_width, const cn_manifest *m) { return cngo_manifest_input_shape(out_channels, out_height, out_width, OBJ(m)); }
int cn_manifest_input_size(size_t *out, const cn_manifest *m) { return cngo_manifest_input_size(out, OBJ(m)); }
int cn_manifest_input_range(double *out_min, double *out_max, const cn_manifest *m) { return cngo_manifest_input_range(out_min, out_max, OBJ(m)); }
int cn_manifest_outputs(size_t *out, const cn_manifest *m) { return cngo_manifest_outputs(out, OBJ(m)); }
int cn_manifest_images_per_batch(size_t *out, const cn_manifest *m) { return cngo_manifest_images_per_batch(out, OBJ(m)); }
int cn_manifest_params_name(char *out, size_t out_len, const cn_manifest *m) { return cngo_manifest_params_name(out, out_len, OBJ(m)); }
int cn_manifest_insecure(int *out, const cn_manifest *m) { return cngo_manifest_insecure(out, OBJ(m)); }
int cn_manifest_packing(char *out, size_t out_len, const cn_manifest *m) { return cngo_manifest_packing(out, out_len, OBJ(m)); }
int cn_manifest_free(cn_manifest *m) { return cngo_manifest_free(OBJ(m)); }

int cn_client_new(cn_client **out, const cn_manifest *m) { return cngo_client_new(OUT(out), OBJ(m)); }
int cn_client_restore(cn_client **out, const cn_manifest *m, const uint8_t *secret_key, size_t secret_key_len) {
    return cngo_client_restore(OUT(out), OBJ(m), (uint8_t *)secret_key, secret_key_len);
}
int cn_client_export_secret_key(uint8_t **out, size_t *out_len, const cn_client *c) { return cngo_client_export_secret_key(out, out_len, OBJ(c)); }
int cn_client_eval_keys(cn_eval_keys **out, const cn_client *c) { return cngo_client_eval_keys(OUT(out), OBJ(c)); }
int cn_client_encrypt(cn_encrypted_batch **out, cn_client *c, const double *pixels, size_t n_images, size_t values_per_image) {
    return cngo_client_encrypt(OUT(out), OBJ(c), (double *)pixels, n_images, values_per_image);
}
int cn_client_decrypt(double *logits, size_t logits_len, size_t *out_images, size_t *out_classes, cn_client *c,
                      const uint8_t *request_ids, size_t request_ids_len, const cn_encrypted_result *r) {
    return cngo_client_decrypt(logits, logits_len, out_images, out_classes, OBJ(c), (uint8_t *)request_ids, request_ids_len, OBJ(r));
}
int cn_client_free(cn_client *c) { return cngo_client_free(OBJ(c)); }

int cn_eval_keys_serialize(uint8_t **out, size_t *out_len, const cn_eval_keys *k) { return cngo_eval_keys_serialize(out, out_len, OBJ(k)); }
int cn_eval_keys_deserialize(cn_eval_keys **out, const cn_manifest *m, const uint8_t *data, size_t len) { return cngo_eval_keys_deserialize(OUT(out), OBJ(m), (uint8_t *)data, len); }
int cn_eval_keys_free(cn_eval_keys *k) { return cngo_eval_keys_free(OBJ(k)); }

int cn_server_new(cn_server **out, const cn_model *m, const cn_eval_keys *ek) { return cngo_server_new(OUT(out), OBJ(m), OBJ(ek)); }
int cn_server_manifest(cn_manifest **out, const cn_server *s) { return cngo_server_manifest(OUT(out), OBJ(s)); }
int cn_server_predict(cn_encrypted_result **out, cn_server *s, const cn_encrypted_batch *b) { return cngo_server_predict(OUT(out), OBJ(s), OBJ(b)); }
int cn_server_free(cn_server *s) { return cngo_server_free(OBJ(s)); }

int cn_encrypted_batch_serialize(uint8_t **out, size_t *out_len, const cn_encrypted_batch *b) { return cngo_encrypted_batch_serialize(out, out_len, OBJ(b)); }
int cn_encrypted_batch_deserialize(cn_encrypted_batch **out, const cn_manifest *m, const uint8_t *data, size_t len) { return cngo_encrypted_batch_deserialize(OUT(out), OBJ(m), (uint8_t *)data, len); }
int cn_encrypted_batch_images(size_t *out, const cn_encrypted_batch *b) { return cngo_encrypted_batch_images(out, OBJ(b)); }
int cn_encrypted_batch_requests(size_t *out, const cn_encrypted_batch *b) { return cngo_encrypted_batch_requests(out, OBJ(b)); }
int cn_encrypted_batch_request_ids(uint8_t *out, size_t out_len, const cn_encrypted_batch *b) { return cngo_encrypted_batch_request_ids(out, out_len, OBJ(b)); }
int cn_encrypted_batch_free(cn_encrypted_batch *b) { return cngo_encrypted_batch_free(OBJ(b)); }

int cn_encrypted_result_serialize(uint8_t **out, size_t *out_len, const cn_encrypted_result *r) { return cngo_encrypted_result_serialize(out, out_len, OBJ(r)); }
int cn_encrypted_result_deserialize(cn_encrypted_result **out, const cn_manifest *m, const uint8_t *data, size_t len) { return cngo_encrypted_result_deserialize(OUT(out), OBJ(m), (uint8_t *)data, len); }
int cn_encrypted_result_images(size_t *out, const cn_encrypted_result *r) { return cngo_encrypted_result_images(out, OBJ(r)); }
int cn_encrypted_result_requests(size_t *out, const cn_encrypted_result *r) { return cngo_encrypted_result_requests(out, OBJ(r)); }
int cn_encrypted_result_free(cn_encrypted_result *r) { return cngo_encrypted_result_free(OBJ(r)); }

