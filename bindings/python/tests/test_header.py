"""The ctypes declarations in cryptonets._ffi match include/cryptonets.h."""

from __future__ import annotations

import ctypes
import re
from typing import Any, Dict, List, Tuple

import pytest

from cryptonets import _ffi
from conftest import HEADER

DECL = re.compile(r"CN_API\s+(?P<ret>[^;(]*?)\s*\b(?P<name>cn_\w+)\s*\((?P<args>[^)]*)\)\s*;", re.S)


def c_kind(decl: str) -> str:
    """pointer / size_t / double / int for a C parameter or return type."""
    decl = re.sub(r"\b(const|struct)\b", " ", decl)
    if "*" in decl:
        return "pointer"
    words = decl.split()
    for kind in ("size_t", "double", "int"):
        if kind in words:
            return kind
    raise AssertionError(f"unexpected C type {decl!r}")


def c_pointee(decl: str) -> str:
    """What a pointer parameter points to: double, size_t, int, uint8_t, char, object
    (an opaque cn_* type), a struct type by name, with one '*' per extra level."""
    decl = re.sub(r"\b(const|struct)\b", " ", decl)
    stars = decl.count("*")
    base = decl.replace("*", " ").split()[0]
    if base.startswith("cn_") and base not in parse_structs():
        base = "object"
    return base + "*" * (stars - 1)


def parse_header() -> Dict[str, Tuple[str, List[str]]]:
    text = re.sub(r"/\*.*?\*/", " ", HEADER.read_text(), flags=re.S)
    out = {}
    for m in DECL.finditer(text):
        args = [a.strip() for a in m["args"].split(",")]
        if args == ["void"]:
            args = []
        assert m["name"] not in out, f"{m['name']} declared twice"
        out[m["name"]] = (m["ret"].strip(), args)
    return out


_SCALARS = {ctypes.c_size_t: "size_t", ctypes.c_double: "double", ctypes.c_int: "int"}


def py_kind(t: Any) -> str:
    if t in _SCALARS:
        return _SCALARS[t]
    if t in (ctypes.c_void_p, ctypes.c_char_p) or issubclass(t, ctypes._Pointer):
        return "pointer"
    raise AssertionError(f"unexpected ctypes type {t}")


def py_pointee(t: Any) -> str:
    if t is ctypes.c_char_p:
        return "char"
    if t is ctypes.c_void_p:
        return "object"
    target = t._type_
    if isinstance(target, type) and issubclass(target, ctypes.Structure):
        return str(target._c_name_)
    if target is ctypes.c_void_p:  # cn_X **
        return "object*"
    if issubclass(target, ctypes._Pointer):
        return py_pointee(target) + "*"
    names = {
        ctypes.c_uint8: "uint8_t",
        ctypes.c_double: "double",
        ctypes.c_size_t: "size_t",
        ctypes.c_int: "int",
        ctypes.c_char: "char",
    }
    return names[target]


STRUCT = re.compile(r"typedef\s+struct\s+(?P<name>cn_\w+)\s*\{(?P<body>[^}]*)\}\s*(?P=name)\s*;", re.S)


def parse_structs() -> Dict[str, List[Tuple[str, str]]]:
    """The public structs of the header: name -> [(field, C type kind)]."""
    text = re.sub(r"/\*.*?\*/", " ", HEADER.read_text(), flags=re.S)
    out = {}
    for m in STRUCT.finditer(text):
        fields = []
        for decl in filter(None, (d.strip() for d in m["body"].split(";"))):
            field = re.findall(r"\w+", decl)[-1]
            fields.append((field, c_kind(decl[: decl.rindex(field)])))
        out[m["name"]] = fields
    return out


def test_structs_match_header() -> None:
    structs = parse_structs()
    assert sorted(structs) == ["cn_compile_options"]
    fields = [(name, py_kind(t)) for name, t in _ffi.CompileOptions._fields_]
    assert fields == structs["cn_compile_options"]


def test_header_found() -> None:
    if not HEADER.is_file():
        pytest.fail(f"{HEADER} not found (set CRYPTONETS_REPO_ROOT)")
    decls = parse_header()
    assert len(decls) >= 40, f"only {len(decls)} declarations parsed from {HEADER}"


def test_every_function_declared_alike() -> None:
    decls = parse_header()
    assert sorted(decls) == sorted(_ffi.SIGNATURES), (
        f"missing in _ffi: {sorted(set(decls) - set(_ffi.SIGNATURES))}; "
        f"not in the header: {sorted(set(_ffi.SIGNATURES) - set(decls))}"
    )
    for name, (ret, args) in decls.items():
        fn = getattr(_ffi.lib, name)
        assert fn.restype is _ffi.SIGNATURES[name][0]
        assert list(fn.argtypes) == list(_ffi.SIGNATURES[name][1])
        assert py_kind(fn.restype) == c_kind(ret), f"{name}: return type {ret}"
        assert len(fn.argtypes) == len(args), (
            f"{name}: {len(fn.argtypes)} argtypes for ({', '.join(args)})"
        )
        for i, (t, arg) in enumerate(zip(fn.argtypes, args)):
            assert py_kind(t) == c_kind(arg), f"{name} argument {i} ({arg}): {t}"
            if c_kind(arg) == "pointer":
                assert py_pointee(t) == c_pointee(arg), f"{name} argument {i} ({arg}): {t}"


def test_constants_match_header() -> None:
    text = HEADER.read_text()
    defines = dict(re.findall(r"#define\s+(CN_\w+)\s+\(?(-?\d+)\)?", text))
    assert int(defines["CN_ABI_VERSION"]) == _ffi.ABI_VERSION
    assert int(defines["CN_PARAMS_NAME_MAX"]) == _ffi.PARAMS_NAME_MAX
    for name in (
        "CN_PACKING_AUTO",
        "CN_PACKING_BATCH",
        "CN_PACKING_SINGLE",
        "CN_OK",
        "CN_E_INVALID_ARGUMENT",
        "CN_E_FORMAT",
        "CN_E_PARAMETER_MISMATCH",
        "CN_E_INSECURE_PARAMETERS",
        "CN_E_IO",
        "CN_E_BUFFER_TOO_SMALL",
        "CN_E_INTERNAL",
    ):
        assert int(defines[name]) == getattr(_ffi, name), name
    version = re.search(r'#define\s+CN_VERSION\s+"([^"]+)"', text)
    assert version and version.group(1) == _ffi.library_version()
