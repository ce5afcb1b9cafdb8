"""The README's example, run as written: the shipped model on 256 real MNIST test
images at the default 128-bit parameters, in one process."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict

import pytest

from conftest import HERE, MODEL, Mnist

README = HERE.parent / "README.md"

pytestmark = [pytest.mark.wheel, pytest.mark.slow]


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, f"no python example in {README}"
    code = blocks[0]
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 10, f"the README example has {len(lines)} lines, promised 10"
    return code


def test_readme_example_128_bit(mnist: Mnist, tmp_path: Path, capsys: Any) -> None:
    pytest.importorskip("numpy")
    (tmp_path / "images.f64").write_bytes(mnist.flat[: 256 * 784].tobytes())
    code = readme_example()
    code = code.replace('"images.f64"', repr(str(tmp_path / "images.f64")))
    code = code.replace('"models/mnist/mnist_cryptonets.cnm"', repr(str(MODEL)))
    ns: Dict[str, Any] = {}
    exec(compile(code, str(README), "exec"), ns)

    assert ns["model"].manifest().params == "N13QP215"  # the default is 128-bit
    assert not ns["model"].manifest().insecure
    logits, labels = ns["logits"], ns["labels"]
    assert logits.shape == (256, 10) and str(logits.dtype) == "float64"
    labels = [int(v) for v in labels]
    accuracy = sum(p == t for p, t in zip(labels, mnist.labels[:256])) / 256
    assert accuracy >= 0.99, f"accuracy {accuracy:.4f} on 256 MNIST test images"
    # The Go API's plaintext reference labels (mnistdump) for the same images.
    diff = [i for i in range(256) if labels[i] != mnist.reference[i]]
    assert not diff, f"images {diff} differ from the Go reference labels"
    print(f"accuracy {accuracy:.4f}, {256 - len(diff)}/256 equal to the Go reference")
    for name in ("batch", "server", "client", "model"):
        ns[name].close()


def test_installed_package_is_used() -> None:
    """Under run_tests.sh the tests must exercise the installed package and its
    bundled library, not the source tree or a development build."""
    import os

    import cryptonets as cn

    if os.environ.get("CRYPTONETS_EXPECT_INSTALLED") != "1":
        pytest.skip("only meaningful under run_tests.sh")
    pkg = Path(cn.__file__).resolve().parent
    assert "site-packages" in pkg.parts, pkg
    assert Path(cn.library_path()) == pkg / "_lib" / "libcryptonets.so"
    assert "CRYPTONETS_LIBRARY" not in os.environ
