"""ctypes declarations of ``include/cryptonets.h`` and the loading of the library.

Every function of the header is declared here with its ``argtypes`` and ``restype``
(a test parses the header and checks this table against it). Nothing else in the
package calls ``ctypes.CDLL`` or touches a symbol directly.

The library is ``_lib/libcryptonets.so`` inside this package (put there when the
package is built), unless the environment variable ``CRYPTONETS_LIBRARY`` names
another file (for development: a library built with
``go build -buildmode=c-shared -o libcryptonets.so ./capi``).
"""

from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_uint8, c_uint64, c_void_p
from pathlib import Path
from typing import Any, Dict, List, Tuple

#: The ABI version this package was written for (``CN_ABI_VERSION`` in the header).
ABI_VERSION = 2

#: The environment variable that overrides the bundled library's path.
LIBRARY_ENV = "CRYPTONETS_LIBRARY"

# Status codes (CN_OK, CN_E_* in the header).
CN_OK = 0
CN_E_INVALID_ARGUMENT = -1
CN_E_MALFORMED = -2
CN_E_MISMATCH = -3
CN_E_INSECURE_PARAMETERS = -4
CN_E_IO = -5
CN_E_BUFFER_TOO_SMALL = -6
CN_E_INTERNAL = -7
CN_E_INTEGRITY = -8
CN_E_LIMIT = -9
CN_E_UNSUPPORTED = -10

#: ``CN_PARAMS_NAME_MAX``: parameter set names are shorter than this (NUL included).
PARAMS_NAME_MAX = 64

# Packing names (CN_PACKING_* in the header).
CN_PACKING_AUTO = "auto"
CN_PACKING_BATCH = "batch"
CN_PACKING_SINGLE = "single"

#: ``CN_PACKING_NAME_MAX``: packing names are shorter than this (NUL included).
PACKING_NAME_MAX = 32

#: ``CN_REQUEST_SIZE``: the size of a request identifier.
REQUEST_SIZE = 32


class CompileOptions(ctypes.Structure):
    """``cn_compile_options``: the fields in the header's order."""

    _c_name_ = "cn_compile_options"
    _fields_ = [
        ("struct_size", c_size_t),
        ("params", c_char_p),
        ("packing", c_char_p),
        ("expected_images", c_size_t),
        ("allow_insecure", c_int),
    ]


class ManifestOptions(ctypes.Structure):
    """``cn_manifest_options``: the fields in the header's order."""

    _c_name_ = "cn_manifest_options"
    _fields_ = [
        ("struct_size", c_size_t),
        ("allow_insecure", c_int),
        ("max_eval_key_bytes", c_uint64),
    ]


# Type aliases, named after the C types they stand for.
_obj = c_void_p  # const cn_X *  (an opaque object)
_obj_out = POINTER(c_void_p)  # cn_X **      (an object out-parameter)
_u8 = POINTER(c_uint8)  # const uint8_t * (bytes in), uint8_t * (a caller's buffer)
_u8_out = POINTER(POINTER(c_uint8))  # uint8_t **  (library-allocated bytes out)
_size_out = POINTER(c_size_t)  # size_t *
_double_ptr = POINTER(c_double)  # double *, const double *
_int_out = POINTER(c_int)  # int *
_options = POINTER(CompileOptions)  # const cn_compile_options *
_manifest_options = POINTER(ManifestOptions)  # const cn_manifest_options *

#: name -> (restype, argtypes), in the order of the header.
SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {
    # versions
    "cn_version": (c_char_p, []),
    "cn_abi_version": (c_int, []),
    # errors
    "cn_last_error": (c_char_p, []),
    # bytes
    "cn_bytes_free": (c_int, [_u8]),
    # model
    "cn_model_load": (c_int, [_obj_out, c_char_p]),
    "cn_model_serialize": (c_int, [_u8_out, _size_out, _obj]),
    "cn_model_deserialize": (c_int, [_obj_out, _u8, c_size_t]),
    "cn_model_from_onnx": (
        c_int,
        [_obj_out, _u8, c_size_t, _double_ptr, c_size_t, c_size_t, c_int],
    ),
    "cn_model_compile": (c_int, [_obj_out, _obj, _options]),
    "cn_model_input_shape": (c_int, [_size_out, _size_out, _size_out, _obj]),
    "cn_model_outputs": (c_int, [_size_out, _obj]),
    "cn_model_predict_plain": (
        c_int,
        [_double_ptr, c_size_t, _size_out, _obj, _double_ptr, c_size_t, c_size_t],
    ),
    "cn_model_free": (c_int, [_obj]),
    # manifest
    "cn_manifest_serialize": (c_int, [_u8_out, _size_out, _obj]),
    "cn_manifest_deserialize": (c_int, [_obj_out, _u8, c_size_t, _manifest_options]),
    "cn_manifest_input_shape": (c_int, [_size_out, _size_out, _size_out, _obj]),
    "cn_manifest_input_size": (c_int, [_size_out, _obj]),
    "cn_manifest_input_range": (c_int, [_double_ptr, _double_ptr, _obj]),
    "cn_manifest_outputs": (c_int, [_size_out, _obj]),
    "cn_manifest_images_per_batch": (c_int, [_size_out, _obj]),
    "cn_manifest_params_name": (c_int, [c_char_p, c_size_t, _obj]),
    "cn_manifest_insecure": (c_int, [_int_out, _obj]),
    "cn_manifest_packing": (c_int, [c_char_p, c_size_t, _obj]),
    "cn_manifest_free": (c_int, [_obj]),
    # client
    "cn_client_new": (c_int, [_obj_out, _obj]),
    "cn_client_restore": (c_int, [_obj_out, _obj, _u8, c_size_t]),
    "cn_client_export_secret_key": (c_int, [_u8_out, _size_out, _obj]),
    "cn_client_eval_keys": (c_int, [_obj_out, _obj]),
    "cn_client_encrypt": (c_int, [_obj_out, _obj, _double_ptr, c_size_t, c_size_t]),
    "cn_client_decrypt": (
        c_int,
        [_double_ptr, c_size_t, _size_out, _size_out, _obj, _u8, c_size_t, _obj],
    ),
    "cn_client_free": (c_int, [_obj]),
    # evaluation keys
    "cn_eval_keys_serialize": (c_int, [_u8_out, _size_out, _obj]),
    "cn_eval_keys_deserialize": (c_int, [_obj_out, _obj, _u8, c_size_t]),
    "cn_eval_keys_free": (c_int, [_obj]),
    # server
    "cn_server_new": (c_int, [_obj_out, _obj, _obj]),
    "cn_server_manifest": (c_int, [_obj_out, _obj]),
    "cn_server_predict": (c_int, [_obj_out, _obj, _obj]),
    "cn_server_free": (c_int, [_obj]),
    # encrypted batch
    "cn_encrypted_batch_serialize": (c_int, [_u8_out, _size_out, _obj]),
    "cn_encrypted_batch_deserialize": (c_int, [_obj_out, _obj, _u8, c_size_t]),
    "cn_encrypted_batch_images": (c_int, [_size_out, _obj]),
    "cn_encrypted_batch_requests": (c_int, [_size_out, _obj]),
    "cn_encrypted_batch_request_ids": (c_int, [_u8, c_size_t, _obj]),
    "cn_encrypted_batch_free": (c_int, [_obj]),
    # encrypted result
    "cn_encrypted_result_serialize": (c_int, [_u8_out, _size_out, _obj]),
    "cn_encrypted_result_deserialize": (c_int, [_obj_out, _obj, _u8, c_size_t]),
    "cn_encrypted_result_images": (c_int, [_size_out, _obj]),
    "cn_encrypted_result_requests": (c_int, [_size_out, _obj]),
    "cn_encrypted_result_free": (c_int, [_obj]),
}

#: The test-only entry points (bindings/c/tests/cryptonets_testing.h), declared when
#: the loaded library is a test build (CMake's CN_TESTING) that has them.
TESTING_SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {
    "cn_debug_force_panic": (c_int, []),
}


def library_path() -> Path:
    """The path of the shared library this package loads.

    ``$CRYPTONETS_LIBRARY`` if it is set and not empty, else the library bundled at
    ``cryptonets/_lib/libcryptonets.so``.
    """
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / "_lib" / "libcryptonets.so"


def _load() -> ctypes.CDLL:
    path = library_path()
    if not path.is_file():
        if os.environ.get(LIBRARY_ENV):
            raise ImportError(
                f"cryptonets: {LIBRARY_ENV}={path} does not name a file; unset it to use "
                "the bundled library or point it at a libcryptonets.so built with "
                "'go build -buildmode=c-shared -o libcryptonets.so ./capi'"
            )
        raise ImportError(
            f"cryptonets: the bundled library {path} is missing: this copy of the package "
            "was not built. Install it with 'pip install ./bindings/python' from the "
            f"cryptonets repository, or set {LIBRARY_ENV} to a libcryptonets.so"
        )
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise ImportError(f"cryptonets: cannot load {path}: {exc}") from exc
    missing = [name for name in SIGNATURES if not hasattr(lib, name)]
    if missing:
        raise ImportError(
            f"cryptonets: {path} lacks the function(s) {', '.join(missing)}: "
            "it is not a libcryptonets.so this package can use"
        )
    declared = dict(SIGNATURES)
    declared.update((name, sig) for name, sig in TESTING_SIGNATURES.items() if hasattr(lib, name))
    for name, (restype, argtypes) in declared.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    abi = lib.cn_abi_version()
    if abi != ABI_VERSION:
        version = (lib.cn_version() or b"?").decode("utf-8", "replace")
        raise ImportError(
            f"cryptonets: {path} has ABI version {abi} (library {version}), but this "
            f"package was written for ABI version {ABI_VERSION}: install the matching "
            f"package, or unset {LIBRARY_ENV}"
        )
    return lib


#: The loaded library, every function declared.
lib: ctypes.CDLL = _load()


def library_version() -> str:
    """The library's version string, ``"MAJOR.MINOR.PATCH"``."""
    raw: bytes = lib.cn_version()
    return raw.decode("ascii")


def last_error() -> str:
    """The message of the last failing call on this thread (``""`` if none)."""
    raw: bytes = lib.cn_last_error()
    return raw.decode("utf-8", "replace") if raw else ""
