"""cryptonets.remote against a real ``cryptonets serve`` process on a loopback port.

The server is the cryptonets command run_tests.sh builds (``CRYPTONETS_TEST_CLI``),
or one built here with Go. It serves the shipped model as "mnist" and accepts the
INSECURE test parameters for the fast tests; the 1,000-image tests run at 128 bits.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

import cryptonets as cn

from conftest import MODEL, REPO

np = pytest.importorskip("numpy")

#: The fast, NOT secure plans of the tests.
BATCH = dict(packing="batch", params="InsecureN11QP215")
SINGLE = dict(packing="single", params="InsecureN12QP215S")


@pytest.fixture(scope="session")
def cli(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = os.environ.get("CRYPTONETS_TEST_CLI")
    if path:
        return path
    go = shutil.which("go")
    if go is None:
        pytest.skip("no cryptonets command: set CRYPTONETS_TEST_CLI or put Go on PATH")
    out = tmp_path_factory.mktemp("cli") / "cryptonets"
    subprocess.run([go, "build", "-o", str(out), "./cmd/cryptonets"], cwd=REPO, check=True)
    return str(out)


class Server:
    """A cryptonets serve process and its JSON log records."""

    def __init__(self, cli: str, keys_dir: Path, *args: str, listen: str = "127.0.0.1:0") -> None:
        self.records: List[Dict[str, Any]] = []
        self.proc = subprocess.Popen(
            [cli, "serve", "--model", f"mnist={MODEL}", "--listen", listen, "--keys-dir", str(keys_dir),
             "--insecure", "--json", *args],
            stderr=subprocess.PIPE,
        )
        self._address: "Optional[str]" = None
        self._ready = threading.Event()
        threading.Thread(target=self._read_logs, daemon=True).start()

    def _read_logs(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                rec = json.loads(line)
            except ValueError:
                rec = {"msg": "not JSON", "line": line.decode("utf-8", "replace")}
            self.records.append(rec)
            if rec.get("msg") == "serving":
                self._address = rec["address"]
                self._ready.set()
        self._ready.set()

    @property
    def url(self) -> str:
        assert self._ready.wait(120), "cryptonets serve did not start"
        assert self._address, f"cryptonets serve exited: {self.records}"
        return f"http://{self._address}"

    def count(self, **match: Any) -> int:
        return sum(all(r.get(k) == v for k, v in match.items()) for r in list(self.records))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(60) == 0, "cryptonets serve did not stop cleanly on SIGTERM"


@pytest.fixture(scope="module")
def server(cli: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(cli, tmp_path_factory.mktemp("keys"))
    s.url
    yield s
    s.stop()


@pytest.mark.parametrize("packing", ["batch", "single"])
def test_1000_images_at_128_bits(server: Server, mnist: Any, packing: str) -> None:
    """The shipped model on 1,000 MNIST test images through the server, at the
    default 128-bit parameters: the labels equal the plaintext model's."""
    images = mnist.numpy(1000)
    with cn.remote.connect(server.url, in_flight=2) as svc:
        labels = svc.predict("mnist", images, packing=packing)
    assert labels.shape == (1000,)
    assert [int(v) for v in labels] == mnist.reference[:1000]


def test_outputs_and_progress(server: Server, mnist: Any) -> None:
    """Logits, probabilities (softmax on the client) and labels agree; any number of
    inputs is split into requests whose results come back in order; progress ends at
    the number of inputs."""
    images = mnist.images(0, 21)  # (21, 1, 28, 28): several requests
    seen: List[List[int]] = []
    with cn.remote.connect(server.url, allow_insecure_for_testing=True,
                           progress=lambda done, total: seen.append([done, total])) as svc:
        logits = svc.predict("mnist", images, output="logits", expect=8, **SINGLE)
        progress, seen[:] = list(seen), []
        probs = svc.predict("mnist", images, output="probabilities", expect=8, **SINGLE)
        labels = svc.predict("mnist", images.tolist(), expect=8, **SINGLE)
    assert logits.shape == probs.shape == (21, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-9)
    assert list(logits.argmax(axis=1)) == list(probs.argmax(axis=1)) == list(labels) == mnist.reference[:21]
    assert len(progress) > 1 and progress[-1] == [21, 21] and progress == sorted(progress)
    assert server.count(method="PUT", status=201) >= 1


def test_keys_are_uploaded_once(server: Server, mnist: Any, tmp_path: Path) -> None:
    """A client that keeps its keys (keys_dir) uploads them once: a later connection
    finds them on the server. A batch plan needs no keys at all."""
    before = server.count(method="PUT")
    for _ in range(2):
        with cn.remote.connect(server.url, keys_dir=tmp_path, allow_insecure_for_testing=True) as svc:
            labels = svc.predict("mnist", mnist.numpy(2), **SINGLE)
        assert list(labels) == mnist.reference[:2]
    assert server.count(method="PUT") == before + 1
    assert all(p.stat().st_mode & 0o077 == 0 for p in tmp_path.iterdir())
    with cn.remote.connect(server.url, allow_insecure_for_testing=True) as svc:
        assert list(svc.predict("mnist", mnist.numpy(3), **BATCH)) == mnist.reference[:3]
    assert server.count(method="PUT") == before + 1


def test_server_errors_raise_the_library_exceptions(server: Server, mnist: Any) -> None:
    with cn.remote.connect(server.url, allow_insecure_for_testing=True) as svc:
        with pytest.raises(cn.InvalidArgumentError) as e:
            svc.predict("nope", mnist.numpy(1), **BATCH)
        assert e.value.http_status == 404
        with pytest.raises(cn.InvalidArgumentError) as e:
            svc.predict("mnist", mnist.numpy(1), packing="diagonal")
        assert e.value.http_status == 400
        models = svc.models()
    assert [m["name"] for m in models] == ["mnist"]
    assert {p["packing"] for p in models[0]["packings"]} == {"batch", "single"}
    with cn.remote.connect(server.url) as svc, pytest.raises(cn.InsecureParametersError):
        svc.predict("mnist", mnist.numpy(1), **BATCH)  # the client refuses weak keys


def test_tokens(cli: str, mnist: Any, tmp_path: Path) -> None:
    """With tokens on, a client without one is refused (401); with one, it is served."""
    token = "python-test-token-0123456789"
    (tmp_path / "tokens").write_text(f"tester {token}\n")
    s = Server(cli, tmp_path / "keys", "--tokens", str(tmp_path / "tokens"))
    try:
        with cn.remote.connect(s.url, token="", allow_insecure_for_testing=True) as svc:
            with pytest.raises(cn.InvalidArgumentError) as e:
                svc.predict("mnist", mnist.numpy(1), **BATCH)
            assert e.value.http_status == 401
        with cn.remote.connect(s.url, token=token, allow_insecure_for_testing=True) as svc:
            assert list(svc.predict("mnist", mnist.numpy(2), **BATCH)) == mnist.reference[:2]
    finally:
        s.stop()


def test_retries_until_the_server_is_up(cli: str, mnist: Any, tmp_path: Path) -> None:
    """A client whose server is not up yet (connection refused) retries with backoff
    and is served once it is."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    svc = cn.remote.connect(f"http://127.0.0.1:{port}", attempts=40, backoff=0.1,
                            allow_insecure_for_testing=True)
    result: Dict[str, Any] = {}

    def run() -> None:
        try:
            result["labels"] = svc.predict("mnist", mnist.numpy(2), **BATCH)
        except Exception as e:  # reported below
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    time.sleep(1.0)
    s = Server(cli, tmp_path / "keys", listen=f"127.0.0.1:{port}")
    try:
        t.join(120)
        assert "error" not in result, result.get("error")
        assert list(result["labels"]) == mnist.reference[:2]
        assert svc.retries > 0
    finally:
        svc.close()
        s.stop()
