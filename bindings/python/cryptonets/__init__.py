"""cryptonets: neural-network inference on homomorphically encrypted data.

CryptoNets batch packing on CKKS (Lattigo), through the C API of
``libcryptonets.so`` (``include/cryptonets.h``). The data owner (:class:`Client`)
holds the secret key; the model owner (:class:`Server`) only ever gets the
evaluation keys and ciphertexts, as bytes::

    import numpy as np
    import cryptonets as cn

    model = cn.Model.load("models/mnist/mnist_cryptonets.cnm")   # server side
    manifest = model.manifest()                                 # 128-bit parameters
    client = cn.Client(manifest)                                # secret key stays here
    server = cn.Server(model, client.evaluation_keys())
    batch = client.encrypt(images)               # (n, 784) or (n, 1, 28, 28), in [0, 1]
    logits = client.decrypt(server.predict(batch), batch)       # (n, 10)
    labels = logits.argmax(axis=1)

Networks trained the ordinary way are converted from ONNX with :func:`convert`, or
straight from a PyTorch module with :func:`from_torch` (ReLU and friends become
polynomials fitted on calibration images)::

    model = cn.convert("net.onnx", calibration=train_images[:500])  # (n, 1, 28, 28)

A model served by ``cryptonets serve`` is used through :mod:`cryptonets.remote`::

    svc = cn.remote.connect("http://localhost:8080", token=token)
    labels = svc.predict("mnist", images)     # any number of images

Everything that travels has ``to_bytes()`` and ``from_bytes(...)``. Every object has
``close()`` and works as a context manager. Errors are :class:`CryptonetsError`
subclasses carrying the library's message. Insecure parameters (fast tests only)
are reachable only through the functions named ``*_insecure_for_testing``.

The bundled ``_lib/libcryptonets.so`` is used unless ``CRYPTONETS_LIBRARY`` names
another one. It contains the Go runtime: do not ``fork()`` a process that has
imported cryptonets and go on using it in the child (use ``spawn`` for
multiprocessing).
"""

from __future__ import annotations

from . import _ffi, remote
from ._api import (
    INSECURE_TEST_PARAMS,
    Client,
    EncryptedBatch,
    EncryptedResult,
    EvaluationKeys,
    Manifest,
    Model,
    Server,
)
from ._convert import convert, from_torch
from ._finetune import finetune
from .errors import (
    BufferTooSmallError,
    ClosedError,
    CryptonetsError,
    CryptonetsIOError,
    InsecureParametersError,
    IntegrityError,
    InternalError,
    InvalidArgumentError,
    LimitError,
    MalformedError,
    MismatchError,
    UnsupportedError,
    check,
)

#: The package's version: include/cryptonets.h's, which is also the library's, the
#: CMake package's and the cryptonets command's (tests/test_version.py checks).
__version__ = "0.1.0"

#: The ABI version of libcryptonets this package was written for (checked on import).
ABI_VERSION = _ffi.ABI_VERSION


def library_version() -> str:
    """The loaded library's version, ``"MAJOR.MINOR.PATCH"``."""
    return _ffi.library_version()


def library_path() -> str:
    """The path of the loaded library (the bundled one unless
    ``CRYPTONETS_LIBRARY`` is set)."""
    return str(_ffi.library_path())


__all__ = [
    "ABI_VERSION",
    "INSECURE_TEST_PARAMS",
    "BufferTooSmallError",
    "Client",
    "ClosedError",
    "CryptonetsError",
    "CryptonetsIOError",
    "EncryptedBatch",
    "EncryptedResult",
    "EvaluationKeys",
    "InsecureParametersError",
    "IntegrityError",
    "InternalError",
    "InvalidArgumentError",
    "LimitError",
    "MalformedError",
    "Manifest",
    "MismatchError",
    "Model",
    "Server",
    "UnsupportedError",
    "check",
    "convert",
    "finetune",
    "from_torch",
    "library_path",
    "library_version",
    "remote",
]
