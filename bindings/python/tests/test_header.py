"""The ctypes declarations in cryptonets._ffi match include/cryptonets.h."""

from __future__ import annotations

import ctypes
import re
from typing import Any, Dict, List, Tuple

import pytest

import cryptonets as cn
from cryptonets import _ffi, errors
from conftest import HEADER

DECL = re.compile(r"CN_API\s+(?P<ret>[^;(]*?)\s*\b(?P<name>cn_\w+)\s*\((?P<args>[^)]*)\)\s*;", re.S)


def c_kind(decl: str) -> str:
    """pointer / size_t / double / int for a C parameter or return type."""
    decl = re.sub(r"\b(const|struct)\b", " ", decl)
    if "*" in decl:
        return "pointer"
    words = decl.split()
    if "uint64_t" in words:
        return "size_t"  # the same type as size_t on LP64: ctypes has one for both
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
    ours = {"cn_compile_options": _ffi.CompileOptions, "cn_manifest_options": _ffi.ManifestOptions}
    assert sorted(structs) == sorted(ours)
    for name, cls in ours.items():
        fields = [(field, py_kind(t)) for field, t in cls._fields_]
        assert fields == structs[name], name


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
    strings = dict(re.findall(r'#define\s+(CN_\w+)\s+"([^"]*)"', text))
    assert int(defines["CN_ABI_VERSION"]) == _ffi.ABI_VERSION
    assert int(defines["CN_PARAMS_NAME_MAX"]) == _ffi.PARAMS_NAME_MAX
    assert int(defines["CN_PACKING_NAME_MAX"]) == _ffi.PACKING_NAME_MAX
    assert int(defines["CN_REQUEST_SIZE"]) == _ffi.REQUEST_SIZE
    for name in ("CN_PACKING_AUTO", "CN_PACKING_BATCH", "CN_PACKING_SINGLE"):
        assert strings[name] == getattr(_ffi, name), name
    codes = {name: int(v) for name, v in defines.items() if name.startswith("CN_E_")}
    assert int(defines["CN_OK"]) == _ffi.CN_OK == 0
    for name, value in codes.items():
        assert getattr(_ffi, name) == value, name
    version = re.search(r'#define\s+CN_VERSION\s+"([^"]+)"', text)
    assert version and version.group(1) == _ffi.library_version()


def test_each_status_code_has_one_exception() -> None:
    """Every CN_E_* of the header maps to exactly one exception class, and each
    class to one code (the Go library's error classes map to the same codes)."""
    text = HEADER.read_text()
    codes = {int(v) for name, v in re.findall(r"#define\s+(CN_E_\w+)\s+\((-?\d+)\)", text)}
    assert len(codes) == 10
    classes = {code: errors.error_for(code).__class__ for code in codes}
    assert len(set(classes.values())) == len(codes)
    for code, cls in classes.items():
        assert cls.code == code and issubclass(cls, cn.CryptonetsError)

