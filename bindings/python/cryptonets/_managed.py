"""The base class of every object that owns a library handle."""

from __future__ import annotations

import threading
from ctypes import c_void_p
from typing import Any, Callable, ClassVar, Optional, TypeVar

from .errors import ClosedError, check

_Self = TypeVar("_Self", bound="Managed")


class Managed:
    """Owns one opaque C object and frees it exactly once.

    ``close()`` is idempotent; ``with`` closes on exit; ``__del__`` closes what the
    program forgot. Any use after ``close()`` raises :class:`ClosedError`.
    """

    #: The cn_X_free function of the subclass's C type.
    _free_name: ClassVar[str] = ""
    #: What the object is called in messages.
    _what: ClassVar[str] = "object"

    _ptr: Optional[int] = None

    def __init__(self) -> None:
        raise TypeError(
            f"{type(self).__name__} objects are made by the cryptonets API "
            "(load, from_bytes, ...), not by calling the class"
        )

    @classmethod
    def _wrap(cls: type[_Self], ptr: Optional[int]) -> _Self:
        """A new Python object owning the C object at ptr."""
        self = cls.__new__(cls)
        self._own(ptr)
        return self

    def _own(self, ptr: Optional[int]) -> None:
        """Take ownership of the C object at ptr (called once, by a constructor)."""
        if not ptr:
            from .errors import InternalError

            raise InternalError(f"the library returned a NULL {self._what} without an error")
        self._lock = threading.Lock()
        self._ptr = ptr

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._ptr is None

    def _handle(self) -> c_void_p:
        """The C pointer, for a call; ClosedError after close()."""
        ptr = self._ptr
        if ptr is None:
            raise ClosedError(
                f"this {self._what} is closed: it cannot be used after close() or its 'with' block"
            )
        return c_void_p(ptr)

    def close(self) -> None:
        """Free the C object now. Safe to call more than once."""
        lock = getattr(self, "_lock", None)
        if lock is None:  # __init__ never ran (a failed factory)
            return
        with lock:
            ptr, self._ptr = self._ptr, None
        if ptr is not None:
            from . import _ffi

            check(getattr(_ffi.lib, self._free_name)(c_void_p(ptr)))

    def __enter__(self: _Self) -> _Self:
        self._handle()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - nothing sensible to do in a finalizer
            pass

    def __reduce__(self) -> Any:
        raise TypeError(
            f"a cryptonets {type(self).__name__} cannot be pickled or copied: it owns a "
            "library object; send to_bytes() and rebuild it with from_bytes()"
        )

    def __repr__(self) -> str:
        state = "closed" if self._ptr is None else self._describe()
        return f"<cryptonets.{type(self).__name__} {state}>"

    def _describe(self) -> str:
        return "open"


def call_out_object(fn: Callable[..., int], *args: Any) -> int:
    """Call a cn_* function whose first argument is an object out-parameter; return
    the new C pointer (raises on failure)."""
    from ctypes import byref

    out = c_void_p()
    check(fn(byref(out), *args))
    return out.value  # type: ignore[return-value]
