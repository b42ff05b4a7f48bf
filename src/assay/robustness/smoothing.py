"""Randomized smoothing (Cohen, Rosenfeld & Kolter 2019): a classifier certified in L2.

``g(x) = argmax_c P(f(x + N(0, sigma^2 I)) = c)``. :meth:`SmoothedClassifier.predict` is their
PREDICT (abstains, -1, unless a two-sided binomial test of the top two counts rejects at
``alpha``); :meth:`SmoothedClassifier.certify` is CERTIFY: the top class from ``n0`` noisy
copies, a one-sided Clopper-Pearson lower bound ``p_lower`` on its probability from ``n``
others, and the certified radius ``sigma * Phi^-1(p_lower)`` (abstain when ``p_lower <= 1/2``).
"""

from __future__ import annotations

import dataclasses
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import uncached_logits, wrap
from ..core.component import Component, Interval
from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import (
    as_array,
    check_consistent_length,
    check_random_state,
    describe,
)
from .attacks import _as_float_input

__all__ = ["Certification", "CertifiedAccuracy", "SmoothedClassifier", "certified_accuracy", "clopper_pearson_lower"]

ABSTAIN = -1


def clopper_pearson_lower(successes: Any, n: Any, alpha: float) -> np.ndarray:
    """One-sided ``1 - alpha`` Clopper-Pearson lower bound of a binomial proportion (0 when 0 successes)."""
    from scipy.stats import beta

    k = np.asarray(successes, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(k > 0, beta.ppf(alpha, np.maximum(k, 1), np.asarray(n) - k + 1), 0.0)


@dataclasses.dataclass(frozen=True, eq=False)
class Certification(Result):
    """Per row: ``prediction`` (class label, -1 = abstain), ``radius`` (certified L2 radius, 0
    where abstaining), ``p_lower`` (lower bound on the top class's probability), ``count``
    (noisy copies, out of ``n``, classified as the top class)."""

    prediction: np.ndarray
    radius: np.ndarray
    p_lower: np.ndarray
    count: np.ndarray
    sigma: float
    n: int
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"prediction": self.prediction, "radius": self.radius, "p_lower": self.p_lower,
                             "count": self.count})


class SmoothedClassifier(Component):
    """The Gaussian-smoothed version of ``model`` (any model :func:`assay.wrap` accepts; noise is
    added to inputs as given, no clipping).

    Parameters
    ----------
    model : the base classifier.
    sigma : noise standard deviation (> 0), in input units.
    n0 : noisy copies to choose the top class (certify).
    n : noisy copies to bound its probability (certify) or to test it (predict).
    alpha : failure probability (the certificate holds with probability >= 1 - alpha).
    batch_size : noisy inputs per forward pass (default: the adapter's batch size).
    random_state : seeds the noise.
    """

    needs_fit = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": ["no_validation"], "sigma": [Interval(Real, 0, None, closed="neither")],
        "n0": [Interval(Integral, 1, None)], "n": [Interval(Integral, 1, None)],
        "alpha": [Interval(Real, 0, 1, closed="neither")], "batch_size": [None, Interval(Integral, 1, None)],
        "random_state": ["random_state"]}
    _validated_methods: ClassVar[tuple[str, ...]] = ("fit", "run", "predict", "certify")

    def __init__(self, model: Any = None, *, sigma: float = 0.25, n0: int = 100, n: int = 1000, alpha: float = 0.001,
                 batch_size: int | None = None, random_state: Any = None) -> None:
        self.model = model
        self.sigma = sigma
        self.n0 = n0
        self.n = n
        self.alpha = alpha
        self.batch_size = batch_size
        self.random_state = random_state

    def _counts(self, adapter, x: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
        """``(n_rows, k)`` counts of the classes predicted on ``samples`` noisy copies of each row."""
        per_call = self.batch_size or adapter.batch_size
        chunk = max(1, min(samples, per_call))
        rows = max(1, per_call // chunk)
        k = adapter.n_classes_
        counts = np.zeros((len(x), k), dtype=np.int64)
        for start in range(0, len(x), rows):  # blocks of rows; each block's noisy copies in chunks
            block = x[start:start + rows]
            done = 0
            while done < samples:
                m = min(chunk, samples - done)
                noisy = np.repeat(block, m, axis=0)
                noisy += rng.normal(scale=self.sigma, size=noisy.shape).astype(np.float32)
                pred = uncached_logits(adapter, noisy).argmax(axis=1).reshape(len(block), m)
                counts[start:start + len(block)] += (pred[:, :, None] == np.arange(k)).sum(axis=1)
                done += m
        return counts

    def _setup(self, X: Any):
        adapter = wrap(self.model)
        x = _as_float_input(X)
        adapter.logits(x[:1])  # learns the classes
        return adapter, x, check_random_state(self.random_state, name="random_state")

    def predict(self, X: Any) -> np.ndarray:
        """Smoothed predictions (class labels), -1 where the top class is not significant at ``alpha``."""
        from scipy.stats import binom

        adapter, x, rng = self._setup(X)
        counts = self._counts(adapter, x, self.n, rng)
        order = np.argsort(-counts, axis=1, kind="stable")
        rows = np.arange(len(x))
        top, second = counts[rows, order[:, 0]], counts[rows, order[:, 1]]
        p_value = np.minimum(1.0, 2 * binom.cdf(np.minimum(top, second), top + second, 0.5))
        classes = np.asarray(adapter.classes_)
        return np.where(p_value <= self.alpha, classes[order[:, 0]], ABSTAIN)

    def certify(self, X: Any) -> Certification:
        """Certified prediction and L2 radius of every row (CERTIFY)."""
        from scipy.stats import norm

        adapter, x, rng = self._setup(X)
        top = self._counts(adapter, x, self.n0, rng).argmax(axis=1)
        count = self._counts(adapter, x, self.n, rng)[np.arange(len(x)), top]
        p_lower = clopper_pearson_lower(count, self.n, self.alpha)
        certified = p_lower > 0.5
        radius = np.where(certified, self.sigma * norm.ppf(np.where(certified, p_lower, 0.75)), 0.0)
        classes = np.asarray(adapter.classes_)
        prediction = np.where(certified, classes[top], ABSTAIN)
        return Certification(prediction=prediction, radius=radius, p_lower=p_lower, count=count,
                             sigma=float(self.sigma), n=int(self.n), alpha=float(self.alpha))


@dataclasses.dataclass(frozen=True, eq=False)
class CertifiedAccuracy(Result):
    """Certified accuracy (correct and certified at radius >= r) for each radius ``r``.

    ``curve``: DataFrame indexed by radius, column ``certified_accuracy`` (overall).
    ``by_group``: the grouped table's rows ``(feature, group)``, one column per radius, or None.
    """

    curve: pd.DataFrame
    by_group: pd.DataFrame | None

    def to_frame(self) -> pd.DataFrame:
        return self.curve


def certified_accuracy(certification: Certification, y: Any, radii: Any = None, sensitive_features: Any = None,
                       n_boot: int = 0, random_state: Any = None) -> CertifiedAccuracy:
    """Fraction of rows whose certified prediction equals ``y`` with radius >= r, per radius.

    ``radii`` default: 0 to the largest radius in 20 steps. With ``sensitive_features``, per
    group and intersection through :func:`assay.metrics.evaluate_groups`.
    """
    if not isinstance(certification, Certification):
        raise AssayInputError(f"'certification' must be the result of SmoothedClassifier.certify. Got "
                              f"{describe(certification)} instead.")
    labels = as_array(y, name="y", ndim=1)
    check_consistent_length(y=labels, certification=certification.prediction)
    if radii is None:
        radii = np.linspace(0.0, max(float(certification.radius.max()), 1e-12), 20)
    radii = as_array(radii, name="radii", ndim=1, dtype=np.float64)
    if len(radii) == 0 or not np.isfinite(radii).all() or (radii < 0).any():
        raise AssayInputError(f"'radii' must be non-negative finite numbers. Got {describe(radii)}.")
    correct = (certification.prediction == labels) & (certification.prediction != ABSTAIN)
    hits = correct[:, None] & (certification.radius[:, None] >= radii[None, :])
    curve = pd.DataFrame({"certified_accuracy": hits.mean(axis=0)}, index=pd.Index(radii, name="radius"))
    by_group = None
    if sensitive_features is not None:
        from ..metrics import evaluate_groups

        names = [f"r={r:g}" for r in radii]
        table = evaluate_groups(values={name: hits[:, j].astype(np.int64) for j, name in enumerate(names)},
                                metrics=[f"mean:{name}" for name in names], sensitive_features=sensitive_features,
                                n_boot=n_boot, random_state=random_state)
        by_group = table.by_group[[f"mean:{name}" for name in names]].set_axis(radii, axis=1)
        by_group["count"] = table.by_group["count"]
    return CertifiedAccuracy(curve=curve, by_group=by_group)

