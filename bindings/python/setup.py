"""Packs libcryptonets.so, as the repository's CMake build makes it, into the package.

Everything else is in pyproject.toml. The library is the target ``cryptonets_go`` of
the repository's CMakeLists.txt (``go build -buildmode=c-shared ./capi`` with the
linker version script and the soname): building this package configures a CMake
build tree in ``build/cmake`` next to this file and builds that target there, or
builds it in the CMake build tree named by ``CRYPTONETS_CMAKE_BUILD_DIR`` (an absolute
path: ``$PWD/build/c``, say, so that the wheel holds the very file the C tests ran). Building needs the
repository (this folder is its ``bindings/python``; pip >= 21.3 builds in place, so
``pip install ./bindings/python`` finds it at ``../..``; or set
``CRYPTONETS_REPO_ROOT``), CMake, Go with cgo and a C compiler. Installing the wheel
needs none of them.

The version is the header's (``CN_VERSION_MAJOR/MINOR/PATCH`` in
``include/cryptonets.h``), which CMake reads too. The wheel is tagged
``py3-none-manylinux_2_N_<arch>``: any Python 3 (the package holds a native library
but no extension module), on any Linux with glibc 2.N or later, where 2.N is the
newest glibc symbol version the library needs (read from its ELF with pyelftools). A
library that needs a shared library other than glibc's own is refused.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection
from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
MODULE = "module github.com/cryptonets/cryptonets"
LIB = Path("cryptonets") / "_lib" / "libcryptonets.so"
CMAKE_BUILD_ENV = "CRYPTONETS_CMAKE_BUILD_DIR"

#: The shared libraries of glibc itself, which every manylinux system has.
GLIBC_LIBRARIES = re.compile(
    r"(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|ld-linux.*\.so\.\d)"
)
#: manylinux2014's glibc: no tag claims less.
OLDEST_GLIBC = (2, 17)


def fail(message: str) -> None:
    sys.exit(f"cryptonets: {message}")


def repo_root() -> Path:
    """The cryptonets repository: $CRYPTONETS_REPO_ROOT or ../.. of this file."""
    env = os.environ.get("CRYPTONETS_REPO_ROOT")
    root = Path(env).resolve() if env else HERE.parent.parent
    go_mod = root / "go.mod"
    ok = go_mod.is_file() and (root / "CMakeLists.txt").is_file()
    if ok:
        first = go_mod.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        ok = bool(first) and first[0].strip() == MODULE
    if not ok:
        where = f"CRYPTONETS_REPO_ROOT={env}" if env else f"{root} (../.. of {HERE})"
        fail(
            "cannot build libcryptonets.so: the cryptonets repository (a go.mod starting "
            f"with '{MODULE}' and a CMakeLists.txt) is not at {where}. Build from a "
            "checkout with 'pip install ./bindings/python' (pip >= 21.3 builds in place, "
            "not from a copy), or set CRYPTONETS_REPO_ROOT to the checkout."
        )
    return root


def header_version(root: Path) -> str:
    """MAJOR.MINOR.PATCH from include/cryptonets.h, the single source of the version."""
    header = root / "include" / "cryptonets.h"
    text = header.read_text(encoding="utf-8")
    parts = []
    for part in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(rf"^#define CN_VERSION_{part} (\d+)$", text, re.MULTILINE)
        if m is None:
            fail(f"{header} does not #define CN_VERSION_{part} as a number")
        parts.append(m.group(1))
    return ".".join(parts)


def run(cmd: list[str]) -> None:
    print(f"cryptonets: {' '.join(cmd)}", flush=True)
    result = subprocess.run(cmd)
    if result.returncode != 0:
        fail(f"'{' '.join(cmd)}' failed (exit {result.returncode})")


def build_library(dest: Path) -> None:
    """Builds CMake's cryptonets_go target and copies the library it made to dest."""
    root = repo_root()
    cmake = shutil.which("cmake")
    if cmake is None:
        fail(
            "cannot build libcryptonets.so: 'cmake' is not on PATH (CMake >= 3.20, Go "
            "1.26 or later with cgo and a C compiler are needed to build this package; "
            "installing a wheel needs none of them)"
        )
    env = os.environ.get(CMAKE_BUILD_ENV)
    if env and not Path(env).is_absolute():
        fail(f"{CMAKE_BUILD_ENV}={env}: give an absolute path (the build runs in {HERE})")
    tree = Path(env) if env else HERE / "build" / "cmake"
    cache = tree / "CMakeCache.txt"
    if not cache.is_file():
        run([cmake, "-S", str(root), "-B", str(tree), "-DCN_BUILD_TESTING=OFF"])
    source = re.search(r"^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$", cache.read_text(), re.MULTILINE)
    if source is None or Path(source.group(1)).resolve() != root.resolve():
        where = source.group(1) if source else "an unknown source"
        fail(f"the CMake build tree {tree} was configured from {where}, not from {root}")
    run([cmake, "--build", str(tree), "--target", "cryptonets_go"])
    built = (tree / "lib" / "libcryptonets.so").resolve()
    version = header_version(root)
    if built.name != f"libcryptonets.so.{version}":
        fail(f"CMake built {built}, but include/cryptonets.h says version {version}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, dest)
    print(f"cryptonets: {built} -> {dest}", flush=True)


def manylinux_platform(lib: Path, linux_platform: str) -> str:
    """linux_<arch> made manylinux_2_N_<arch>: 2.N is the newest glibc version that
    lib's symbols need. Fails if lib needs a shared library other than glibc's."""
    newest = OLDEST_GLIBC
    needed: list[str] = []
    with lib.open("rb") as f:
        for section in ELFFile(f).iter_sections():
            if isinstance(section, DynamicSection):
                needed += [tag.needed for tag in section.iter_tags("DT_NEEDED")]
            elif isinstance(section, GNUVerNeedSection):
                for _, versions in section.iter_versions():
                    for version in versions:
                        m = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(\.\d+)?", version.name)
                        if m:
                            newest = max(newest, (int(m.group(1)), int(m.group(2))))
    foreign = [name for name in needed if not GLIBC_LIBRARIES.fullmatch(name)]
    if foreign:
        fail(f"{lib} needs {', '.join(foreign)}: a manylinux wheel may need only glibc")
    arch = linux_platform[len("linux_") :]
    return f"manylinux_{newest[0]}_{newest[1]}_{arch}"


class BuildPy(build_py):
    """build_py that also puts the library CMake built into the package."""

    library: Path | None = None

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            build_library(HERE / LIB)  # next to the sources, for pip install -e
        else:
            self.library = Path(self.build_lib) / LIB
            build_library(self.library)

    def get_outputs(self, include_bytecode: bool = True) -> list:  # type: ignore[override]
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs.append(str(Path(self.build_lib) / LIB))
        return outputs


class BdistWheel(bdist_wheel):
    """A manylinux wheel (the package holds a native library), for any Python 3."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple:
        _, _, plat = super().get_tag()
        # An editable install asks before anything is built; it stays linux_<arch>.
        library = self.get_finalized_command("build_py").library
        if library is not None and plat.startswith("linux_"):
            plat = manylinux_platform(library, plat)
        return "py3", "none", plat


class BinaryDistribution(Distribution):
    """Holds a native library: installs to platlib, the wheel's root."""

    def has_ext_modules(self) -> bool:
        return True


setup(
    version=header_version(repo_root()),
    distclass=BinaryDistribution,
    cmdclass={"build_py": BuildPy, "bdist_wheel": BdistWheel},
)
