#!/usr/bin/python3
"""Train a LeNet-5-style MNIST CNN (batch-norm, ReLU, max-pooling) the ordinary
way and export it to ONNX, as a shipped example for the CryptoNets conversion
(see README.md).

Architecture (input [N,1,28,28], pixels = raw byte / 255, no normalization):

    Conv2d(1, 6, k=5)      -> [N,6,24,24]
    BatchNorm2d(6), ReLU
    MaxPool2d(2)           -> [N,6,12,12]
    Conv2d(6, 16, k=5)     -> [N,16,8,8]
    BatchNorm2d(16), ReLU
    MaxPool2d(2)           -> [N,16,4,4]
    flatten                -> [N,256]
    Linear(256, 120), ReLU
    Linear(120, 84), ReLU
    Linear(84, 10)         -> logits (output "logits")

Data: GoMNIST's IDX files from the Go module cache, read with
models/mnist/train.py's loader. The last 5,000 training images are held out for
monitoring; the 10,000 test images are used only for the final report. CPU, one
thread, seeded: runs are deterministic.

Outputs (next to this script, or in --out):
    lenet5.onnx               opset 13, input "image", output "logits"
    test_logits_first16.json  float64 torch logits of the first 16 test images
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "mnist"))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import train as mnist_train  # noqa: E402  (MNIST loader, evaluation)
import netcost  # noqa: E402
import onnx_numpy  # noqa: E402


def lenet5():
    """The network; forward returns logits."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder with the MNIST *-ubyte.gz files")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=HERE)
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
    print("train %d, validation %d, test %d" % (n_fit, x_val.shape[0], x_test.shape[0]))

    model = lenet5()
    netcost.print_cost(model, x_test)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 128
    total_steps = args.epochs * math.ceil(n_fit / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=total_steps)
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
              % (epoch, run_loss / n_fit, val_loss, val_acc, time.time() - t0), flush=True)
    train_time = time.time() - t0
    test_loss, test_acc = mnist_train.evaluate(model, x_test, y_test)
    print("FINAL model: test loss %.4f  test accuracy %.4f (%d/%d)  training time %.1f s"
          % (test_loss, test_acc, round(test_acc * x_test.shape[0]), x_test.shape[0],
             train_time))

    os.makedirs(args.out, exist_ok=True)
    model.eval()
    path = os.path.join(args.out, "lenet5.onnx")
    # PRESERVE keeps the BatchNormalization nodes (in eval mode PyTorch would fuse
    # them into the convolutions): the conversion folds them.
    torch.onnx.export(model, x_test[:1], path, opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)

    # float64 reference: the float32 weights widened exactly, pixels byte/255 in
    # float64 (exactly the Go side's pixels).
    raw = mnist_train.read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))
    x64 = torch.from_numpy(raw.astype(np.float64) / 255.0).unsqueeze(1)
    model64 = model.double()

    def torch64(x):
        with torch.no_grad():
            return model64(torch.from_numpy(x)).numpy()

    ops, diff = onnx_numpy.check_export(path, torch64, x64[:256].numpy())
    print("wrote %s (%d bytes): %s; numpy ONNX evaluator vs torch float64 on 256 test "
          "images: max |diff| %.3g" % (path, os.path.getsize(path), " ".join(ops), diff))
    with open(os.path.join(args.out, "test_logits_first16.json"), "w") as f:
        json.dump({"description": "float64 torch logits of lenet5.onnx for the first 16 "
                   "MNIST test images (pixels byte/255 in float64)",
                   "labels": y_test[:16].tolist(),
                   "logits": torch64(x64[:16].numpy()).tolist()}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
