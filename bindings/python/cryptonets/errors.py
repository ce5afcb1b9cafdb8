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
    "FormatError",
    "ParameterMismatchError",
    "InsecureParametersError",
    "CryptonetsIOError",
    "BufferTooSmallError",
    "InternalError",
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
    model's input range, an unknown parameter set, a consumed batch ...)."""

    code = _ffi.CN_E_INVALID_ARGUMENT


class FormatError(CryptonetsError, ValueError):
    """``CN_E_FORMAT``: bytes that are not a valid object of the expected kind
    (bad magic, truncated, corrupted), or a result that does not decrypt to plausible
    values (another client's result)."""

    code = _ffi.CN_E_FORMAT


class ParameterMismatchError(CryptonetsError, ValueError):
    """``CN_E_PARAMETER_MISMATCH``: a valid object made for other CKKS parameters,
    another model plan, or of another kind."""

    code = _ffi.CN_E_PARAMETER_MISMATCH


class InsecureParametersError(CryptonetsError):
    """``CN_E_INSECURE_PARAMETERS``: insecure parameters outside the
    ``*_insecure_for_testing`` functions."""

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


class ClosedError(CryptonetsError, ValueError):
    """An object was used after :meth:`close` (or after the ``with`` block)."""


_BY_CODE: Dict[int, Type[CryptonetsError]] = {
    int(cls.code or 0): cls
    for cls in (
        InvalidArgumentError,
        FormatError,
        ParameterMismatchError,
        InsecureParametersError,
        CryptonetsIOError,
        BufferTooSmallError,
        InternalError,
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
