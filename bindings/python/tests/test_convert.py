"""cryptonets.convert: the ONNX networks of models/fixtures, converted from Python and
evaluated through an encrypted round trip at the insecure test parameters, against
torch's float64 outputs recorded in the fixture JSON and against ONNX's own reference
evaluator (when the onnx package with onnx.reference is installed).

The bounds (conftest): an exactly converted network (cryptonets.onnx: only the final
softmax dropped) gives every logit within LOGIT_BOUND of torch's; an approximated one
(relu_mlp.onnx: ReLU fitted by a degree-2 polynomial) agrees on the argmax of at least
MIN_AGREEMENT of the images.
"""

from __future__ import annotations

import sys
from array import array
from typing import Any

import pytest

import cryptonets as cn
from cryptonets import _ffi
from conftest import (
    LOGIT_BOUND,
    MIN_AGREEMENT,
    Mnist,
    argmax_agreement,
    encrypted_logits,
    onnx_fixture,
)

np = pytest.importorskip("numpy")

#: The fixture records cover the first N test images; calibration uses the next ones.
N = 32


def softmax(z: Any) -> Any:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_exact_network(mnist: Mnist) -> None:
    path, record = onnx_fixture("cryptonets")
    with cn.convert(path) as model:
        # The same network from a str path, bytes, bytearray and memoryview.
        data = path.read_bytes()
        for other in (str(path), data, bytearray(data), memoryview(data)):
            with cn.convert(other) as m:
                assert m.to_bytes() == model.to_bytes()
        logits = encrypted_logits(model, mnist.images(0, N))
    want = np.array(record["logits"])
    diff = float(np.abs(logits - want).max())
    print(f"cryptonets.onnx: encrypted logits within {diff:.3g} of torch's")
    assert logits.shape == (N, 10)
    assert diff <= LOGIT_BOUND
    assert argmax_agreement(logits, want) == 1.0


def test_approximated_network(mnist: Mnist) -> None:
    path, record = onnx_fixture("relu_mlp")
    calibration = mnist.images(N, 256)  # not the images evaluated below
    with cn.convert(path, calibration=calibration, degree=2) as model:
        # Calibration as (n, 784), as nested lists, and as a 2-D buffer: the same model.
        flat = calibration.reshape(len(calibration), -1)
        buf = memoryview(array("d", flat.ravel().tolist())).cast("B").cast("d", flat.shape)
        for other in (flat, flat.tolist(), buf):
            with cn.convert(path, calibration=other) as m:
                assert m.to_bytes() == model.to_bytes()
        with cn.convert(path, calibration=calibration, degree=3) as m3:
            assert m3.to_bytes() != model.to_bytes()
        logits = encrypted_logits(model, mnist.images(0, N))
    agree = argmax_agreement(logits, record["logits"])
    print(f"relu_mlp.onnx: argmax agreement with torch {agree:.3f}")
    assert agree >= MIN_AGREEMENT


def test_matches_onnx_reference_evaluator(mnist: Mnist) -> None:
    """ONNX's reference evaluator (float32) gives the fixtures' recorded outputs, and
    the encrypted converted networks agree with it."""
    reference = pytest.importorskip("onnx.reference", reason="needs onnx >= 1.13 (onnx.reference)")
    import onnx

    x = mnist.images(0, N)
    for name in ("cryptonets", "relu_mlp"):
        path, record = onnx_fixture(name)
        proto = onnx.load(str(path))
        evaluator = reference.ReferenceEvaluator(proto)
        (out,) = evaluator.run(None, {proto.graph.input[0].name: x.astype(np.float32)})
        out = np.asarray(out, dtype=np.float64)
        assert np.abs(out - np.array(record["outputs"])).max() < 1e-4, name
        calibration = mnist.images(N, 256) if name == "relu_mlp" else None
        with cn.convert(path, calibration=calibration) as model:
            logits = encrypted_logits(model, x)
        if name == "cryptonets":  # the graph ends in a softmax, the converted network does not
            assert np.abs(softmax(logits) - out).max() < 1e-3
            assert argmax_agreement(logits, out) == 1.0
        else:
            assert argmax_agreement(logits, out) >= MIN_AGREEMENT


def relu_as_selu(data: bytes) -> bytes:
    """relu_mlp.onnx with its Relu node's op_type (NodeProto field 4) made Selu."""
    field = b"\x22\x04Relu"
    assert data.count(field) == 1
    return data.replace(field, b"\x22\x04Selu")


def test_errors(mnist: Mnist, tmp_path: Any) -> None:
    path, _ = onnx_fixture("relu_mlp")
    calibration = mnist.images(N, N + 16)
    with pytest.raises(cn.InvalidArgumentError, match="give calibration images") as err:
        cn.convert(path)
    assert err.value.code == _ffi.CN_E_INVALID_ARGUMENT
    assert str(err.value).startswith("cn_model_from_onnx: ")
    with pytest.raises(cn.UnsupportedError, match="operator Selu is not supported") as ferr:
        cn.convert(relu_as_selu(path.read_bytes()), calibration=calibration)
    assert ferr.value.code == _ffi.CN_E_UNSUPPORTED
    with pytest.raises(cn.MalformedError, match="cannot decode"):
        cn.convert(b"not an onnx file")
    with pytest.raises(cn.MalformedError):
        cn.convert(b"")
    with pytest.raises(cn.InvalidArgumentError, match="want 784"):
        cn.convert(path, calibration=calibration.reshape(16, -1)[:, :783])
    with pytest.raises(cn.InvalidArgumentError, match="NaN"):
        cn.convert(path, calibration=np.full((2, 784), np.nan))
    with pytest.raises(cn.InvalidArgumentError, match="expected"):
        cn.convert(path, calibration=calibration[0])  # one image without a batch axis
    with pytest.raises(cn.InvalidArgumentError, match="no images"):
        cn.convert(path, calibration=np.zeros((0, 784)))
    with pytest.raises(cn.InvalidArgumentError, match="outside"):
        cn.convert(path, calibration=calibration, degree=17)
    with pytest.raises(cn.InvalidArgumentError, match="out of range"):
        cn.convert(path, calibration=calibration, degree=-1)
    with pytest.raises(TypeError, match="degree"):
        cn.convert(path, calibration=calibration, degree=2.0)
    with pytest.raises(TypeError, match="ONNX"):
        cn.convert(1234)
    with pytest.raises(FileNotFoundError):
        cn.convert(tmp_path / "none.onnx")
    # The process goes on.
    with cn.convert(path, calibration=calibration) as model:
        assert model.manifest_insecure_for_testing().outputs == 10


def test_from_torch_without_torch(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(ImportError, match="needs PyTorch"):
        cn.from_torch(object(), [[0.0]])
