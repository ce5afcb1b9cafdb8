"""Moving pixels in and logits out: one pointer for a whole batch, never a call per
value. numpy is optional."""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_double, c_uint8
from itertools import chain
from typing import Any, List, Optional, Sequence, Tuple

from .errors import InvalidArgumentError

try:  # numpy is optional
    import numpy as _np
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
    _np = None  # type: ignore[assignment]

np: Any = _np

_DOUBLE_FORMATS = {"d", "<d", "=d", "@d"}
_BYTE_FORMATS = {"B", "b", "c", "<B", "=B", "@B"}

Shape = Tuple[int, int, int]


def have_numpy() -> bool:
    """True if numpy could be imported."""
    return np is not None


def _expected(shape: Shape) -> str:
    c, h, w = shape
    return f"(n, {c * h * w}) or (n, {c}, {h}, {w})"


def _check_shape(got: Tuple[int, ...], shape: Shape) -> int:
    """Return n if got is (n, C*H*W) or (n, C, H, W); raise ValueError otherwise."""
    c, h, w = shape
    if (len(got) == 2 and got[1] == c * h * w) or (len(got) == 4 and tuple(got[1:]) == shape):
        n = int(got[0])
        if n < 1:
            raise InvalidArgumentError(
                f"images has shape {tuple(got)}: no images; encrypt takes 1 or more images of "
                f"shape {_expected(shape)}"
            )
        return n
    raise InvalidArgumentError(
        f"images has shape {tuple(got)}, expected {_expected(shape)}: n images of "
        f"{c}x{h}x{w} channel-major values (a single image x needs a batch axis: [x])"
    )


class Pixels:
    """A C-contiguous float64 buffer of n images, and what keeps it alive."""

    def __init__(self, pointer: Any, n: int, keep: Any) -> None:
        self.pointer = pointer
        self.n = n
        self._keep = keep


def _from_numpy(arr: Any, shape: Shape) -> Pixels:
    n = _check_shape(arr.shape, shape)
    if arr.dtype.kind not in "fiub":
        raise InvalidArgumentError(f"images has dtype {arr.dtype}, expected real numbers")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    return Pixels(arr.ctypes.data_as(POINTER(c_double)), n, arr)


def _from_buffer(view: memoryview, shape: Shape) -> Pixels:
    size = shape[0] * shape[1] * shape[2]
    if view.format in _BYTE_FORMATS:  # raw bytes: native-endian doubles
        if view.nbytes % 8:
            raise InvalidArgumentError(
                f"images is a buffer of {view.nbytes} bytes, not a whole number of doubles"
            )
        count = view.nbytes // 8
        got: Tuple[int, ...] = (count // size, size) if count % size == 0 else (count,)
    else:
        count = view.nbytes // 8
        got = tuple(view.shape or ())
        if len(got) == 1:
            got = (got[0] // size, size) if got[0] % size == 0 else got
    n = _check_shape(got, shape)
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    flat = view.cast("B")
    array_type = c_double * (n * size)
    if flat.readonly:
        arr = array_type.from_buffer_copy(flat)
    else:
        arr = array_type.from_buffer(flat)
    return Pixels(ctypes.cast(arr, POINTER(c_double)), n, (arr, flat))


def _nested_shape(seq: Any) -> Tuple[int, ...]:
    dims = []
    x = seq
    while isinstance(x, Sequence) and not isinstance(x, (str, bytes)):
        dims.append(len(x))
        if not len(x):
            break
        x = x[0]
    return tuple(dims)


def _from_sequence(seq: Any, shape: Shape) -> Pixels:
    got = _nested_shape(seq)
    n = _check_shape(got, shape)
    rows: List[Any] = list(seq)
    for want in got[1:]:  # check each level's lengths, then go one level down
        for r in rows:
            if isinstance(r, (str, bytes)) or not isinstance(r, Sequence) or len(r) != want:
                raise InvalidArgumentError(f"images is ragged: expected {_expected(shape)}")
        rows = list(chain.from_iterable(rows))
    size = shape[0] * shape[1] * shape[2]
    if len(rows) != n * size:  # pragma: no cover - guaranteed by the checks above
        raise InvalidArgumentError(f"images holds {len(rows)} values, expected {n * size}")
    try:
        arr = (c_double * (n * size))(*rows)
    except TypeError as exc:
        raise InvalidArgumentError(f"images must hold real numbers: {exc}") from None
    return Pixels(ctypes.cast(arr, POINTER(c_double)), n, arr)


def pixels(images: Any, shape: Shape) -> Pixels:
    """The images as one float64 buffer: a numpy array (any real dtype, converted
    once), any buffer (memoryview, array('d'), bytes of native doubles), or nested
    sequences of numbers."""
    if np is not None and isinstance(images, np.ndarray):
        return _from_numpy(images, shape)
    try:
        view: Optional[memoryview] = memoryview(images)
    except TypeError:
        view = None
    if view is not None:
        if view.format in _DOUBLE_FORMATS or view.format in _BYTE_FORMATS:
            return _from_buffer(view, shape)
        if np is not None:
            return _from_numpy(np.asarray(view), shape)
        return _from_sequence(view.tolist(), shape)
    if np is not None:
        try:
            arr = np.asarray(images, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(
                f"images cannot be read as numbers of shape {_expected(shape)}: {exc}"
            ) from None
        return _from_numpy(arr, shape)
    return _from_sequence(images, shape)


def _batch_shape(dims: Tuple[int, ...], what: str) -> Shape:
    """The shape of one image of a batch of dimensions (n, C*H*W) or (n, C, H, W)."""
    if len(dims) == 4:
        return (int(dims[1]), int(dims[2]), int(dims[3]))
    if len(dims) == 2:
        return (int(dims[1]), 1, 1)
    raise InvalidArgumentError(
        f"{what} has shape {tuple(dims)}, expected (n, C*H*W) or (n, C, H, W): n images "
        "of channel-major values"
    )


def image_batch(images: Any, what: str) -> Tuple[Pixels, int]:
    """n images whose shape the library checks, (n, C*H*W) or (n, C, H, W), as one
    float64 buffer; returns it and the number of values per image. Accepts what
    :func:`pixels` accepts, except flat buffers (their image size is unknown)."""
    if np is not None and not isinstance(images, np.ndarray):
        try:
            images = np.asarray(images, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(
                f"{what} cannot be read as an array of numbers: {exc}"
            ) from None
    if np is not None:
        dims: Tuple[int, ...] = tuple(images.shape)
    else:
        try:
            dims = tuple(memoryview(images).shape or ())
        except TypeError:
            dims = _nested_shape(images)
    shape = _batch_shape(dims, what)
    if dims[0] == 0:
        raise InvalidArgumentError(f"{what} has shape {dims}: no images")
    return pixels(images, shape), shape[0] * shape[1] * shape[2]


class Logits:
    """A float64 output buffer of n x classes, as numpy or as ctypes."""

    def __init__(self, n: int, classes: int, as_numpy: bool) -> None:
        self.n, self.classes = n, classes
        if as_numpy:
            self._array: Any = np.empty((n, classes), dtype=np.float64)
            self.pointer = self._array.ctypes.data_as(POINTER(c_double))
        else:
            self._array = (c_double * (n * classes))()
            self.pointer = ctypes.cast(self._array, POINTER(c_double))

    def value(self) -> Any:
        if isinstance(self._array, ctypes.Array):
            k = self.classes
            flat = self._array
            return [flat[i * k : (i + 1) * k] for i in range(self.n)]
        return self._array


def argmax_rows(logits: Any) -> Any:
    """The index of the largest value of each row (numpy array or lists)."""
    if np is not None and isinstance(logits, np.ndarray):
        return logits.argmax(axis=1)
    return [max(range(len(row)), key=row.__getitem__) for row in logits]


def bytes_arg(data: Any) -> Tuple[Any, int, Any]:
    """A (uint8_t pointer, length, keep-alive) for bytes-like data, without a copy
    for bytes and writable buffers."""
    if isinstance(data, bytes):
        return ctypes.cast(ctypes.c_char_p(data), POINTER(c_uint8)), len(data), data
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"expected bytes-like data, got {type(data).__name__}") from None
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    flat = view.cast("B")
    n = flat.nbytes
    array_type = c_uint8 * n
    arr = array_type.from_buffer_copy(flat) if flat.readonly else array_type.from_buffer(flat)
    return ctypes.cast(arr, POINTER(c_uint8)), n, (arr, flat)
