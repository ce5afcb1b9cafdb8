"""The cryptonets objects: Model, Manifest, Client, EvaluationKeys, Server,
EncryptedBatch, EncryptedResult."""

from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, byref, c_double, c_int, c_size_t, c_uint8, c_void_p
from typing import Any, Optional, Tuple, Union

from . import _arrays, _ffi
from ._managed import Managed, call_out_object
from .errors import check

__all__ = [
    "Model",
    "Manifest",
    "Client",
    "EvaluationKeys",
    "Server",
    "EncryptedBatch",
    "EncryptedResult",
    "INSECURE_TEST_PARAMS",
]

#: The insecure parameter set for fast tests (NOT secure: never for real data).
INSECURE_TEST_PARAMS = "InsecureN11QP215"

BytesLike = Union[bytes, bytearray, memoryview]
PathLike = Union[str, "os.PathLike[str]"]
#: What names the requests a result answers: the encrypted batch, or its
#: ``request_ids`` bytes.
RequestLike = Union["EncryptedBatch", bytes, bytearray, memoryview]

_lib = _ffi.lib


def _bytes_out(fn: Any, *args: Any) -> bytes:
    """Call a cn_X_serialize-shaped function and return a copy of its buffer, which
    is freed (and zeroed, for secret keys) by the library before returning."""
    ptr = POINTER(c_uint8)()
    n = c_size_t()
    check(fn(byref(ptr), byref(n), *args))
    try:
        return ctypes.string_at(ptr, n.value)
    finally:
        check(_lib.cn_bytes_free(ptr))


def _size(fn: Any, handle: c_void_p) -> int:
    out = c_size_t()
    check(fn(byref(out), handle))
    return out.value


def _h(obj: Any, cls: "type[Managed]", name: str) -> c_void_p:
    """The C handle of an object argument, after checking its type."""
    if not isinstance(obj, cls):
        raise TypeError(f"{name} must be a cryptonets.{cls.__name__}, got {type(obj).__name__}")
    return obj._handle()


def _request_bytes(request: Any) -> bytes:
    """The request identifiers of an EncryptedBatch, or identifiers as given."""
    if isinstance(request, EncryptedBatch):
        return request.request_ids
    if isinstance(request, (bytes, bytearray, memoryview)):
        data = bytes(request)
        if not data or len(data) % _ffi.REQUEST_SIZE:
            raise ValueError(
                f"request must be the EncryptedBatch.request_ids bytes ({_ffi.REQUEST_SIZE} per request), got {len(data)} bytes"
            )
        return data
    raise TypeError(
        f"request must be the cryptonets.EncryptedBatch the result answers or its .request_ids bytes, "
        f"got {type(request).__name__}"
    )


def _params_arg(params: Optional[str]) -> Optional[bytes]:
    if params is None or params == "":
        return None
    if not isinstance(params, str):
        raise TypeError(f"params must be a str naming a parameter set, got {type(params).__name__}")
    return params.encode("utf-8")


def _options(
    params: Optional[str], packing: str, expected_images: int, allow_insecure: bool
) -> "_ffi.CompileOptions":
    """The cn_compile_options for the arguments of manifest()."""
    if not isinstance(packing, str):
        raise TypeError(f"packing must be a str naming a packing, got {type(packing).__name__}")
    if not isinstance(expected_images, int) or isinstance(expected_images, bool) or expected_images < 0:
        raise ValueError(f"expected_images must be an int >= 0, got {expected_images!r}")
    opts = _ffi.CompileOptions()
    opts.struct_size = ctypes.sizeof(_ffi.CompileOptions)
    opts.params = _params_arg(params)
    opts.packing = packing.encode("utf-8")
    opts.expected_images = expected_images
    opts.allow_insecure = int(allow_insecure)
    return opts


def _manifest_options(allow_insecure: bool, max_eval_key_bytes: int = 0) -> "_ffi.ManifestOptions":
    if (
        not isinstance(max_eval_key_bytes, int)
        or isinstance(max_eval_key_bytes, bool)
        or not 0 <= max_eval_key_bytes < 2**63
    ):
        raise ValueError(f"max_eval_key_bytes must be an int >= 0, got {max_eval_key_bytes!r}")
    opts = _ffi.ManifestOptions()
    opts.struct_size = ctypes.sizeof(_ffi.ManifestOptions)
    opts.allow_insecure = int(allow_insecure)
    opts.max_eval_key_bytes = max_eval_key_bytes
    return opts


# ------------------------------------------------------------------- model --


class Model(Managed):
    """A converted network with its weights: the server's (model owner's) object.

    Immutable; safe to share between threads.
    """

    _free_name = "cn_model_free"
    _what = "Model"

    @classmethod
    def load(cls, path: PathLike) -> "Model":
        """Load a model file (``*.cnm``, the output of ``cryptonets convert``).

        Raises :class:`CryptonetsIOError` if the file cannot be read and
        :class:`MalformedError` if it is not a model file.
        """
        return cls._wrap(call_out_object(_lib.cn_model_load, os.fsencode(path)))

    @classmethod
    def from_bytes(cls, data: BytesLike) -> "Model":
        """A model from the bytes of a model file."""
        ptr, n, keep = _arrays.bytes_arg(data)
        return cls._wrap(call_out_object(_lib.cn_model_deserialize, ptr, n))

    def to_bytes(self) -> bytes:
        """The model file's bytes."""
        return _bytes_out(_lib.cn_model_serialize, self._handle())

    __bytes__ = to_bytes

    def manifest(
        self, params: Optional[str] = None, packing: str = "auto", expected_images: int = 0
    ) -> "Manifest":
        """Compile the model and return its public manifest, to send to clients.

        ``packing`` is ``"batch"`` (one image per slot: thousands per request, the
        highest throughput), ``"single"`` (one or a few images per request: the lowest
        latency) or ``"auto"``: the one the cost model expects to be the fastest for
        ``expected_images`` images per request (0: a full batch or more).
        ``params`` names a 128-bit parameter set (``"N13QP215"``, ``"N14QP433"``,
        ``"N13QP215S"`` for single packing); ``None`` picks the smallest one that fits.
        Insecure sets raise :class:`InsecureParametersError` (see
        :meth:`manifest_insecure_for_testing`). A :class:`Server` compiles the same
        plan from the manifest the client's keys were made for.
        """
        opts = _options(params, packing, expected_images, False)
        return Manifest._wrap(call_out_object(_lib.cn_model_compile, self._handle(), byref(opts)))

    @property
    def input_shape(self) -> Tuple[int, int, int]:
        """The shape of one input: (channels, height, width); (1, 28, 28) for MNIST, (n,
        1, 1) for a vector of n values."""
        c, h, w = c_size_t(), c_size_t(), c_size_t()
        check(_lib.cn_model_input_shape(byref(c), byref(h), byref(w), self._handle()))
        return (c.value, h.value, w.value)

    @property
    def outputs(self) -> int:
        """The number of outputs (logits, classes) per input."""
        return _size(_lib.cn_model_outputs, self._handle())

    def predict_plain(self, x: Any) -> Any:
        """Evaluate the model in float64 on plaintext inputs and return their logits:
        the reference every encrypted result is checked against, to measure a
        converted model on your own data before any key exists.

        ``x``: any number of inputs, shaped and checked as :meth:`Client.encrypt`
        takes them (``(n, C*H*W)`` or ``(n, C, H, W)`` as in :attr:`input_shape`,
        every value in the model's input range). Returns a float64 numpy array of shape
        ``(n, outputs)`` (without numpy, a list of n lists of floats).
        """
        handle = self._handle()
        shape = self.input_shape
        px = _arrays.pixels(x, shape)
        size = shape[0] * shape[1] * shape[2]
        classes = self.outputs
        out = _arrays.Logits(px.n, classes, _arrays.have_numpy())
        got = c_size_t()
        check(
            _lib.cn_model_predict_plain(
                out.pointer, px.n * classes, byref(got), handle, px.pointer, px.n, size
            )
        )
        return out.value()

    def manifest_insecure_for_testing(
        self, params: str = INSECURE_TEST_PARAMS, packing: str = "auto", expected_images: int = 0
    ) -> "Manifest":
        """As :meth:`manifest`, but also accepts INSECURE parameter sets
        (``"InsecureN11QP215"``): fast, for tests only, never for real data."""
        opts = _options(params, packing, expected_images, True)
        return Manifest._wrap(call_out_object(_lib.cn_model_compile, self._handle(), byref(opts)))


# ---------------------------------------------------------------- manifest --


class Manifest(Managed):
    """The public description of a compiled model that a client needs: input shape
    and range, CKKS parameters, output layout; nothing of the weights.

    Immutable; safe to share between threads. Its properties are read once, when
    the object is made.
    """

    _free_name = "cn_manifest_free"
    _what = "Manifest"

    _input_shape: Tuple[int, int, int]
    _input_range: Tuple[float, float]
    _outputs: int
    _images_per_batch: int
    _params: str
    _insecure: bool
    _packing: str

    def _own(self, ptr: Optional[int]) -> None:
        super()._own(ptr)
        h = self._handle()
        c, hh, w = c_size_t(), c_size_t(), c_size_t()
        check(_lib.cn_manifest_input_shape(byref(c), byref(hh), byref(w), h))
        self._input_shape = (c.value, hh.value, w.value)
        lo, hi = c_double(), c_double()
        check(_lib.cn_manifest_input_range(byref(lo), byref(hi), h))
        self._input_range = (lo.value, hi.value)
        self._outputs = _size(_lib.cn_manifest_outputs, h)
        self._images_per_batch = _size(_lib.cn_manifest_images_per_batch, h)
        name = ctypes.create_string_buffer(_ffi.PARAMS_NAME_MAX)
        check(_lib.cn_manifest_params_name(name, len(name), h))
        self._params = name.value.decode("utf-8")
        insecure = c_int()
        check(_lib.cn_manifest_insecure(byref(insecure), h))
        self._insecure = bool(insecure.value)
        packing = ctypes.create_string_buffer(_ffi.PACKING_NAME_MAX)
        check(_lib.cn_manifest_packing(packing, len(packing), h))
        self._packing = packing.value.decode("utf-8")

    @classmethod
    def from_bytes(cls, data: BytesLike) -> "Manifest":
        """Validate and load a manifest received from a server. A manifest for
        insecure parameters raises :class:`InsecureParametersError`: a server cannot
        talk a client into weak keys."""
        ptr, n, keep = _arrays.bytes_arg(data)
        opts = _manifest_options(False)
        return cls._wrap(call_out_object(_lib.cn_manifest_deserialize, ptr, n, byref(opts)))

    @classmethod
    def from_bytes_insecure_for_testing(cls, data: BytesLike) -> "Manifest":
        """As :meth:`from_bytes`, but also accepts INSECURE parameters: tests only."""
        ptr, n, keep = _arrays.bytes_arg(data)
        opts = _manifest_options(True)
        return cls._wrap(call_out_object(_lib.cn_manifest_deserialize, ptr, n, byref(opts)))

    def to_bytes(self) -> bytes:
        """The manifest's wire bytes, to send to clients."""
        return _bytes_out(_lib.cn_manifest_serialize, self._handle())

    __bytes__ = to_bytes

    def _with_key_limit(self, max_eval_key_bytes: int) -> "Manifest":
        """A copy of the manifest whose clients make at most that many bytes of
        evaluation keys."""
        data = self.to_bytes()
        ptr, n, keep = _arrays.bytes_arg(data)
        opts = _manifest_options(self._insecure, max_eval_key_bytes)
        return Manifest._wrap(call_out_object(_lib.cn_manifest_deserialize, ptr, n, byref(opts)))

    def _clone(self) -> "Manifest":
        data = self.to_bytes()
        if self._insecure:
            return Manifest.from_bytes_insecure_for_testing(data)
        return Manifest.from_bytes(data)

    @property
    def input_shape(self) -> Tuple[int, int, int]:
        """The shape of one image: (channels, height, width); (1, 28, 28) for MNIST."""
        self._handle()
        return self._input_shape

    @property
    def input_size(self) -> int:
        """The number of values per image (channels * height * width)."""
        c, h, w = self.input_shape
        return c * h * w

    @property
    def input_range(self) -> Tuple[float, float]:
        """(min, max): every input value must lie in it; (0.0, 1.0) for MNIST."""
        self._handle()
        return self._input_range

    @property
    def outputs(self) -> int:
        """The number of logits (classes) per image."""
        self._handle()
        return self._outputs

    @property
    def images_per_batch(self) -> int:
        """The largest number of images one request holds (a batch of more is split
        into several requests)."""
        self._handle()
        return self._images_per_batch

    @property
    def params(self) -> str:
        """The name of the CKKS parameter set (e.g. ``"N13QP215"``)."""
        self._handle()
        return self._params

    @property
    def insecure(self) -> bool:
        """True for an insecure (test-only) parameter set."""
        self._handle()
        return self._insecure

    @property
    def packing(self) -> str:
        """``"batch"`` or ``"single"``: how the plan lays images out in ciphertexts."""
        self._handle()
        return self._packing

    def _describe(self) -> str:
        c, h, w = self._input_shape
        extra = " INSECURE" if self._insecure else ""
        return (
            f"params={self._params}{extra} packing={self._packing} input={c}x{h}x{w} "
            f"outputs={self._outputs} images_per_batch={self._images_per_batch}"
        )


# ------------------------------------------------------------------ client --


class Client(Managed):
    """The data owner: a secret key bound to one manifest. Makes the evaluation
    keys, encrypts images, decrypts results.

    ``Client(manifest)`` generates a fresh secret key; :meth:`restore` rebuilds a
    client from an exported one. The client keeps its own copy of the manifest
    (:attr:`manifest`). Calls on one client are serialized by a lock in the library.

    A fresh client costs milliseconds with batch packing: make one per job. Whether a
    result passes its integrity check depends on decrypted values, so a malicious
    server that learns of failures learns about the key; after an
    :class:`IntegrityError`, make a new client (docs/security.md).

    ``max_eval_key_bytes``: the largest evaluation keys, in serialized bytes, the
    client accepts to make for the manifest (which comes from the server); a
    manifest that asks for more raises :class:`LimitError`. 0: the default, 1 GiB.
    """

    _free_name = "cn_client_free"
    _what = "Client"

    def __init__(self, manifest: Manifest, *, max_eval_key_bytes: int = 0) -> None:
        """A client with a fresh secret key for ``manifest``'s parameters."""
        _h(manifest, Manifest, "manifest")
        limited = manifest._with_key_limit(max_eval_key_bytes)
        try:
            self._own(call_out_object(_lib.cn_client_new, limited._handle()))
        finally:
            limited.close()
        self._manifest = manifest._clone()

    @classmethod
    def restore(
        cls, manifest: Manifest, secret_key: BytesLike, *, max_eval_key_bytes: int = 0
    ) -> "Client":
        """A client from a secret key exported by :meth:`export_secret_key` for the
        same manifest's parameters (:class:`MismatchError` otherwise;
        :class:`MalformedError` for bytes that are not a secret key)."""
        ptr, n, keep = _arrays.bytes_arg(secret_key)
        _h(manifest, Manifest, "manifest")
        limited = manifest._with_key_limit(max_eval_key_bytes)
        self = cls.__new__(cls)
        try:
            self._own(call_out_object(_lib.cn_client_restore, limited._handle(), ptr, n))
        finally:
            limited.close()
        self._manifest = manifest._clone()
        return self

    @property
    def manifest(self) -> Manifest:
        """The client's manifest (closed with the client)."""
        self._handle()
        return self._manifest

    def close(self) -> None:
        super().close()
        m = getattr(self, "_manifest", None)
        if m is not None:
            m.close()

    def export_secret_key(self) -> bytes:
        """The SECRET key, to store with the data owner's secrets and restore with
        :meth:`restore`. Never send it to the server. (The library zeroes its own
        copy; the returned ``bytes`` cannot be zeroed: keep it short-lived.)"""
        return _bytes_out(_lib.cn_client_export_secret_key, self._handle())

    def evaluation_keys(self) -> "EvaluationKeys":
        """The public evaluation keys the server needs (send ``keys.to_bytes()``)."""
        keys = EvaluationKeys._wrap(call_out_object(_lib.cn_client_eval_keys, self._handle()))
        keys._params, keys._insecure = self._manifest.params, self._manifest.insecure
        return keys

    def encrypt(self, images: Any) -> "EncryptedBatch":
        """Encrypt any number of images.

        ``images``: shape ``(n, C*H*W)`` or ``(n, C, H, W)`` as in
        :attr:`Manifest.input_shape` (MNIST: ``(n, 784)`` or ``(n, 1, 28, 28)``,
        pixel/255), any ``n >= 1``: the library splits them into requests of
        :attr:`Manifest.images_per_batch` images (:attr:`EncryptedBatch.requests`),
        which travel as one upload. A numpy array of any real dtype (passed to the
        library as one float64 buffer), any buffer of doubles (``memoryview``,
        ``array('d')``, bytes of native doubles; flat buffers hold n whole images), or
        nested sequences of numbers. Every request is in memory at once (each a few
        hundred MB under batch packing at 128-bit parameters).

        Raises :class:`InvalidArgumentError` (a ``ValueError``) for a wrong shape
        (naming the expected one), or a value outside :attr:`Manifest.input_range`
        (naming the image and the value); nothing is encrypted then.
        """
        handle = self._handle()
        m = self._manifest
        px = _arrays.pixels(images, m.input_shape)
        ptr = call_out_object(_lib.cn_client_encrypt, handle, px.pointer, px.n, m.input_size)
        batch = EncryptedBatch._wrap(ptr)
        return batch

    def decrypt(self, result: "EncryptedResult", request: "RequestLike") -> Any:
        """Decrypt a result (every request of the batch it answers) into logits: one
        float64 numpy array of shape ``(n, classes)``, the images in the order they
        were encrypted, or, without numpy, a list of n lists of floats. ``request``
        names the batch the result answers: the :class:`EncryptedBatch`, or its
        :attr:`EncryptedBatch.request_ids` bytes.

        A result for other requests raises :class:`MismatchError`; one that fails
        the integrity check (another key, tampered with, an image count changed,
        another request's result relabelled) raises :class:`IntegrityError` rather
        than giving wrong numbers.

        SECURITY: CKKS decryptions leak information about the secret key to whoever
        also sees the ciphertexts (Li-Micciancio 2021). Keep the logits on the client;
        share only labels (:meth:`decrypt_labels`).
        """
        handle = self._handle()
        rh = _h(result, EncryptedResult, "result")
        req = _request_bytes(request)
        rp, rn, keep = _arrays.bytes_arg(req)
        n, k = c_size_t(), c_size_t()
        status = _lib.cn_client_decrypt(None, 0, byref(n), byref(k), handle, rp, rn, rh)
        if status != _ffi.CN_E_BUFFER_TOO_SMALL:
            check(status)
        out = _arrays.Logits(n.value, k.value, _arrays.have_numpy())
        check(
            _lib.cn_client_decrypt(
                out.pointer, n.value * k.value, byref(n), byref(k), handle, rp, rn, rh
            )
        )
        return out.value()

    def decrypt_labels(self, result: "EncryptedResult", request: "RequestLike") -> Any:
        """The predicted class of each image of the result of ``request`` (argmax of
        the logits, see :meth:`decrypt`): a numpy integer array, or a list of ints
        without numpy. Labels are what is safe to share."""
        return _arrays.argmax_rows(self.decrypt(result, request))

    def _describe(self) -> str:
        return f"params={self._manifest._params}"


# --------------------------------------------------------- evaluation keys --


class EvaluationKeys(Managed):
    """The public keys a server needs to evaluate on one client's ciphertexts.

    Immutable; safe to share between threads. Holds no secret.
    """

    _free_name = "cn_eval_keys_free"
    _what = "EvaluationKeys"
    _params: str = ""
    _insecure: bool = False

    @classmethod
    def from_bytes(cls, data: BytesLike, manifest: Manifest) -> "EvaluationKeys":
        """Validate keys received from a client against the manifest they are for
        (the server's ``model.manifest(...)``); keys for other parameters raise
        :class:`MismatchError`."""
        ptr, n, keep = _arrays.bytes_arg(data)
        keys = cls._wrap(
            call_out_object(
                _lib.cn_eval_keys_deserialize, _h(manifest, Manifest, "manifest"), ptr, n
            )
        )
        keys._params, keys._insecure = manifest.params, manifest.insecure
        return keys

    def to_bytes(self) -> bytes:
        """The keys' wire bytes, to send to the server."""
        return _bytes_out(_lib.cn_eval_keys_serialize, self._handle())

    __bytes__ = to_bytes

    @property
    def params(self) -> str:
        """The name of the parameter set the keys were made for."""
        self._handle()
        return self._params


# ------------------------------------------------------------------ server --


class Server(Managed):
    """A compiled model plus one client's evaluation keys: the model owner's
    evaluator. Holds no secret and has no way to take one.

    Safe to share between threads: concurrent predictions run independently.
    """

    _free_name = "cn_server_free"
    _what = "Server"

    def __init__(self, model: Model, keys: EvaluationKeys) -> None:
        """Compile ``model`` into the plan of the manifest the client's evaluation
        ``keys`` were made for (its packing, parameters and images per request) and
        bind the keys. :class:`MismatchError` if the model does not compile to that
        plan. An insecure manifest is accepted only if it was made or read with the
        ``*_insecure_for_testing`` opt-in."""
        ptr = call_out_object(
            _lib.cn_server_new, _h(model, Model, "model"), _h(keys, EvaluationKeys, "keys")
        )
        self._own(ptr)
        try:
            self._manifest = Manifest._wrap(call_out_object(_lib.cn_server_manifest, c_void_p(ptr)))
        except BaseException:
            self.close()
            raise

    @property
    def manifest(self) -> Manifest:
        """The manifest of the server's plan: decode incoming batches with it, or send
        it to clients (closed with the server)."""
        self._handle()
        return self._manifest

    def close(self) -> None:
        super().close()
        m = getattr(self, "_manifest", None)
        if m is not None:
            m.close()

    def predict(self, batch: "EncryptedBatch") -> "EncryptedResult":
        """Evaluate the network on every request of an encrypted batch, in order.

        The batch is left as it was (each request is evaluated on a copy): it can be
        predicted again or serialized afterwards. A batch made for another plan or
        parameters raises :class:`MismatchError`.
        """
        return EncryptedResult._wrap(
            call_out_object(
                _lib.cn_server_predict, self._handle(), _h(batch, EncryptedBatch, "batch")
            )
        )

    def predict_bytes(self, batch: BytesLike) -> bytes:
        """Bytes in, bytes out: decode an encrypted batch with :attr:`manifest`,
        evaluate it and return the encrypted result's bytes."""
        with EncryptedBatch.from_bytes(batch, self.manifest) as b:
            with self.predict(b) as r:
                return r.to_bytes()

    def _describe(self) -> str:
        return f"params={self._manifest._params}"


# ------------------------------------------------------- encrypted objects --


class _EncryptedSequence(Managed):
    """What encrypted batches and results share: one request's envelope or a
    sequence of several, validated against a manifest; immutable. ``_prefix`` names
    the C functions (``<prefix>_deserialize``, ``_serialize``, ``_images``,
    ``_requests``, ``_free``)."""

    _prefix = ""

    def _c(self, name: str):
        return getattr(_lib, f"{self._prefix}_{name}")

    @classmethod
    def from_bytes(cls, data: BytesLike, manifest: Manifest):
        """Validate the bytes made for ``manifest`` (:class:`MismatchError` for
        another plan or parameters, :class:`MalformedError` if malformed)."""
        ptr, n, keep = _arrays.bytes_arg(data)
        deserialize = getattr(_lib, f"{cls._prefix}_deserialize")
        return cls._wrap(call_out_object(deserialize, _h(manifest, Manifest, "manifest"), ptr, n))

    def to_bytes(self) -> bytes:
        """The wire bytes, to send to the other side."""
        return _bytes_out(self._c("serialize"), self._handle())

    __bytes__ = to_bytes

    @property
    def images(self) -> int:
        """The number of images, all requests together."""
        return _size(self._c("images"), self._handle())

    @property
    def requests(self) -> int:
        """The number of requests the images take."""
        return _size(self._c("requests"), self._handle())

    def __len__(self) -> int:
        return self.images


class EncryptedBatch(_EncryptedSequence):
    """Encrypted images, client to server: any number of them, in requests of
    :attr:`Manifest.images_per_batch` images (large: hundreds of MB per request at 128
    bits under batch packing). Its bytes are one request's envelope, or a sequence of
    several. Immutable."""

    _prefix = "cn_encrypted_batch"
    _free_name = "cn_encrypted_batch_free"
    _what = "EncryptedBatch"

    @property
    def request_ids(self) -> bytes:
        """The identifiers of the batch's requests (``REQUEST_SIZE`` bytes each, in
        order; not secret): keep them to decrypt the result (:meth:`Client.decrypt`)."""
        buf = (c_uint8 * (_ffi.REQUEST_SIZE * self.requests))()
        check(_lib.cn_encrypted_batch_request_ids(buf, len(buf), self._handle()))
        return bytes(buf)


class EncryptedResult(_EncryptedSequence):
    """Encrypted logits, server to client: the results of a batch's requests
    (validated against the client's manifest)."""

    _prefix = "cn_encrypted_result"
    _free_name = "cn_encrypted_result_free"
    _what = "EncryptedResult"
