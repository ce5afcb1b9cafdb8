"""Import, version and ABI checks, and the library's location."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import cryptonets as cn
from cryptonets import _ffi
from conftest import run_python

pytestmark = pytest.mark.wheel


def test_import_and_versions() -> None:
    assert _ffi.lib.cn_abi_version() == cn.ABI_VERSION
    assert cn.library_version().count(".") == 2
    assert Path(cn.library_path()).is_file()
    assert (Path(cn.__file__).parent / "py.typed").is_file()


def test_bundled_library_exports_only_cn_functions() -> None:
    nm = shutil.which("nm")
    if os.environ.get("CRYPTONETS_LIBRARY") or nm is None:
        pytest.skip("checks the bundled library, with binutils' nm")
    out = subprocess.run(
        [nm, "-D", "--defined-only", cn.library_path()], capture_output=True, text=True, check=True
    ).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert set(_ffi.SIGNATURES) <= set(names)
    assert [n for n in names if not n.startswith("cn_")] == []


def test_missing_library_is_an_import_error() -> None:
    env = dict(os.environ, CRYPTONETS_LIBRARY="/nonexistent/libcryptonets.so")
    r = run_python("import cryptonets", env=env)
    assert r.returncode != 0
    assert (
        "ImportError: cryptonets: CRYPTONETS_LIBRARY=/nonexistent/libcryptonets.so does not name a file"
        in r.stderr
    )


def test_abi_mismatch_is_an_import_error() -> None:
    # Load _ffi's own source with another expected ABI number.
    abi = _ffi.ABI_VERSION
    code = (
        "import importlib.util, sys, cryptonets._ffi as f\n"
        f"src = open(f.__file__).read().replace('ABI_VERSION = {abi}\\n', 'ABI_VERSION = 99\\n', 1)\n"
        "ns = {'__file__': f.__file__, '__name__': 'x'}\n"
        "try:\n"
        "    exec(compile(src, f.__file__, 'exec'), ns)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert f"has ABI version {abi}" in r.stdout and "written for ABI version 99" in r.stdout


def test_objects_do_not_pickle(insecure_manifest: Any) -> None:
    with pytest.raises(TypeError, match="send to_bytes"):
        pickle.dumps(insecure_manifest)


def test_manifest_round_trip(insecure_manifest: Any) -> None:
    data = bytes(insecure_manifest)
    assert data == insecure_manifest.to_bytes()
    with cn.Manifest.from_bytes_insecure_for_testing(data) as copy:
        assert copy.to_bytes() == data
        assert copy.params == insecure_manifest.params
        assert copy.images_per_batch == insecure_manifest.images_per_batch
        assert "INSECURE" in repr(copy)
