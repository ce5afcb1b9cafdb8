"""The exception hierarchy, one class per status code of the C API.

Every call into the library goes through :func:`check`, which turns a non-zero
status into the matching exception carrying the library's own message
(``cn_last_error()``, e.g. ``"cn_client_encrypt: batch: image 3 has value 1.5
outside [0, 1]"``).
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from . import _ffi

__all__ = [
    "CryptonetsError",
    "InvalidArgumentError",
    "MalformedError",
    "MismatchError",
    "InsecureParametersError",
    "CryptonetsIOError",
    "BufferTooSmallError",
    "InternalError",
    "IntegrityError",
    "LimitError",
    "UnsupportedError",
    "ClosedError",
    "check",
]


class CryptonetsError(Exception):
    """Base class of every error raised by cryptonets.

    ``code`` is the C status (a negative ``CN_E_*`` value), or ``None`` for errors
    found by the Python layer itself; ``message`` the text.
    """

    code: Optional[int] = None

    def __init__(self, message: str, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidArgumentError(CryptonetsError, ValueError):
    """``CN_E_INVALID_ARGUMENT``: a bad argument (wrong shape, a value outside the
    model's input range, an unknown parameter set ...)."""

    code = _ffi.CN_E_INVALID_ARGUMENT


class MalformedError(CryptonetsError, ValueError):
    """``CN_E_MALFORMED``: bytes or a file that are not a valid object of the
    expected kind (bad magic, truncated, extended, corrupted)."""

    code = _ffi.CN_E_MALFORMED


class MismatchError(CryptonetsError, ValueError):
    """``CN_E_MISMATCH``: a valid object made for something else: other CKKS
    parameters, another model plan, another kind of object, another request."""

    code = _ffi.CN_E_MISMATCH


class InsecureParametersError(CryptonetsError):
    """``CN_E_INSECURE_PARAMETERS``: insecure parameters without the explicit
    ``*_insecure_for_testing`` opt-in."""

    code = _ffi.CN_E_INSECURE_PARAMETERS


class CryptonetsIOError(CryptonetsError, OSError):
    """``CN_E_IO``: a file could not be opened or read."""

    code = _ffi.CN_E_IO

    def __str__(self) -> str:  # OSError's own __str__ would hide the message
        return self.message


class BufferTooSmallError(CryptonetsError):
    """``CN_E_BUFFER_TOO_SMALL``: a caller buffer was too small (a bug in this
    package if it ever reaches you)."""

    code = _ffi.CN_E_BUFFER_TOO_SMALL


class InternalError(CryptonetsError):
    """``CN_E_INTERNAL``: a bug in the library (a recovered Go panic). The process
    goes on; close the objects the failing call used."""

    code = _ffi.CN_E_INTERNAL


class IntegrityError(CryptonetsError):
    """``CN_E_INTEGRITY``: a decrypted result failed its integrity check (another
    client's result, a tampered or replayed one). No logits are returned."""

    code = _ffi.CN_E_INTEGRITY


class LimitError(CryptonetsError):
    """``CN_E_LIMIT``: the input would take more memory, time or space than the
    library allows."""

    code = _ffi.CN_E_LIMIT


class UnsupportedError(CryptonetsError):
    """``CN_E_UNSUPPORTED``: a well-formed model or request the library cannot
    evaluate (an operator, a shape, a network too deep for the packing asked for)."""

    code = _ffi.CN_E_UNSUPPORTED


class ClosedError(CryptonetsError, ValueError):
    """An object was used after :meth:`close` (or after the ``with`` block)."""


_BY_CODE: Dict[int, Type[CryptonetsError]] = {
    int(cls.code or 0): cls
    for cls in (
        InvalidArgumentError,
        MalformedError,
        MismatchError,
        InsecureParametersError,
        CryptonetsIOError,
        BufferTooSmallError,
        InternalError,
        IntegrityError,
        LimitError,
        UnsupportedError,
    )
}


def error_for(status: int) -> CryptonetsError:
    """The exception for a failed call's status, with this thread's last message."""
    message = _ffi.last_error() or f"cryptonets call failed with status {status}"
    cls = _BY_CODE.get(status)
    if cls is None:
        return CryptonetsError(f"{message} (unknown status {status})", status)
    return cls(message, status)


def check(status: int) -> None:
    """Raise the exception matching a C status; return if it is ``CN_OK``.

    Call it right after the call that returned ``status``, on the same thread: the
    library's message is thread-local.
    """
    if status != _ffi.CN_OK:
        raise error_for(status)
