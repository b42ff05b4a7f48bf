"""Model inversion (Fredrikson et al. 2015): reconstruct a representative input of a class by
gradient ascent on the input of a torch model."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import as_array, check_scalar, describe
from .membership import _adapter

__all__ = ["model_inversion"]

_OWNER = "model_inversion"


def model_inversion(model: Any, target: Any, X_init: Any, *, steps: int = 200, lr: float = 0.1, l2: float = 1e-3,
                    clip: tuple[float, float] | None = None) -> np.ndarray:
    """Inputs that maximise ``log p(target | x) - l2 * ||x||^2``, by Adam on the inputs.

    Parameters
    ----------
    model : torch module (or its adapter) -- white-box: gradients flow to the input.
    target : int or array of shape (n,)
        The class to reconstruct for each row.
    X_init : array of shape (n, ...)
        Starting inputs (zeros, noise, or a mean input); the batch loop is the adapter's.
    steps : int >= 1
    lr : float > 0
    l2 : float >= 0
        Weight of the squared norm (keeps the reconstruction in a plausible range).
    clip : (low, high), optional
        Valid input range, enforced after every step.

    Returns
    -------
    ndarray of the shape of ``X_init``: the reconstructions.
    """
    import torch

    adapter = _adapter(model)
    if adapter.kind != "torch":
        raise AssayInputError(f"'model' of {_OWNER} must be a torch model (white-box: gradients to the input). "
                              f"Got {describe(model)}.")
    check_scalar(steps, "steps", owner=_OWNER, kind=(int, np.integer), low=1)
    check_scalar(lr, "lr", owner=_OWNER, low=0, closed="neither")
    check_scalar(l2, "l2", owner=_OWNER, low=0)
    X = as_array(X_init, name="X_init", dtype=np.float32)
    targets = np.broadcast_to(np.asarray(target), (len(X),)).astype(np.int64)
    if clip is not None and not (len(clip) == 2 and clip[0] < clip[1]):
        raise AssayInputError(f"'clip' of {_OWNER} must be (low, high) with low < high. Got {clip!r}.")

    def invert(batch, index):
        y = torch.as_tensor(targets[index], device=batch.device)
        x = batch.detach().clone().requires_grad_(True)
        optimizer = torch.optim.Adam([x], lr=lr)
        for _ in range(int(steps)):
            optimizer.zero_grad()
            log_p = torch.log_softmax(adapter.forward_batch(x), dim=1).gather(1, y[:, None]).sum()
            loss = -log_p + l2 * (x ** 2).sum()
            loss.backward()
            optimizer.step()
            if clip is not None:
                with torch.no_grad():
                    x.clamp_(clip[0], clip[1])
        return x.detach()

    return adapter.map_batches(invert, X, grad=True, name="model inversion")
