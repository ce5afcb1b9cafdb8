"""Load the weights of an exported ONNX file back into the PyTorch module that
exported it: the initializers carry the module's state-dict names (the example
networks export with TrainingMode.PRESERVE, which keeps them). The fine-tuning
scripts start from the shipped networks this way, without a checkpoint."""

import onnx
import torch
from onnx import numpy_helper


def load_onnx_weights(module, path):
    """Copies the initializers of the ONNX file at path into module's parameters
    and buffers of the same names; every one of them must be there."""
    proto = onnx.load(path)
    state = module.state_dict()
    found = 0
    for t in proto.graph.initializer:
        if t.name in state:
            state[t.name].copy_(torch.from_numpy(numpy_helper.to_array(t).copy()))
            found += 1
    wanted = [k for k in state if not k.endswith("num_batches_tracked")]
    if found != len(wanted):
        raise SystemExit("%s: %d of the module's %d parameters and buffers found" % (path, found, len(wanted)))
    return module
