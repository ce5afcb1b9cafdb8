"""Size and encrypted-cost figures of a PyTorch network, for the model cards.

MACs are the multiply-adds of the linear layers (convolutions and dense layers)
for one input: in batch packing, where one ciphertext holds one value of the
tensor for every image of the batch, each weight tap is one plaintext-ciphertext
multiply-add. Activations are the number of values that go through a nonlinear
activation (ReLU) for one input: each becomes a polynomial evaluation once
converted.
"""

import torch
import torch.nn as nn


def cost(model, sample):
    """Return a dict: params (trainable), macs and activations per input, and
    per-layer rows (name, kind, output shape, MACs), for one input like sample[:1]."""
    rows = []
    hooks = []

    def hook(name):
        def fn(mod, inp, out):
            shape = tuple(out.shape[1:])
            macs = 0
            if isinstance(mod, (nn.Conv1d, nn.Conv2d)):
                taps = mod.weight[0].numel()  # in_channels/groups * kernel
                macs = out[0].numel() * taps
            elif isinstance(mod, nn.Linear):
                macs = mod.in_features * mod.out_features
            rows.append((name, type(mod).__name__, shape, macs))
        return fn

    for name, mod in model.named_modules():
        if len(list(mod.children())) == 0 and not isinstance(mod, nn.Identity):
            hooks.append(mod.register_forward_hook(hook(name)))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(sample[:1])
    model.train(was_training)
    for h in hooks:
        h.remove()
    acts = 0
    for _, kind, shape, _ in rows:
        if kind == "ReLU":
            n = 1
            for d in shape:
                n *= d
            acts += n
    return {
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "macs": sum(r[3] for r in rows),
        "activations": acts,
        "layers": rows,
    }


def print_cost(model, sample):
    """Print cost(model, sample) as a table; returns the dict."""
    c = cost(model, sample)
    print("layer                kind          output          MACs")
    for name, kind, shape, macs in c["layers"]:
        print("%-20s %-13s %-15s %d" % (name, kind, "x".join(map(str, shape)), macs))
    print("parameters %d, MACs per input %d, ReLU values per input %d"
          % (c["params"], c["macs"], c["activations"]))
    return c
