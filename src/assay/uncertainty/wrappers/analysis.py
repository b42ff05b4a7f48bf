"""What a user looks at: accuracy by risk decile, each risk by group, and how the risks correlate.

Every per-group number goes through the grouped table (:func:`assay.metrics.evaluate_groups`
with ``values=``), so intervals, intersections and small-group flags are the table's.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from ...core.errors import AssayInputError
from ...core.validation import as_array, check_consistent_length, check_scalar, describe
from ._base import RISKS, RiskOutput

__all__ = ["plant_rare_style", "risk_by_decile", "risk_by_group", "risk_correlation", "risk_scores"]

DECILE = "risk decile"


def risk_scores(risks: Any) -> dict[str, np.ndarray]:
    """``{risk name: (n,) float}`` from a :class:`RiskOutput` or a mapping of per-example arrays."""
    if isinstance(risks, RiskOutput):
        scores = risks.scores()
    elif isinstance(risks, dict) and risks:
        scores = {str(k): as_array(v, name=f"risks[{k!r}]", ndim=1, dtype=np.float64) for k, v in risks.items()}
    else:
        raise AssayInputError(f"'risks' must be a RiskOutput or a non-empty dict of per-example arrays. "
                              f"Got {describe(risks)} instead.")
    if not scores:
        raise AssayInputError("'risks' measures no risk (aleatoric, epistemic and bias are all None).")
    check_consistent_length(**scores)
    for name, value in scores.items():
        if not np.isfinite(value).all():
            raise AssayInputError(f"'risks[{name!r}]' must be finite; it holds NaN or infinite values.")
    return scores


def decile_codes(risk: Any, n_bins: int = 10) -> np.ndarray:
    """Equal-count bins of ``risk`` numbered 1..n_bins (1 = lowest risk); ties share a bin."""
    risk = as_array(risk, name="risk", ndim=1, dtype=np.float64)
    edges = np.quantile(risk, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, risk, side="left") + 1


def risk_by_decile(risk: Any, correct: Any, *, sensitive_features: Any = None, n_bins: int = 10,
                   n_boot: int = 200, confidence_level: float = 0.95, random_state: Any = 0,
                   min_group_size: int = 10) -> pd.DataFrame:
    """Accuracy (mean of ``correct``) by risk decile, overall and per group: the accuracy-vs-risk curve.

    Deciles are cut on the whole population's risk (the same edges for every group, so curves
    compare). Returns a tidy frame: ``feature`` ("overall" or the sensitive feature), ``group``,
    ``decile`` (1 = lowest risk), ``accuracy`` with ``lower``/``upper`` (bootstrap from the
    grouped table), ``mean_risk`` and ``count``.
    """
    from ...metrics import evaluate_groups

    risk = as_array(risk, name="risk", ndim=1, dtype=np.float64)
    correct = as_array(correct, name="correct", ndim=1, dtype=np.float64)
    check_consistent_length(risk=risk, correct=correct)
    check_scalar(n_bins, "n_bins", owner="risk_by_decile", kind=numbers.Integral, low=2)
    codes = decile_codes(risk, int(n_bins))
    features = {DECILE: codes}
    extra = []
    if sensitive_features is not None:
        from ...core.validation import sensitive_feature_columns

        names, columns = sensitive_feature_columns(sensitive_features, len(risk), reference="risk")
        for name, column in zip(names, columns):
            features[name] = np.asarray(column)
            extra.append(name)
    table = evaluate_groups(values={"correct": correct, "risk": risk}, metrics=["mean:correct", "mean:risk"],
                            sensitive_features=features, n_boot=n_boot, confidence_level=confidence_level,
                            random_state=random_state, min_group_size=min_group_size)
    frame = table.by_group
    ci = table.ci if n_boot else None
    rows = []
    wanted = [DECILE] + [f"{DECILE} x {name}" for name in extra]
    for (feature, group), row in frame.iterrows():
        if feature not in wanted:
            continue
        parts = str(group).split(" x ")
        lower, upper = (np.nan, np.nan) if ci is None else ci.loc[(feature, group), "mean:correct"]
        rows.append({"feature": "overall" if feature == DECILE else feature.split(" x ", 1)[1],
                     "group": "overall" if feature == DECILE else " x ".join(parts[1:]),
                     "decile": int(parts[0]), "accuracy": row["mean:correct"], "lower": lower, "upper": upper,
                     "mean_risk": row["mean:risk"], "count": int(row["count"])})
    return pd.DataFrame(rows).sort_values(["feature", "group", "decile"], kind="stable").reset_index(drop=True)


def risk_by_group(risks: Any, sensitive_features: Any, *, n_boot: int = 200, confidence_level: float = 0.95,
                  random_state: Any = 0, min_group_size: int = 30, intersections: bool = True):
    """Each risk's mean per group and intersection with bootstrap intervals: a grouped table.

    ``risks`` is a :class:`RiskOutput` (from :func:`~assay.uncertainty.wrappers.predict_risk`) or
    a dict of per-example arrays; metrics are named ``mean:<risk>``. Which group is most
    under-represented? ``table.worst_group`` / ``table.by_group``.
    """
    from ...metrics import evaluate_groups

    scores = risk_scores(risks)
    return evaluate_groups(values=scores, metrics=[f"mean:{k}" for k in scores], sensitive_features=sensitive_features,
                           n_boot=n_boot, confidence_level=confidence_level, random_state=random_state,
                           min_group_size=min_group_size, intersections=intersections)


def risk_correlation(risks: Any) -> pd.DataFrame:
    """Spearman rank correlation between the measured risks (they are distinct: shown apart)."""
    from scipy.stats import spearmanr

    scores = risk_scores(risks)
    names = [k for k in RISKS if k in scores] + [k for k in scores if k not in RISKS]
    if len(names) == 1:
        return pd.DataFrame([[1.0]], index=names, columns=names)
    rho = spearmanr(np.column_stack([scores[k] for k in names])).statistic
    if np.ndim(rho) == 0:
        rho = np.array([[1.0, rho], [rho, 1.0]])
    return pd.DataFrame(rho, index=names, columns=names)


def plant_rare_style(X: Any, fraction: float = 0.02, *, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images ``X`` (n, c, h, w) with a random ``fraction`` of rows rotated by 90°: a planted rare style.

    Returns ``(X_styled, is_rare)``; ``fraction=1`` rotates every row (a held-out rare set).
    Used to check that representation bias finds, and resampling helps, an under-represented style.
    """
    arr = as_array(X, name="X", ndim=4, dtype=np.float32)
    check_scalar(fraction, "fraction", owner="plant_rare_style", kind=numbers.Real, low=0.0, high=1.0)
    rare = np.random.default_rng(random_state).random(len(arr)) < float(fraction)
    out = arr.copy()
    out[rare] = np.rot90(arr[rare], k=1, axes=(2, 3))
    return out, rare
