"""Client and server in two processes that exchange nothing but bytes, at the
default 128-bit parameters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any, List

import pytest

import cryptonets as cn
from conftest import HERE, Mnist
from server_process import kind, read_frame, write_frame

pytestmark = pytest.mark.slow

N = 64


def test_client_and_server_processes(mnist: Mnist, model_path: Any) -> None:
    # Client side. It knows only the manifest, which it would get from the server as
    # bytes; here it reads the public manifest of the shipped model.
    with cn.Model.load(model_path) as model:
        manifest_bytes = model.manifest().to_bytes()
    assert kind(manifest_bytes) == "manifest"
    manifest = cn.Manifest.from_bytes(manifest_bytes)
    client = cn.Client(manifest)
    secret = client.export_secret_key()
    assert kind(secret) == "secret key"
    key_bytes = client.evaluation_keys().to_bytes()
    with client.encrypt(mnist.rows(N)) as batch:
        batch_bytes = batch.to_bytes()
        request = batch.request_ids  # 32 bytes a request, not secret: what decrypt needs of the batch

    # What leaves the client holds nothing of the secret key.
    payload = secret[64:]  # after the envelope header
    for sent in (key_bytes, batch_bytes):
        assert secret not in sent
        for off in range(0, len(payload) - 32, len(payload) // 8):
            assert payload[off : off + 32] not in sent

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "server_process.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None

    def feed() -> None:
        for frame in (str(model_path).encode(), key_bytes, batch_bytes):
            write_frame(proc.stdin, frame)  # type: ignore[arg-type]
        proc.stdin.close()  # type: ignore[union-attr]

    writer = threading.Thread(target=feed)
    writer.start()
    report = json.loads(read_frame(proc.stdout))
    result_bytes = read_frame(proc.stdout)
    writer.join()
    assert proc.wait(timeout=300) == 0

    assert report["kinds"] == ["evaluation keys", "encrypted batch"]
    assert report["sizes"] == [len(key_bytes), len(batch_bytes)]
    assert report["params"] == manifest.params == "N13QP215"
    assert report["images"] == N
    assert kind(result_bytes) == "encrypted result"

    result = cn.EncryptedResult.from_bytes(result_bytes, client.manifest)
    labels: List[int] = [int(v) for v in client.decrypt_labels(result, request)]
    assert labels == mnist.reference[:N]
    # A client restored from the stored secret key decrypts the same result.
    restored = cn.Client.restore(manifest, secret)
    assert [int(v) for v in restored.decrypt_labels(result, request)] == labels
    for obj in (restored, result, client, manifest):
        obj.close()
