"""Shared fixtures: the repository, the shipped model, real MNIST test images, the
ONNX networks of models/fixtures and an encrypted round trip.

The images come from the fixture files that bindings/c/tools/mnistdump writes
(images.f64: n x 784 little-endian float64; labels.txt; reference.txt: the labels of
the Go plaintext reference on the converted model). run_tests.sh makes them once and
passes their folder in CRYPTONETS_TEST_FIXTURES; without it, they are made here with
'go run' (needs Go and the GoMNIST module in the Go module cache). Nothing is
downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

HERE = Path(__file__).resolve().parent
REPO = Path(os.environ.get("CRYPTONETS_REPO_ROOT") or HERE.parent.parent.parent).resolve()
MODEL = Path(
    os.environ.get("CRYPTONETS_TEST_MODEL") or REPO / "models" / "mnist" / "mnist_cryptonets.cnm"
)
HEADER = REPO / "include" / "cryptonets.h"
ONNX_FIXTURES = REPO / "models" / "fixtures"
N_IMAGES = 256

#: The stated bounds of converted networks against torch's float64 outputs (the
#: fixture records), through an encrypted round trip: every logit of an exactly
#: converted network within LOGIT_BOUND (measured: 3e-4 to 4e-4 at the insecure test
#: parameters); the argmax of an approximated one (fitted polynomials, max pooling
#: made a sum pool) equal on at least MIN_AGREEMENT of the images.
LOGIT_BOUND = 0.01
MIN_AGREEMENT = 0.9


@dataclass
class Mnist:
    """The first n MNIST test images as a flat float64 array('d') (n*784 values),
    with their true labels and the Go plaintext reference labels."""

    flat: "array[float]"
    labels: List[int]
    reference: List[int]

    @property
    def n(self) -> int:
        return len(self.labels)

    def rows(self, n: int) -> List[List[float]]:
        """The first n images as lists of 784 floats."""
        return [list(self.flat[i * 784 : (i + 1) * 784]) for i in range(n)]

    def numpy(self, n: int) -> Any:
        import numpy as np

        return np.frombuffer(self.flat, dtype="<f8")[: n * 784].reshape(n, 784).copy()

    def images(self, start: int, stop: int) -> Any:
        """Images start..stop as a float64 numpy array (n, 1, 28, 28)."""
        return self.numpy(stop)[start:].reshape(-1, 1, 28, 28)


def _read_labels(path: Path) -> List[int]:
    return [int(line) for line in path.read_text().split()]


def load_fixtures(folder: Path) -> Mnist:
    flat = array("d")
    flat.frombytes((folder / "images.f64").read_bytes())
    if sys.byteorder != "little":  # pragma: no cover
        flat.byteswap()
    labels = _read_labels(folder / "labels.txt")
    reference = _read_labels(folder / "reference.txt")
    assert len(flat) == 784 * len(labels) == 784 * len(reference), (
        f"inconsistent fixtures in {folder}"
    )
    return Mnist(flat, labels, reference)


def _make_fixtures(folder: Path) -> None:
    go = shutil.which("go")
    if go is None:
        pytest.fail(
            "no MNIST fixtures: set CRYPTONETS_TEST_FIXTURES to a folder written by "
            "'go run ./bindings/c/tools/mnistdump -n 256 -o DIR -model MODEL' "
            "(bash bindings/python/run_tests.sh does), or put Go on PATH"
        )
    cmd = [
        go,
        "run",
        "./bindings/c/tools/mnistdump",
        "-n",
        str(N_IMAGES),
        "-o",
        str(folder),
        "-model",
        str(MODEL),
    ]
    subprocess.run(cmd, cwd=REPO, check=True)


@pytest.fixture(scope="session")
def mnist(tmp_path_factory: pytest.TempPathFactory) -> Mnist:
    env = os.environ.get("CRYPTONETS_TEST_FIXTURES")
    folder = Path(env) if env else tmp_path_factory.mktemp("mnist")
    if not (folder / "reference.txt").is_file():
        _make_fixtures(folder)
    data = load_fixtures(folder)
    assert data.n >= N_IMAGES, f"{folder} holds {data.n} images, the tests need {N_IMAGES}"
    return data


@pytest.fixture(scope="session")
def model_path() -> Path:
    assert MODEL.is_file(), f"the shipped model {MODEL} is missing"
    return MODEL


@pytest.fixture(scope="session")
def model(model_path: Path) -> Iterator[Any]:
    import cryptonets as cn

    with cn.Model.load(model_path) as m:
        yield m


@pytest.fixture(scope="session")
def insecure_manifest(model: Any) -> Iterator[Any]:
    """A manifest for the INSECURE test parameters: fast, tests only."""
    with model.manifest_insecure_for_testing() as m:
        yield m


@pytest.fixture(scope="session")
def secure_manifest(model: Any) -> Iterator[Any]:
    """The manifest at the default 128-bit parameters."""
    with model.manifest() as m:
        yield m


def run_python(
    code: str, *args: str, env: Any = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (this one's), capturing its output."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def onnx_fixture(name: str) -> Tuple[Path, Dict[str, Any]]:
    """models/fixtures/NAME.onnx and its record NAME.json: torch's float64
    ``outputs`` (the graph's output) and ``logits`` (before the final normalizer) of
    the first 32 MNIST test images, and their ``labels``."""
    path = ONNX_FIXTURES / f"{name}.onnx"
    assert path.is_file(), f"{path} is missing"
    record = json.loads((ONNX_FIXTURES / f"{name}.json").read_text())
    return path, record


def argmax_agreement(a: Any, b: Any) -> float:
    """The fraction of rows of a and b with the same argmax."""
    import numpy as np

    return float((np.asarray(a).argmax(axis=1) == np.asarray(b).argmax(axis=1)).mean())


def encrypted_logits(model: Any, images: Any) -> Any:
    """The logits of model on images, through an encrypted round trip (fresh keys) at
    the INSECURE test parameters: fast, tests only."""
    import cryptonets as cn

    with model.manifest_insecure_for_testing() as manifest, cn.Client(manifest) as client:
        with client.evaluation_keys() as keys:
            with cn.Server(model, keys) as server:
                with client.encrypt(images) as batch, server.predict(batch) as result:
                    return client.decrypt(result, batch)
