"""Per-example uncertainty scores of predicted probabilities, and uncertainty sampling.

Every function takes ``proba`` of shape ``(n, k)``, ``k >= 2`` (rows summing to 1; a binary
``p`` is ``np.column_stack([1 - p, p])``) and returns one number per row:

* :func:`least_confidence` -- ``1 - max_c p_c``, in ``[0, 1 - 1/k]``; higher is more uncertain.
* :func:`margin` -- ``p_(1) - p_(2)``, the largest minus the second largest probability, in
  ``[0, 1]``; **higher is more confident** (a small margin means two classes are close).
* :func:`entropy` -- ``-sum_c p_c log p_c`` in nats (``0 log 0 = 0``), in ``[0, log k]``;
  higher is more uncertain.

:func:`uncertainty_sampling` returns the ``k`` most uncertain rows for active labelling.
Per group and intersection (with intervals), a score is a per-example value of the grouped
table: ``evaluate_groups(values={"entropy": entropy(p)}, metrics=["mean:entropy"],
sensitive_features=...)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import entr

from ..core.errors import AssayInputError
from ..core.validation import check_option, check_scalar
from ..metrics._checks import check_prob

METHODS = ("entropy", "least_confidence", "margin")

__all__ = ["METHODS", "entropy", "least_confidence", "margin", "uncertainty_sampling"]


def _proba(proba: Any) -> np.ndarray:
    p = check_prob(proba, name="proba")
    if p.ndim != 2:
        raise AssayInputError(
            f"'proba' must be a 2-D array of shape (n_samples, n_classes) with n_classes >= 2. Got shape "
            f"{p.shape} instead; for binary probabilities p of the positive class, pass "
            "np.column_stack([1 - p, p])."
        )
    return p


def least_confidence(proba: Any) -> np.ndarray:
    """``1 - max_c p_c`` per row, shape (n,); higher is more uncertain."""
    return 1.0 - _proba(proba).max(axis=1)


def margin(proba: Any) -> np.ndarray:
    """``p_(1) - p_(2)`` per row (largest minus second largest), shape (n,); higher is more
    confident, so the most uncertain rows have the smallest margin."""
    p = _proba(proba)
    top = np.partition(p, p.shape[1] - 2, axis=1)[:, -2:]
    return top[:, 1] - top[:, 0]


def entropy(proba: Any) -> np.ndarray:
    """Shannon entropy ``-sum_c p_c log p_c`` per row in nats (``0 log 0 = 0``), shape (n,)."""
    return entr(_proba(proba)).sum(axis=1)


def uncertainty_sampling(proba: Any, k: int, *, method: str = "entropy") -> np.ndarray:
    """Indices of the ``k`` most uncertain rows, most uncertain first.

    ``method="entropy"`` (highest entropy), ``"least_confidence"`` (highest ``1 - max p``) or
    ``"margin"`` (smallest margin). Ties are broken by row order: of equally uncertain rows the
    one with the smaller index comes first (a stable sort), so the result is deterministic.

    Returns
    -------
    ndarray of int64, shape (k,)
    """
    check_option(method, "method", owner="uncertainty_sampling", options=METHODS)
    p = _proba(proba)
    check_scalar(k, "k", owner="uncertainty_sampling", kind=(int, np.integer), low=1, high=len(p))
    if method == "margin":
        order_key = margin(p)
    else:
        order_key = -(entropy(p) if method == "entropy" else least_confidence(p))
    return np.argsort(order_key, kind="stable")[: int(k)].astype(np.int64)
