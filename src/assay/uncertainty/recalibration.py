"""Recalibration: maps from a model's scores to calibrated probabilities, the model untouched.

Every calibrator here takes the same inputs:

* ``fit(y_score, y_true, sensitive_features=None)`` and ``predict_proba(y_score,
  sensitive_features=None)`` -> ``(n, k)`` probabilities, rows summing to 1;
* ``y_score``: ``(n, k)`` logits (``scores="logits"``, the default) or probabilities
  (``scores="probabilities"``: rows in [0, 1] summing to 1, read as ``log p``); a 1-D
  ``y_score`` is a binary model's one logit ``d`` (as ``(-d/2, d/2)``) or P(class 1);
* ``y_true``: class indices ``0..k-1`` (the columns of ``y_score``).

The choice is explicit: logits that look like probabilities (every row in [0, 1] summing to 1)
warn. The parametric calibrators work on logits (softmax of an affine map): temperature,
vector and matrix scaling (L2 "ODIR" option of Kull et al., 2019), fitted by L-BFGS on the
mean negative log-likelihood (scipy, analytic gradients). Platt scaling, isotonic regression and
histogram binning are binary: binary models calibrate P(class 1) (class 0 gets the rest);
multiclass models one-vs-rest per class, then each row is divided by its sum (a row whose
one-vs-rest values are all 0 becomes uniform, as scikit-learn's ``CalibratedClassifierCV``).
Platt is a logistic regression on the one-vs-rest logit ``log p_c - log(1 - p_c)`` (for a
binary model, the model's own logit), without Platt's target smoothing; isotonic regression and
histogram binning read ``p_c``.

``per_group=True`` fits one calibrator per finest cell of ``sensitive_features`` (one
combination of every feature's values) and shrinks it toward the pooled fit with the weight
``w = n_g / (n_g + min_group_size)``: the parametric calibrators blend their parameters
(``log T``; the vector, matrix and bias entries; Platt's slope and intercept), the others blend
their calibrated probabilities (``w * group + (1 - w) * pooled``). Cells not seen in ``fit`` get
the pooled fit, with a warning.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_softmax, softmax

from ..core.component import Component, Interval, Options
from ..core.errors import AssayInputError, AssayWarning, UndefinedMetricWarning, outside_stacklevel
from ..core.validation import (SEPARATOR, as_array, check_consistent_length, check_is_fitted, check_labels,
                               check_probabilities, check_sensitive_features, describe, sensitive_feature_columns)

__all__ = ["HistogramBinning", "IsotonicCalibration", "MatrixScaling", "PlattScaling", "TemperatureScaling",
           "VectorScaling", "calibrator_state"]

_LOG_T_BOUND = 10.0  # temperatures in [e^-10, e^10]
_TINY = np.finfo(np.float64).tiny


class UnseenGroupWarning(AssayWarning):
    """Rows whose group was not seen in ``fit`` got the pooled calibrator."""


# ---------------------------------------------------------------------- inputs
def _as_logits(y_score: Any, scores: str, *, owner: str) -> np.ndarray:
    """``y_score`` as ``(n, k >= 2)`` float64 logits (``log p`` for probabilities)."""
    if scores == "probabilities":
        p = check_probabilities(y_score, name="y_score")
        if p.ndim == 1:
            p = np.column_stack([1.0 - p, p])
        if p.shape[1] < 2:
            raise AssayInputError(f"'y_score' must have at least 2 columns (one per class). Got {describe(y_score)}.")
        return np.log(np.clip(p, _TINY, None))
    z = as_array(y_score, name="y_score", ndim=(1, 2), dtype=np.float64)
    if not np.isfinite(z).all():
        bad = int((~np.isfinite(z)).reshape(len(z), -1).any(axis=1).sum())
        raise AssayInputError(f"'y_score' must hold finite logits. Got NaN or infinite values in {bad} row(s) of "
                              f"{describe(y_score)}.")
    if z.ndim == 1:
        return np.column_stack([-z / 2, z / 2])
    if z.shape[1] < 2:
        raise AssayInputError(f"'y_score' must have shape (n,) or (n, k >= 2) (one column per class). "
                              f"Got {describe(y_score)}.")
    if len(z) and z.min() >= 0 and z.max() <= 1 and np.abs(z.sum(axis=1) - 1).max() <= 1e-6:
        warnings.warn(f"{owner}: 'y_score' looks like probabilities (every row in [0, 1] summing to 1) but is read "
                      "as logits (scores='logits'); pass scores='probabilities' if it holds probabilities.",
                      AssayWarning, stacklevel=3)
    return z


def _class_indices(y_true: Any, k: int) -> np.ndarray:
    y = check_labels(y_true, name="y_true", classes=None)
    y = y.astype(np.int64)
    if len(y) and y.max() >= k:
        raise AssayInputError(f"'y_true' must hold class indices in [0, {k - 1}] (one per column of 'y_score'). "
                              f"Got a largest label of {int(y.max())}.")
    return y


def _cell_keys(sensitive_features: Any, n: int, *, fit: bool) -> pd.MultiIndex:
    """The finest cell of each row: a MultiIndex with one level per feature, values as str."""
    if fit:
        frame = check_sensitive_features(sensitive_features, n_samples=n)
    else:
        features, columns = sensitive_feature_columns(sensitive_features, n, reference="y_score")
        frame = pd.DataFrame({f: np.asarray(c, dtype=object) for f, c in zip(features, columns)})
        for column in frame.columns:
            missing = int(pd.isna(frame[column]).sum())
            if missing:
                raise AssayInputError(f"'sensitive_features' column {column!r} has {missing} missing value(s); "
                                      "every row needs a group.")
            frame[column] = frame[column].astype(str)
    return pd.MultiIndex.from_frame(frame)


def _label(cell: Any) -> str:
    return SEPARATOR.join(cell) if isinstance(cell, tuple) else str(cell)


def _minimize(fun, x0: np.ndarray, bounds=None) -> np.ndarray:
    result = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9})
    return result.x


def _softmax_nll(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean NLL of softmax(z) and its gradient with respect to ``z`` (``(p - onehot) / n``)."""
    n = len(y)
    logp = log_softmax(z, axis=1)
    rows = np.arange(n)
    loss = -logp[rows, y].mean()
    grad = np.exp(logp)
    grad[rows, y] -= 1.0
    return float(loss), grad / n


def _ovr(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(p, one-vs-rest logit)`` per scored column: column 1 only for binary models, else all."""
    logp = log_softmax(logits, axis=1)
    if logits.shape[1] == 2:
        logp = logp[:, 1:]
    p = np.exp(logp)
    log_rest = np.log(np.clip(-np.expm1(np.minimum(logp, -_TINY)), _TINY, None))
    return p, logp - log_rest


def _from_ovr(q: np.ndarray, k: int) -> np.ndarray:
    """Calibrated one-vs-rest probabilities ``q`` -> rows of ``k`` probabilities summing to 1."""
    q = np.clip(q, 0.0, 1.0)
    if k == 2:
        return np.column_stack([1.0 - q[:, 0], q[:, 0]])
    total = q.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, q / total, 1.0 / k)
    return out


def calibrator_state(calibrator: Any) -> str:
    """A hash of a fitted calibrator's learned (``*_``) attributes: the cache key of a calibrated model."""
    check_is_fitted(calibrator)
    state = {k: v for k, v in sorted(vars(calibrator).items()) if k.endswith("_") and not k.startswith("__")}
    return type(calibrator).__name__ + ":" + hashlib.blake2b(
        pickle.dumps((calibrator.get_params(), state), protocol=4), digest_size=16).hexdigest()


# ---------------------------------------------------------------------- the base
class _Calibrator(Component):
    """Shared inputs, per-group fits and shrinkage; subclasses define ``_fit_state`` and ``_apply``.

    A state is a dict of learned attributes (names ending with ``_``); the pooled state is also
    set on the calibrator. Parametric calibrators define ``_blend(group, pooled, w)``.
    """

    _parameter_constraints: ClassVar[dict] = {
        "scores": [Options(str, ("logits", "probabilities"))],
        "per_group": ["boolean"],
        "min_group_size": [Interval(Integral, 0, None)],
    }
    parametric: ClassVar[bool] = True

    def fit(self, y_score: Any, y_true: Any, sensitive_features: Any = None):
        """Fit on ``y_score`` (n, k) and class indices ``y_true`` (n,); returns self."""
        owner = type(self).__name__
        logits = _as_logits(y_score, self.scores, owner=owner)
        n, k = logits.shape
        if n == 0:
            raise AssayInputError(f"'y_score' must have at least one row. Got {describe(y_score)}.")
        y = _class_indices(y_true, k)
        check_consistent_length(y_score=logits, y_true=y)
        self._check_fit_inputs(logits, y)
        for key in [key for key in vars(self) if key.endswith("_") and not key.startswith("__")]:
            delattr(self, key)
        pooled = self._fit_state(logits, y)
        if self.per_group:
            if sensitive_features is None:
                raise AssayInputError(f"'sensitive_features' is needed with per_group=True ({owner}): one "
                                      "calibrator is fitted per group. Got None.")
            keys = _cell_keys(sensitive_features, n, fit=True)
            codes, cells = pd.factorize(keys, sort=True)
            cells = pd.MultiIndex.from_tuples(list(cells), names=keys.names)
            sizes = np.bincount(codes, minlength=len(cells))
            weights = sizes / (sizes + self.min_group_size)
            states = []
            for g in range(len(cells)):
                rows = codes == g
                state = self._fit_state(logits[rows], y[rows])
                states.append(self._blend(state, pooled, weights[g]) if self.parametric else state)
            self.groups_ = pd.DataFrame({"group": [_label(c) for c in cells], "count": sizes, "weight": weights},
                                        index=cells)
            self.group_states_ = states
        elif sensitive_features is not None:
            sensitive_feature_columns(sensitive_features, n, reference="y_score")  # its length only: unused
        for key, value in pooled.items():
            setattr(self, key, value)
        self.n_classes_ = k
        self.pooled_state_ = pooled
        return self

    def predict_proba(self, y_score: Any, sensitive_features: Any = None) -> np.ndarray:
        """Calibrated probabilities, shape ``(n, k)``, rows summing to 1."""
        check_is_fitted(self, ["n_classes_"])
        owner = type(self).__name__
        logits = _as_logits(y_score, self.scores, owner=owner)
        if logits.shape[1] != self.n_classes_:
            raise AssayInputError(f"'y_score' must have {self.n_classes_} columns, as in fit. Got {describe(y_score)}.")
        if not self.per_group:
            return self._apply(self.pooled_state_, logits)
        if sensitive_features is None:
            raise AssayInputError(f"'sensitive_features' is needed to predict with a per-group {owner} "
                                  "(per_group=True). Got None.")
        keys = _cell_keys(sensitive_features, len(logits), fit=False)
        if list(keys.names) != list(self.groups_.index.names):  # the features, in the order of fit
            raise AssayInputError(f"'sensitive_features' must have the columns of fit {list(self.groups_.index.names)}. "
                                  f"Got {list(keys.names)}.")
        group = self.groups_.index.get_indexer(keys)
        unseen = group < 0
        out = np.empty_like(logits)
        if unseen.any():
            shown = sorted({_label(c) for c in keys[unseen]})
            warnings.warn(f"{owner}: {int(unseen.sum())} row(s) belong to group(s) not seen in fit "
                          f"({', '.join(shown[:5])}{' ...' if len(shown) > 5 else ''}); they get the pooled calibrator.",
                          UnseenGroupWarning, stacklevel=2)
            out[unseen] = self._apply(self.pooled_state_, logits[unseen])
        for g in np.unique(group[~unseen]):
            rows = group == g
            state = self.group_states_[g]
            if self.parametric:
                out[rows] = self._apply(state, logits[rows])
            else:
                w = self.groups_["weight"].iat[g]
                out[rows] = w * self._apply(state, logits[rows]) + (1 - w) * self._apply(self.pooled_state_,
                                                                                        logits[rows])
        return out

    # ---- subclasses
    def _check_fit_inputs(self, logits: np.ndarray, y: np.ndarray) -> None:
        pass

    def _fit_state(self, logits: np.ndarray, y: np.ndarray) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply(self, state: dict[str, Any], logits: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _blend(self, group: dict[str, Any], pooled: dict[str, Any], w: float) -> dict[str, Any]:
        return {key: w * np.asarray(group[key]) + (1 - w) * np.asarray(pooled[key]) for key in pooled}


# ---------------------------------------------------------------------- logit-based
class TemperatureScaling(_Calibrator):
    """``softmax(z / T)`` with the one ``T > 0`` that minimises the NLL (Guo et al., 2017).

    Fitted by L-BFGS on ``log T`` (bounded to ``[-10, 10]``). Keeps every row's arg-max.
    Per group, ``log T`` is blended with the pooled ``log T``.

    Attributes
    ----------
    temperature_ : float (the pooled fit); per group, ``groups_`` (count, weight) and
    ``group_temperature_`` (the blended T of each group, a Series).
    """

    def __init__(self, *, scores: str = "logits", per_group: bool = False, min_group_size: int = 30):
        self.scores = scores
        self.per_group = per_group
        self.min_group_size = min_group_size

    def _fit_state(self, logits, y):
        return {"temperature_": fit_temperature(logits, y)}

    def _apply(self, state, logits):
        return softmax(logits / state["temperature_"], axis=1)

    def _blend(self, group, pooled, w):
        return {"temperature_": float(np.exp(w * np.log(group["temperature_"])
                                             + (1 - w) * np.log(pooled["temperature_"])))}

    def fit(self, y_score, y_true, sensitive_features=None):
        super().fit(y_score, y_true, sensitive_features)
        self.temperature_ = float(self.temperature_)
        if self.per_group:
            self.group_temperature_ = pd.Series([s["temperature_"] for s in self.group_states_],
                                                index=self.groups_["group"].to_numpy(), name="temperature")
        return self


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T > 0 minimising the mean NLL of ``softmax(logits / T)`` (L-BFGS on log T).

    Each evaluation costs one multiply, one exp and two row reductions over the array: the row
    maxima are taken once (``max(z / T) = max(z) / T`` for T > 0) and the buffer is reused.
    """
    n = len(y)
    if n and (logits.argmax(axis=1) == y).all():
        warnings.warn(
            f"Temperature scaling is undefined on this calibration set: all {n} rows are classified correctly, so "
            "the NLL keeps falling as T -> 0 and has no minimum (fitting it would make every prediction certain). "
            "T = 1 is kept (no rescaling). Calibrate on a larger or harder held-out split that the model gets "
            "wrong sometimes.", UndefinedMetricWarning, stacklevel=outside_stacklevel())
        return 1.0
    top = logits.max(axis=1)
    shifted = logits - top[:, None]  # <= 0
    mean_top = float(top.mean())
    mean_true = float(logits[np.arange(n), y].mean())
    buffer = np.empty_like(shifted)

    def nll(u):
        beta = np.exp(-u[0])
        np.multiply(shifted, beta, out=buffer)
        np.exp(buffer, out=buffer)
        total = buffer.sum(axis=1)
        loss = float(np.log(total).mean()) + beta * (mean_top - mean_true)
        expected = float((np.einsum("ij,ij->i", buffer, shifted) / total).mean()) + mean_top  # mean E_p[z]
        return loss, np.array([-beta * (expected - mean_true)])  # d loss / d log T

    return float(np.exp(_minimize(nll, np.zeros(1), bounds=[(-_LOG_T_BOUND, _LOG_T_BOUND)])[0]))


class VectorScaling(_Calibrator):
    """``softmax(z * w + b)``: one scale ``w_c`` and bias ``b_c`` per class (Guo et al., 2017).

    Attributes: ``weights_`` (k,), ``bias_`` (k,).
    """

    def __init__(self, *, scores: str = "logits", per_group: bool = False, min_group_size: int = 30):
        self.scores = scores
        self.per_group = per_group
        self.min_group_size = min_group_size

    def _fit_state(self, logits, y):
        k = logits.shape[1]

        def nll(theta):
            w, b = theta[:k], theta[k:]
            loss, g = _softmax_nll(logits * w + b, y)
            return loss, np.concatenate([(g * logits).sum(axis=0), g.sum(axis=0)])

        theta = _minimize(nll, np.concatenate([np.ones(k), np.zeros(k)]))
        return {"weights_": theta[:k], "bias_": theta[k:]}

    def _apply(self, state, logits):
        return softmax(logits * state["weights_"] + state["bias_"], axis=1)


class MatrixScaling(_Calibrator):
    """``softmax(z @ W.T + b)`` with a full ``(k, k)`` matrix (Guo et al., 2017).

    ``reg_lambda`` / ``reg_mu`` add Kull et al.'s (2019) ODIR penalty to the mean NLL:
    ``reg_lambda * sum_{i != j} W_ij^2 / (k (k - 1)) + reg_mu * sum_j b_j^2 / k`` (off-diagonal
    entries and intercepts only; 0 and 0, the default, is plain matrix scaling).

    Attributes: ``coef_`` (k, k), ``intercept_`` (k,).
    """

    _parameter_constraints: ClassVar[dict] = {"reg_lambda": [Interval(Real, 0, None)],
                                              "reg_mu": [Interval(Real, 0, None)]}

    def __init__(self, *, reg_lambda: float = 0.0, reg_mu: float = 0.0, scores: str = "logits",
                 per_group: bool = False, min_group_size: int = 30):
        self.reg_lambda = reg_lambda
        self.reg_mu = reg_mu
        self.scores = scores
        self.per_group = per_group
        self.min_group_size = min_group_size

    def _fit_state(self, logits, y):
        k = logits.shape[1]
        off = 1.0 - np.eye(k)
        lam = self.reg_lambda / (k * (k - 1))
        mu = self.reg_mu / k

        def nll(theta):
            W, b = theta[: k * k].reshape(k, k), theta[k * k:]
            loss, g = _softmax_nll(logits @ W.T + b, y)
            offdiag = W * off
            loss += lam * float((offdiag ** 2).sum()) + mu * float(b @ b)
            grad_W = g.T @ logits + 2 * lam * offdiag
            return loss, np.concatenate([grad_W.ravel(), g.sum(axis=0) + 2 * mu * b])

        theta = _minimize(nll, np.concatenate([np.eye(k).ravel(), np.zeros(k)]))
        return {"coef_": theta[: k * k].reshape(k, k), "intercept_": theta[k * k:]}

    def _apply(self, state, logits):
        return softmax(logits @ state["coef_"].T + state["intercept_"], axis=1)


# ---------------------------------------------------------------------- one-vs-rest
class PlattScaling(_Calibrator):
    """``sigmoid(a * s + b)`` of the one-vs-rest logit ``s`` of each class (Platt, 1999).

    Binary models: one fit on the model's logit (P(class 1)); multiclass: one per class, then
    each row renormalised. Maximum likelihood (no target smoothing), by L-BFGS.

    Attributes: ``coef_``, ``intercept_``: shape (1,) for binary models, (k,) otherwise.
    """

    def __init__(self, *, scores: str = "logits", per_group: bool = False, min_group_size: int = 30):
        self.scores = scores
        self.per_group = per_group
        self.min_group_size = min_group_size

    def _fit_state(self, logits, y):
        _, s = _ovr(logits)
        m = s.shape[1]
        target = (y[:, None] == (np.arange(m) + (1 if logits.shape[1] == 2 else 0))).astype(float)
        n = len(y)

        def nll(theta):
            a, b = theta[:m], theta[m:]
            t = s * a + b
            # mean over rows of the summed binary log-losses (the classes are independent fits)
            loss = float((np.logaddexp(0, t) - target * t).sum() / n)
            g = (expit(t) - target) / n
            return loss, np.concatenate([(g * s).sum(axis=0), g.sum(axis=0)])

        theta = _minimize(nll, np.concatenate([np.ones(m), np.zeros(m)]))
        return {"coef_": theta[:m], "intercept_": theta[m:]}

    def _apply(self, state, logits):
        _, s = _ovr(logits)
        return _from_ovr(expit(s * state["coef_"] + state["intercept_"]), logits.shape[1])


class IsotonicCalibration(_Calibrator):
    """scikit-learn's ``IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)`` of 1{y = c}
    on ``p_c`` (Zadrozny & Elkan, 2002): P(class 1) for binary models, one-vs-rest otherwise.

    Attributes: ``calibrators_``, the fitted IsotonicRegression per scored class.
    """

    parametric = False

    def __init__(self, *, scores: str = "logits", per_group: bool = False, min_group_size: int = 30):
        self.scores = scores
        self.per_group = per_group
        self.min_group_size = min_group_size

    def _fit_state(self, logits, y):
        from sklearn.isotonic import IsotonicRegression

        p, _ = _ovr(logits)
        offset = 1 if logits.shape[1] == 2 else 0
        return {"calibrators_": [IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
            p[:, c], (y == c + offset).astype(float)) for c in range(p.shape[1])]}

    def _apply(self, state, logits):
        p, _ = _ovr(logits)
        q = np.column_stack([iso.predict(p[:, c]) for c, iso in enumerate(state["calibrators_"])])
        return _from_ovr(q, logits.shape[1])


class HistogramBinning(_Calibrator):
    """Each of ``n_bins`` equal-width bins of ``p_c`` on [0, 1] predicts the share of class ``c``
    among its calibration rows (Zadrozny & Elkan, 2001); bins without rows leave ``p_c`` as it is.
    P(class 1) for binary models, one-vs-rest otherwise. Bins are closed on the right (the first
    also on the left), as :class:`assay.metrics.CalibrationStats`.

    Attributes: ``bin_edges_`` (n_bins + 1,), ``bin_values_`` (classes scored, n_bins; NaN: empty).
    """

    parametric = False
    _parameter_constraints: ClassVar[dict] = {"n_bins": [Interval(Integral, 1, None)]}

    def __init__(self, *, n_bins: int = 15, scores: str = "logits", per_group: bool = False,
                 min_group_size: int = 30):
        self.n_bins = n_bins
        self.scores = scores
        self.per_group = per_group
        self.min_group_size = min_group_size

    def _bins(self, p: np.ndarray) -> np.ndarray:
        inner = np.linspace(0.0, 1.0, self.n_bins + 1)[1:-1]
        return np.searchsorted(inner, p, side="left")

    def _fit_state(self, logits, y):
        p, _ = _ovr(logits)
        m = p.shape[1]
        offset = 1 if logits.shape[1] == 2 else 0
        cells = self._bins(p) + self.n_bins * np.arange(m)  # (n, m): class-major bin index
        hits = (y[:, None] == np.arange(m) + offset).astype(float)
        count = np.bincount(cells.ravel(), minlength=m * self.n_bins).reshape(m, self.n_bins)
        positive = np.bincount(cells.ravel(), weights=hits.ravel(), minlength=m * self.n_bins).reshape(m, self.n_bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(count > 0, positive / count, np.nan)
        return {"bin_edges_": np.linspace(0.0, 1.0, self.n_bins + 1), "bin_values_": values}

    def _apply(self, state, logits):
        p, _ = _ovr(logits)
        values = state["bin_values_"]
        q = values[np.arange(p.shape[1])[None, :], self._bins(p)]
        return _from_ovr(np.where(np.isnan(q), p, q), logits.shape[1])
