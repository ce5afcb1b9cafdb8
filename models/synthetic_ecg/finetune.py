#!/usr/bin/python3
"""HE-aware fine-tuning of the synthetic ECG network (synthetic_ecg.onnx) with
cryptonets.finetune: its max pool becomes an average pool and its three ReLUs
trainable degree-2 polynomials, then a few epochs on the training beats recover
the accuracy. Exports synthetic_ecg_he.onnx, which `cryptonets convert` imports as
it is.

    CRYPTONETS_LIBRARY=build/lib/libcryptonets.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 models/synthetic_ecg/finetune.py > models/synthetic_ecg/finetune_log.txt

Same data as train.py: generate(2000, seed=1) trains, generate(200, seed=2) is for
monitoring, the 500 shipped test beats only for the final report. Also writes
train_signals_first1000.npy / train_labels_first1000.npy, the first 1,000 training
beats, for calibrating the conversion. CPU, one thread, seeded.
"""

import argparse
import importlib.util
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import beats  # noqa: E402
from onnx_weights import load_onnx_weights  # noqa: E402

import cryptonets  # noqa: E402

_spec = importlib.util.spec_from_file_location("ecg_train", os.path.join(HERE, "train.py"))
ecg_train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ecg_train)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    print("args:", vars(args))
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    x_fit, y_fit = beats.generate(2000, seed=1)
    x_val, y_val = beats.generate(200, seed=2)
    x_test = np.load(os.path.join(HERE, "test_signals.npy"))
    y_test = np.load(os.path.join(HERE, "test_labels.npy"))
    xf, yf = torch.from_numpy(x_fit), torch.from_numpy(y_fit)
    xv, yv = torch.from_numpy(x_val), torch.from_numpy(y_val)
    xt, yt = torch.from_numpy(x_test), torch.from_numpy(y_test)

    original = load_onnx_weights(ecg_train.ecg_net(), os.path.join(HERE, "synthetic_ecg.onnx")).eval()
    print("original network (synthetic_ecg.onnx): test accuracy %.4f" % ecg_train.evaluate(original, xt, yt)[1])

    t0 = time.time()
    he = cryptonets.finetune(original, xf, yf, epochs=0, degree=2, seed=args.seed, log=print)
    print("replacements in place, before training: test accuracy %.4f" % ecg_train.evaluate(he, xt, yt)[1])
    he = cryptonets.finetune(original, xf, yf, epochs=args.epochs, degree=2, lr=args.lr, batch_size=64,
                             schedule="cosine", seed=args.seed, log=print)
    elapsed = time.time() - t0
    _, val_acc = ecg_train.evaluate(he, xv, yv)
    test_loss, test_acc = ecg_train.evaluate(he, xt, yt)
    print("FINAL fine-tuned: validation accuracy %.4f, test loss %.4f, test accuracy %.4f (%d/%d), %.1f s"
          % (val_acc, test_loss, test_acc, round(test_acc * len(yt)), len(yt), elapsed))
    print(he)

    path = os.path.join(args.out, "synthetic_ecg_he.onnx")
    torch.onnx.export(he, xt[:1], path, opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["signal"], output_names=["logits"],
                      dynamic_axes={"signal": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))
    np.save(os.path.join(args.out, "train_signals_first1000.npy"), x_fit[:1000])
    np.save(os.path.join(args.out, "train_labels_first1000.npy"), y_fit[:1000])


if __name__ == "__main__":
    main()
