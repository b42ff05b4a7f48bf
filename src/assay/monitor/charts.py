"""Control charts with limits from a reference period, change points, and alerts as findings.

Every chart takes a series of per-window summaries, in time order; the first ``n_reference``
windows are the reference period (phase I) that sets the centre line and limits, the later ones are
monitored (phase II). Alerts are raised on monitored windows only.

* :func:`xbar_s_chart` -- per-window means and standard deviations of a per-row value:
  ``sigma = mean over reference windows of s_i / c4(n_i)``, X-bar limits ``mean +- 3 sigma / sqrt(n_i)``,
  S limits ``c4(n_i) sigma +- 3 sigma sqrt(1 - c4(n_i)^2)`` (for equal sizes: A3, B3, B4 of the tables).
* :func:`p_chart` / :func:`np_chart` -- rates: ``p = sum x / sum n`` over the reference windows,
  limits ``p +- 3 sqrt(p (1 - p) / n_i)`` (np: times ``n``, equal sizes).
* :func:`ewma_chart` -- ``z_t = lam x_t + (1 - lam) z_{t-1}``, ``z_0 = mu``, limits
  ``mu +- L sigma sqrt(lam / (2 - lam) (1 - (1 - lam)^(2t)))``; ``mu``, ``sigma`` the mean and
  standard deviation of the reference windows' values (or given).
* :func:`cusum_chart` -- tabular CUSUM on ``(x - mu) / sigma``: ``C+ = max(0, C+ + z - k)``,
  ``C- = max(0, C- - z - k)``, alert when either exceeds ``h`` (k = 0.5, h = 5: Montgomery).
* :func:`change_points` -- PELT or binary segmentation (``ruptures``, the ``monitor`` extra).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln

from ..core.errors import AssayInputError
from ..core.findings import Finding
from ..core.result import Result
from ..core.validation import as_array, check_option, check_scalar

_NO_RUPTURES = ("change_points needs ruptures, which is not installed. Install the extra: "
                "pip install 'assay[monitor]'.")


@dataclasses.dataclass(frozen=True, eq=False)
class ControlChart(Result):
    """One chart. ``table``: one row per window (index: the window labels) with ``value`` (the
    plotted statistic), ``center``, ``lower``, ``upper``, ``phase`` ("reference" / "monitor") and
    ``alert``; CUSUM adds ``cusum_upper`` / ``cusum_lower``. ``chart``: "xbar", "s", "p", "np",
    "ewma" or "cusum"; ``metric``: what is charted."""

    chart: str
    metric: str
    table: pd.DataFrame
    params: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def alerts(self) -> list[Any]:
        """Labels of the windows with an alert."""
        return list(self.table.index[self.table["alert"].to_numpy(bool)])

    def findings(self, *, severity: str = "warn", check: str = "monitor") -> list[Finding]:
        """One finding per alerted window (metric, window, chart type, value and the limit crossed)."""
        out = []
        for label, row in self.table[self.table["alert"].to_numpy(bool)].iterrows():
            if self.chart == "cusum":
                side = "upper" if row["cusum_upper"] > self.params["h"] else "lower"
                score, limit = float(row[f"cusum_{side}"]), float(self.params["h"])
                text = f"CUSUM ({side}) of {self.metric} is {score:.3g} in window {label}, above h = {limit:g}."
            else:
                side = "upper" if row["value"] > row["upper"] else "lower"
                score, limit = float(row["value"]), float(row[side])
                text = (f"{self.chart} chart of {self.metric}: {score:.4g} in window {label} is "
                        f"{'above' if side == 'upper' else 'below'} the {side} control limit {limit:.4g}.")
            out.append(Finding(check, severity, text, self.metric, score, limit,
                               {"alert": self.chart, "window": str(label), "side": side}))
        return out


def _series(values: Any, name: str, *, index: Any = None) -> tuple[np.ndarray, pd.Index]:
    if isinstance(values, pd.Series):
        index = values.index if index is None else index
    arr = as_array(values, name=name, ndim=1, dtype=np.float64)
    return arr, pd.Index(index if index is not None else np.arange(len(arr)), name="window")


def _reference(n_reference: int, n: int, owner: str) -> int:
    check_scalar(n_reference, "n_reference", owner=owner, kind=int, low=2)
    if n_reference > n:
        raise AssayInputError(f"'n_reference' of {owner} must be at most the number of windows ({n}). "
                              f"Got {n_reference} instead.")
    return n_reference


def _chart(chart, metric, index, value, center, lower, upper, n_reference, params, **extra) -> ControlChart:
    phase = np.where(np.arange(len(index)) < n_reference, "reference", "monitor")
    table = pd.DataFrame({"value": value, "center": center, "lower": lower, "upper": upper, **extra,
                          "phase": phase}, index=index)
    if "alert" not in extra:
        with np.errstate(invalid="ignore"):
            table["alert"] = (phase == "monitor") & ((table["value"] > upper) | (table["value"] < lower))
    return ControlChart(chart=chart, metric=metric, table=table, params={"n_reference": n_reference, **params})


def c4(n: Any) -> np.ndarray:
    """Bias constant of the sample standard deviation: ``E[s] = c4(n) sigma`` for normal data."""
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.sqrt(2 / (n - 1)) * np.exp(gammaln(n / 2) - gammaln((n - 1) / 2))


def xbar_s_chart(values: Any, windows: Any, *, n_reference: int, metric: str = "value"
                 ) -> tuple[ControlChart, ControlChart]:
    """X-bar and S charts of a per-row ``values`` grouped by ``windows`` (labels, sorted)."""
    owner = "xbar_s_chart"
    x = as_array(values, name="values", ndim=1, dtype=np.float64)
    w = as_array(windows, name="windows", ndim=1)
    if len(w) != len(x):
        raise AssayInputError(f"'windows' must have one label per value ({len(x)}). Got {len(w)} instead.")
    frame = pd.DataFrame({"x": x, "w": w}).groupby("w", sort=True)["x"].agg(["mean", "std", "count"])
    frame.index.name = "window"
    n_reference = _reference(n_reference, len(frame), owner)
    n, s, mean = frame["count"].to_numpy(float), frame["std"].to_numpy(float), frame["mean"].to_numpy(float)
    if (n[:n_reference] < 2).any():
        raise AssayInputError("'windows' of xbar_s_chart: every reference window needs at least 2 rows.")
    ref = slice(0, n_reference)
    sigma = float(np.mean(s[ref] / c4(n[ref])))
    grand = float(np.sum(mean[ref] * n[ref]) / np.sum(n[ref]))
    half = 3 * sigma / np.sqrt(n)
    cn = c4(np.maximum(n, 2))
    xbar = _chart("xbar", f"mean {metric}", frame.index, mean, np.full(len(n), grand), grand - half, grand + half,
                  n_reference, {"sigma": sigma})
    spread = 3 * sigma * np.sqrt(1 - cn ** 2)
    schart = _chart("s", f"sd {metric}", frame.index, s, cn * sigma, np.maximum(0, cn * sigma - spread),
                    cn * sigma + spread, n_reference, {"sigma": sigma})
    return xbar, schart


def p_chart(successes: Any, totals: Any, *, n_reference: int, metric: str = "rate", index: Any = None
            ) -> ControlChart:
    """p chart of the rates ``successes / totals`` per window."""
    x, idx = _series(successes, "successes", index=index)
    n, _ = _series(totals, "totals")
    if len(n) != len(x) or (n <= 0).any() or (x < 0).any() or (x > n).any():
        raise AssayInputError("'totals' must be positive, one per window, and at least 'successes'.")
    n_reference = _reference(n_reference, len(x), "p_chart")
    p = float(x[:n_reference].sum() / n[:n_reference].sum())
    half = 3 * np.sqrt(p * (1 - p) / n)
    return _chart("p", metric, idx, x / n, np.full(len(x), p), np.maximum(0, p - half), np.minimum(1, p + half),
                  n_reference, {"p": p})


def np_chart(successes: Any, totals: Any, *, n_reference: int, metric: str = "count", index: Any = None
             ) -> ControlChart:
    """np chart of the counts ``successes`` per window of one same size."""
    x, idx = _series(successes, "successes", index=index)
    n, _ = _series(totals, "totals")
    if len(n) != len(x) or len(np.unique(n)) != 1 or n[0] <= 0:
        raise AssayInputError(f"'totals' of np_chart must be one same positive size per window. Got {np.unique(n)}.")
    n_reference = _reference(n_reference, len(x), "np_chart")
    p = float(x[:n_reference].sum() / n[:n_reference].sum())
    size = n[0]
    half = 3 * np.sqrt(size * p * (1 - p))
    return _chart("np", metric, idx, x, np.full(len(x), size * p), np.full(len(x), max(0.0, size * p - half)),
                  np.full(len(x), min(size, size * p + half)), n_reference, {"p": p, "n": float(size)})


def _mu_sigma(x: np.ndarray, n_reference: int, mu: float | None, sigma: float | None, owner: str):
    mu = float(np.mean(x[:n_reference])) if mu is None else float(mu)
    sigma = float(np.std(x[:n_reference], ddof=1)) if sigma is None else float(sigma)
    if not sigma > 0:
        raise AssayInputError(f"'sigma' of {owner} must be positive: the reference windows' values are constant; "
                              "give sigma=.")
    return mu, sigma


def ewma_chart(values: Any, *, n_reference: int, lam: float = 0.2, L: float = 3.0, mu: float | None = None,
               sigma: float | None = None, metric: str = "value", index: Any = None) -> ControlChart:
    """EWMA chart of a per-window series (see the module docstring)."""
    owner = "ewma_chart"
    check_scalar(lam, "lam", owner=owner, low=0.0, high=1.0, closed="right")
    check_scalar(L, "L", owner=owner, low=0.0, closed="neither")
    x, idx = _series(values, "values", index=index)
    n_reference = _reference(n_reference, len(x), owner)
    mu, sigma = _mu_sigma(x, n_reference, mu, sigma, owner)
    z = np.empty(len(x))
    previous = mu
    for t, value in enumerate(x):  # a recursion over windows (hundreds), not rows
        previous = lam * value + (1 - lam) * previous
        z[t] = previous
    t = np.arange(1, len(x) + 1)
    half = L * sigma * np.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * t)))
    return _chart("ewma", metric, idx, z, np.full(len(x), mu), mu - half, mu + half, n_reference,
                  {"lam": float(lam), "L": float(L), "mu": mu, "sigma": sigma}, observed=x)


def cusum_chart(values: Any, *, n_reference: int, k: float = 0.5, h: float = 5.0, mu: float | None = None,
                sigma: float | None = None, metric: str = "value", index: Any = None) -> ControlChart:
    """Tabular CUSUM of a per-window series, in units of ``sigma`` (see the module docstring)."""
    owner = "cusum_chart"
    check_scalar(k, "k", owner=owner, low=0.0)
    check_scalar(h, "h", owner=owner, low=0.0, closed="neither")
    x, idx = _series(values, "values", index=index)
    n_reference = _reference(n_reference, len(x), owner)
    mu, sigma = _mu_sigma(x, n_reference, mu, sigma, owner)
    z = (x - mu) / sigma
    upper, lower = np.empty(len(x)), np.empty(len(x))
    cu = cl = 0.0
    for t, value in enumerate(z):
        cu, cl = max(0.0, cu + value - k), max(0.0, cl - value - k)
        upper[t], lower[t] = cu, cl
    phase = np.arange(len(x)) >= n_reference
    alert = phase & ((upper > h) | (lower > h))
    return _chart("cusum", metric, idx, x, np.full(len(x), mu), np.full(len(x), mu - h * sigma),
                  np.full(len(x), mu + h * sigma), n_reference, {"k": float(k), "h": float(h), "mu": mu,
                                                                 "sigma": sigma},
                  cusum_upper=upper, cusum_lower=lower, alert=alert)


@dataclasses.dataclass(frozen=True, eq=False)
class ChangePoints(Result):
    """Change points of a series. ``indices``: positions where a new segment starts; ``segments``: one
    row per segment (start, end exclusive, mean)."""

    indices: list[int]
    segments: pd.DataFrame
    params: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        return self.segments.copy()


def change_points(values: Any, *, method: str = "pelt", model: str = "l2", penalty: float | None = None,
                  n_change_points: int | None = None, min_size: int = 2) -> ChangePoints:
    """Change points of a metric series with ``ruptures``: PELT (``penalty``, default ``2 log(n) var``,
    BIC-like for a mean shift in ``l2``) or binary segmentation (``n_change_points``, or ``penalty``)."""
    owner = "change_points"
    check_option(method, "method", owner=owner, options=("pelt", "binseg"))
    check_option(model, "model", owner=owner, options=("l2", "l1", "rbf", "normal"))
    check_scalar(min_size, "min_size", owner=owner, kind=int, low=1)
    x = as_array(values, name="values", ndim=1, dtype=np.float64)
    if len(x) < 2 * min_size:
        raise AssayInputError(f"'values' of change_points must have at least {2 * min_size} points. Got {len(x)}.")
    try:
        import ruptures
    except ImportError as exc:
        raise ImportError(_NO_RUPTURES) from exc
    if penalty is None and n_change_points is None:
        scale = float(np.var(np.diff(x)) / 2) if len(x) > 2 else 1.0  # noise variance, robust to the shifts
        penalty = 2 * np.log(len(x)) * max(scale, 1e-12)
    if method == "pelt":
        if n_change_points is not None:
            raise AssayInputError("'n_change_points' needs method='binseg'; PELT takes a penalty.")
        bkps = ruptures.Pelt(model=model, min_size=min_size, jump=1).fit(x).predict(pen=penalty)
    else:
        algo = ruptures.Binseg(model=model, min_size=min_size, jump=1).fit(x)
        bkps = algo.predict(n_bkps=n_change_points) if n_change_points is not None else algo.predict(pen=penalty)
    starts = [0, *bkps[:-1]]
    segments = pd.DataFrame({"start": starts, "end": bkps,
                             "mean": [float(x[a:b].mean()) for a, b in zip(starts, bkps)]})
    return ChangePoints(indices=[int(b) for b in bkps[:-1]], segments=segments,
                        params={"method": method, "model": model, "penalty": None if penalty is None else float(penalty),
                                "n_change_points": n_change_points, "min_size": int(min_size)})
