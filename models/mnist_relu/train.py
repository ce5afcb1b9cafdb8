#!/usr/bin/python3
"""Train a small ReLU network on MNIST the ordinary way and export it to ONNX, for
the CryptoNets conversion with polynomial activations (see README.md).

Architecture (input [N,1,28,28], pixels = raw byte / 255, no normalization):

    Conv2d(1, 5, k=5, stride=2, pad=1)   -> [N,5,13,13]
    BatchNorm2d(5)
    ReLU
    flatten                              -> [N,845]
    Linear(845, 100)
    BatchNorm1d(100)
    ReLU
    Linear(100, 10)                      -> logits (output "logits")

BatchNormalization standardizes each neuron's input to the ReLU, so that one
polynomial per layer fits every neuron; the conversion folds it into the
convolution and the dense layer. --plain trains the same network without it,
for comparison (see README.md).

Data: GoMNIST's IDX files, read with models/mnist/train.py's loader. The last
5,000 training images are held out for validation; the test images are only used
for the final report. One thread; the default 8 epochs take about two minutes.

Outputs (next to this script, or in --out):
    mnist_relu.onnx           opset 13
    test_logits_first16.json  float64 torch logits of the first 16 test images
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "mnist"))
import train as mnist_train  # noqa: E402  (loader, evaluation)


class ReluNet(nn.Module):
    """The CryptoNets MNIST shape with ReLU activations and no pooling, with
    BatchNormalization before each ReLU (Identity instead if plain)."""

    def __init__(self, plain=False):
        super().__init__()
        self.conv = nn.Conv2d(1, 5, kernel_size=5, stride=2, padding=1)
        self.bn1 = nn.Identity() if plain else nn.BatchNorm2d(5)
        self.fc1 = nn.Linear(845, 100)
        self.bn2 = nn.Identity() if plain else nn.BatchNorm1d(100)
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.bn2(self.fc1(x)))
        return self.fc2(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder with the MNIST *-ubyte.gz files")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--plain", action="store_true",
                    help="no BatchNormalization (for comparison)")
    args = ap.parse_args()
    print("args:", vars(args))
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    data_dir = args.data or mnist_train.find_data_dir()
    x_train, y_train = mnist_train.load_split(data_dir, "train")
    x_test, y_test = mnist_train.load_split(data_dir, "t10k")
    n_fit = x_train.shape[0] - 5000
    x_fit, y_fit = x_train[:n_fit], y_train[:n_fit]
    x_val, y_val = x_train[n_fit:], y_train[n_fit:]

    model = ReluNet(plain=args.plain)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    batch = 128
    total_steps = args.epochs * math.ceil(n_fit / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3,
                                                total_steps=total_steps)
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(n_fit, generator=gen)
        run_loss = 0.0
        for i in range(0, n_fit, batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(x_fit[idx]), y_fit[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run_loss += loss.item() * idx.numel()
        val_loss, val_acc = mnist_train.evaluate(model, x_val, y_val)
        print("epoch %2d  train loss %.4f  val loss %.4f acc %.4f  (%.0fs)"
              % (epoch, run_loss / n_fit, val_loss, val_acc, time.time() - t0),
              flush=True)
    test_loss, test_acc = mnist_train.evaluate(model, x_test, y_test)
    print("FINAL model: test loss %.4f  test accuracy %.4f (%d/%d)  "
          "training time %.1f s" % (test_loss, test_acc,
                                    round(test_acc * x_test.shape[0]),
                                    x_test.shape[0], time.time() - t0))

    os.makedirs(args.out, exist_ok=True)
    model.eval()
    path = os.path.join(args.out, "mnist_relu.onnx")
    # PRESERVE keeps the BatchNormalization nodes (in eval mode PyTorch would
    # fuse the first one into the convolution): the conversion folds them.
    torch.onnx.export(model, x_test[:1], path, opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"},
                                    "logits": {0: "batch"}},
                      do_constant_folding=True)
    import onnx
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    print("wrote %s (%d bytes): %s" % (path, os.path.getsize(path),
          " ".join(n.op_type for n in proto.graph.node)))
    with torch.no_grad():
        x16 = torch.from_numpy(mnist_train.read_idx(os.path.join(
            data_dir, "t10k-images-idx3-ubyte.gz"))[:16].astype("float64")
            / 255.0).unsqueeze(1)
        logits16 = model.double()(x16)
    with open(os.path.join(args.out, "test_logits_first16.json"), "w") as f:
        json.dump({"description": "float64 torch logits of mnist_relu.onnx "
                   "for the first 16 MNIST test images (pixels byte/255 in "
                   "float64)", "labels": y_test[:16].tolist(),
                   "logits": logits16.tolist()}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
