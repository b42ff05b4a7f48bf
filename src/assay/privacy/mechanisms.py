"""Differential privacy primitives for releasing aggregate statistics.

Epsilon semantics: a mechanism M is (epsilon, delta)-differentially private when, for any two data
sets that differ in one person's record (one added or removed) and any set S of outputs,
P[M(D) in S] <= exp(epsilon) P[M(D') in S] + delta. Smaller epsilon means more private (more
noise): at epsilon = 1 no output is more than e ~ 2.7 times likelier with a person than without.
delta is the probability mass where that bound may fail; keep it well below 1 / n.
``sensitivity`` is how much one person can change the released value(s): the L1 norm of the change
for the Laplace mechanism, the L2 norm for the Gaussian one.

- :func:`laplace_mechanism`: Laplace noise of scale sensitivity / epsilon (epsilon-DP).
- :func:`gaussian_mechanism`: Gaussian noise; ``method="analytic"`` (default) takes the smallest
  sigma with Phi(D/(2s) - e s/D) - exp(e) Phi(-D/(2s) - e s/D) <= delta, the exact condition of
  Balle & Wang (2018, Theorem 8), valid for any epsilon > 0; ``method="classic"`` takes
  sigma = D sqrt(2 ln(1.25 / delta)) / epsilon (Dwork & Roth 2014, Theorem A.1), valid for
  epsilon < 1 only and never smaller than the analytic sigma.
- :func:`randomized_response`: k-ary randomized response (local DP: each person's answer is
  epsilon-DP on its own); :func:`randomized_response_estimate` the unbiased frequency estimator.
- :func:`private_group_metrics`: per-group counts and rates from the grouped table's cell counts,
  released with calibrated noise and error bars.

Every function that draws takes ``random_state`` (seeded draws are reproducible).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import numbers
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import (
    _MISSING_GROUP,
    SEPARATOR,
    as_array,
    check_consistent_length,
    check_option,
    check_random_state,
    check_scalar,
    describe,
    sensitive_feature_columns,
)

__all__ = ["PrivateGroupMetrics", "RandomizedResponseEstimate", "gaussian_mechanism", "gaussian_sigma",
           "laplace_mechanism", "laplace_scale", "private_group_metrics", "randomized_response",
           "randomized_response_estimate"]


def _epsilon(epsilon: Any, owner: str) -> float:
    if isinstance(epsilon, numbers.Real) and not isinstance(epsilon, bool) and not math.isfinite(float(epsilon)):
        epsilon = None
    return float(check_scalar(epsilon, "epsilon", owner=owner, low=0, closed="neither"))


def _delta(delta: Any, owner: str) -> float:
    return float(check_scalar(delta, "delta", owner=owner, low=0, high=1, closed="neither"))


def _sensitivity(sensitivity: Any, owner: str) -> float:
    if isinstance(sensitivity, numbers.Real) and not isinstance(sensitivity, bool) and not math.isfinite(
            float(sensitivity)):
        sensitivity = None
    return float(check_scalar(sensitivity, "sensitivity", owner=owner, low=0, closed="neither"))


def _values(values: Any, owner: str) -> np.ndarray:
    return as_array(values, name="values", dtype=float, min_samples=0) if np.ndim(values) else np.asarray(
        as_array([values], name="values", dtype=float)[0])


def laplace_scale(sensitivity: float, epsilon: float) -> float:
    """The Laplace mechanism's scale b = sensitivity / epsilon (noise sd = sqrt(2) b)."""
    return _sensitivity(sensitivity, "laplace_scale") / _epsilon(epsilon, "laplace_scale")


def laplace_mechanism(values: Any, *, sensitivity: float, epsilon: float, random_state: Any = None) -> np.ndarray:
    """``values`` + Laplace(0, sensitivity / epsilon) noise, elementwise: epsilon-DP when one
    person changes ``values`` by at most ``sensitivity`` in L1 norm. Same shape, float."""
    owner = "laplace_mechanism"
    scale = _sensitivity(sensitivity, owner) / _epsilon(epsilon, owner)
    x = _values(values, owner)
    rng = check_random_state(random_state, name="random_state")
    return x + rng.laplace(0.0, scale, size=x.shape)


def _analytic_delta(sigma: float, sensitivity: float, epsilon: float) -> float:
    a, b = sensitivity / (2 * sigma), epsilon * sigma / sensitivity
    return float(stats.norm.cdf(a - b) - np.exp(epsilon + stats.norm.logcdf(-a - b)))


def gaussian_sigma(sensitivity: float, epsilon: float, delta: float, *, method: str = "analytic") -> float:
    """The Gaussian mechanism's noise sd for (epsilon, delta)-DP at L2 ``sensitivity`` (module docstring)."""
    owner = "gaussian_sigma"
    sensitivity, epsilon, delta = _sensitivity(sensitivity, owner), _epsilon(epsilon, owner), _delta(delta, owner)
    check_option(method, "method", owner=owner, options=("analytic", "classic"))
    if method == "classic":
        if epsilon >= 1:
            raise AssayInputError(f"'epsilon' is {epsilon:g}: the classic Gaussian bound holds for epsilon < 1 only "
                                  "(Dwork & Roth, Theorem A.1); use method='analytic'.")
        return sensitivity * math.sqrt(2 * math.log(1.25 / delta)) / epsilon
    lo, hi = sensitivity * 1e-3, sensitivity * max(1.0, math.sqrt(2 * math.log(1.25 / delta)) / epsilon)
    while _analytic_delta(lo, sensitivity, epsilon) < delta:
        lo /= 10
    while _analytic_delta(hi, sensitivity, epsilon) > delta:
        hi *= 2
    return float(optimize.brentq(lambda s: _analytic_delta(s, sensitivity, epsilon) - delta, lo, hi,
                                 xtol=1e-12 * sensitivity, rtol=1e-12))


def gaussian_mechanism(values: Any, *, sensitivity: float, epsilon: float, delta: float, method: str = "analytic",
                       random_state: Any = None) -> np.ndarray:
    """``values`` + N(0, sigma^2) noise with sigma from :func:`gaussian_sigma`: (epsilon, delta)-DP
    when one person changes ``values`` by at most ``sensitivity`` in L2 norm."""
    sigma = gaussian_sigma(sensitivity, epsilon, delta, method=method)
    x = _values(values, "gaussian_mechanism")
    rng = check_random_state(random_state, name="random_state")
    return x + rng.normal(0.0, sigma, size=x.shape)


# ---------------------------------------------------------------------------------------------
# randomized response
# ---------------------------------------------------------------------------------------------


def _rr_probabilities(epsilon: float, k: int) -> tuple[float, float]:
    """(p, q): the probability of reporting the true category, and each other one."""
    q = 1.0 / (math.exp(epsilon) + k - 1) if epsilon < 700 else 0.0
    return 1.0 - (k - 1) * q, q


def _categories(values: np.ndarray, categories: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    if pd.isna(pd.Series(values, dtype=object)).any():
        raise AssayInputError(f"'values' of {owner} has missing values; give them a category of their own "
                              "(e.g. 'missing') or drop them.")
    if categories is None:
        try:
            cats, codes = np.unique(values, return_inverse=True)
        except TypeError:
            raise AssayInputError(f"'values' of {owner} mixes types that cannot be sorted; pass "
                                  "'categories'.") from None
    else:
        cats = np.asarray(list(categories), dtype=object)
        if len(set(cats.tolist())) != len(cats):
            raise AssayInputError(f"'categories' of {owner} holds a value twice: {list(cats)!r}.")
        lookup = {v: i for i, v in enumerate(cats.tolist())}
        try:
            codes = np.fromiter((lookup[v] for v in values.tolist()), dtype=np.int64, count=len(values))
        except KeyError as missing:
            raise AssayInputError(f"'values' of {owner} holds {missing.args[0]!r}, which is not among "
                                  f"'categories' {list(cats)!r}.") from None
    if len(cats) < 2:
        raise AssayInputError(f"{owner} needs at least 2 categories; got {list(cats)!r} (pass 'categories').")
    return cats, codes.astype(np.int64)


def randomized_response(values: Any, *, epsilon: float, categories: Any = None, random_state: Any = None
                        ) -> np.ndarray:
    """Each value kept with probability p = e^eps / (e^eps + k - 1), else replaced by one of the
    other k - 1 categories uniformly: epsilon-DP for each person's answer (local DP).

    ``categories``: the k possible answers (default the values present; pass them when a category
    may be absent, as the estimator needs k). Returns an array of categories of the same length.
    """
    owner = "randomized_response"
    epsilon = _epsilon(epsilon, owner)
    x = as_array(values, name="values", ndim=1, min_samples=0)
    cats, codes = _categories(x, categories, owner)
    k = len(cats)
    p, _ = _rr_probabilities(epsilon, k)
    rng = check_random_state(random_state, name="random_state")
    flip = rng.random(len(codes)) >= p
    shifted = (codes + rng.integers(1, k, size=len(codes))) % k
    return cats[np.where(flip, shifted, codes)]


@dataclasses.dataclass(frozen=True)
class RandomizedResponseEstimate(Result):
    """Unbiased estimate of each category's share from randomized responses.

    ``table``: per category ``observed`` (share of responses), ``estimate`` = (observed - q) /
    (p - q), ``std_error`` = sqrt(observed (1 - observed) / n) / (p - q), and the normal interval
    ``lower`` / ``upper`` at ``confidence_level``. Estimates may fall outside [0, 1] (unbiased, not
    clipped); they sum to 1.
    """

    epsilon: float
    n: int
    p_keep: float
    confidence_level: float
    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def randomized_response_estimate(responses: Any, *, epsilon: float, categories: Any = None,
                                 confidence_level: float = 0.95) -> RandomizedResponseEstimate:
    """The true share of each category from the output of :func:`randomized_response` at ``epsilon``
    (pass the same ``categories``)."""
    owner = "randomized_response_estimate"
    epsilon = _epsilon(epsilon, owner)
    check_scalar(confidence_level, "confidence_level", owner=owner, low=0, high=1, closed="neither")
    x = as_array(responses, name="responses", ndim=1)
    cats, codes = _categories(x, categories, owner)
    n, k = len(codes), len(cats)
    p, q = _rr_probabilities(epsilon, k)
    observed = np.bincount(codes, minlength=k) / n
    estimate = (observed - q) / (p - q)
    se = np.sqrt(observed * (1 - observed) / n) / (p - q)
    z = stats.norm.ppf(0.5 + confidence_level / 2)
    table = pd.DataFrame({"observed": observed, "estimate": estimate, "std_error": se, "lower": estimate - z * se,
                          "upper": estimate + z * se}, index=pd.Index(cats, name="category"))
    return RandomizedResponseEstimate(epsilon, n, p, float(confidence_level), table)


# ---------------------------------------------------------------------------------------------
# private per-group metrics
# ---------------------------------------------------------------------------------------------

#: Rates released by :func:`private_group_metrics`: (numerator categories, denominator categories)
#: of the outcome counts TN, FP, FN, TP (0..3).
#: Most finest cells (combinations of the features' values) :func:`private_group_metrics` releases.
MAX_CELLS = 100_000
_DRAW_BLOCK = 1 << 22  # noise numbers per chunk of the error-bar draws

RATES = {"selection_rate": ((1, 3), (0, 1, 2, 3)), "base_rate": ((2, 3), (0, 1, 2, 3)),
         "accuracy": ((0, 3), (0, 1, 2, 3)), "tpr": ((3,), (2, 3)), "fpr": ((1,), (0, 1)),
         "ppv": ((3,), (1, 3))}


@dataclasses.dataclass(frozen=True)
class PrivateGroupMetrics(Result):
    """Per-group counts and rates released with differential privacy.

    ``table`` (index: feature, group; "overall" first) holds ``count`` (noisy rows), ``count_sd``
    (its noise sd) and per metric its value and ``<metric>_lower`` / ``<metric>_upper``: the
    interval of the noise at ``confidence_level``, drawn from the mechanism's known noise
    distribution around the released counts (post-processing: costs no privacy). Sampling error of
    the data itself is not in these bars. ``cells``: how many finest cells were released (every
    combination of the features' values, present or not, so which cells exist reveals nothing).
    """

    epsilon: float
    delta: float | None
    mechanism: str
    noise_scale: float
    sensitivity: float
    confidence_level: float
    n_draws: int
    cells: int
    metrics: tuple
    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _binary(y: Any, name: str, owner: str) -> np.ndarray:
    arr = as_array(y, name=name, ndim=1)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    try:
        values = arr.astype(float)
    except (TypeError, ValueError):
        values = None
    if values is None or not np.isin(values, (0.0, 1.0)).all():
        shown = np.unique(arr.astype(str))[:5].tolist()
        raise AssayInputError(f"'{name}' of {owner} must hold binary labels 0/1 (1 = positive). "
                              f"Got values {shown}.")
    return values.astype(np.int64)


def _rates(counts: np.ndarray, metrics: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Rates from (..., 4) outcome counts, clipped at 0 (post-processing); NaN where the denominator is 0."""
    counts = np.maximum(counts, 0.0)
    out = {}
    for metric in metrics:
        num_c, den_c = RATES[metric]
        num, den = counts[..., list(num_c)].sum(-1), counts[..., list(den_c)].sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[metric] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out


def private_group_metrics(y_true: Any, y_pred: Any, *, sensitive_features: Any, epsilon: float,
                          delta: float | None = None, mechanism: str = "laplace",
                          metrics: Any = ("selection_rate", "tpr", "fpr", "accuracy"), intersections: bool = True,
                          confidence_level: float = 0.95, n_draws: int = 1000,
                          random_state: Any = None) -> PrivateGroupMetrics:
    """Per-group (and intersection) rates of a binary classifier released with differential privacy.

    The grouped table's sufficient statistics are the outcome counts (TN, FP, FN, TP) of each
    finest cell; one person is in one cell and one outcome, so adding or removing a person changes
    this histogram by 1 in L1 and L2 norm (sensitivity 1). Noise is added once to every cell count
    (Laplace, epsilon-DP; or Gaussian with ``delta``, analytic sigma); groups, intersections,
    "overall" and every rate are sums and ratios of those noisy counts (post-processing), so the
    whole table is (epsilon, delta)-DP. The feature values themselves are treated as public: every
    combination of them is released, present in the data or not.

    Parameters
    ----------
    y_true, y_pred : array-like of 0/1, shape (n,)
    sensitive_features : Series, DataFrame, dict of arrays or 1-D/2-D array
    epsilon : float > 0
    delta : float in (0, 1), optional
        Needed by the Gaussian mechanism.
    mechanism : {"laplace", "gaussian"}
    metrics : sequence of names from :data:`RATES`
    intersections : bool, default True
    confidence_level : float, default 0.95
    n_draws : int, default 1000
        Noise draws for the error bars.
    random_state : int, Generator or None
    """
    owner = "private_group_metrics"
    epsilon = _epsilon(epsilon, owner)
    check_option(mechanism, "mechanism", owner=owner, options=("laplace", "gaussian"))
    if mechanism == "gaussian":
        if delta is None:
            raise AssayInputError("'delta' of private_group_metrics is needed by mechanism='gaussian' "
                                  "((epsilon, delta)-DP); pass e.g. delta=1e-6, well below 1 / n.")
        delta = _delta(delta, owner)
    elif delta is not None:
        raise AssayInputError("'delta' of private_group_metrics is only used by mechanism='gaussian'; the "
                              f"Laplace mechanism is epsilon-DP (delta = 0). Got delta={delta!r}.")
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics) if isinstance(metrics, (list, tuple)) \
        else None
    if not metrics or any(m not in RATES for m in metrics):
        raise AssayInputError(f"'metrics' of {owner} must be names among {list(RATES)}. Got {describe(metrics)}.")
    check_scalar(confidence_level, "confidence_level", owner=owner, low=0, high=1, closed="neither")
    if isinstance(n_draws, numbers.Integral) and not isinstance(n_draws, bool):
        n_draws = int(n_draws)
    check_scalar(n_draws, "n_draws", owner=owner, kind=numbers.Integral, low=10)
    yt, yp = _binary(y_true, "y_true", owner), _binary(y_pred, "y_pred", owner)
    n = check_consistent_length(y_true=yt, y_pred=yp)
    names, columns = sensitive_feature_columns(sensitive_features, n_samples=n)
    rng = check_random_state(random_state, name="random_state")

    labels, codes = [], []
    for feature, column in zip(names, columns):
        column = pd.Series(np.asarray(column, dtype=object))
        if column.isna().any():
            raise AssayInputError(_MISSING_GROUP.format(name="sensitive_features", column=feature,
                                                        count=int(column.isna().sum())))
        values, code = np.unique(column.astype(str).to_numpy(), return_inverse=True)
        labels.append(values)
        codes.append(code.ravel())
    cards = [len(v) for v in labels]
    n_cells = math.prod(cards)
    if n_cells > MAX_CELLS:
        raise AssayInputError(f"'sensitive_features' of {owner} has {n_cells:,} combinations of values (every one "
                              f"is released); at most {MAX_CELLS:,}: use fewer or coarser features.")
    cell = np.zeros(n, dtype=np.int64)
    for code, card in zip(codes, cards):
        cell = cell * card + code
    counts = np.bincount(cell * 4 + 2 * yt + yp, minlength=4 * n_cells).reshape(n_cells, 4).astype(float)
    if mechanism == "laplace":
        scale = 1.0 / epsilon
        draw = functools.partial(rng.laplace, 0.0, scale)
        sd = math.sqrt(2) * scale
    else:
        scale = gaussian_sigma(1.0, epsilon, delta)
        draw = functools.partial(rng.normal, 0.0, scale)
        sd = scale
    noisy = counts + draw(counts.shape)
    cell_keys = np.array(list(itertools.product(*(range(c) for c in cards))), dtype=np.int64).reshape(n_cells, -1)
    sizes = range(1, len(names) + 1) if intersections else range(1, 2)
    groupings = []  # (feature name, group labels, membership (groups, cells))
    for subset in [()] + [s for size in sizes for s in itertools.combinations(range(len(names)), size)]:
        if subset:
            group, inverse = np.unique(cell_keys[:, list(subset)], axis=0, return_inverse=True)
            inverse = inverse.ravel()
            glabels = [SEPARATOR.join(str(labels[j][g[i]]) for i, j in enumerate(subset)) for g in group]
        else:
            inverse, glabels = np.zeros(n_cells, dtype=np.int64), ["overall"]
        membership = np.zeros((len(glabels), n_cells))
        membership[inverse, np.arange(n_cells)] = 1.0
        feature = "overall" if not subset else SEPARATOR.join(names[j] for j in subset)
        groupings.append((feature, glabels, membership))
    # noise draws for the error bars, in chunks of at most ~4M numbers
    chunk = max(1, _DRAW_BLOCK // (4 * n_cells))
    draws: list[dict[str, list[np.ndarray]]] = [{m: [] for m in metrics} for _ in groupings]
    for start in range(0, n_draws, chunk):
        replicates = noisy[None] + draw((min(chunk, n_draws - start), *counts.shape))
        for store, (_, _, membership) in zip(draws, groupings):
            for metric, values in _rates(membership @ replicates, metrics).items():
                store[metric].append(values)
    alpha = (1 - confidence_level) / 2
    rows, index = [], []
    for store, (feature, glabels, membership) in zip(draws, groupings):
        summed = membership @ noisy
        point = _rates(summed, metrics)
        cells_per_group = membership.sum(axis=1)
        for g, label in enumerate(glabels):
            row = {"count": float(summed[g].sum()), "count_sd": sd * math.sqrt(4 * cells_per_group[g])}
            for metric in metrics:
                row[metric] = float(point[metric][g])
                values = np.concatenate(store[metric])[:, g]
                values = values[np.isfinite(values)]
                low, high = np.quantile(values, [alpha, 1 - alpha]) if len(values) else (np.nan, np.nan)
                row[f"{metric}_lower"], row[f"{metric}_upper"] = float(low), float(high)
            rows.append(row)
            index.append((feature, label))
    table = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["feature", "group"]))
    return PrivateGroupMetrics(epsilon, delta, mechanism, float(scale), 1.0, float(confidence_level), n_draws,
                               n_cells, metrics, table)
