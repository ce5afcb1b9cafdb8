"""The model owner, as a separate process: it reads the model path, the evaluation
key bytes and the encrypted batch bytes from stdin, and writes back a JSON report
and the encrypted result bytes. It never gets a secret key.

Frames on stdin and stdout: an 8-byte little-endian length, then that many bytes.
"""

from __future__ import annotations

import json
import struct
import sys
from typing import BinaryIO

import cryptonets as cn

MAGIC = b"CNET"
KINDS = {
    1: "manifest",
    2: "evaluation keys",
    3: "encrypted batch",
    4: "encrypted result",
    5: "secret key",
}


def read_frame(f: BinaryIO) -> bytes:
    (n,) = struct.unpack("<Q", f.read(8))
    data = f.read(n)
    assert len(data) == n, f"short frame: {len(data)} of {n} bytes"
    return data


def write_frame(f: BinaryIO, data: bytes) -> None:
    f.write(struct.pack("<Q", len(data)))
    f.write(data)
    f.flush()


def kind(data: bytes) -> str:
    """The object kind of a wire envelope (magic, version u16, kind u16, ...)."""
    if data[:4] != MAGIC:
        return "not an envelope"
    return KINDS.get(struct.unpack_from("<H", data, 6)[0], "unknown")


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    model_path = read_frame(stdin).decode("utf-8")
    key_bytes = read_frame(stdin)
    batch_bytes = read_frame(stdin)
    report = {
        "kinds": [kind(key_bytes), kind(batch_bytes)],
        "sizes": [len(key_bytes), len(batch_bytes)],
    }
    with cn.Model.load(model_path) as model, model.manifest() as manifest:
        report["params"] = manifest.params
        with (
            cn.EvaluationKeys.from_bytes(key_bytes, manifest) as keys,
            cn.Server(model, keys) as server,
        ):
            del key_bytes
            with cn.EncryptedBatch.from_bytes(batch_bytes, server.manifest) as batch:
                del batch_bytes
                report["images"] = batch.images
                with server.predict(batch) as result:
                    out = result.to_bytes()
    write_frame(stdout, json.dumps(report).encode())
    write_frame(stdout, out)


if __name__ == "__main__":
    main()
