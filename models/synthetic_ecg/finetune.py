#!/usr/bin/python3
"""HE-aware fine-tuning of the synthetic ECG network (synthetic_ecg.onnx) with
cryptonets.finetune: its max pool becomes an average pool and its three ReLUs
trainable degree-2 polynomials, then a few epochs on the training beats recover
the accuracy. Exports synthetic_ecg_he.onnx, which `cryptonets convert` imports as
it is.

    CRYPTONETS_LIBRARY=build/lib/libcryptonets.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 models/synthetic_ecg/finetune.py > models/synthetic_ecg/finetune_log.txt

Same data as train.py: generate(2000, seed=1) trains, generate(200, seed=2) is for
monitoring, the 500 shipped test beats only for the final report. The learning rate
(3e-3, cosine to 0 over 10 epochs of batches of 64) was chosen on the validation
beats, with 10,000 further beats, generate(2000, seed=4), on which the script also
compares the original and the fine-tuned network: 500 test beats are few (one beat
is 0.2 points). Also writes train_signals_first1000.npy /
train_labels_first1000.npy, the first 1,000 training beats, for calibrating the
conversion. CPU, one thread, seeded.
"""

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import beats  # noqa: E402
import he_finetune  # noqa: E402
from onnx_weights import load_onnx_weights  # noqa: E402

ecg_train = he_finetune.load_script(os.path.join(HERE, "train.py"), "ecg_train")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    he_finetune.start(args)

    x_fit, y_fit = beats.generate(2000, seed=1)
    x_val, y_val = beats.generate(200, seed=2)
    x_test = np.load(os.path.join(HERE, "test_signals.npy"))
    y_test = np.load(os.path.join(HERE, "test_labels.npy"))
    fit = torch.from_numpy(x_fit), torch.from_numpy(y_fit)
    val = torch.from_numpy(x_val), torch.from_numpy(y_val)
    test = torch.from_numpy(x_test), torch.from_numpy(y_test)

    original = load_onnx_weights(ecg_train.ecg_net(), os.path.join(HERE, "synthetic_ecg.onnx")).eval()
    he = he_finetune.finetune_and_report(original, "synthetic_ecg.onnx", fit, val, test, ecg_train.evaluate,
                                         epochs=args.epochs, lr=args.lr, batch_size=64,
                                         schedule="cosine", seed=args.seed)
    x_more, y_more = beats.generate(2000, seed=4)
    more = torch.from_numpy(x_more), torch.from_numpy(y_more)
    print("%d further beats (generate(2000, seed=4)): original accuracy %.4f, fine-tuned %.4f"
          % (len(y_more), ecg_train.evaluate(original, *more)[1], ecg_train.evaluate(he, *more)[1]))
    he_finetune.export_onnx(he, test[0][:1], os.path.join(args.out, "synthetic_ecg_he.onnx"), "signal")
    np.save(os.path.join(args.out, "train_signals_first1000.npy"), x_fit[:1000])
    np.save(os.path.join(args.out, "train_labels_first1000.npy"), y_fit[:1000])


if __name__ == "__main__":
    main()
