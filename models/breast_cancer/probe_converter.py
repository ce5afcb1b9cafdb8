#!/usr/bin/python3
"""Measure what today's converter does with the rest of breast_cancer.onnx, for
the model card: today's importer rejects the graph's first node (Sub, the
standardisation), so this script removes the Sub and Div by hand, converts the
remaining network with `cryptonets convert --calibration-file` on the
standardised training records, and evaluates the converted network on the
standardised test records in float64 numpy from the polynomial coefficients in
the converter's --json report (the CLI's --test-images checks MNIST only).

    go build -o build/bin/cryptonets ./cmd/cryptonets
    /usr/bin/python3 models/breast_cancer/probe_converter.py [--degree 2 4 ...]

It writes its files in a temporary folder and prints one line per degree. Once
the converter takes Sub/Div on the input (issue 13 item 5) and checks tabular
accuracy itself, this script has done its job.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import onnx_numpy  # noqa: E402


def load(name):
    rows = np.loadtxt(os.path.join(HERE, name), delimiter=",", skiprows=1)
    return rows[:, :30], rows[:, 30].astype(int)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--degree", type=int, nargs="*", default=[2, 3, 4, 6, 8])
    ap.add_argument("--cli", default=os.path.join(REPO, "build", "bin", "cryptonets"))
    args = ap.parse_args()

    proto = onnx.load(os.path.join(HERE, "breast_cancer.onnx"))
    g = proto.graph
    if [n.op_type for n in g.node[:3]] != ["Sub", "Div", "Gemm"]:
        sys.exit("unexpected graph: %s" % [n.op_type for n in g.node])
    std = np.loadtxt(os.path.join(HERE, "standardization.csv"), delimiter=",",
                     skiprows=1, usecols=(1, 2))
    mean, scale = std[:, 0], std[:, 1]
    g.node[2].input[0] = g.input[0].name
    del g.node[0:2]
    onnx.checker.check_model(proto)
    x_tr, _ = load("train.csv")
    x_te, y_te = load("test.csv")
    z_tr, z_te = (x_tr - mean) / scale, (x_te - mean) / scale
    plain = onnx_numpy.run(proto, z_te)
    weights = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    gemms = [(weights[n.input[1]], weights[n.input[2]]) for n in g.node if n.op_type == "Gemm"]
    print("network without Sub/Div on standardised test records: accuracy %.4f"
          % (plain.argmax(1) == y_te).mean())

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "breast_cancer_standardised.onnx")
        onnx.save(proto, src)
        cal = os.path.join(tmp, "train_standardised.f64")
        z_tr.astype("<f8").tofile(cal)
        for degree in args.degree:
            run = subprocess.run([args.cli, "convert", src, "-o", os.path.join(tmp, "m.cnm"),
                                  "--calibration-file", cal, "--degree", str(degree), "--json"],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                print("degree %d: convert failed: %s" % (degree, run.stderr.strip()))
                continue
            rep = json.loads(run.stdout)
            fits = rep["fitted_activations"]
            h, outside = z_te, []
            for i, (w, b) in enumerate(gemms):
                h = h @ w.T + b
                if i < len(fits):
                    lo, hi = fits[i]["interval"]
                    outside.append(float(((h < lo) | (h > hi)).mean()))
                    h = sum(c * h ** k for k, c in enumerate(fits[i]["coefficients"]))
            enc = rep["encryption"]
            print("degree %d: accuracy after %.4f (argmax agreement %.4f); intervals %s, "
                  "max errors %s; test values outside the intervals %s; encryption: %s"
                  % (degree, (h.argmax(1) == y_te).mean(),
                     (h.argmax(1) == plain.argmax(1)).mean(),
                     [[round(v, 2) for v in f["interval"]] for f in fits],
                     [round(f["max_error"], 2) for f in fits], outside,
                     enc.get("error") or "%s, precision %s bits, input range %s"
                     % (enc["params"], enc["precision_bits"], rep["after"]["input_range"])))
            if run.stderr.strip():
                print("  stderr:", run.stderr.strip())


if __name__ == "__main__":
    main()
