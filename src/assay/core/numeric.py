"""Small numeric helpers shared by the adapters, detectors and metrics (one copy each)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["binary_logit_to_two", "softmax"]


def softmax(logits: Any) -> np.ndarray:
    """Row-wise softmax of ``(n, k)`` logits: a new float64 array, rows summing to 1."""
    z = np.array(logits, dtype=np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def binary_logit_to_two(logits: Any) -> Any:
    """A one-logit binary model's ``(n,)`` or ``(n, 1)`` logit ``d`` -> ``(n, 2)`` logits ``(-d/2, d/2)``.

    ``softmax`` of the result is ``(1 - sigmoid(d), sigmoid(d))``. ``(n, k >= 2)`` logits are
    returned unchanged. Works on numpy arrays and torch tensors (differentiably).
    """
    if logits.ndim == 2 and logits.shape[1] != 1:
        return logits
    d = logits.reshape(-1, 1)
    if hasattr(d, "detach"):
        import torch

        return torch.cat([-d / 2, d / 2], dim=1)
    return np.hstack([-d / 2, d / 2])
