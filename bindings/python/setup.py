"""Builds libcryptonets.so from the Go sources and bundles it in the package.

Everything else is in pyproject.toml. Building needs the cryptonets repository (this
folder is its bindings/python) and Go with cgo; pip >= 21.3 builds in place, so
``pip install ./bindings/python`` finds the repository at ``../..``. Set
CRYPTONETS_REPO_ROOT to build from elsewhere. The wheel is platform-tagged
(``py3-none-<platform>``): it holds a native library but no Python extension, so any
Python 3 on the same platform can use it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
MODULE = "module github.com/cryptonets/cryptonets"
LIB = Path("cryptonets") / "_lib" / "libcryptonets.so"
SONAME = "libcryptonets.so.2"  # CN_ABI_VERSION, as CMakeLists.txt


def repo_root() -> Path:
    """The cryptonets repository: $CRYPTONETS_REPO_ROOT or ../.. of this file."""
    env = os.environ.get("CRYPTONETS_REPO_ROOT")
    root = Path(env).resolve() if env else HERE.parent.parent
    go_mod = root / "go.mod"
    ok = go_mod.is_file() and (root / "capi").is_dir()
    if ok:
        first = go_mod.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        ok = bool(first) and first[0].strip() == MODULE
    if not ok:
        where = f"CRYPTONETS_REPO_ROOT={env}" if env else f"{root} (../.. of {HERE})"
        sys.exit(
            "cryptonets: cannot build libcryptonets.so: the cryptonets repository (a go.mod "
            f"starting with '{MODULE}' and a capi/ folder) is not at {where}. Build from a "
            "checkout with 'pip install ./bindings/python' (pip >= 21.3 builds in place, "
            "not from a copy), or set CRYPTONETS_REPO_ROOT to the checkout."
        )
    return root


def build_library(dest: Path) -> None:
    """go build -buildmode=c-shared ./capi, run from the repository root, with the same
    flags as CMakeLists.txt; only the .so is kept (the cgo-generated header is a
    by-product, never installed)."""
    root = repo_root()
    go = shutil.which("go")
    if go is None:
        sys.exit(
            "cryptonets: cannot build libcryptonets.so: 'go' is not on PATH (Go 1.26 or "
            "later with cgo and a C compiler is needed to build this package; installing "
            "a prebuilt wheel needs neither)"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CGO_ENABLED="1")
    with tempfile.TemporaryDirectory(prefix="cryptonets-build-") as tmp:
        out = Path(tmp) / "libcryptonets.so"
        cmd = [go, "build", "-trimpath", "-buildmode=c-shared"]
        version_script = root / "capi" / "cryptonets.map"
        if version_script.is_file():  # as CMakeLists.txt: export only the cn_* functions
            cmd.append(
                f"-ldflags=-extldflags=-Wl,--version-script={version_script},-soname,{SONAME}"
            )
        cmd += ["-o", str(out), "./capi"]
        print(f"cryptonets: {' '.join(cmd)}  (in {root})", flush=True)
        result = subprocess.run(cmd, cwd=root, env=env)
        if result.returncode != 0:
            sys.exit(
                f"cryptonets: 'go build' of libcryptonets.so failed (exit {result.returncode})"
            )
        shutil.copyfile(out, dest)


class BuildPy(build_py):
    """build_py that also builds the shared library into the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            build_library(HERE / LIB)  # next to the sources, for pip install -e
        else:
            build_library(Path(self.build_lib) / LIB)

    def get_outputs(self, include_bytecode: bool = True) -> list:  # type: ignore[override]
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs.append(str(Path(self.build_lib) / LIB))
        return outputs


class BdistWheel(bdist_wheel):
    """A platform wheel (the package holds a native library), for any Python 3."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple:
        _, _, plat = super().get_tag()
        return "py3", "none", plat


class BinaryDistribution(Distribution):
    """Holds a native library: installs to platlib, the wheel's root."""

    def has_ext_modules(self) -> bool:
        return True


setup(
    distclass=BinaryDistribution,
    cmdclass={"build_py": BuildPy, "bdist_wheel": BdistWheel},
)
