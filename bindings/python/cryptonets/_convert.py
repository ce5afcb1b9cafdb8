"""Converting networks trained the ordinary way: ONNX bytes or files
(:func:`convert`), PyTorch modules (:func:`from_torch`)."""

from __future__ import annotations

import inspect
import io
import os
from typing import Any, Dict, Tuple

from . import _arrays, _ffi
from ._api import Model
from ._managed import call_out_object
from .errors import InvalidArgumentError

__all__ = ["convert", "from_torch"]

_lib = _ffi.lib

#: The ONNX operator set :func:`from_torch` exports with.
TORCH_OPSET = 13


def _onnx_bytes(onnx: Any) -> Any:
    """The bytes of an ONNX network given as bytes-like data or a path."""
    if isinstance(onnx, (str, os.PathLike)):
        with open(onnx, "rb") as f:
            return f.read()
    if isinstance(onnx, (bytes, bytearray, memoryview)):
        return onnx
    raise TypeError(
        f"onnx must be the bytes of an ONNX file or its path, got {type(onnx).__name__}"
    )


def _calibration_arg(calibration: Any) -> Tuple[Any, int, int, Any]:
    """(pointer, n_images, values_per_image, keep-alive) for cn_model_from_onnx."""
    if calibration is None:
        return None, 0, 0, None
    px, size = _arrays.image_batch(calibration, "calibration")
    return px.pointer, px.n, size, px


def _degree_arg(degree: Any) -> int:
    if isinstance(degree, bool) or not isinstance(degree, int):
        raise TypeError(f"degree must be an int, got {type(degree).__name__}")
    if not 0 <= degree < 2**31:
        raise InvalidArgumentError(
            f"degree {degree} is out of range: polynomial degrees are 1 to 16 (the library's limit), "
            "or 0 to choose them within the accuracy budget"
        )
    return degree


def convert(onnx: Any, calibration: Any = None, degree: int = 2) -> Model:
    """Import an ONNX network and convert it for encrypted evaluation.

    ``onnx`` is the bytes of an ``.onnx`` file (``bytes``, ``bytearray``,
    ``memoryview``) or its path. The conversion (the library's
    ``cn_model_from_onnx``, as ``cryptonets convert`` on the command line) drops a
    final softmax, log-softmax, sigmoid or tanh, folds batch normalization, replaces
    max pooling by a scaled sum pool, fits a polynomial of degree ``degree`` to every
    ReLU, sigmoid, tanh, GELU or SiLU over the range its inputs take on the
    ``calibration`` images, and merges adjacent linear layers.

    ``calibration``: images shaped ``(n, C, H, W)`` or ``(n, C*H*W)`` as the
    network's input, channel-major, as clients will send them (MNIST: pixel/255),
    as a numpy array, a buffer of doubles with that shape, or nested sequences; a few
    hundred training images are typical. ``None`` for networks whose activations are
    all x² (they need none). ``degree``: 1 to 16 fits polynomials of that degree,
    whatever the accuracy they cost; 0 chooses, for each activation, the polynomial of
    least depth that keeps at least 99 % of the predictions on the calibration images
    (:class:`UnsupportedError` if none does: fine-tune with :func:`finetune`).

    The fitted polynomials and the sum pool change the function: check the converted
    network's accuracy before using it. Raises :class:`MalformedError` if the bytes are
    not an ONNX network, :class:`UnsupportedError` if the library cannot import it
    (the message names the unsupported operator and its node), :class:`InvalidArgumentError` if the network needs
    calibration images and got none, or they do not fit its input.
    """
    data = _onnx_bytes(onnx)
    ptr, n, keep = _arrays.bytes_arg(data)
    cal, count, size, keep_cal = _calibration_arg(calibration)
    deg = _degree_arg(degree)
    # keep and keep_cal hold the buffers behind ptr and cal until the call returns.
    handle = call_out_object(_lib.cn_model_from_onnx, ptr, n, cal, count, size, deg)
    return Model._wrap(handle)


def _torch_export_kwargs(torch: Any) -> Dict[str, Any]:
    """Arguments of torch.onnx.export for a batch-size-agnostic opset-13 graph with
    the TorchScript exporter (torch ≥ 2.5 has a ``dynamo`` switch, which must stay
    off: the dynamo exporter needs opset 18)."""
    kwargs: Dict[str, Any] = {
        "opset_version": TORCH_OPSET,
        "input_names": ["image"],
        "output_names": ["output"],
        "dynamic_axes": {"image": {0: "N"}, "output": {0: "N"}},
    }
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    return kwargs


def from_torch(
    module: Any, example_input: Any, calibration: Any = None, degree: int = 2
) -> Model:
    """Convert a PyTorch module for encrypted evaluation.

    Exports ``module`` in eval mode with ``torch.onnx.export`` into memory (opset 13,
    input ``image`` with a dynamic batch axis; the module's training mode is
    restored afterwards) and calls :func:`convert` on the bytes. ``example_input`` is
    a batch of input images (a tensor or numpy array, e.g. shape ``(1, 1, 28, 28)``):
    it fixes the image shape. ``calibration`` (a tensor, numpy array or sequences)
    and ``degree`` are as for :func:`convert`.

    Needs PyTorch, which the package does not depend on: raises ``ImportError``
    without it. The exported network must use the operators the library imports (see
    :func:`convert`).
    """
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "cryptonets.from_torch needs PyTorch (pip install torch); without it, export "
            "the network with torch.onnx.export elsewhere and pass the .onnx file to "
            "cryptonets.convert"
        ) from exc
    if not isinstance(example_input, torch.Tensor):
        example_input = torch.as_tensor(example_input, dtype=torch.float32)
    if isinstance(calibration, torch.Tensor):
        calibration = calibration.detach().cpu().double().numpy()
    buf = io.BytesIO()
    training = module.training
    module.eval()
    try:
        with torch.no_grad():
            torch.onnx.export(module, (example_input,), buf, **_torch_export_kwargs(torch))
    finally:
        module.train(training)
    return convert(buf.getvalue(), calibration, degree)
