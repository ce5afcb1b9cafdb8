"""A small float64 numpy evaluator for the ONNX operators the shipped example
networks use, so that each training script checks its exported file against
PyTorch without onnxruntime (not in Debian 12) or onnx.reference (onnx >= 1.13).

Supported: Conv and MaxPool/AveragePool over any number of spatial axes (group 1,
dilation 1, explicit pads), BatchNormalization (inference), Relu, Flatten, Gemm,
MatMul, Add, Sub, Mul, Div, Pad (constant), Constant, Identity. Anything else raises
NotImplementedError naming the operator.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from onnx import helper, numpy_helper


def _windows(x, kernel, strides, pads, pad_value):
    """x [N, C, *S] -> windows [N, C, *O, *kernel] after padding and striding."""
    r = len(kernel)
    pad = [(0, 0), (0, 0)] + [(pads[i], pads[i + r]) for i in range(r)]
    x = np.pad(x, pad, constant_values=pad_value)
    w = sliding_window_view(x, kernel, axis=tuple(range(2, 2 + r)))
    return w[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in strides)]


def _window_attrs(a, r):
    k = list(a["kernel_shape"])
    if any(d != 1 for d in a.get("dilations", [1] * r)):
        raise NotImplementedError("dilation")
    if a.get("ceil_mode", 0):
        raise NotImplementedError("ceil_mode")
    return k, list(a.get("strides", [1] * r)), list(a.get("pads", [0] * 2 * r))


def run(model_proto, x):
    """Evaluate the (single-input, single-output) graph on x in float64."""
    g = model_proto.graph
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    env[g.input[0].name] = np.asarray(x, dtype=np.float64)
    for node in g.node:
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            w = ins[1]
            r = w.ndim - 2
            if a.get("group", 1) != 1:
                raise NotImplementedError("grouped Conv")
            k, s, p = _window_attrs(dict(a, kernel_shape=w.shape[2:]), r)
            win = _windows(ins[0], k, s, p, 0.0)
            sp = "defgh"[:r]
            out = np.einsum("nc%s%s,oc%s->no%s" % (sp, sp.upper(), sp.upper(), sp), win, w)
            if len(ins) > 2 and ins[2] is not None:
                out = out + ins[2].reshape((1, -1) + (1,) * r)
        elif op in ("MaxPool", "AveragePool"):
            r = ins[0].ndim - 2
            k, s, p = _window_attrs(a, r)
            axes = tuple(range(-r, 0))
            if op == "MaxPool":
                if len(node.output) > 1:
                    raise NotImplementedError("MaxPool Indices")
                out = _windows(ins[0], k, s, p, -np.inf).max(axis=axes)
            else:
                if any(p) and not a.get("count_include_pad", 0):
                    raise NotImplementedError("AveragePool without count_include_pad")
                out = _windows(ins[0], k, s, p, 0.0).mean(axis=axes)
        elif op == "BatchNormalization":
            if len(node.output) > 1:
                raise NotImplementedError("BatchNormalization in training mode")
            shape = (1, -1) + (1,) * (ins[0].ndim - 2)
            scale, bias, mean, var = (t.reshape(shape) for t in ins[1:5])
            eps = np.float64(np.float32(a.get("epsilon", 1e-5)))
            out = (ins[0] - mean) / np.sqrt(var + eps) * scale + bias
        elif op == "Pad":
            mode = a.get("mode", b"constant")
            if mode not in (b"constant", "constant"):
                raise NotImplementedError("Pad mode %s" % mode)
            pads = [int(v) for v in (ins[1] if len(ins) > 1 else a["pads"])]
            r = ins[0].ndim
            value = ins[2].item() if len(ins) > 2 and ins[2] is not None else 0.0
            out = np.pad(ins[0], [(pads[i], pads[i + r]) for i in range(r)],
                         constant_values=value)
        elif op == "Relu":
            out = np.maximum(ins[0], 0.0)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            out = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Gemm":
            A = ins[0].T if a.get("transA", 0) else ins[0]
            B = ins[1].T if a.get("transB", 0) else ins[1]
            out = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                out = out + a.get("beta", 1.0) * ins[2]
        elif op == "MatMul":
            out = ins[0] @ ins[1]
        elif op == "Add":
            out = ins[0] + ins[1]
        elif op == "Sub":
            out = ins[0] - ins[1]
        elif op == "Mul":
            out = ins[0] * ins[1]
        elif op == "Div":
            out = ins[0] / ins[1]
        elif op == "Constant":
            out = numpy_helper.to_array(a["value"]).astype(np.float64)
        elif op == "Identity":
            out = ins[0]
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = out
    return env[g.output[0].name]


def check_export(path, torch_fn, x, tol=1e-4):
    """Load the ONNX file at path, check it, evaluate it on x (numpy) and compare
    with torch_fn(x) (numpy float64). Returns (op types, max |difference|) and
    raises if they differ by more than tol or disagree on an argmax."""
    import onnx
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    got = run(proto, x)
    want = np.asarray(torch_fn(x), dtype=np.float64)
    diff = float(np.abs(got - want).max())
    if diff > tol or not (got.argmax(1) == want.argmax(1)).all():
        raise SystemExit("%s: the ONNX graph differs from torch (max |diff| %.3g)" % (path, diff))
    return [n.op_type for n in proto.graph.node], diff
