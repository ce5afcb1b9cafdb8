"""One version everywhere. include/cryptonets.h is its single source; the library
(``cn_version()``), the CMake package, the ``cryptonets`` command, this package
(``__version__``) and its installed metadata must all say the same.

The command and the CMake package come from outside this package: run_tests.sh
passes the binary it built (``CRYPTONETS_TEST_CLI``) and the CMake build tree whose
library the wheel packs (``CRYPTONETS_TEST_CMAKE_BUILD_DIR``). Without them those two
are left out, except under run_tests.sh (``CRYPTONETS_EXPECT_INSTALLED=1``), which
must pass them.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import cryptonets as cn
from conftest import HEADER

pytestmark = pytest.mark.wheel


def header_version() -> str:
    text = HEADER.read_text()
    parts = []
    for part in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(rf"^#define CN_VERSION_{part} (\d+)$", text, re.MULTILINE)
        assert m, f"{HEADER} does not #define CN_VERSION_{part}"
        parts.append(m.group(1))
    return ".".join(parts)


def cli_version(binary: Path) -> str:
    out = subprocess.run(
        [str(binary), "version", "--json"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return str(json.loads(out)["version"])


def cmake_package_version(tree: Path) -> str:
    config = tree / "cryptonetsConfigVersion.cmake"
    m = re.search(r'^set\(PACKAGE_VERSION "([^"]*)"\)$', config.read_text(), re.MULTILINE)
    assert m, f"{config} does not set PACKAGE_VERSION"
    return m.group(1)


def test_one_version_everywhere() -> None:
    installed = os.environ.get("CRYPTONETS_EXPECT_INSTALLED") == "1"
    found = {
        "include/cryptonets.h": header_version(),
        "cn_version()": cn.library_version(),
        "cryptonets.__version__": cn.__version__,
    }
    if installed:
        found["installed package metadata"] = importlib.metadata.version("cryptonets")
    for name, env, read in (
        ("cryptonets version --json", "CRYPTONETS_TEST_CLI", cli_version),
        ("CMake package", "CRYPTONETS_TEST_CMAKE_BUILD_DIR", cmake_package_version),
    ):
        value = os.environ.get(env)
        if value:
            found[name] = read(Path(value))
        elif installed:
            pytest.fail(f"run_tests.sh must set {env}")
    print(found)
    assert len(set(found.values())) == 1, f"the versions differ: {found}"
