"""cryptonets.from_torch, on PyTorch modules rebuilt with the trained weights of the
models/fixtures networks, evaluated through an encrypted round trip at the insecure
test parameters against torch's float64 outputs recorded in the fixture JSON.

Runs only where ``import torch`` works (the package does not depend on torch):
run_tests.sh runs this file with Debian's /usr/bin/python3 when it has python3-torch.
Rebuilding the modules reads the weights with the onnx package.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

import cryptonets as cn
from conftest import (
    LOGIT_BOUND,
    MIN_AGREEMENT,
    Mnist,
    argmax_agreement,
    encrypted_logits,
    onnx_fixture,
)

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
numpy_helper = pytest.importorskip("onnx.numpy_helper")
np = pytest.importorskip("numpy")
nn = torch.nn

#: The fixture records cover the first N test images; calibration uses the next ones.
N = 32


class Square(nn.Module):
    """x ↦ x², which exports as Mul(x, x)."""

    def forward(self, x: Any) -> Any:
        return x * x


def fixture_weights(name: str) -> Dict[str, Any]:
    """The initializers of models/fixtures/NAME.onnx as float32 tensors."""
    path, _ = onnx_fixture(name)
    proto = onnx.load(str(path))
    return {
        t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in proto.graph.initializer
    }


def load(module: Any, weights: Dict[str, Any], names: Dict[str, str]) -> Any:
    """Copies weights[onnx name] into module's parameter of each torch name."""
    params = dict(module.named_parameters())
    with torch.no_grad():
        for torch_name, onnx_name in names.items():
            params[torch_name].copy_(weights[onnx_name])
    return module


def cryptonets_module() -> Any:
    """The CryptoNets shape of models/fixtures/cryptonets.onnx, with its weights."""
    m = nn.Sequential(
        nn.Conv2d(1, 5, 5, stride=2, padding=1),
        Square(),
        nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=True),
        nn.Flatten(),
        nn.Linear(845, 100),
        Square(),
        nn.Linear(100, 10),
        nn.Softmax(dim=1),
    )
    names = {
        "0.weight": "0.conv.weight",
        "0.bias": "0.conv.bias",
        "4.weight": "0.fc1.weight",
        "4.bias": "0.fc1.bias",
        "6.weight": "0.fc2.weight",
        "6.bias": "0.fc2.bias",
    }
    return load(m, fixture_weights("cryptonets"), names)


def relu_mlp_module(activation: Any = None) -> Any:
    """784 → 64 → ReLU → 10 of models/fixtures/relu_mlp.onnx, with its weights."""
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), activation or nn.ReLU(), nn.Linear(64, 10))
    names = {n: n for n in ("1.weight", "1.bias", "3.weight", "3.bias")}
    return load(m, fixture_weights("relu_mlp"), names)


def test_exact_module(mnist: Mnist) -> None:
    _, record = onnx_fixture("cryptonets")
    module = cryptonets_module()
    x = mnist.images(0, N)
    with torch.no_grad():  # the rebuilt module is the fixture's network
        probs = module.double()(torch.from_numpy(x)).numpy()
    assert np.abs(probs - np.array(record["outputs"])).max() < 1e-6
    module.float()
    module.train()
    with cn.from_torch(module, torch.zeros(1, 1, 28, 28)) as model:
        assert module.training, "from_torch must restore the training mode"
        logits = encrypted_logits(model, x)
    diff = float(np.abs(logits - np.array(record["logits"])).max())
    print(f"from_torch(cryptonets): encrypted logits within {diff:.3g} of torch's")
    assert diff <= LOGIT_BOUND


def test_approximated_module(mnist: Mnist) -> None:
    _, record = onnx_fixture("relu_mlp")
    calibration = torch.from_numpy(mnist.images(N, 256)).float()  # a tensor, not numpy
    example = np.zeros((1, 1, 28, 28), dtype=np.float32)  # numpy works too
    with cn.from_torch(relu_mlp_module(), example, calibration=calibration, degree=2) as model:
        logits = encrypted_logits(model, mnist.images(0, N))
    agree = argmax_agreement(logits, record["logits"])
    print(f"from_torch(relu_mlp): argmax agreement with torch {agree:.3f}")
    assert agree >= MIN_AGREEMENT


def test_unsupported_module() -> None:
    with pytest.raises(cn.UnsupportedError, match="operator LeakyRelu is not supported"):
        cn.from_torch(relu_mlp_module(nn.LeakyReLU()), torch.zeros(1, 1, 28, 28))
    with pytest.raises(cn.InvalidArgumentError, match="calibration"):
        cn.from_torch(relu_mlp_module(), torch.zeros(1, 1, 28, 28))
