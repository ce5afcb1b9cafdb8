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
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "mnist"))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import train as mnist_train  # noqa: E402  (models/mnist/train.py: the MNIST loader)
import he_finetune  # noqa: E402
from onnx_weights import load_onnx_weights  # noqa: E402

# This folder's train.py (its lenet5() module), under another name than the loader's.
lenet_train = he_finetune.load_script(os.path.join(HERE, "train.py"), "lenet5_train")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder with the MNIST *-ubyte.gz files")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    he_finetune.start(args)

    data_dir = args.data or mnist_train.find_data_dir()
    x_train, y_train = mnist_train.load_split(data_dir, "train")
    x_test, y_test = mnist_train.load_split(data_dir, "t10k")
    n_fit = x_train.shape[0] - 5000
    x_fit, y_fit = x_train[:n_fit], y_train[:n_fit]
    x_val, y_val = x_train[n_fit:], y_train[n_fit:]

    original = load_onnx_weights(lenet_train.lenet5(), os.path.join(HERE, "lenet5.onnx")).eval()
    he = he_finetune.finetune_and_report(original, "lenet5.onnx", (x_fit, y_fit), (x_val, y_val),
                                         (x_test, y_test), mnist_train.evaluate,
                                         epochs=args.epochs, lr=args.lr, seed=args.seed)
    he_finetune.export_onnx(he, x_test[:1], os.path.join(args.out, "lenet5_he.onnx"), "image")
    with torch.no_grad():
        logits = he.double()(x_test[:16].double()).numpy()
    with open(os.path.join(args.out, "lenet5_he_logits_first16.json"), "w") as f:
        json.dump({"labels": y_test[:16].tolist(), "logits": logits.tolist()}, f)


if __name__ == "__main__":
    main()
