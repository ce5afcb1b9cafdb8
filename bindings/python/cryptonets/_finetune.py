"""HE-aware fine-tuning of PyTorch modules (:func:`finetune`).

Encrypted evaluation has no maximum and no ReLU: the conversion replaces max
pooling by average (scaled sum) pooling and every activation by a polynomial, and
either may cost accuracy beyond what the converter's budget allows. Fine-tuning
puts those replacements in place in the PyTorch module and trains it a few epochs on
the user's data, so that the network recovers its accuracy; the result converts
exactly (:func:`cryptonets.from_torch`): its pools and polynomials are what
encrypted evaluation computes.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, List, Optional

__all__ = ["finetune", "PolyActivation"]

#: The activation modules :func:`finetune` replaces by polynomials.
_ACTIVATIONS = ("ReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU")


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "cryptonets.finetune needs PyTorch (pip install torch, or Debian's python3-torch)"
        ) from exc
    return torch


def PolyActivation(coeffs: List[float]) -> Any:  # noqa: N802 (a class factory)
    """A trainable polynomial activation ``c0 + c1·x + … + cn·x^n``, evaluated by
    Horner's rule, which the ONNX exporter writes as Mul and Add nodes that the
    cryptonets importer reads back as one polynomial layer."""
    torch = _torch()

    class _Poly(torch.nn.Module):
        def __init__(self, c: List[float]) -> None:
            super().__init__()
            self.coeffs = torch.nn.Parameter(torch.tensor(c, dtype=torch.float32))

        def forward(self, x: Any) -> Any:
            n = self.coeffs.shape[0]
            y = x * self.coeffs[n - 1] + self.coeffs[n - 2]
            for k in range(n - 3, -1, -1):
                y = y * x + self.coeffs[k]
            return y

        def extra_repr(self) -> str:
            return "degree=%d" % (self.coeffs.shape[0] - 1)

    return _Poly(coeffs)


def _fit(f: Callable[[Any], Any], x: Any, degree: int) -> List[float]:
    """Monomial coefficients of the least-squares polynomial of ``degree`` fitting f on
    the sample x (a 1-D float64 numpy array), through a Chebyshev fit on its range."""
    import numpy as np

    lo, hi = float(x.min()), float(x.max())
    if not hi > lo:
        lo, hi = lo - 1.0, hi + 1.0
    cheb = np.polynomial.chebyshev.Chebyshev.fit(x, f(x), degree, domain=[lo, hi])
    coeffs = cheb.convert(kind=np.polynomial.Polynomial).coef
    out = [0.0] * (degree + 1)
    for k, c in enumerate(coeffs[: degree + 1]):
        out[k] = float(c)
    return out


def _numpy_function(module: Any) -> Callable[[Any], Any]:
    """The activation module's function on float64 numpy arrays."""
    torch = _torch()

    def f(x: Any) -> Any:
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()

    return f


def _replace(parent: Any, make: Callable[[str, Any], Optional[Any]]) -> None:
    """Replaces, depth first, every child c of parent for which make(name, c) returns a
    module."""
    for name, child in list(parent.named_children()):
        new = make(name, child)
        if new is not None:
            setattr(parent, name, new)
        else:
            _replace(child, make)


def _last_leaf(module: Any) -> Any:
    """The last leaf module of a module tree (the final layer of a Sequential)."""
    leaves = [m for m in module.modules() if not list(m.children())]
    return leaves[-1] if leaves else None


def finetune(
    module: Any,
    inputs: Any,
    labels: Any,
    *,
    epochs: int = 3,
    degree: int = 2,
    batch_size: int = 128,
    lr: float = 1e-3,
    fit_inputs: int = 2000,
    schedule: str = "constant",
    seed: int = 0,
    log: Optional[Callable[[str], None]] = None,
) -> Any:
    """Return a copy of ``module`` made fit for encrypted evaluation and trained to
    recover its accuracy.

    In the copy, every ``nn.MaxPool1d``/``nn.MaxPool2d`` becomes the average pool of
    the same geometry (what the conversion evaluates), and every activation module
    (``nn.ReLU``, ``nn.GELU``, ``nn.SiLU``, ``nn.Sigmoid``, ``nn.Tanh``, ``nn.LeakyReLU``,
    ``nn.ELU``; not a final one, which the conversion drops) becomes a trainable
    polynomial of ``degree``, initialized to the least-squares fit of the activation on
    the values it receives from the first ``fit_inputs`` inputs (with the earlier
    replacements already in place). The copy is then trained for ``epochs`` epochs on
    ``inputs`` and ``labels`` (tensors or numpy arrays; the inputs as the module takes
    them) with Adam at learning rate ``lr`` (``schedule="cosine"``: from ``lr`` down
    to 0 on a cosine), cross-entropy on the module's outputs (its logits), batches of
    ``batch_size`` in a seeded random order, and gradient norms clipped to 1
    (polynomials grow fast). ``log`` receives a line per epoch.

    The module's activations must be modules, not functional calls (``F.relu``),
    and its max pools must not use ``ceil_mode`` or ``dilation``. The module itself is
    not changed. Convert the result with :func:`cryptonets.from_torch`: its pools and
    polynomials are imported as they are, so the converted network computes exactly
    what the fine-tuned one does.
    """
    torch = _torch()
    nn = torch.nn
    if degree < 2 or degree > 16:
        raise ValueError("degree must be 2 to 16, got %d" % degree)
    if epochs < 0:
        raise ValueError("epochs must be 0 or more, got %d" % epochs)
    x = torch.as_tensor(inputs, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.long)
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError("%d inputs and %d labels" % (x.shape[0], y.shape[0]))
    net = copy.deepcopy(module)
    net.eval()

    def pool(_: str, m: Any) -> Optional[Any]:
        kinds = {nn.MaxPool1d: nn.AvgPool1d, nn.MaxPool2d: nn.AvgPool2d}
        for mp, ap in kinds.items():
            if type(m) is mp:
                dil = m.dilation if isinstance(m.dilation, int) else max(m.dilation)
                if m.ceil_mode or dil != 1 or m.return_indices:
                    raise ValueError("%s: ceil_mode, dilation and return_indices are not supported" % m)
                return ap(m.kernel_size, stride=m.stride, padding=m.padding, count_include_pad=True)
        return None

    _replace(net, pool)
    last = _last_leaf(net)
    acts = [m for m in net.modules() if type(m).__name__ in _ACTIVATIONS and m is not last]
    sample = x[:fit_inputs]
    for act in acts:
        seen: List[Any] = []
        hook = act.register_forward_hook(lambda _m, inp, _out: seen.append(inp[0].detach()))
        with torch.no_grad():
            net(sample)
        hook.remove()
        values = torch.cat([v.reshape(-1) for v in seen]).double().numpy()
        poly = PolyActivation(_fit(_numpy_function(act), values, degree))
        _replace(net, lambda _n, m, a=act, p=poly: p if m is a else None)
        if log:
            log("%s → degree-%d polynomial %s (fitted on %d values in [%.3g, %.3g])"
                % (type(act).__name__, degree, [round(c, 4) for c in poly.coeffs.tolist()],
                   values.size, values.min(), values.max()))
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    n = x.shape[0]
    steps = epochs * ((n + batch_size - 1) // batch_size)
    if schedule not in ("constant", "cosine"):
        raise ValueError("schedule must be 'constant' or 'cosine', got %r" % schedule)
    sched = None
    if schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            if sched:
                sched.step()
            total += loss.item() * idx.numel()
        if log:
            log("epoch %d: training loss %.4f" % (epoch, total / n))
    net.eval()
    return net
