"""Performance over time: metrics per time window and group, and a label-free estimate (CBPE).

* :func:`time_windows` -- window labels of a time column (``pandas`` offsets: "1D", "6h", "7D").
* :func:`performance_over_time` -- with labels: the grouped table with the window as one more
  sensitive feature, so every window, group and window x group gets its metrics and bootstrap
  intervals from one pass (``assay.evaluate_groups``).
* :func:`estimate_performance` -- without labels: confidence-based performance estimation (as
  NannyML's CBPE). If the model's top-label confidence ``c`` is calibrated, each current row is
  correct with probability ``c``, so the expected accuracy of a window is ``mean(c)``; the window's
  realised accuracy is a sum of independent Bernoulli(c_i) draws, whose variance
  ``sum c_i (1 - c_i) / n^2`` gives a normal interval. The estimate is gated on the reference
  window (with labels): its top-label ECE must be at most ``max_ece``, else the estimate is marked
  unreliable; ``calibrate=True`` first maps confidences through an isotonic fit on the reference
  (top-label, the correctness of the reference rows; the gate's ECE is then cross-fitted on two
  halves of the reference, so it is not measured on the rows the map was fitted on).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import (
    as_array,
    check_consistent_length,
    check_probabilities,
    check_scalar,
    describe,
)


def time_windows(time: Any, window: str = "1D", *, name: str = "time") -> pd.Series:
    """Start of the window of each timestamp, as strings (ISO; sortable). ``time`` must hold dates/times
    (datetime dtype, or strings pandas parses); numbers are refused (ambiguous units)."""
    series = time if isinstance(time, pd.Series) else pd.Series(np.asarray(time))
    if not (pd.api.types.is_datetime64_any_dtype(series.dtype)):
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            raise AssayInputError(f"'{name}' must hold dates or times. Got numbers of dtype {series.dtype}; "
                                  "convert them first (pandas.to_datetime(..., unit='s')).")
        try:
            series = pd.to_datetime(series, errors="raise", format="mixed")
        except (ValueError, TypeError) as exc:
            raise AssayInputError(f"'{name}' must hold dates or times. Got values such as "
                                  f"{series.dropna().astype(str).head(3).tolist()} ({exc}).") from None
    if series.isna().any():
        raise AssayInputError(f"'{name}' must not have missing times. Got {int(series.isna().sum())}.")
    try:
        starts = series.dt.floor(window)
    except (ValueError, TypeError) as exc:
        raise AssayInputError(f"'window' must be a fixed pandas frequency such as '1D', '6h' or '7D'. "
                              f"Got {window!r} ({exc}).") from None
    return pd.Series(starts.dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(), index=series.index, name="window")


def performance_over_time(y_true: Any, y_pred: Any = None, *, time: Any, window: str = "1D",
                          y_score: Any = None, sensitive_features: Any = None,
                          metrics: Any = ("accuracy",), n_boot: int = 0, random_state: Any = None,
                          min_group_size: int = 30):
    """Metrics per window (and per group, window x group) from the grouped table.

    Returns the :class:`~assay.metrics.GroupedMetrics` whose first feature is ``"window"``.
    """
    from ..metrics import evaluate_groups

    windows = time_windows(time, window)
    if windows.nunique() < 2:
        raise AssayInputError(f"'time' must span at least two windows of {window!r}. Got one: {windows.iloc[0]}.")
    features: dict[str, Any] = {"window": windows.to_numpy()}
    if sensitive_features is not None:
        frame = sensitive_features if isinstance(sensitive_features, pd.DataFrame) else (
            pd.DataFrame(sensitive_features) if isinstance(sensitive_features, dict)
            else pd.DataFrame({getattr(sensitive_features, "name", None) or "group": np.asarray(sensitive_features)}))
        features.update({str(c): frame[c].to_numpy() for c in frame.columns})
    return evaluate_groups(y_true, y_pred, y_score=y_score, sensitive_features=features, metrics=list(metrics),
                           n_boot=n_boot, random_state=random_state, min_group_size=min_group_size)


@dataclasses.dataclass(frozen=True, eq=False)
class PerformanceEstimate(Result):
    """Estimated accuracy per window without labels (CBPE).

    ``table``: index ``window`` (or "all"), columns ``n``, ``estimated_accuracy``, ``lower``, ``upper``
    (and ``accuracy`` when labels were given to compare). ``reference_ece``: top-label ECE of the
    reference after the optional calibration; ``reliable``: ``reference_ece <= max_ece``.
    """

    table: pd.DataFrame
    reference_accuracy: float
    reference_estimate: float
    reference_ece: float
    reliable: bool
    params: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _top_label(proba: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    p = check_probabilities(proba, name=name)
    if p.ndim == 1:
        p = np.column_stack([1 - p, p])
    return p.max(axis=1), p.argmax(axis=1)


def estimate_performance(reference_proba: Any, reference_y: Any, current_proba: Any, *, windows: Any = None,
                         current_y: Any = None, max_ece: float = 0.05, calibrate: bool = False,
                         confidence_level: float = 0.95, n_bins: int = 15) -> PerformanceEstimate:
    """Label-free accuracy of the current rows (per window when ``windows`` labels are given).

    ``reference_proba`` / ``current_proba``: (n, k) probabilities (or (n,) of class 1); the predicted
    class is the argmax. ``reference_y``: class indices ``0..k-1`` of the reference rows.
    ``current_y`` (optional): the labels, to report the realised accuracy next to the estimate.
    """
    from ..metrics.calibration import expected_calibration_error

    owner = "estimate_performance"
    check_scalar(max_ece, "max_ece", owner=owner, low=0.0, high=1.0)
    check_scalar(confidence_level, "confidence_level", owner=owner, low=0.0, high=1.0, closed="neither")
    ref_conf, ref_pred = _top_label(reference_proba, "reference_proba")
    cur_conf, cur_pred = _top_label(current_proba, "current_proba")
    y_ref = as_array(reference_y, name="reference_y", ndim=1)
    check_consistent_length(reference_proba=ref_conf, reference_y=y_ref)
    if len(cur_conf) == 0:
        raise AssayInputError("'current_proba' must have at least one row. Got 0.")
    try:
        ref_correct = (y_ref.astype(np.int64) == ref_pred).astype(np.float64)
    except (TypeError, ValueError):
        raise AssayInputError(f"'reference_y' must hold class indices 0..k-1. Got {describe(reference_y)}.") from None
    if calibrate:
        from sklearn.isotonic import IsotonicRegression

        def fit(rows):
            return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(ref_conf[rows], ref_correct[rows])

        half = np.arange(len(ref_conf)) % 2 == 0  # cross-fitted, so the gate's ECE is not in-sample
        out_of_fold = np.empty(len(ref_conf))
        out_of_fold[half], out_of_fold[~half] = fit(~half).predict(ref_conf[half]), fit(half).predict(ref_conf[~half])
        cur_conf, ref_conf = fit(slice(None)).predict(cur_conf), out_of_fold
    reference_ece = float(expected_calibration_error(ref_correct.astype(int), ref_conf, n_bins=n_bins))
    labels = np.asarray(windows).astype(str) if windows is not None else np.full(len(cur_conf), "all")
    check_consistent_length(current_proba=cur_conf, windows=labels)
    frame = pd.DataFrame({"window": labels, "c": cur_conf, "v": cur_conf * (1 - cur_conf)})
    if current_y is not None:
        y_cur = as_array(current_y, name="current_y", ndim=1)
        check_consistent_length(current_proba=cur_conf, current_y=y_cur)
        frame["correct"] = (y_cur.astype(np.int64) == cur_pred).astype(np.float64)
    grouped = frame.groupby("window", sort=True)
    table = pd.DataFrame({"n": grouped.size(), "estimated_accuracy": grouped["c"].mean()})
    z = norm.ppf(0.5 + confidence_level / 2)
    half = z * np.sqrt(grouped["v"].sum()) / table["n"]
    table["lower"] = np.maximum(0, table["estimated_accuracy"] - half)
    table["upper"] = np.minimum(1, table["estimated_accuracy"] + half)
    if current_y is not None:
        table["accuracy"] = grouped["correct"].mean()
    return PerformanceEstimate(
        table=table, reference_accuracy=float(ref_correct.mean()), reference_estimate=float(ref_conf.mean()),
        reference_ece=reference_ece, reliable=bool(reference_ece <= max_ece),
        params={"max_ece": float(max_ece), "calibrate": bool(calibrate), "confidence_level": float(confidence_level),
                "n_bins": int(n_bins)})
