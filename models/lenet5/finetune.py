#!/usr/bin/python3
"""HE-aware fine-tuning of the LeNet-5 network (lenet5.onnx) with
cryptonets.finetune: its two max pools become average pools and its four ReLUs
trainable degree-2 polynomials, then a few epochs on the MNIST training split
recover the accuracy the replacements cost. Exports lenet5_he.onnx, which
`cryptonets convert` imports as it is (no approximation left to make).

    CRYPTONETS_LIBRARY=build/lib/libcryptonets.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 models/lenet5/finetune.py > models/lenet5/finetune_log.txt

The weights of lenet5.onnx are loaded into train.py's lenet5() module
(models/common/onnx_weights.py). Same data split as train.py: the
first 55,000 training images train, the last 5,000 are for monitoring, the test
images only for the final report. CPU, one thread, seeded.
"""

import argparse
import importlib.util
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "mnist"))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import train as mnist_train  # noqa: E402  (models/mnist/train.py: the MNIST loader)
from onnx_weights import load_onnx_weights  # noqa: E402

import cryptonets  # noqa: E402

# This folder's train.py (its lenet5() module), under another name than the loader's.
_spec = importlib.util.spec_from_file_location("lenet5_train", os.path.join(HERE, "train.py"))
lenet_train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lenet_train)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder with the MNIST *-ubyte.gz files")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    print("args:", vars(args))
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    data_dir = args.data or mnist_train.find_data_dir()
    x_train, y_train = mnist_train.load_split(data_dir, "train")
    x_test, y_test = mnist_train.load_split(data_dir, "t10k")
    n_fit = x_train.shape[0] - 5000
    x_fit, y_fit = x_train[:n_fit], y_train[:n_fit]
    x_val, y_val = x_train[n_fit:], y_train[n_fit:]

    original = load_onnx_weights(lenet_train.lenet5(), os.path.join(HERE, "lenet5.onnx")).eval()
    _, acc = mnist_train.evaluate(original, x_test, y_test)
    print("original network (lenet5.onnx): test accuracy %.4f" % acc)

    t0 = time.time()
    he = cryptonets.finetune(original, x_fit, y_fit, epochs=0, degree=2, seed=args.seed, log=print)
    _, acc0 = mnist_train.evaluate(he, x_test, y_test)
    print("replacements in place, before training: test accuracy %.4f" % acc0)
    he = cryptonets.finetune(original, x_fit, y_fit, epochs=args.epochs, degree=2, lr=args.lr,
                             seed=args.seed, log=print)
    elapsed = time.time() - t0
    val_loss, val_acc = mnist_train.evaluate(he, x_val, y_val)
    test_loss, test_acc = mnist_train.evaluate(he, x_test, y_test)
    print("FINAL fine-tuned: validation accuracy %.4f, test loss %.4f, test accuracy %.4f (%d/%d), "
          "%.1f s" % (val_acc, test_loss, test_acc, round(test_acc * x_test.shape[0]),
                      x_test.shape[0], elapsed))
    print(he)

    path = os.path.join(args.out, "lenet5_he.onnx")
    torch.onnx.export(he, x_test[:1], path, opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))
    with torch.no_grad():
        logits = he.double()(x_test[:16].double()).numpy()
    with open(os.path.join(args.out, "lenet5_he_logits_first16.json"), "w") as f:
        json.dump({"labels": y_test[:16].tolist(), "logits": logits.tolist()}, f)


if __name__ == "__main__":
    main()
