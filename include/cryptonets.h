/*
 * cryptonets.h — the C API of cryptonets: neural-network inference on homomorphically
 * encrypted data (CryptoNets batch packing and LoLa-style single-image packing on CKKS).
 *
 * This hand-written header is the whole contract of libcryptonets.so. The library is
 * built from Go (capi/); its cgo-generated header is a build by-product that is never
 * installed and must not be included.
 *
 * ROLES
 *   The data owner (client) holds the secret key: it makes the evaluation keys,
 *   encrypts images and decrypts results. The model owner (server) holds the model and
 *   the client's evaluation keys; no server function takes a client or a secret key.
 *
 *   client                                   server
 *   ------                                   ------
 *                                            cn_model_load (or cn_model_from_onnx),
 *                                            cn_model_compile
 *   cn_manifest_deserialize      <-- bytes --  cn_manifest_serialize
 *   cn_client_new
 *   cn_client_eval_keys
 *   cn_eval_keys_serialize       -- bytes -->  cn_eval_keys_deserialize, cn_server_new
 *   cn_client_encrypt
 *   cn_encrypted_batch_serialize -- bytes -->  cn_encrypted_batch_deserialize
 *                                            cn_server_predict
 *   cn_encrypted_result_deserialize <-- bytes -- cn_encrypted_result_serialize
 *   cn_client_decrypt  (logits; argmax gives the labels)
 *
 * CONVENTIONS
 *   - Every function except cn_version, cn_abi_version and cn_last_error returns an
 *     int status: CN_OK (0) or a negative CN_E_* code.
 *   - Output parameters come first and are named out (or out_*). On failure an
 *     output object or buffer pointer is set to NULL (and its length to 0) whenever
 *     it is non-NULL itself, so freeing it afterwards is always safe.
 *   - Every pointer argument must be non-NULL unless its documentation says
 *     otherwise; NULL gives CN_E_INVALID_ARGUMENT. Every cn_X_free accepts NULL.
 *   - Objects are opaque. Each type has its own cn_X_free; byte buffers made by the
 *     library are freed with cn_bytes_free, never with free(). A freed, foreign,
 *     or wrongly typed object pointer gives CN_E_INVALID_ARGUMENT and a message; it
 *     never reaches another object (object addresses are never reused).
 *   - Numbers cross the ABI as double (IEEE float64), never float.
 *
 * ERRORS
 *   After a failing call, cn_last_error() returns a one-line message (UTF-8) saying
 *   what went wrong, prefixed with the function name. The message is thread-local:
 *   it belongs to the calling thread and stays until the next failing call on that
 *   thread (successful calls leave it alone). An internal error (a bug, reported as
 *   CN_E_INTERNAL) does not end the process; free the objects that call used.
 *
 * THREAD SAFETY (per type; see each type below)
 *   The library has no global settings; its only shared state, the registry of live
 *   objects, is locked internally. Freeing an object while another thread
 *   uses it is a bug in the caller, but a memory-safe one: the other call either
 *   completes or fails with CN_E_INVALID_ARGUMENT.
 *
 * SECURITY
 *   Parameters are 128-bit secure by default. Insecure parameter sets (fast, for tests
 *   only, e.g. "InsecureN11QP215") are reachable only through an options field named
 *   allow_insecure (cn_compile_options, cn_manifest_options); without it every
 *   function rejects them with CN_E_INSECURE_PARAMETERS.
 *   CKKS decryptions leak information about the secret key to whoever also sees the
 *   ciphertexts (Li-Micciancio, EUROCRYPT 2021): never send decrypted logits back to
 *   the server or to a third party; share only the labels. Whether a result passes
 *   its integrity check depends on decrypted values, so a malicious server that
 *   learns of failures learns about the key: use a fresh client (cn_client_new) for
 *   each job, and a new one after any CN_E_INTEGRITY. docs/security.md says what the
 *   integrity check does and does not promise.
 */
#ifndef CRYPTONETS_H
#define CRYPTONETS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CN_API __attribute__((visibility("default")))
#else
#define CN_API
#endif

/* ---------------------------------------------------------------- versions -- */

/* The version of this header (semantic versioning). */
#define CN_VERSION_MAJOR 0
#define CN_VERSION_MINOR 1
#define CN_VERSION_PATCH 0
#define CN_VERSION "0.1.0"

/* The ABI version: incremented on every incompatible change of the binary interface
 * (it is also the soname suffix: libcryptonets.so.2). Bindings check it on load.
 * docs/c-api.md lists what changed in each. */
#define CN_ABI_VERSION 2

/* The library's version, "MAJOR.MINOR.PATCH". Static storage; never NULL. */
CN_API const char *cn_version(void);

/* The library's ABI version; compare it with CN_ABI_VERSION. */
CN_API int cn_abi_version(void);

/* ------------------------------------------------------------------ status -- */

#define CN_OK 0
/* Every failure belongs to one class; each class has one code, whichever function
 * reports it (the Go library's errs classes; Python raises one exception per code).
 * A NULL, freed, foreign or wrongly typed pointer; a size or count out of range; an
 * unknown parameter set or packing name; a value outside the model's input range. */
#define CN_E_INVALID_ARGUMENT (-1)
/* Bytes that are not a valid object of the expected kind: bad magic or version,
 * truncated or extended, a length field that does not add up, unreduced values. */
#define CN_E_MALFORMED (-2)
/* A valid object made for something else: other CKKS parameters, another model
 * plan, another kind of object, another request. */
#define CN_E_MISMATCH (-3)
/* Insecure parameters without the allow_insecure opt-in. */
#define CN_E_INSECURE_PARAMETERS (-4)
/* A file could not be opened, read or written. */
#define CN_E_IO (-5)
/* A caller buffer is too small; the needed size is reported (see the function). */
#define CN_E_BUFFER_TOO_SMALL (-6)
/* A bug in the library (for example a recovered Go panic). The process goes on. */
#define CN_E_INTERNAL (-7)
/* A decrypted result failed its integrity check: a wrong secret key, a tampered or
 * replayed result. No logits are returned. */
#define CN_E_INTEGRITY (-8)
/* The input would take more memory, time or space than the library allows. */
#define CN_E_LIMIT (-9)
/* A well-formed model or request the library cannot evaluate: an operator, a shape,
 * a network too deep for any parameter set of the packing asked for. */
#define CN_E_UNSUPPORTED (-10)

/* The message of the last failing call on this thread: one line, no trailing newline,
 * "" if no call has failed on this thread yet. Thread-local storage owned by the
 * library, valid until the next failing call on this thread; never NULL. */
CN_API const char *cn_last_error(void);

/* ------------------------------------------------------------------- types -- */

/* A converted network (weights included): the server's. It also keeps the plans it
 * was compiled into for the last two manifests cn_server_new served, so that servers
 * for a manifest it has seen compile nothing. Safe to use from any number of threads
 * at once. */
typedef struct cn_model cn_model;

/* The public manifest of a compiled model: what a client needs (input shape and
 * range, CKKS parameters, output layout), nothing of the weights. Immutable:
 * safe to use from any number of threads at once. */
typedef struct cn_manifest cn_manifest;

/* The data owner: a secret key bound to one manifest. Calls on one client are
 * serialized by an internal lock: sharing a client between threads is safe, but its
 * calls do not run in parallel (encryption is parallel inside the call). */
typedef struct cn_client cn_client;

/* The public evaluation keys a server needs for one client and manifest. Immutable:
 * safe to use from any number of threads at once. */
typedef struct cn_eval_keys cn_eval_keys;

/* A compiled model plus one client's evaluation keys. Holds no secret. Safe to use
 * from any number of threads at once: concurrent predictions run independently. */
typedef struct cn_server cn_server;

/* Encrypted images, client -> server: any number of them, in requests of up to
 * cn_manifest_images_per_batch images. Immutable (cn_server_predict does not change
 * it): safe to use from any number of threads at once. */
typedef struct cn_encrypted_batch cn_encrypted_batch;

/* Encrypted logits, server -> client: the results of a batch's requests, in order.
 * Immutable: safe to use from any number of threads at once. */
typedef struct cn_encrypted_result cn_encrypted_result;

/* ------------------------------------------------------------------- bytes -- */

/* Every object that travels has cn_X_serialize(uint8_t **out, size_t *out_len, x):
 * on success *out is a buffer of *out_len bytes allocated by the library, which the
 * caller frees with cn_bytes_free. Its cn_X_deserialize validates the bytes
 * completely (envelope, kind, parameter and plan fingerprints, exact length, value
 * ranges) before using them, and copies what it keeps: the caller may free data as
 * soon as the call returns. */

/* Frees a buffer returned by a cn_*_serialize or cn_client_export_secret_key
 * function; secret-key buffers are zeroed first. NULL is allowed (no-op). A pointer
 * the library did not return, or already freed, gives CN_E_INVALID_ARGUMENT. */
CN_API int cn_bytes_free(uint8_t *bytes);

/* ------------------------------------------------------------------- model -- */

/* Loads a model file (the output of `cryptonets convert`, *.cnm).
 * CN_E_IO if the file cannot be read, CN_E_MALFORMED if it is not a valid model file.
 * Free *out with cn_model_free. */
CN_API int cn_model_load(cn_model **out, const char *path);

/* Model file bytes <-> model. */
CN_API int cn_model_serialize(uint8_t **out, size_t *out_len, const cn_model *m);
CN_API int cn_model_deserialize(cn_model **out, const uint8_t *data, size_t len);

/* Imports an ONNX network (the len bytes of a .onnx file) and converts it for
 * encrypted evaluation, as `cryptonets convert` does: drops a final softmax,
 * log-softmax, sigmoid or tanh; folds batch normalization and input normalization
 * into the neighbouring linear layers; replaces max pooling by a scaled sum pool;
 * replaces every ReLU, sigmoid, tanh, GELU or SiLU by a polynomial fitted over the
 * range its inputs take on the calibration images; merges adjacent linear layers
 * where that saves multiply-adds. The polynomials and the sum pool change the
 * function: check the converted network's accuracy before using it.
 *
 * calibration holds n_images images of values_per_image doubles each, image after
 * image, channel-major (laid out as cn_client_encrypt's pixels); values_per_image must
 * be the network's input size (MNIST: 784, pixel/255). A few hundred images of the
 * training data are typical. A network whose activations are all x^2 (or a final
 * sigmoid or tanh) needs none: calibration may then be NULL with n_images = 0, and
 * values_per_image is ignored. The calibration is recorded in the model (calibrated
 * precision plans use it). degree 1 to 16 fits polynomials of that degree, whatever
 * the accuracy they cost; degree 0 chooses for each activation the polynomial of
 * least depth that keeps at least 99 % of the predictions on the calibration images
 * unchanged (CN_E_UNSUPPORTED when none does: the message gives the figures); a
 * negative degree means 2. onnx and calibration are only read during the call.
 *
 * CN_E_MALFORMED if the bytes are not an ONNX network the library can import: not ONNX,
 * an unsupported operator (the message names it, its node and what to do), more than
 * one input, a dynamic input size. CN_E_INVALID_ARGUMENT if the
 * network needs calibration images and got none, if they do not match the network's
 * input size or hold a NaN or infinity, or for a degree above 16.
 * Free *out with cn_model_free. */
CN_API int cn_model_from_onnx(cn_model **out, const uint8_t *onnx, size_t len,
                              const double *calibration, size_t n_images,
                              size_t values_per_image, int degree);

/* Packing names: how a plan lays images out in ciphertexts (cn_compile_options
 * packing, cn_manifest_packing). */
/* Chosen by the cost model: the fastest packing for expected_images images. */
#define CN_PACKING_AUTO "auto"
/* One image per slot, thousands per request: the highest throughput (CryptoNets). */
#define CN_PACKING_BATCH "batch"
/* One or a few images per request, spread over the slots: the lowest latency (LoLa). */
#define CN_PACKING_SINGLE "single"
/* Packing names are shorter than this, NUL included. */
#define CN_PACKING_NAME_MAX 32

/* Compilation options. Initialize with CN_COMPILE_OPTIONS_INIT, then set the fields
 * you need (later versions may append fields; the library reads only the fields
 * the caller's struct_size covers). A NULL options pointer means all defaults. */
typedef struct cn_compile_options {
  size_t struct_size;
  /* Parameter set name; NULL or "": the smallest 128-bit set that fits the packing. */
  const char *params;
  /* A packing name (CN_PACKING_*); NULL or "": CN_PACKING_AUTO. */
  const char *packing;
  /* Images per request CN_PACKING_AUTO chooses for; 0: a full batch or more. */
  size_t expected_images;
  /* Nonzero also accepts INSECURE parameter sets ("InsecureN11QP215"): tests only,
   * never for real data. */
  int allow_insecure;
} cn_compile_options;

#define CN_COMPILE_OPTIONS_INIT { sizeof(cn_compile_options), NULL, NULL, 0, 0 }

/* Compiles m for encrypted evaluation with options opts (NULL: defaults) and returns
 * its public manifest, to send to clients. cn_server_new compiles the same plan from
 * the manifest the client's keys were made for. CN_E_UNSUPPORTED if no parameter set
 * of the packing asked for holds the network (the message says why).
 * Free *out with cn_manifest_free. */
CN_API int cn_model_compile(cn_manifest **out, const cn_model *m, const cn_compile_options *opts);

/* The shape of one input of the model: channels x height x width (a vector of n
 * values is n x 1 x 1). */
CN_API int cn_model_input_shape(size_t *out_channels, size_t *out_height,
                                 size_t *out_width, const cn_model *m);

/* The number of outputs (logits, classes) of the model per input. */
CN_API int cn_model_outputs(size_t *out, const cn_model *m);

/* Evaluates the model in float64 on n_inputs plaintext inputs of values_per_input
 * doubles each, laid out as cn_client_encrypt's pixels, and writes
 * logits[i*classes + j] (logit j of input i): the plaintext reference an encrypted
 * evaluation is checked against, to measure a converted model on one's own data
 * before any key exists. The inputs are checked as cn_client_encrypt checks them
 * (values_per_input is cn_model_input_size's; every value in the model's input
 * range: CN_E_INVALID_ARGUMENT otherwise). *out_classes is set on success and on
 * CN_E_BUFFER_TOO_SMALL, returned when logits_len < n_inputs*classes (nothing is
 * evaluated): a size query passes logits = NULL, logits_len = 0. inputs is only read
 * during the call. */
CN_API int cn_model_predict_plain(double *logits, size_t logits_len, size_t *out_classes,
                                  const cn_model *m, const double *inputs, size_t n_inputs,
                                  size_t values_per_input);

/* NULL-safe; a freed or foreign pointer gives CN_E_INVALID_ARGUMENT. */
CN_API int cn_model_free(cn_model *m);

/* ---------------------------------------------------------------- manifest -- */

CN_API int cn_manifest_serialize(uint8_t **out, size_t *out_len, const cn_manifest *m);

/* Manifest options. Initialize with CN_MANIFEST_OPTIONS_INIT; NULL means defaults. */
typedef struct cn_manifest_options {
  size_t struct_size;
  /* Nonzero also accepts a manifest for INSECURE parameters: tests only. */
  int allow_insecure;
  /* The largest evaluation keys, in serialized bytes, that a client made for this
   * manifest accepts to generate (cn_client_new and cn_client_restore give
   * CN_E_LIMIT for a manifest that asks for more). The manifest comes from the
   * server, and a hostile one could ask for gigabytes. 0: the default, 1 GiB. */
  uint64_t max_eval_key_bytes;
} cn_manifest_options;

#define CN_MANIFEST_OPTIONS_INIT { sizeof(cn_manifest_options), 0, 0 }

/* Validates a manifest (opts NULL: defaults). A manifest for insecure parameters
 * gives CN_E_INSECURE_PARAMETERS unless opts->allow_insecure is set (a server cannot
 * talk a client into weak keys). */
CN_API int cn_manifest_deserialize(cn_manifest **out, const uint8_t *data, size_t len,
                                   const cn_manifest_options *opts);

/* The shape of one input image: channels x height x width. Images are passed as
 * channel-major doubles (for MNIST: 1x28x28, pixel/255 in [0, 1]). */
CN_API int cn_manifest_input_shape(size_t *out_channels, size_t *out_height,
                                   size_t *out_width, const cn_manifest *m);

/* The number of values per image (channels*height*width). */
CN_API int cn_manifest_input_size(size_t *out, const cn_manifest *m);

/* The range every input value must lie in; cn_client_encrypt rejects others. */
CN_API int cn_manifest_input_range(double *out_min, double *out_max, const cn_manifest *m);

/* The number of outputs (logits, classes) per image. */
CN_API int cn_manifest_outputs(size_t *out, const cn_manifest *m);

/* The largest number of images one encrypted batch holds. */
CN_API int cn_manifest_images_per_batch(size_t *out, const cn_manifest *m);

/* The name of the CKKS parameter set, NUL-terminated, into out[0..out_len). Names are
 * shorter than CN_PARAMS_NAME_MAX bytes; a smaller buffer gives
 * CN_E_BUFFER_TOO_SMALL. */
#define CN_PARAMS_NAME_MAX 64
CN_API int cn_manifest_params_name(char *out, size_t out_len, const cn_manifest *m);

/* *out = 1 if the manifest uses an insecure parameter set, 0 otherwise. */
CN_API int cn_manifest_insecure(int *out, const cn_manifest *m);

/* The name of the manifest's packing (CN_PACKING_BATCH, CN_PACKING_SINGLE),
 * NUL-terminated, into out[0..out_len); CN_E_BUFFER_TOO_SMALL below
 * CN_PACKING_NAME_MAX bytes. */
CN_API int cn_manifest_packing(char *out, size_t out_len, const cn_manifest *m);

CN_API int cn_manifest_free(cn_manifest *m);

/* ------------------------------------------------------------------ client -- */

/* Generates a fresh secret key for the manifest's parameters. The client keeps its
 * own copy of the manifest: m may be freed afterwards. CN_E_MALFORMED for a manifest
 * that is not consistent (keys outside the rotation group, layouts beyond the
 * slots), CN_E_LIMIT if its evaluation keys would exceed the max_eval_key_bytes of
 * the options m was deserialized with. A fresh client costs milliseconds for batch
 * packing: make one per job (see SECURITY above). Free with cn_client_free. */
CN_API int cn_client_new(cn_client **out, const cn_manifest *m);

/* Rebuilds a client from a secret key exported by cn_client_export_secret_key for
 * the same manifest's parameters (CN_E_MISMATCH otherwise). */
CN_API int cn_client_restore(cn_client **out, const cn_manifest *m,
                             const uint8_t *secret_key, size_t secret_key_len);

/* Exports the secret key (to store with the client's secrets; NEVER send it to the
 * server). Free *out with cn_bytes_free, which zeroes it. */
CN_API int cn_client_export_secret_key(uint8_t **out, size_t *out_len, const cn_client *c);

/* The evaluation keys the server needs (public). Free with cn_eval_keys_free. */
CN_API int cn_client_eval_keys(cn_eval_keys **out, const cn_client *c);

/* Encrypts n_images images of values_per_image doubles each, image after image
 * (pixels[i*values_per_image + k] is value k of image i, channel-major), any number
 * of them: they are split into requests of cn_manifest_images_per_batch images (the
 * last one may hold fewer), in order. values_per_image must equal
 * cn_manifest_input_size, n_images be at least 1, and every value lie in the
 * manifest's input range (CN_E_INVALID_ARGUMENT otherwise, naming the image and the
 * value; nothing is encrypted). Each request is large (see cn_encrypted_batch_serialize)
 * and all of them are in memory. pixels is only read during the call.
 * Free *out with cn_encrypted_batch_free. */
CN_API int cn_client_encrypt(cn_encrypted_batch **out, cn_client *c, const double *pixels,
                             size_t n_images, size_t values_per_image);

/* Decrypts r (the results of every request of a batch) into logits[i*classes + j]
 * (logit j of image i, in the order the images were encrypted). Each result must
 * answer its request: request_ids holds the CN_REQUEST_SIZE bytes of every request of
 * the batch, in order, as cn_encrypted_batch_request_ids gave them (request_ids_len
 * = requests * CN_REQUEST_SIZE). CN_E_MISMATCH if r was made for another manifest or
 * answers other requests; CN_E_INTEGRITY if a result fails the integrity check: its
 * image count is not its request's, or the check values hidden among the images
 * decrypt wrong (a result for another key, tampered with, or another request's
 * relabelled).
 * *out_images and *out_classes are always set to the result's size on success and
 * on CN_E_BUFFER_TOO_SMALL; if logits_len < images*classes nothing is decrypted and
 * CN_E_BUFFER_TOO_SMALL is returned: a size query passes logits = NULL, logits_len =
 * 0. Keep the logits on the client side: share only labels; after CN_E_INTEGRITY,
 * make a new client for further requests (see SECURITY above). */
CN_API int cn_client_decrypt(double *logits, size_t logits_len, size_t *out_images,
                             size_t *out_classes, cn_client *c, const uint8_t *request_ids,
                             size_t request_ids_len, const cn_encrypted_result *r);

CN_API int cn_client_free(cn_client *c);

/* ------------------------------------------------------- evaluation keys -- */

CN_API int cn_eval_keys_serialize(uint8_t **out, size_t *out_len, const cn_eval_keys *k);

/* Validates evaluation keys against the manifest they are for (the server gets it
 * from cn_model_compile with the same options). Keys for other parameters give
 * CN_E_MISMATCH. */
CN_API int cn_eval_keys_deserialize(cn_eval_keys **out, const cn_manifest *m,
                                    const uint8_t *data, size_t len);

CN_API int cn_eval_keys_free(cn_eval_keys *k);

/* ------------------------------------------------------------------ server -- */

/* Compiles m into the plan of the manifest ek was deserialized for (the client's:
 * its packing, parameters and images per request) and binds the evaluation keys.
 * The plan is compiled once per manifest: m keeps it (see cn_model), so servers made
 * from m for other clients of the same manifest reuse it. CN_E_MISMATCH if m does not
 * compile to that plan (another model). An insecure manifest is accepted only if it
 * was deserialized with allow_insecure. The server keeps what it needs: m and ek may
 * be freed afterwards. Free with cn_server_free. */
CN_API int cn_server_new(cn_server **out, const cn_model *m, const cn_eval_keys *ek);

/* The manifest of the server's plan (to decode incoming batches with, or to send
 * to clients). Free with cn_manifest_free. */
CN_API int cn_server_manifest(cn_manifest **out, const cn_server *s);

/* Evaluates the network on every request of an encrypted batch, in order. A batch
 * made for another plan or parameters gives CN_E_MISMATCH. The batch is not changed:
 * each request is evaluated on a copy (one request's worth of extra memory at a
 * time), so b can be predicted again or serialized afterwards.
 * Free *out with cn_encrypted_result_free. */
CN_API int cn_server_predict(cn_encrypted_result **out, cn_server *s, const cn_encrypted_batch *b);

CN_API int cn_server_free(cn_server *s);

/* -------------------------------------------------------- encrypted batch -- */

/* The bytes of a batch of one request are that request's envelope; of several, one
 * sequence: a header the server checks (the numbers of requests and images), then
 * each request's envelope. Large: each request holds one ciphertext per input value,
 * whatever the number of images in it (a few hundred MB for 28x28 images at
 * N13QP215, batch packing). */
CN_API int cn_encrypted_batch_serialize(uint8_t **out, size_t *out_len,
                                        const cn_encrypted_batch *b);

/* Validates a batch (one request or a sequence) made for manifest m (CN_E_MISMATCH
 * for another plan or other parameters, CN_E_MALFORMED for anything malformed,
 * truncated, or whose counts do not add up). */
CN_API int cn_encrypted_batch_deserialize(cn_encrypted_batch **out, const cn_manifest *m,
                                          const uint8_t *data, size_t len);

/* The number of images in the batch, all requests together. */
CN_API int cn_encrypted_batch_images(size_t *out, const cn_encrypted_batch *b);

/* The number of requests the batch's images take. */
CN_API int cn_encrypted_batch_requests(size_t *out, const cn_encrypted_batch *b);

/* The size of a request identifier. */
#define CN_REQUEST_SIZE 32

/* Copies the identifiers of the batch's requests (CN_REQUEST_SIZE bytes each, in
 * order: a random identifier and the client's tag of it and of the request's image
 * count) into out[0..out_len); keep them to decrypt the result (cn_client_decrypt).
 * Not secret. CN_E_BUFFER_TOO_SMALL below requests * CN_REQUEST_SIZE bytes. */
CN_API int cn_encrypted_batch_request_ids(uint8_t *out, size_t out_len, const cn_encrypted_batch *b);

CN_API int cn_encrypted_batch_free(cn_encrypted_batch *b);

/* ------------------------------------------------------- encrypted result -- */

CN_API int cn_encrypted_result_serialize(uint8_t **out, size_t *out_len,
                                         const cn_encrypted_result *r);

/* Validates a result (one request's or a sequence, as the batch it answers) made for
 * manifest m (the client's). */
CN_API int cn_encrypted_result_deserialize(cn_encrypted_result **out, const cn_manifest *m,
                                           const uint8_t *data, size_t len);

/* The number of images in the result, all requests together. */
CN_API int cn_encrypted_result_images(size_t *out, const cn_encrypted_result *r);

/* The number of requests the result answers. */
CN_API int cn_encrypted_result_requests(size_t *out, const cn_encrypted_result *r);

CN_API int cn_encrypted_result_free(cn_encrypted_result *r);

#ifdef __cplusplus
}
#endif

#endif /* CRYPTONETS_H */
