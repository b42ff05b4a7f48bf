"""One monitoring run on Dask DataFrames: drift, drift per window and accuracy per window and group, from
statistics computed partition by partition and merged -- the data is never whole in one process.

Each partition of the current table gives one :class:`PartitionSummary`:

* the :class:`~assay.monitor.Profile` of its rows (the model's outputs as columns when a model is
  given, the sensitive features as cells), on the reference's bin edges;
* with a time column: one such profile per time window (``time_windows``: the window start, the
  same label whatever partition a row is in);
* with a model, a time column and the target in the table: per window, per sensitive feature and
  group, the number of rows and of correct predictions.

Summaries merge exactly (profiles add their counts, the accuracy counts add), pairwise as a tree on
the current Dask scheduler. From the merged summary: the drift of the whole window (binned tests,
like ``drift_report(profile, profile)``), the drift of each time window (its overall rows, binned;
the in-memory :func:`~assay.monitor.run.run_monitor` tests each window from its rows), accuracy per
window and group (equal to the in-memory run's), its p and CUSUM control charts and change points,
and the same findings.
The label-free CBPE estimate is not computed on this path (it needs the reference's and the current
window's probabilities side by side); ask for it in memory.

The reference is a Profile (fitted once, e.g. ``assay monitor`` given ``profile.json``) or a Dask
DataFrame (profiled the same way, bin edges from its first partition; with the time column and the
target its accuracy per window becomes the reference period of the charts).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import describe
from .drift import DEFAULT_ALPHA, DEFAULT_EFFECT_THRESHOLD, drift_report
from .performance import time_windows
from .profile import DEFAULT_N_BINS, Profile
from .run import (
    MAX_DISTRIBUTIONS,
    MonitorResult,
    _accuracy_change_points,
    _distributions,
    _findings,
    _window_accuracy,
    accuracy_charts,
    change_point_findings,
)

_COUNTS = ["feature", "group", "window", "n", "correct"]


@dataclasses.dataclass
class PartitionSummary:
    """Mergeable statistics of some rows: ``profile``, ``windows`` (window label -> Profile) and
    ``accuracy`` (columns feature, group, window, n, correct; empty without model, target or time)."""

    profile: Profile
    windows: dict[str, Profile]
    accuracy: pd.DataFrame

    def merge(self, other: PartitionSummary) -> PartitionSummary:
        windows = dict(self.windows)
        for label, profile in other.windows.items():
            windows[label] = windows[label].merge(profile) if label in windows else profile
        accuracy = pd.concat([self.accuracy, other.accuracy], ignore_index=True)
        accuracy = accuracy.groupby(["feature", "group", "window"], sort=False, as_index=False)[["n", "correct"]].sum()
        return PartitionSummary(self.profile.merge(other.profile), windows, accuracy[_COUNTS])


def summarise(part: pd.DataFrame, *, edges: dict[str, Any] | None, sensitive: list[str], model: Any,
              features: list[str] | None, target: str | None, time_column: str | None, window: str,
              n_bins: int = DEFAULT_N_BINS, name: str = "current") -> PartitionSummary:
    """The :class:`PartitionSummary` of one table (a partition, or a whole table in memory)."""
    from .outputs import with_model_outputs

    x = part.drop(columns=[c for c in (target, time_column) if c is not None and c in part.columns])
    table = x if model is None else with_model_outputs(x, model, features=features, name=name)
    profile = Profile.fit(table, sensitive_features=sensitive or None, edges=edges, n_bins=n_bins, name=name)
    windows: dict[str, Profile] = {}
    accuracy = pd.DataFrame({c: pd.Series(dtype=object if c in ("feature", "group", "window") else np.int64)
                             for c in _COUNTS})
    if time_column is not None:
        labels = time_windows(part[time_column], window, name="time_column").to_numpy()
        for label in np.unique(labels):
            rows = labels == label
            windows[str(label)] = Profile.fit(table[rows], sensitive_features=sensitive or None,
                                              edges=profile.edges(), name=name)
        if model is not None and target is not None and target in part.columns:
            from ..core.adapters import wrap

            pred = wrap(model).predict(x[features] if features is not None else x)
            accuracy = _window_accuracy(part[target].to_numpy(), pred, labels,
                                        part[sensitive] if sensitive else None)[_COUNTS]
    return PartitionSummary(profile, windows, accuracy)


def _tree_merge(dask: Any, items: list[Any]) -> Any:
    merge = dask.delayed(lambda a, b: a.merge(b))
    while len(items) > 1:
        items = [merge(items[i], items[i + 1]) if i + 1 < len(items) else items[i] for i in range(0, len(items), 2)]
    return items[0]


def summarise_dask(ddf: Any, *, edges: dict[str, Any] | None = None, n_bins: int = DEFAULT_N_BINS,
                   name: str = "current", **options: Any) -> PartitionSummary:
    """:func:`summarise` of every partition of ``ddf``, merged as a tree on the current scheduler; bin edges
    from ``edges`` or from the first partition."""
    from ..metrics.distributed import _import_dask

    dask, _ = _import_dask("run_monitor_dask")
    if not hasattr(ddf, "to_delayed"):
        raise AssayInputError(f"'{name}' must be a Dask DataFrame. Got {describe(ddf)} instead.")
    parts = ddf.to_delayed()
    if edges is None:
        edges = summarise(parts[0].compute(), edges=None, n_bins=n_bins, name=name,
                          **{**options, "time_column": None}).profile.edges()
    fit = dask.delayed(functools.partial(summarise, edges=edges, n_bins=n_bins, name=name, **options))
    return _tree_merge(dask, [fit(p) for p in parts]).compute()


def _ordered(counts: pd.DataFrame, sensitive: list[str]) -> pd.DataFrame:
    """Accuracy rows in the in-memory order: overall then each feature; by window, then group."""
    order = {f: i for i, f in enumerate(["overall", *sensitive])}
    out = counts.assign(_f=counts["feature"].map(order)).sort_values(["_f", "window", "group"], kind="stable")
    out = out.drop(columns="_f").reset_index(drop=True)
    out["n"], out["correct"] = out["n"].astype(np.int64), out["correct"].astype(np.int64)
    out["accuracy"] = out["correct"] / out["n"]
    return out[["feature", "group", "window", "n", "correct", "accuracy"]]


def run_monitor_dask(reference: Any, current: Any, *, model: Any = None, features: Any = None,
                     target: str | None = None, time_column: str | None = None, window: str = "1D",
                     sensitive_features: Any = None, alpha: float = DEFAULT_ALPHA,
                     effect_threshold: float = DEFAULT_EFFECT_THRESHOLD, correction: str = "holm",
                     n_reference_windows: int | None = None, n_bins: int = DEFAULT_N_BINS) -> MonitorResult:
    """:func:`~assay.monitor.run.run_monitor` for Dask DataFrames (module docstring).

    ``reference``: a Profile (fitted with the same sensitive features, and with ``model=`` when a model
    is given) or a Dask DataFrame; ``current``: a Dask DataFrame. Runs on the current Dask scheduler
    (a ``distributed.Client`` if one is active).
    """
    sens = [sensitive_features] if isinstance(sensitive_features, str) else list(sensitive_features or [])
    if not hasattr(current, "to_delayed"):
        raise AssayInputError(f"'current' must be a Dask DataFrame. Got {describe(current)} instead.")
    if time_column is not None and time_column not in current.columns:
        raise AssayInputError(f"'time_column' must name a column of 'current'. Got {time_column!r}; columns: "
                              f"{list(current.columns)}.")
    if model is not None and features is None:
        names = getattr(model, "feature_names_in_", None)
        if names is not None:
            features = list(names)
        else:
            features = [c for c in current.columns if c not in (target, time_column)]
    options = {"sensitive": sens, "model": model, "features": features, "target": target,
               "time_column": time_column, "window": window}
    ref_accuracy = pd.DataFrame(columns=_COUNTS)
    if isinstance(reference, Profile):
        if reference.sensitive_features != sens:
            raise AssayInputError(f"'sensitive_features' must match the reference profile's "
                                  f"{reference.sensitive_features}. Got {sens}.")
        ref_profile = reference
    else:
        ref_time = time_column if time_column is not None and time_column in reference.columns else None
        ref = summarise_dask(reference, n_bins=n_bins, name="reference", **{**options, "time_column": ref_time})
        ref_profile, ref_accuracy = ref.profile, ref.accuracy
    cur = summarise_dask(current, edges=ref_profile.edges(), n_bins=n_bins, name="current", **options)
    drift = drift_report(ref_profile, cur.profile, alpha=alpha, effect_threshold=effect_threshold,
                         correction=correction)
    rows = []
    for label in sorted(cur.windows):
        o = drift_report(ref_profile, cur.windows[label], alpha=alpha, effect_threshold=effect_threshold,
                         correction=correction).overall
        rows.append(pd.DataFrame({"window": label, "column": o.index, "effect_size": o["effect_size"].to_numpy(),
                                  "p_adjusted": o["p_adjusted"].to_numpy(), "drifted": o["drifted"].to_numpy()}))
    over_time = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    performance, charts = pd.DataFrame(), []
    if len(cur.accuracy):
        series = _ordered(cur.accuracy, sens).assign(period="current")
        n_ref = 0
        if len(ref_accuracy):
            ref_series = _ordered(ref_accuracy, sens).assign(period="reference")
            n_ref = ref_series.loc[ref_series["feature"] == "overall", "window"].nunique()
            series = pd.concat([ref_series, series])
        performance = series.reset_index(drop=True)
        charts = accuracy_charts(performance, n_ref, n_reference_windows)
    top = list(drift.overall.sort_values("effect_size", ascending=False, kind="stable").index[:MAX_DISTRIBUTIONS])
    found_changes = _accuracy_change_points(performance)
    findings = _findings(drift, charts, None) + change_point_findings(found_changes)
    return MonitorResult(drift=drift, drift_over_time=over_time, performance=performance, charts=charts,
                         estimate=None, distributions=_distributions(ref_profile, cur.profile, top),
                         findings=findings,
                         params={"target": target, "time_column": time_column, "window": window,
                                 "sensitive_features": sens, "alpha": alpha, "effect_threshold": effect_threshold,
                                 "correction": correction, "reference": "profile", "current": "dask",
                                 "model": model is not None}, change_points=found_changes)
