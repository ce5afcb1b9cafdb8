"""Without numpy: the package imports, takes lists and buffers, returns lists, and
converts ONNX networks with calibration images given as lists or buffers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import MODEL, ONNX_FIXTURES, Mnist, run_python

pytestmark = pytest.mark.wheel

CODE = r"""
import sys
sys.modules["numpy"] = None           # import numpy now raises ImportError
import ctypes, json
from array import array
import cryptonets as cn
from cryptonets import _arrays
assert _arrays.np is None and not _arrays.have_numpy()

model_path, fixtures, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
onnx_fixtures = sys.argv[4]
flat = array("d")
flat.frombytes(open(fixtures + "/images.f64", "rb").read(n * 784 * 8))
rows = [list(flat[i * 784:(i + 1) * 784]) for i in range(n)]
out = {}
with cn.Model.load(model_path) as model, model.manifest_insecure_for_testing() as man:
    with cn.Client(man) as client, cn.Server(model, client.evaluation_keys()) as server:
        forms = [("lists", rows), ("array('d')", flat), ("memoryview", memoryview(flat)),
                 ("bytes", flat.tobytes()), ("tuples", tuple(tuple(r) for r in rows)),
                 ("nested", [[[r[k * 28:(k + 1) * 28] for k in range(28)]] for r in rows])]
        for name, images in forms:
            px = _arrays.pixels(images, (1, 28, 28))
            out[name] = ctypes.string_at(px.pointer, px.n * 784 * 8) == flat.tobytes()
        with client.encrypt(rows) as batch, server.predict(batch) as result:
            logits = client.decrypt(result, batch)
            assert type(logits) is list and len(logits) == n
            assert all(type(row) is list and len(row) == 10 and type(row[0]) is float for row in logits)
            out["labels"] = client.decrypt_labels(result, batch.request_ids)
        plain = model.predict_plain(rows)
        assert type(plain) is list and len(plain) == n and len(plain[0]) == 10
        out["plain_labels"] = [max(range(10), key=r.__getitem__) for r in plain]
        try:
            client.encrypt([[0.5] * 700])
        except cn.InvalidArgumentError as e:
            out["shape_error"] = str(e)
relu = onnx_fixtures + "/relu_mlp.onnx"
calibrations = [rows, memoryview(flat).cast("B").cast("d", (n, 784)), forms[-1][1]]
converted = [cn.convert(relu, calibration=c) for c in calibrations]
out["convert"] = len({m.to_bytes() for m in converted}) == 1
for m in converted:
    m.close()
try:
    cn.convert(relu, calibration=flat)  # flat: the image size is unknown
except cn.InvalidArgumentError as e:
    out["flat_error"] = str(e)
print(json.dumps(out))
"""


def test_without_numpy(mnist: Mnist, tmp_path: Any) -> None:
    folder = tmp_path / "fx"
    folder.mkdir()
    (folder / "images.f64").write_bytes(mnist.flat[: 8 * 784].tobytes())
    r = run_python(CODE, str(MODEL), str(folder), "8", str(ONNX_FIXTURES))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for name in ("lists", "array('d')", "memoryview", "bytes", "tuples", "nested"):
        assert out[name] is True, f"{name} converted wrongly"
    assert out["labels"] == mnist.reference[:8]
    assert out["plain_labels"] == mnist.reference[:8]
    assert "expected (n, 784) or (n, 1, 28, 28)" in out["shape_error"]
    assert out["convert"] is True
    assert "calibration has shape (6272,), expected (n, C*H*W) or (n, C, H, W)" in out["flat_error"]
