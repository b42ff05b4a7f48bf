"""Robustness curves: a metric vs corruption severity, overall and per group, with intervals.

:func:`robustness_curve` corrupts the inputs one (corruption, severity) at a time, runs the
corrupted copy through the model's adapter (its batches; the cache is bypassed so a long sweep
holds one corrupted copy and its outputs at a time) and breaks the predictions down by group with
the grouped table (:func:`assay.metrics.evaluate_groups`, bootstrap intervals). From the tidy
table it derives the mean corruption error against a baseline (Hendrycks & Dietterich, 2019) and,
per corruption, the group whose accuracy falls the most.
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.adapters import ModelAdapter, wrap
from ..core.batching import progress_bar
from ..core.errors import AssayInputError, SmallGroupWarning
from ..core.result import Result
from ..core.validation import check_labels, check_scalar, describe
from .corruptions import (
    check_severity,
    image_corruptions,
    resolve_corruptions,
    seed_of,
    tabular_corruptions,
)

__all__ = ["RobustnessCurve", "degradation", "mean_corruption_error", "robustness_curve"]

#: Columns of the tidy curve table.
COLUMNS = ["corruption", "severity", "feature", "group", "metric", "value", "lower", "upper", "count", "small"]
CLEAN = "clean"


@dataclasses.dataclass(frozen=True)
class RobustnessCurve(Result):
    """Metric vs severity per corruption and group.

    ``table``: tidy rows ``corruption, severity, feature, group, metric, value, lower, upper, count,
    small``; the uncorrupted inputs are ``corruption="clean", severity=0``; ``feature="overall",
    group="all"`` is everyone. ``degradation``: per corruption, feature and group, the metric
    clean, at the highest severity, the ``drop`` between them and the least-squares ``slope`` over
    severities 0..max (per severity step). ``fastest``: per corruption and sensitive feature, the
    group (among groups that are not small, when any) with the largest ``drop`` of the first
    metric -- the drop, not the slope, decides. ``mce``: mean corruption error against the
    baseline (None without one); ``mce_by_group``: the same per group; ``slices``: the clean
    metric per value of each natural-shift slice, crossed with the sensitive features (None without).
    """

    table: pd.DataFrame
    degradation: pd.DataFrame
    fastest: pd.DataFrame
    metrics: tuple
    mce: float | None = None
    relative_mce: float | None = None
    mce_by_group: pd.DataFrame | None = None
    slices: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """The tidy curve table."""
        return self.table.copy()


def robustness_curve(
    model: Any,
    X: Any,
    y: Any,
    *,
    corruptions: Any = None,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    sensitive_features: Any = None,
    metrics: Sequence[str] = ("accuracy",),
    n_boot: int = 200,
    confidence_level: float = 0.95,
    random_state: Any = 0,
    batch_size: int | None = None,
    baseline: Any = None,
    slices: Any = None,
    min_group_size: int = 30,
    progress: bool | None = None,
) -> RobustnessCurve:
    """Evaluate ``model`` on every corruption at every severity, overall and per group.

    Parameters
    ----------
    model : any model :func:`assay.wrap` takes, or an adapter.
    X : images ``(n, c, h, w)`` (tensor or array) or a DataFrame.
    y : array-like of shape (n,), labels among the model's classes.
    corruptions : names or :class:`Corruption` objects; default every registered corruption of
        X's kind (image or tabular).
    severities : ints in 1..5.
    sensitive_features : as :func:`assay.metrics.evaluate_groups`; None: overall only (metric
        ``"accuracy"`` only, Wilson intervals).
    metrics : label metrics of the grouped table (``"accuracy"``, ``"tpr"``, ...); the first one
        decides ``fastest`` and the mCE uses ``accuracy`` (needed then).
    n_boot, confidence_level, min_group_size : as :func:`assay.metrics.evaluate_groups`.
    random_state : int >= 0 or Generator; each (corruption, severity) gets its own seed from it.
    batch_size : rows per forward pass (the adapter's when None).
    baseline : a second model (evaluated on the same corrupted inputs) or its
        :class:`RobustnessCurve`, for ``mce`` (sum over severities of the error divided by the
        baseline's, averaged over corruptions) and ``relative_mce`` (the same on error minus clean error).
    slices : a column name of X, a list of names, or a mapping name -> array (n,): natural-shift
        slices (time, place, device) whose clean metric is reported per value, crossed with the groups.
    progress : progress bar over the (corruption, severity) pairs (None: for long sweeps).
    """
    owner = "robustness_curve"
    adapter = wrap(model, batch_size=batch_size)
    base_seed = seed_of(random_state, owner)
    image = _is_image(X)
    if corruptions is None:
        corruptions = image_corruptions() if image else tabular_corruptions()
    chosen = resolve_corruptions(corruptions, owner=owner)
    wrong = [c.name for c in chosen if c.kind != ("image" if image else "tabular")]
    if wrong:
        raise AssayInputError(f"'corruptions' of {owner} holds {'tabular' if image else 'image'} corruptions "
                              f"{wrong} for {'image' if image else 'tabular'} inputs 'X' ({describe(X)}).")
    if isinstance(severities, (str, bytes)) or not isinstance(severities, Sequence) or not len(severities):
        raise AssayInputError(f"'severities' of {owner} must be a non-empty list of ints in [1, 5]. "
                              f"Got {describe(severities)} instead.")
    severities = sorted({check_severity(s, owner=owner) for s in severities})
    metrics = _check_metrics(metrics, sensitive_features, owner)
    check_scalar(n_boot, "n_boot", owner=owner, kind=numbers.Integral, low=0)
    clean = np.argmax(adapter.logits(X), axis=1)  # cached: the audit's one pass over the split
    y_index, classes = _label_indices(adapter, X, y)
    evaluate, evaluate_many = _evaluator(y_index, len(classes), sensitive_features, metrics, n_boot,
                                         confidence_level, min_group_size, base_seed)
    frames = _tagged(evaluate(clean), CLEAN, 0)
    other = None if baseline is None or isinstance(baseline, RobustnessCurve) else wrap(baseline,
                                                                                        batch_size=batch_size)
    other_frames = [] if other is None else _tagged(evaluate(np.argmax(other.logits(X), axis=1)), CLEAN, 0)
    n_sweeps = len(chosen) * len(severities)
    with progress_bar(n_sweeps, desc="corruptions x severities", progress=progress, n_batches=n_sweeps,
                      unit="sweeps") as bar:
        for i, corruption in enumerate(chosen):
            # The predictions of all severities of one corruption go through one grouped table
            # (its fixed cost per call weighs as much as a small model's forward pass).
            mine, theirs = [], []
            for severity in severities:
                seed = int(np.random.default_rng([base_seed, i, severity]).integers(2**63 - 1))
                corrupted = corruption(X, severity, random_state=seed)
                mine.append(_predict(adapter, corrupted))
                if other is not None:
                    theirs.append(_predict(other, corrupted))
                del corrupted
                bar.update(1)
            for severity, rows in zip(severities, evaluate_many(mine)):
                frames += _tagged(rows, corruption.name, severity)
            for severity, rows in zip(severities, evaluate_many(theirs) if theirs else []):
                other_frames += _tagged(rows, corruption.name, severity)
    table = _frame(frames)
    mce = relative = by_group = None
    if baseline is not None:
        base_table = baseline.table if isinstance(baseline, RobustnessCurve) else _frame(other_frames)
        by_group = mean_corruption_error(table, base_table)
        overall = by_group.loc[("overall", "all")] if ("overall", "all") in by_group.index else None
        mce = None if overall is None else _float(overall["mce"])
        relative = None if overall is None else _float(overall["relative_mce"])
    slice_table = None
    if slices is not None:
        slice_table = _slices(clean, X, y_index, len(classes), slices, sensitive_features, metrics, n_boot,
                              confidence_level, min_group_size, base_seed, owner)
    deg = degradation(table, metrics[0])
    return RobustnessCurve(table, deg, _fastest(deg), tuple(metrics), mce, relative, by_group, slice_table)


# ---------------------------------------------------------------------- derived tables
def degradation(table: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """Per corruption, feature and group: ``clean``, ``at_max`` (highest severity), ``drop`` and ``slope``.

    ``slope`` is the least-squares slope of ``metric`` over severities 0 (clean) .. max, per
    severity step (negative when the metric falls).
    """
    columns = ["corruption", "feature", "group", "clean", "at_max", "drop", "slope", "small"]
    rows = table[table["metric"] == metric]
    clean = rows[rows["corruption"] == CLEAN].set_index(["feature", "group"])
    corrupted = rows[rows["corruption"] != CLEAN]
    if corrupted.empty:
        return pd.DataFrame(columns=columns)
    # one pivot per set of severities (one set when the curve made the table), not one per corruption
    levels = corrupted.groupby("corruption", sort=False)["severity"].agg(lambda s: tuple(sorted(set(s))))
    out = []
    for _, names in levels.groupby(levels, sort=False):
        part = corrupted[corrupted["corruption"].isin(names.index)]
        wide = part.pivot_table(index=["corruption", "feature", "group"], columns="severity", values="value",
                                sort=False)
        key = pd.MultiIndex.from_arrays([wide.index.get_level_values(1), wide.index.get_level_values(2)])
        wide.insert(0, 0, clean["value"].reindex(key).to_numpy())
        sev = wide.columns.to_numpy(dtype=float)
        centred = sev - sev.mean()
        values = wide.to_numpy(dtype=float)
        slope = ((values - values.mean(axis=1, keepdims=True)) * centred).sum(axis=1) / (centred ** 2).sum()
        out.append(pd.DataFrame({"corruption": wide.index.get_level_values(0), "feature": key.get_level_values(0),
                                 "group": key.get_level_values(1), "clean": values[:, 0], "at_max": values[:, -1],
                                 "drop": values[:, 0] - values[:, -1], "slope": slope,
                                 "small": clean["small"].reindex(key).to_numpy(dtype=bool)}))
    order = {name: k for k, name in enumerate(levels.index)}
    frame = pd.concat(out, ignore_index=True)
    return frame.iloc[np.argsort(frame["corruption"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)


def _fastest(deg: pd.DataFrame) -> pd.DataFrame:
    columns = ["corruption", "feature", "group", "drop", "gap", "slope"]
    groups = deg[deg["feature"] != "overall"]
    if groups.empty:
        return pd.DataFrame(columns=columns)
    keys = ["corruption", "feature"]
    # the pool: a cell's groups that are not small, when it has any
    has_large = (~groups["small"]).groupby([groups[k] for k in keys], sort=False).transform("any")
    pool = groups[~groups["small"] | ~has_large]
    ranked = pool.sort_values("drop", ascending=False, kind="stable", na_position="last")
    worst = ranked.drop_duplicates(keys, keep="first")
    runner_up = ranked.drop(index=worst.index).drop_duplicates(keys, keep="first")
    out = groups[keys].drop_duplicates().merge(worst[[*keys, "group", "drop", "slope"]], on=keys, how="left")
    out = out.merge(runner_up[[*keys, "drop"]].rename(columns={"drop": "second"}), on=keys, how="left")
    out["gap"] = out["drop"] - out["second"]
    return out[columns].reset_index(drop=True)


def mean_corruption_error(table: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """mCE per (feature, group) from two curve tables holding ``accuracy`` (Hendrycks & Dietterich, 2019).

    ``CE_c = sum_s E(c, s) / sum_s E_base(c, s)`` with ``E = 1 - accuracy``; ``mce`` averages it
    over the corruptions both tables hold. ``relative_mce`` uses ``E(c, s) - E_clean`` in both sums.
    A corruption whose baseline sum is 0 is NaN (and skipped in the mean).
    """
    def errors(frame):
        acc = frame[frame["metric"] == "accuracy"]
        if acc.empty:
            raise AssayInputError("The mean corruption error needs 'accuracy' in 'metrics' of both curves.")
        err = acc.assign(error=1 - acc["value"].astype(float))
        clean = err[err["corruption"] == CLEAN].set_index(["feature", "group"])["error"]
        err = err[err["corruption"] != CLEAN].set_index(["feature", "group"])
        err = err.assign(excess=err["error"] - clean.reindex(err.index).to_numpy())
        return err.reset_index().set_index(["corruption", "severity", "feature", "group"])[["error", "excess"]]

    mine, base = errors(table), errors(baseline)
    joined = mine.join(base.add_suffix("_base"), how="inner")
    if joined.empty:
        raise AssayInputError("'baseline' shares no (corruption, severity, group) with this curve: evaluate it on "
                              "the same corruptions and severities.")
    sums = joined.groupby(level=["feature", "group", "corruption"], sort=False).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        ce = pd.DataFrame({"ce": sums["error"] / sums["error_base"].where(sums["error_base"] != 0),
                           "relative_ce": sums["excess"] / sums["excess_base"].where(sums["excess_base"] != 0)})
    return ce.groupby(level=["feature", "group"], sort=False).mean().rename(
        columns={"ce": "mce", "relative_ce": "relative_mce"})


# ---------------------------------------------------------------------- internals
def _is_image(X: Any) -> bool:
    if isinstance(X, pd.DataFrame):
        return False
    if getattr(X, "ndim", None) == 4:
        return True
    raise AssayInputError(f"'X' of robustness_curve must be a DataFrame (tabular corruptions) or images of shape "
                          f"(n, c, h, w) (image corruptions). Got {describe(X)} instead.")


def _check_metrics(metrics: Any, sensitive_features: Any, owner: str) -> list[str]:
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, Sequence) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise AssayInputError(f"'metrics' of {owner} must be a non-empty list of metric names. "
                              f"Got {describe(metrics)} instead.")
    if sensitive_features is None and list(metrics) != ["accuracy"]:
        raise AssayInputError(f"'metrics' of {owner} without 'sensitive_features' can only be ['accuracy'] "
                              f"(overall, with a Wilson interval). Got {list(metrics)}.")
    return list(metrics)


def _label_indices(adapter: ModelAdapter, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    classes = adapter.classes_
    labels = check_labels(y, name="y", classes=classes)
    if len(labels) != len(X):
        raise AssayInputError(f"'y' has {len(labels)} labels but 'X' has {len(X)} rows.")
    return np.searchsorted(classes, labels) if classes.dtype != object else pd.Index(classes).get_indexer(
        labels), classes


@contextlib.contextmanager
def _uncached(adapter: ModelAdapter):
    before = adapter.cache
    adapter.cache = False
    try:
        yield adapter
    finally:
        adapter.cache = before


def _predict(adapter: ModelAdapter, X: Any) -> np.ndarray:
    """Predicted class indices through the adapter's batches, bypassing its cache."""
    with _uncached(adapter):
        return np.argmax(adapter.logits(X), axis=1)


def _evaluator(y_index, n_classes, sensitive_features, metrics, n_boot, confidence_level, min_group_size, seed):
    """``(evaluate, many)``: the tidy rows of one prediction vector, and of several of the same rows."""
    from ..metrics import evaluate_groups
    from ..metrics.intervals import wilson_interval

    average = "binary" if n_classes <= 2 else "macro"

    def evaluate(pred: np.ndarray):
        if sensitive_features is None:
            correct = int((pred == y_index).sum())
            low, high = wilson_interval(correct, len(pred), confidence_level=confidence_level)
            return [("overall", "all", "accuracy", correct / len(pred), float(low), float(high), len(pred), False)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallGroupWarning)
            table = evaluate_groups(y_index, pred, sensitive_features=sensitive_features, metrics=metrics,
                                    n_boot=n_boot, confidence_level=confidence_level, random_state=seed,
                                    min_group_size=min_group_size, average=average)
        return _table_rows(table, metrics)

    def many(preds: list[np.ndarray]) -> list[list[tuple]]:
        """The rows of :func:`evaluate` for several prediction vectors of the same rows.

        Accuracy per group is the mean of the per-row "correct" value: all vectors go through
        one grouped table as values (``mean:0``, ``mean:1``, ...; the same binomial bootstrap
        per cell as the accuracy's). Other metrics, and no groups, take one table each.
        """
        if sensitive_features is None or list(metrics) != ["accuracy"] or len(preds) < 2:
            return [evaluate(pred) for pred in preds]
        values = {str(k): (pred == y_index).astype(np.float64) for k, pred in enumerate(preds)}
        names = [f"mean:{k}" for k in values]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallGroupWarning)
            table = evaluate_groups(values=values, sensitive_features=sensitive_features, metrics=names,
                                    n_boot=n_boot, confidence_level=confidence_level, random_state=seed,
                                    min_group_size=min_group_size)
        return [_table_rows(table, [name], label="accuracy") for name in names]

    return evaluate, many


def _table_rows(table, metrics, label: str | None = None) -> list[tuple]:
    """Tidy rows of a grouped table; ``label`` renames the (single) metric in the rows."""
    by_group = table.by_group
    features = by_group.index.get_level_values(0).tolist()
    groups = [str(g) for g in by_group.index.get_level_values(1)]
    counts, small = by_group["count"].tolist(), by_group["small"].astype(bool).tolist()
    rows = []
    for metric in metrics:
        ci, overall_ci = table.ci, table.overall_ci
        nan = [np.nan] * len(by_group)
        lower = nan if ci is None else ci[(metric, "lower")].tolist()
        upper = nan if ci is None else ci[(metric, "upper")].tolist()
        low, high = (np.nan, np.nan) if overall_ci is None else (overall_ci.loc[metric, "lower"],
                                                                 overall_ci.loc[metric, "upper"])
        name = label or metric
        rows.append(("overall", "all", name, table.overall[metric], low, high, table.overall["count"], False))
        rows += zip(features, groups, [name] * len(by_group), by_group[metric].tolist(), lower, upper, counts,
                    small)
    return rows


def _tagged(rows: list[tuple], corruption: str, severity: int) -> list[tuple]:
    return [(corruption, severity, *row) for row in rows]


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS).astype({"severity": int, "value": float, "lower": float,
                                                       "upper": float, "count": int, "small": bool})


def _slices(clean, X, y_index, n_classes, slices, sensitive_features, metrics, n_boot, confidence_level,
            min_group_size, seed, owner) -> pd.DataFrame:
    if isinstance(slices, str) or (isinstance(slices, Sequence) and not isinstance(slices, Mapping)):
        names = [slices] if isinstance(slices, str) else list(slices)
        if not isinstance(X, pd.DataFrame) or any(n not in X.columns for n in names):
            raise AssayInputError(f"'slices' of {owner} names columns {names} that 'X' lacks; pass a mapping "
                                  "name -> array (n,) for other inputs.")
        frame = X[names].astype(object).fillna("missing").astype(str)
    elif isinstance(slices, Mapping) and slices:
        frame = pd.DataFrame({str(k): np.asarray(v).astype(str) for k, v in slices.items()})
        if len(frame) != len(y_index):
            raise AssayInputError(f"'slices' of {owner} must hold one value per row of X ({len(y_index)}); "
                                  f"got {len(frame)}.")
    else:
        raise AssayInputError(f"'slices' of {owner} must be a column name, a list of names or a mapping name -> "
                              f"array. Got {describe(slices)} instead.")
    frame = frame.reset_index(drop=True)
    if sensitive_features is not None:
        groups = sensitive_features
        groups = pd.DataFrame(groups).reset_index(drop=True) if not isinstance(groups, pd.Series) else \
            groups.reset_index(drop=True).to_frame()
        frame = pd.concat([frame, groups.astype(str)], axis=1)
    evaluate, _ = _evaluator(y_index, n_classes, frame, metrics, n_boot, confidence_level, min_group_size, seed)
    return _frame(_tagged(evaluate(clean), "slice", 0)).drop(columns=["corruption", "severity"])


def _float(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None

