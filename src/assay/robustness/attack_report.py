"""Attack results overall, per group and per intersection (the grouped table).

``attack_report(model, X, y, attack, sensitive_features=None, n_boot=200, random_state=None)`` is
the entry point the ``robustness`` audit check calls: its signature is stable.
"""

from __future__ import annotations

import dataclasses
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from ..core.component import clone
from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import (
    SEPARATOR,
    check_scalar,
    check_sensitive_features,
    describe,
)
from ..metrics.intervals import wilson_interval
from .attacks import Attack, AttackResult

__all__ = ["AttackReport", "attack_report"]

#: Per-row 0/1 quantities averaged overall and per group (``mean:<name>`` columns).
RATES = ("success", "robust_correct", "clean_correct")
QUANTILES = (0.1, 0.5, 0.9)


@dataclasses.dataclass(frozen=True, eq=False)
class AttackReport(Result):
    """Success rate, robust and clean accuracy, perturbation sizes: overall and by group.

    Attributes
    ----------
    attack : str
    n : int
    success_rate, robust_accuracy, clean_accuracy : float
        Rates over all rows: the attack succeeded; the adversarial input is still classified
        as ``y``; the clean input is.
    overall : DataFrame
        Rows ``success_rate``, ``robust_accuracy``, ``clean_accuracy`` with ``value``, ``lower``,
        ``upper`` (Wilson 95% interval).
    norms : DataFrame
        Quantiles (rows ``q10``, ``q50``, ``q90``) of the ``l2`` and ``linf`` perturbation of the
        successful rows (NaN when none succeeded).
    by_group : DataFrame or None
        Index ``(feature, group)`` as the grouped table's (features and intersections);
        columns ``success_rate``, ``robust_accuracy``, ``clean_accuracy`` (with ``_lower`` /
        ``_upper``), ``mean_l2_successful``, ``median_l2_successful``, ``median_linf_successful``,
        ``count``, ``small``.
    result : AttackResult
        The per-row result.
    """

    attack: str
    n: int
    success_rate: float
    robust_accuracy: float
    clean_accuracy: float
    overall: pd.DataFrame
    norms: pd.DataFrame
    by_group: pd.DataFrame | None
    result: AttackResult

    def to_frame(self) -> pd.DataFrame:
        """The overall row (index ``("overall", "overall")``) followed by the group rows."""
        row = {name: self.overall.loc[name, "value"] for name in self.overall.index}
        row.update({f"{name}_{b}": self.overall.loc[name, b] for name in self.overall.index for b in ("lower", "upper")})
        successful = self.result.success
        row.update(mean_l2_successful=float(self.result.l2[successful].mean()) if successful.any() else np.nan,
                   median_l2_successful=self.norms.loc["q50", "l2"], median_linf_successful=self.norms.loc["q50", "linf"],
                   count=self.n, small=False)
        overall = pd.DataFrame([row], index=pd.MultiIndex.from_tuples([("overall", "overall")], names=["feature", "group"]))
        return overall if self.by_group is None else pd.concat([overall, self.by_group[overall.columns]])


def _quantiles(values: np.ndarray) -> list[float]:
    return [float(np.quantile(values, q)) for q in QUANTILES] if len(values) else [np.nan] * len(QUANTILES)


def attack_report(model: Any, X: Any, y: Any, attack: Attack, sensitive_features: Any = None, n_boot: int = 200,
                  random_state: Any = None) -> AttackReport:
    """Run ``attack`` (a clone of it on ``model``) on ``X`` and report it overall and by group.

    Parameters
    ----------
    model : the model to attack (torch module for white-box attacks; anything :func:`assay.wrap`
        accepts for black-box ones). It replaces the attack's own ``model``.
    X : inputs (n, ...) inside the attack's ``clip`` range.
    y : true labels (n,).
    attack : an :class:`Attack` instance (its parameters: budget, steps, ...).
    sensitive_features : optional groups (Series, DataFrame, dict, array), one row per input.
    n_boot : bootstrap resamples for the group intervals (0: none).
    random_state : seeds the bootstrap.
    """
    if not isinstance(attack, Attack):
        raise AssayInputError(f"'attack' must be an assay attack (e.g. PGD(eps=0.1)). Got {describe(attack)} instead.")
    check_scalar(n_boot, "n_boot", owner="attack_report", kind=Integral, low=0)
    if y is None:
        raise AssayInputError("'y' must hold the true labels of X (robust accuracy needs them). Got None.")
    n = len(X)
    groups = None if sensitive_features is None else check_sensitive_features(sensitive_features, n_samples=n)
    result = clone(attack).set_params(model=model).generate(X, y)
    labels = result.labels
    values = {"success": result.success.astype(np.int64),
              "robust_correct": (result.adversarial_pred == labels).astype(np.int64),
              "clean_correct": (result.original_pred == labels).astype(np.int64),
              "l2_if_success": np.where(result.success, result.l2, 0.0)}
    names = {"success": "success_rate", "robust_correct": "robust_accuracy", "clean_correct": "clean_accuracy"}
    rates = {names[k]: float(values[k].mean()) for k in RATES}
    lower, upper = wilson_interval(np.array([values[k].sum() for k in RATES]), np.full(len(RATES), n))
    overall = pd.DataFrame({"value": list(rates.values()), "lower": lower, "upper": upper}, index=list(rates))
    successful = result.success
    norms = pd.DataFrame({"l2": _quantiles(result.l2[successful]), "linf": _quantiles(result.linf[successful])},
                         index=[f"q{int(q * 100)}" for q in QUANTILES])
    by_group = None
    if groups is not None:
        by_group = _by_group(values, groups, result, names, n_boot, random_state)
    return AttackReport(attack=result.attack, n=n, overall=overall, norms=norms, by_group=by_group,
                        result=result, **rates)


def _by_group(values, groups: pd.DataFrame, result: AttackResult, names, n_boot, random_state) -> pd.DataFrame:
    from ..metrics import evaluate_groups

    metrics = [f"mean:{k}" for k in (*RATES, "l2_if_success")]
    table = evaluate_groups(values=values, metrics=metrics, sensitive_features=groups, n_boot=n_boot,
                            random_state=random_state)
    out = pd.DataFrame(index=table.by_group.index)
    for key, name in names.items():
        out[name] = table.by_group[f"mean:{key}"]
        if table.ci is not None:
            out[f"{name}_lower"] = table.ci[(f"mean:{key}", "lower")]
            out[f"{name}_upper"] = table.ci[(f"mean:{key}", "upper")]
        else:
            out[f"{name}_lower"] = out[f"{name}_upper"] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mean_l2_successful"] = (table.by_group["mean:l2_if_success"] / table.by_group["mean:success"]).where(
            table.by_group["mean:success"] > 0)
    frame = pd.DataFrame({"l2": result.l2, "linf": result.linf})[result.success]
    medians = {"l2": [], "linf": []}
    for feature, group in out.index:
        columns = str(feature).split(SEPARATOR)
        key = groups[columns].astype(str).agg(SEPARATOR.join, axis=1) if len(columns) > 1 else groups[columns[0]]
        chosen = frame[(key.to_numpy() == str(group))[result.success]]
        for norm, found in medians.items():
            found.append(float(chosen[norm].median()) if len(chosen) else np.nan)
    out["median_l2_successful"] = medians["l2"]
    out["median_linf_successful"] = medians["linf"]
    out["count"] = table.by_group["count"]
    out["small"] = table.by_group["small"]
    return out
