#!/usr/bin/python3
"""HE-aware fine-tuning of the breast-cancer MLP (breast_cancer.onnx) with
cryptonets.finetune: its two ReLUs become trainable degree-2 polynomials, then
full-batch epochs on the training split recover the accuracy (no polynomial fitted
to these ReLUs keeps it: their inputs span about ±20). The standardisation stays in
the graph. Exports breast_cancer_he.onnx, which `cryptonets convert` imports as it
is.

    CRYPTONETS_LIBRARY=build/lib/libcryptonets.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 models/breast_cancer/finetune.py > models/breast_cancer/finetune_log.txt

Data: train.csv and test.csv (the split train.py wrote); the test records only for
the final report. The number of epochs is chosen as train.py chose its own: on a
stratified fifth of the training split held out (lowest validation loss among a
few counts), then the fine-tuning runs on the whole training split. CPU, one
thread, seeded.
"""

import argparse
import csv
import importlib.util
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
from onnx_weights import load_onnx_weights  # noqa: E402

import cryptonets  # noqa: E402

_spec = importlib.util.spec_from_file_location("bc_train", os.path.join(HERE, "train.py"))
bc_train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bc_train)


def read_split(name):
    """(features float32 [n,30], labels int64 [n]) of train.csv or test.csv."""
    with open(os.path.join(HERE, name)) as f:
        rows = list(csv.reader(f))[1:]
    x = np.array([[float(v) for v in r[:-1]] for r in rows], dtype=np.float32)
    y = np.array([int(r[-1]) for r in rows], dtype=np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    return (model(x).argmax(1) == y).double().mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, nargs="+", default=[25, 50, 100, 200, 400],
                    help="epoch counts tried on the validation fifth")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    print("args:", vars(args))
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    x_tr, y_tr = read_split("train.csv")
    x_te, y_te = read_split("test.csv")
    with open(os.path.join(HERE, "standardization.csv")) as f:
        rows = list(csv.reader(f))[1:]
    mean = [float(r[1]) for r in rows]
    std = [float(r[2]) for r in rows]
    original = load_onnx_weights(bc_train.mlp(mean, std), os.path.join(HERE, "breast_cancer.onnx")).eval()
    print("original network: train accuracy %.4f, test accuracy %.4f" % (accuracy(original, x_tr, y_tr), accuracy(original, x_te, y_te)))

    t0 = time.time()
    he = cryptonets.finetune(original, x_tr, y_tr, epochs=0, degree=2, seed=args.seed, log=print)
    print("replacements in place, before training: train %.4f, test %.4f" % (accuracy(he, x_tr, y_tr), accuracy(he, x_te, y_te)))
    fit, val = bc_train.stratified_split(y_tr.numpy(), 0.2, args.seed)
    best = None
    for epochs in args.epochs:
        net = cryptonets.finetune(original, x_tr[fit], y_tr[fit], epochs=epochs, degree=2, lr=args.lr,
                                  batch_size=len(fit), seed=args.seed)
        with torch.no_grad():
            vloss = F.cross_entropy(net(x_tr[val]), y_tr[val]).item()
        print("  %4d epochs on %d records: validation loss %.4f, accuracy %.4f"
              % (epochs, len(fit), vloss, accuracy(net, x_tr[val], y_tr[val])))
        if best is None or vloss < best[1]:
            best = (epochs, vloss)
    print("chosen: %d epochs" % best[0])
    he = cryptonets.finetune(original, x_tr, y_tr, epochs=best[0], degree=2, lr=args.lr,
                             batch_size=len(y_tr), seed=args.seed)
    elapsed = time.time() - t0
    with torch.no_grad():
        loss = F.cross_entropy(he(x_te), y_te).item()
    print("FINAL fine-tuned: train accuracy %.4f, test loss %.4f, test accuracy %.4f (%d/%d), %.1f s"
          % (accuracy(he, x_tr, y_tr), loss, accuracy(he, x_te, y_te), round(accuracy(he, x_te, y_te) * len(y_te)),
             len(y_te), elapsed))
    print(he)

    path = os.path.join(args.out, "breast_cancer_he.onnx")
    torch.onnx.export(he, x_te[:1], path, opset_version=13,
                      input_names=["features"], output_names=["logits"],
                      dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
