"""One monitoring run: drift of a current table against a reference, over time, and the model's performance.

:func:`run_monitor` is what ``assay monitor`` computes (the documents are built in
:mod:`assay.monitor.documents`):

* drift of the whole current table per column, group and intersection (:func:`drift_report`, with the
  model's outputs as columns when a model is given);
* with a time column: the current table cut into windows, the drift of each window (overall; with the
  model's outputs as columns when a model is given), and the histograms of the most drifted columns for
  the plots;
* with labels in the current table: accuracy per window and group (the grouped table), with p and CUSUM
  charts (limits from the reference period) per group; without them but with a model and a labelled
  reference: the label-free CBPE estimate per window, gated on the reference's calibration;
* findings: "warn" for each drifted column (and for a drift seen only in some groups), "fail" for each
  control-chart alert on accuracy, "warn" when the CBPE estimate is unreliable.

The reference period of the charts is the reference table's windows when it has the time column and
labels, else the first ``n_reference_windows`` windows of the current table (default: half).
"""

from __future__ import annotations

import dataclasses
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.findings import SEVERITIES, Finding
from ..core.result import Result
from ..data_checks._common import check_frame
from .charts import ControlChart, change_points, cusum_chart, p_chart
from .drift import DEFAULT_ALPHA, DEFAULT_EFFECT_THRESHOLD, DriftResult, drift_report
from .outputs import with_model_outputs
from .performance import PerformanceEstimate, estimate_performance, time_windows
from .profile import Profile

MAX_DISTRIBUTIONS = 12


@dataclasses.dataclass(frozen=True, eq=False)
class MonitorResult(Result):
    """Everything one monitoring run measured (see the module docstring)."""

    drift: DriftResult
    drift_over_time: pd.DataFrame
    performance: pd.DataFrame
    charts: list[ControlChart]
    estimate: PerformanceEstimate | None
    distributions: dict[str, dict[str, Any]]
    findings: list[Finding]
    params: dict[str, Any]
    change_points: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def worst_severity(self) -> str:
        ranks = [SEVERITIES.index(f.severity) for f in self.findings]
        return SEVERITIES[max(ranks)] if ranks else "pass"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"check": f.check, "severity": f.severity, "metric": f.metric, "value": f.value,
                              "threshold": f.threshold, "message": f.message} for f in self.findings])


def _column(frame: pd.DataFrame, name: str | None, arg: str, where: str) -> None:
    if name is not None and name not in frame.columns:
        raise AssayInputError(f"'{arg}' must name a column of '{where}'. Got {name!r}; columns: {list(frame.columns)}.")


def _distributions(reference: Profile, current: Profile, columns: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for column in columns:
        s, c = reference.columns[column], current.columns[column]
        ref_counts, ref_missing = reference.counts(column)
        cur_counts, cur_missing = current.counts(column)
        if s["kind"] == "numeric":
            edges = s["edges"]
            labels = [f"<= {edges[0]:.4g}"] if len(edges) else ["all"]
            labels += [f"({a:.4g}, {b:.4g}]" for a, b in pairwise(edges)]
            labels += [f"> {edges[-1]:.4g}"] if len(edges) else []
            ref, cur = list(ref_counts), list(cur_counts)
        else:
            labels = sorted(set(s["categories"]) | set(c["categories"]))
            rmap = dict(zip(s["categories"], ref_counts))
            cmap = dict(zip(c["categories"], cur_counts))
            ref, cur = [int(rmap.get(k, 0)) for k in labels], [int(cmap.get(k, 0)) for k in labels]
        if ref_missing or cur_missing:
            labels, ref, cur = [*labels, "missing"], [*ref, ref_missing], [*cur, cur_missing]
        out[column] = {"kind": s["kind"], "labels": [str(v) for v in labels],
                       "reference": [int(v) for v in ref], "current": [int(v) for v in cur]}
    return out


def _findings(drift: DriftResult, charts: list[ControlChart], estimate: PerformanceEstimate | None
              ) -> list[Finding]:
    out: list[Finding] = []
    overall = drift.overall
    for column in drift.drifted_columns:
        row = overall.loc[column]
        out.append(Finding("drift", "warn",
                           f"Column '{column}' drifted ({row['test']} p = {row['p_adjusted']:.3g} after correction, "
                           f"effect size {row['effect_size']:.3f}).", f"effect_size[{column}]",
                           float(row["effect_size"]), drift.params["effect_threshold"],
                           {"alert": "drift", "column": column, "p_adjusted": float(row["p_adjusted"])}))
    table = drift.table
    groups = table[(table["feature"] != "overall") & table["drifted"].to_numpy(bool)]
    for column, rows in groups.groupby("column", sort=True):
        if column in drift.drifted_columns:
            continue
        where = ", ".join(f"{f}={g}" for f, g in zip(rows["feature"], rows["group"]))
        worst = rows.loc[rows["effect_size"].idxmax()]
        out.append(Finding("drift", "warn", f"Column '{column}' drifted in some groups only: {where}.",
                           f"effect_size[{column}]", float(worst["effect_size"]), drift.params["effect_threshold"],
                           {"alert": "group drift", "column": column, "groups": where}))
    for chart in charts:
        out += chart.findings(severity="fail" if chart.chart in ("p", "cusum") else "warn", check="performance")
    if estimate is not None and not estimate.reliable:
        out.append(Finding("performance", "warn",
                           f"The label-free accuracy estimate is unreliable: the reference's top-label ECE is "
                           f"{estimate.reference_ece:.3f}, above {estimate.params['max_ece']:g} (use calibrate=True).",
                           "reference_ece", estimate.reference_ece, estimate.params["max_ece"], {}))
    if not out:
        out.append(Finding("drift", "pass", "No column drifted and no control chart raised an alert.", None, None,
                           None, {}))
    return out


def _window_accuracy(y, pred, windows, groups: pd.DataFrame | None) -> pd.DataFrame:
    frame = pd.DataFrame({"window": np.asarray(windows), "correct": (np.asarray(y) == np.asarray(pred)).astype(int)})
    rows = [frame.groupby("window")["correct"].agg(["sum", "count"]).assign(feature="overall", group="overall")]
    if groups is not None:
        for feature in groups.columns:
            part = frame.assign(group=groups[feature].astype(str).to_numpy())
            agg = part.groupby(["window", "group"])["correct"].agg(["sum", "count"]).reset_index(level="group")
            rows.append(agg.assign(feature=feature))
    out = pd.concat(rows).reset_index().rename(columns={"sum": "correct", "count": "n"})
    out["accuracy"] = out["correct"] / out["n"]
    return out[["feature", "group", "window", "n", "correct", "accuracy"]]


MIN_WINDOWS_CHANGE_POINTS = 8


def accuracy_charts(performance: pd.DataFrame, n_ref: int, n_reference_windows: int | None) -> list[ControlChart]:
    """p and CUSUM charts of the accuracy series per (feature, group) of ``performance`` (columns feature,
    group, window, n, correct, accuracy; the ``n_ref`` reference windows first, else the first
    ``n_reference_windows`` windows -- default half -- are the reference period)."""
    charts: list[ControlChart] = []
    for (feature, group), rows_ in performance.groupby(["feature", "group"], sort=False):
        k = n_ref if n_ref else (n_reference_windows or max(2, len(rows_) // 2))
        if len(rows_) < 3 or k >= len(rows_) or k < 2:
            continue
        name = "accuracy" if feature == "overall" else f"accuracy[{feature}={group}]"
        index = rows_["window"].to_numpy()
        charts.append(p_chart(rows_["correct"].to_numpy(), rows_["n"].to_numpy(), n_reference=k,
                              metric=name, index=index))
        p = charts[-1].params["p"]
        sigma = float(np.sqrt(p * (1 - p) / rows_["n"].to_numpy()[:k].mean()))
        if sigma > 0:
            charts.append(cusum_chart(rows_["accuracy"].to_numpy(), n_reference=k, sigma=sigma, metric=name,
                                      index=index))
    return charts


def _profiles_only(reference: Any, current: Profile, *, model: Any, target: Any, time_column: Any, alpha: float,
                   effect_threshold: float, correction: str) -> MonitorResult:
    if not isinstance(reference, Profile):
        raise AssayInputError(f"'reference' must be a Profile when 'current' is one. Got {type(reference).__name__}.")
    given = [name for name, value in (("model", model), ("target", target), ("time_column", time_column))
             if value is not None]
    if given:
        raise AssayInputError(f"'current' is a profile, which holds no rows: {', '.join(repr(g) for g in given)} "
                              "need(s) the current table.")
    drift = drift_report(reference, current, alpha=alpha, effect_threshold=effect_threshold, correction=correction)
    top = list(drift.overall.sort_values("effect_size", ascending=False, kind="stable").index[:MAX_DISTRIBUTIONS])
    return MonitorResult(drift=drift, drift_over_time=pd.DataFrame(), performance=pd.DataFrame(), charts=[],
                         estimate=None, distributions=_distributions(reference, current, top),
                         findings=_findings(drift, [], None),
                         params={"target": None, "time_column": None, "window": None,
                                 "sensitive_features": reference.sensitive_features, "alpha": alpha,
                                 "effect_threshold": effect_threshold, "correction": correction,
                                 "reference": "profile", "current": "profile", "model": False})


def _accuracy_change_points(performance: pd.DataFrame) -> dict[str, Any]:
    """Change points (PELT) of the overall accuracy series when it has enough windows and ruptures is
    installed (the ``monitor`` extra); each with the segment means before and after."""
    if not len(performance):
        return {}
    series = performance[performance["feature"] == "overall"]
    if len(series) < MIN_WINDOWS_CHANGE_POINTS:
        return {}
    try:
        found = change_points(series["accuracy"].to_numpy(float), min_size=2)
    except ImportError:
        return {}
    labels = series["window"].to_numpy()
    means = found.segments["mean"].to_numpy()
    shifts = [(str(labels[i]), float(means[j]), float(means[j + 1])) for j, i in enumerate(found.indices)]
    return {"accuracy": {"indices": found.indices, "shifts": shifts}} if shifts else {}


def change_point_findings(found_changes: dict[str, Any]) -> list[Finding]:
    """A "warn" finding for each change point of :func:`_accuracy_change_points`."""
    return [Finding("performance", "warn", f"{metric} changed at window {start}: {before:.4f} -> {after:.4f} "
                    "(change point, PELT).", metric, after, before, {"alert": "change point", "window": str(start)})
            for metric, change in found_changes.items() for start, before, after in change["shifts"]]


def run_monitor(reference: Any, current: Any, *, model: Any = None, features: Any = None, target: str | None = None,
                time_column: str | None = None, window: str = "1D", sensitive_features: Any = None,
                alpha: float = DEFAULT_ALPHA, effect_threshold: float = DEFAULT_EFFECT_THRESHOLD,
                correction: str = "holm", n_reference_windows: int | None = None) -> MonitorResult:
    """Drift, drift over time, and performance (measured or estimated) of ``current`` against ``reference``.

    ``current`` may be a :class:`Profile` (of data past one machine's memory, :meth:`Profile.fit_dask`) when
    ``reference`` is one too: then only the drift tests run (binned), with no time column, model or target.
    """
    if isinstance(current, Profile):
        return _profiles_only(reference, current, model=model, target=target, time_column=time_column,
                              alpha=alpha, effect_threshold=effect_threshold, correction=correction)
    current = check_frame(current, name="current")
    is_profile = isinstance(reference, Profile)
    ref_frame = None if is_profile else check_frame(reference, name="reference")
    if target is not None and target not in current.columns and (ref_frame is None or target not in ref_frame.columns):
        raise AssayInputError(f"'target' must name a column of 'current' or 'reference'. Got {target!r}.")
    _column(current, time_column, "time_column", "current")
    sens = [sensitive_features] if isinstance(sensitive_features, str) else list(sensitive_features or [])
    drop = [c for c in (target, time_column) if c is not None]
    cur_x = current.drop(columns=[c for c in drop if c in current.columns])
    ref_x = reference if is_profile else ref_frame.drop(columns=[c for c in drop if c in ref_frame.columns])
    if model is not None and features is None:
        names = getattr(model, "feature_names_in_", None)
        features = list(names) if names is not None else [c for c in cur_x.columns]
    drift = drift_report(ref_x, cur_x, sensitive_features=sens or None, alpha=alpha, effect_threshold=effect_threshold,
                         correction=correction, model=model, features=features)
    if is_profile:
        ref_profile = reference
    else:
        ref_table = ref_x if model is None else with_model_outputs(ref_x, model, features=features)
        ref_profile = Profile.fit(ref_table.drop(columns=sens))
    cur_table = cur_x if model is None else with_model_outputs(cur_x, model, features=features, name="current")
    cur_profile = Profile.fit(cur_table.drop(columns=sens), edges=ref_profile.edges(), name="current")
    top = list(drift.overall.sort_values("effect_size", ascending=False, kind="stable").index[:MAX_DISTRIBUTIONS])
    distributions = _distributions(ref_profile, cur_profile, [c for c in top if c in ref_profile.columns])

    over_time = pd.DataFrame()
    performance = pd.DataFrame()
    charts: list[ControlChart] = []
    estimate = None
    if time_column is not None:
        windows = time_windows(current[time_column], window, name="time_column").to_numpy()
        rows = []
        for label in np.unique(windows):
            part = cur_table[windows == label]  # the model's outputs computed once, not per window
            result = drift_report(ref_x if is_profile else ref_table, part, alpha=alpha,
                                  effect_threshold=effect_threshold, correction=correction)
            o = result.overall
            rows.append(pd.DataFrame({"window": label, "column": o.index, "effect_size": o["effect_size"].to_numpy(),
                                      "p_adjusted": o["p_adjusted"].to_numpy(), "drifted": o["drifted"].to_numpy()}))
        over_time = pd.concat(rows, ignore_index=True)
        groups = current[sens] if sens else None
        y_cur = current[target].to_numpy() if target is not None and target in current.columns else None
        if model is not None and y_cur is not None:
            from ..core.adapters import wrap

            pred = wrap(model).predict(cur_x[features])
            series = _window_accuracy(y_cur, pred, windows, groups)
            n_ref = 0
            if (ref_frame is not None and time_column in ref_frame.columns and target in ref_frame.columns):
                ref_windows = time_windows(ref_frame[time_column], window, name="time_column").to_numpy()
                ref_series = _window_accuracy(ref_frame[target].to_numpy(), wrap(model).predict(ref_x[features]),
                                              ref_windows, ref_frame[sens] if sens else None)
                n_ref = len(np.unique(ref_windows))
                series = pd.concat([ref_series.assign(period="reference"), series.assign(period="current")])
            else:
                series = series.assign(period="current")
            performance = series.reset_index(drop=True)
            charts = accuracy_charts(performance, n_ref, n_reference_windows)
        elif model is not None and ref_frame is not None and target is not None and target in ref_frame.columns:
            from ..core.adapters import wrap

            adapter = wrap(model)
            classes = list(adapter.classes_)
            y_ref = ref_frame[target].map({c: i for i, c in enumerate(classes)})
            if y_ref.isna().any():
                raise AssayInputError(f"'target' of 'reference' holds labels the model does not predict "
                                      f"({classes}).")
            estimate = estimate_performance(adapter.predict_proba(ref_x[features]), y_ref.to_numpy(int),
                                            adapter.predict_proba(cur_x[features]), windows=windows, calibrate=True)
    found_changes = _accuracy_change_points(performance)
    findings = _findings(drift, charts, estimate) + change_point_findings(found_changes)
    return MonitorResult(drift=drift, drift_over_time=over_time, performance=performance, charts=charts,
                         estimate=estimate, distributions=distributions, findings=findings,
                         params={"target": target, "time_column": time_column, "window": window,
                                 "sensitive_features": sens, "alpha": alpha, "effect_threshold": effect_threshold,
                                 "correction": correction, "reference": "profile" if is_profile else "data",
                                 "model": model is not None}, change_points=found_changes)
