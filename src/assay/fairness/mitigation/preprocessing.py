"""Pre-processing mitigations: change the training data (here, its weights), not the model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...core.component import Component
from ...core.errors import AssayInputError
from ...core.validation import as_array, check_consistent_length, describe
from ._groups import group_codes

__all__ = ["Reweighing"]


class Reweighing(Component):
    """Kamiran & Calders (2012) reweighing: weights that make the label independent of the group.

    Each row of cell (group ``g``, label ``c``) gets ``P(g) P(c) / P(g, c)`` (empirical
    frequencies on the rows fitted), so that under the weights every group has the overall
    base rate. Several sensitive-feature columns mean their intersection. The weights go to any
    estimator accepting ``sample_weight`` (and :func:`assay.models.fit_torch_classifier`).

    Attributes
    ----------
    sample_weight_ : ndarray of shape (n_samples,)
        The weight of each row passed to ``fit``.
    weights_ : DataFrame
        One row per (group, label) cell seen, indexed by the sensitive features and ``label``;
        columns ``n``, ``p_group``, ``p_label``, ``p_group_label`` and ``weight``.
    """

    def __init__(self) -> None:
        pass

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> Reweighing:
        """Compute the weights of the rows of ``(X, y)``; ``X`` is only checked for its length."""
        labels = as_array(y, name="y", ndim=1)
        n = len(labels)
        if n == 0:
            raise AssayInputError(f"'y' must hold at least one label. Got {describe(y)}.")
        try:
            n_x = len(X)
        except TypeError:
            raise AssayInputError(f"'X' must be array-like with one row per label. Got {describe(X)}.") from None
        check_consistent_length(X=range(n_x), y=labels)
        codes, cells = group_codes(sensitive_features, n, owner="Reweighing")
        if pd.isna(pd.Series(labels)).any():
            raise AssayInputError("'y' must not hold missing labels. Got NaN/None in y.")
        label_codes, classes = pd.factorize(pd.Series(labels), sort=True)
        n_groups, n_classes = len(cells), len(classes)
        joint = np.bincount(codes * n_classes + label_codes, minlength=n_groups * n_classes).reshape(
            n_groups, n_classes).astype(np.float64)
        p_joint = joint / n
        p_group = p_joint.sum(axis=1)
        p_label = p_joint.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.outer(p_group, p_label) / p_joint
        self.sample_weight_ = weight[codes, label_codes]
        gi, ci = np.nonzero(joint)
        index = pd.MultiIndex.from_tuples(
            [(*cells[g], classes[c]) for g, c in zip(gi, ci)], names=[*cells.names, "label"]
        )
        self.weights_ = pd.DataFrame({
            "n": joint[gi, ci].astype(np.int64), "p_group": p_group[gi], "p_label": p_label[ci],
            "p_group_label": p_joint[gi, ci], "weight": weight[gi, ci],
        }, index=index)
        self.classes_ = np.asarray(classes)
        self.groups_ = cells
        return self
