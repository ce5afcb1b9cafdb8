"""The run shared by the examples' fine-tuning scripts (models/lenet5/finetune.py,
models/synthetic_ecg/finetune.py): load a sibling train.py for its network, fine-tune
the shipped network with cryptonets.finetune while reporting accuracy before and
after, and export the result as ONNX that `cryptonets convert` imports as it is.
Needs the cryptonets package (PYTHONPATH=bindings/python and CRYPTONETS_LIBRARY)."""

import importlib.util
import os
import time

import torch

import cryptonets


def load_script(path, name):
    """The Python file at path loaded as a module called name (each example's train.py
    defines its network; the name keeps it apart from other train.py modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start(args):
    """Prints the parsed arguments, then makes torch use one thread and seeds it with
    args.seed, so that a run is deterministic."""
    print("args:", vars(args))
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)


def finetune_and_report(original, name, train, validation, test, evaluate, *, seed, degree=2,
                        **training):
    """Fine-tunes original on train with cryptonets.finetune (average pools and
    trainable polynomials of degree in place, then training as the keyword arguments
    training say: epochs, lr, batch_size, schedule) and returns the result. Prints the
    original's test accuracy, the accuracy with the replacements in place and no
    training, the training log, and the fine-tuned network's validation and test
    accuracy with the time taken. train, validation and test are (inputs, labels)
    pairs; evaluate(module, inputs, labels) returns (loss, accuracy); name names the
    original in the log."""
    x_fit, y_fit = train
    x_test, y_test = test
    _, acc = evaluate(original, x_test, y_test)
    print("original network (%s): test accuracy %.4f" % (name, acc))

    t0 = time.time()
    he = cryptonets.finetune(original, x_fit, y_fit, epochs=0, degree=degree, seed=seed, log=print)
    _, acc0 = evaluate(he, x_test, y_test)
    print("replacements in place, before training: test accuracy %.4f" % acc0)
    he = cryptonets.finetune(original, x_fit, y_fit, degree=degree, seed=seed, log=print, **training)
    elapsed = time.time() - t0
    _, val_acc = evaluate(he, *validation)
    test_loss, test_acc = evaluate(he, x_test, y_test)
    print("FINAL fine-tuned: validation accuracy %.4f, test loss %.4f, test accuracy %.4f (%d/%d), "
          "%.1f s" % (val_acc, test_loss, test_acc, round(test_acc * len(y_test)), len(y_test), elapsed))
    print(he)
    return he


def export_onnx(module, example, path, input_name):
    """Writes module to path as ONNX (opset 13, batch-norm nodes kept for the
    converter to fold, dynamic batch), its input called input_name and its output
    "logits"; example is one input batch."""
    torch.onnx.export(module, example, path, opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=[input_name], output_names=["logits"],
                      dynamic_axes={input_name: {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))
