#!/usr/bin/python3
"""Train a small MLP on the Wisconsin diagnostic breast-cancer data that
scikit-learn ships, and export it to ONNX with the standardisation inside the
graph, so that the network takes the raw features (see README.md).

Data: sklearn.datasets.load_breast_cancer (Debian python3-sklearn; 569 records,
30 real-valued features of a fine-needle aspirate image, class 0 = malignant
(212), 1 = benign (357)). Split: a seeded stratified 70/30 split (398 training,
171 test records) made with numpy, not scikit-learn, so that it does not depend
on scikit-learn's version. Standardisation: the training split's per-feature
mean and (population) standard deviation, rounded to float32, the precision
the ONNX graph stores them in.

Architecture (input "features" [N,30] raw, output "logits" [N,2]):

    (x - mean) / std        -> ONNX Sub, Div by constants
    Linear(30, 16), ReLU
    Linear(16, 8), ReLU
    Linear(8, 2)            -> logits (argmax: 0 malignant, 1 benign)

Training: full batch, Adam (lr 1e-3, weight decay 1e-3); the number of epochs
is the one with the lowest loss on a validation fifth of the training split, then
the network is retrained on the whole training split (nothing is selected on the
test split). CPU, one thread, seeded: runs are deterministic.

Outputs (next to this script, or in --out):
    breast_cancer.onnx   opset 13
    train.csv, test.csv  the split: the 30 features (raw, as scikit-learn has
                         them, written exactly) and "label"
    standardization.csv  feature, mean, std (the float32 values in the graph)
    test_logits.json     float64 torch logits of every test record
"""

import argparse
import csv
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import netcost  # noqa: E402
import onnx_numpy  # noqa: E402


class Standardize(nn.Module):
    """(x - mean) / std with constant float32 mean and std: exported as ONNX Sub
    and Div."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) / self.std


def mlp(mean, std):
    """The network; forward takes raw features and returns logits."""
    return nn.Sequential(
        Standardize(mean, std),
        nn.Linear(30, 16), nn.ReLU(),
        nn.Linear(16, 8), nn.ReLU(),
        nn.Linear(8, 2))


def stratified_split(y, test_fraction, seed):
    """Indices (train, test), each sorted, with each class split in proportion."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(test_fraction * idx.size))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def write_split(path, names, x, y):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(names) + ["label"])
        for row, label in zip(x, y):
            w.writerow([repr(float(v)) for v in row] + [int(label)])


def train(x, y, mean, std, args, x_val=None, y_val=None):
    """Train a fresh network on (x, y), full batch, for args["epochs"] epochs.
    Returns the network, the validation loss after each epoch (if x_val is given)
    and the training time in seconds."""
    args = args if isinstance(args, dict) else vars(args)
    torch.manual_seed(args["seed"])
    model = mlp(mean, std)
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=args["lr"],
                           weight_decay=args["weight_decay"])
    curve = []
    t0 = time.time()
    for epoch in range(1, args["epochs"] + 1):
        model.train()
        loss = F.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if x_val is not None:
            model.eval()
            with torch.no_grad():
                curve.append(F.cross_entropy(
                    model(torch.from_numpy(x_val.astype(np.float32))),
                    torch.from_numpy(y_val)).item())
        if epoch % 100 == 0:
            print("  epoch %4d  train loss %.4f%s  (%.1fs)"
                  % (epoch, loss.item(),
                     "  val loss %.4f" % curve[-1] if curve else "", time.time() - t0),
                  flush=True)
    return model.eval(), curve, time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=1000,
                    help="most epochs tried on the validation fifth")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    print("args:", vars(args))
    torch.set_num_threads(1)

    from sklearn.datasets import load_breast_cancer
    import sklearn
    data = load_breast_cancer()
    x_all, y_all = data.data.astype(np.float64), data.target.astype(np.int64)
    print("scikit-learn %s: %d records, %d features, classes %s, counts %s"
          % (sklearn.__version__, x_all.shape[0], x_all.shape[1],
             list(data.target_names), np.bincount(y_all).tolist()))
    tr, te = stratified_split(y_all, 0.3, args.seed)
    x_tr, y_tr, x_te, y_te = x_all[tr], y_all[tr], x_all[te], y_all[te]
    print("train %d %s, test %d %s" % (tr.size, np.bincount(y_tr).tolist(),
                                       te.size, np.bincount(y_te).tolist()))
    mean = x_tr.mean(0).astype(np.float32)
    std = x_tr.std(0).astype(np.float32)

    # The number of epochs is chosen on a validation fifth of the training split
    # (lowest validation loss), then the network is trained again on the whole
    # training split for that many epochs. The test split is not looked at.
    fit, val = stratified_split(y_tr, 0.2, args.seed)
    probe, curve, _ = train(x_tr[fit], y_tr[fit], mean, std, args, x_tr[val], y_tr[val])
    epochs = 1 + int(np.argmin(curve))
    print("validation (%d of the training records): lowest loss %.4f after %d epochs"
          % (val.size, curve[epochs - 1], epochs))
    model, _, train_time = train(x_tr, y_tr, mean, std, dict(vars(args), epochs=epochs))
    netcost.print_cost(model, torch.zeros(1, 30))
    xe = torch.from_numpy(x_te.astype(np.float32))
    ye = torch.from_numpy(y_te)
    model.eval()
    with torch.no_grad():
        logits = model(xe)
        test_loss = F.cross_entropy(logits, ye).item()
        pred = logits.argmax(1)
    correct = (pred == ye).sum().item()
    cm = [[int(((ye == t) & (pred == p)).sum()) for p in range(2)] for t in range(2)]
    print("FINAL model: test loss %.4f  test accuracy %.4f (%d/%d)  training time %.1f s"
          % (test_loss, correct / te.size, correct, te.size, train_time))
    print("confusion (rows true, columns predicted; 0 malignant, 1 benign):", cm)

    os.makedirs(args.out, exist_ok=True)
    write_split(os.path.join(args.out, "train.csv"), data.feature_names, x_tr, y_tr)
    write_split(os.path.join(args.out, "test.csv"), data.feature_names, x_te, y_te)
    with open(os.path.join(args.out, "standardization.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["feature", "mean", "std"])
        for name, m, s in zip(data.feature_names, mean, std):
            w.writerow([name, repr(float(m)), repr(float(s))])

    path = os.path.join(args.out, "breast_cancer.onnx")
    torch.onnx.export(model, xe[:1], path, opset_version=13,
                      input_names=["features"], output_names=["logits"],
                      dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    model64 = model.double()

    def torch64(x):
        with torch.no_grad():
            return model64(torch.from_numpy(x)).numpy()

    ops, diff = onnx_numpy.check_export(path, torch64, x_te)
    print("wrote %s (%d bytes): %s; numpy ONNX evaluator vs torch float64 on the %d "
          "test records: max |diff| %.3g" % (path, os.path.getsize(path), " ".join(ops),
                                            te.size, diff))
    with open(os.path.join(args.out, "test_logits.json"), "w") as f:
        json.dump({"description": "float64 torch logits of breast_cancer.onnx (float32 "
                   "weights and standardisation constants widened exactly) for every "
                   "record of test.csv, in order (raw float64 features)",
                   "labels": y_te.tolist(), "logits": torch64(x_te).tolist()}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
