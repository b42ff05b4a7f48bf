"""OOD detectors on the raw input features (tabular data, or any black-box model).

``X`` is a numeric array or DataFrame ``(n, p)``, whatever the model: these detectors look at
the inputs only (``model`` is accepted for a uniform signature and not used). Scores: shape
``(n,)``, float64, higher = more out-of-distribution.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from ..core.component import Interval, Options
from ..core.errors import AssayInputError
from ..core.validation import as_array, describe
from ._base import OODDetector

__all__ = ["GaussianMixtureDetector", "IsolationForestDetector"]

_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _check_inputs(X: Any, owner: str) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        non_numeric = [c for c, t in X.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
        if non_numeric:
            raise AssayInputError(
                f"'X' must hold numeric columns for {owner}. Got non-numeric columns "
                f"{non_numeric[:5]}; encode them first (e.g. assay.models.make_tabular_preprocessor)."
            )
    return as_array(X, name="X", ndim=2, dtype=np.float64)


#: The seeds scikit-learn's estimators take (not a numpy Generator).
_SKLEARN_RANDOM_STATE = [Interval(numbers.Integral, 0, None), np.random.RandomState, None]


class _InputDetector(OODDetector):
    uses = "inputs"
    reads = "inputs"
    needs_fit = True

    def _inputs(self, X: Any, *, fitting: bool) -> np.ndarray:
        arr = _check_inputs(X, type(self).__name__)
        if not fitting and arr.shape[1] != self.n_features_in_:
            raise AssayInputError(
                f"'X' has {arr.shape[1]} columns but {type(self).__name__} was fitted on "
                f"{self.n_features_in_}."
            )
        return arr


class IsolationForestDetector(_InputDetector):
    """Isolation forest (Liu, Ting & Zhou, 2008) on the raw inputs, via scikit-learn.

    ``score(x) = -IsolationForest.score_samples(x)``: the anomaly score ``2^(-E[h(x)] / c(n))``
    (``E[h]``: mean path length to isolate ``x``), in (0, 1]. Inputs ``(n, p)`` -> ``(n,)``.

    Parameters
    ----------
    n_estimators : int >= 1, default 100
    max_samples : "auto", int or float, default "auto" (scikit-learn's meaning)
    random_state : int or None, default 0

    Attributes
    ----------
    estimator_ : the fitted ``sklearn.ensemble.IsolationForest``; n_features_in_ int.
    """

    _fitted_attrs = ("estimator_",)

    _parameter_constraints = {"n_estimators": [Interval(numbers.Integral, 1, None)],
                              "max_samples": ["no_validation"],  # "auto", an int or a float: scikit-learn's
                              "random_state": _SKLEARN_RANDOM_STATE}

    def __init__(self, model: Any = None, *, n_estimators: int = 100, max_samples: Any = "auto",
                 random_state: int | None = 0, batch_size: int | None = None,
                 progress: bool | None = None) -> None:
        super().__init__(model, batch_size=batch_size, progress=progress)
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state

    def _fit(self, X: Any, y: Any) -> None:
        from sklearn.ensemble import IsolationForest

        arr = self._inputs(X, fitting=True)
        try:
            estimator = IsolationForest(n_estimators=int(self.n_estimators), max_samples=self.max_samples,
                                        random_state=self.random_state).fit(arr)
        except ValueError as exc:
            raise AssayInputError(
                f"IsolationForestDetector could not be fitted with max_samples={self.max_samples!r} "
                f"on 'X' ({describe(X)}): {exc}"
            ) from exc
        self.estimator_ = estimator
        self.n_features_in_ = arr.shape[1]

    def _score(self, X: Any) -> np.ndarray:
        return -self.estimator_.score_samples(self._inputs(X, fitting=False))


class GaussianMixtureDetector(_InputDetector):
    """Negative log-density of a Gaussian mixture fitted to the standardised inputs.

    ``fit``: ``s = (x - mean) / std`` per column (std 0 -> 1), then a scikit-learn
    ``GaussianMixture`` (EM; Dempster, Laird & Rubin, 1977). ``score(x) = -log p(s(x))``, the
    negative log-density of the standardised input (the density of ``x`` itself differs by the
    constant ``sum log std``). Inputs ``(n, p)`` -> scores ``(n,)``.

    Parameters
    ----------
    n_components : int >= 1, default 5
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    reg_covar : float >= 0, default 1e-6
    random_state : int or None, default 0

    Attributes
    ----------
    estimator_ : the fitted ``sklearn.mixture.GaussianMixture``; mean_, scale_ (p,); n_features_in_.
    """

    _fitted_attrs = ("estimator_",)

    _parameter_constraints = {"n_components": [Interval(numbers.Integral, 1, None)],
                              "covariance_type": [Options(str, _COVARIANCE_TYPES)],
                              "reg_covar": [Interval(numbers.Real, 0, None)],
                              "random_state": _SKLEARN_RANDOM_STATE}

    def __init__(self, model: Any = None, *, n_components: int = 5, covariance_type: str = "full",
                 reg_covar: float = 1e-6, random_state: int | None = 0, batch_size: int | None = None,
                 progress: bool | None = None) -> None:
        super().__init__(model, batch_size=batch_size, progress=progress)
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.random_state = random_state

    @classmethod
    def _audit_params(cls, n_fit: int) -> dict[str, Any]:
        # One covariance shared by the components: ~4x faster to fit than "full" on one-hot
        # tabular inputs, and it separated Adult's held-out subgroup better.
        return {"covariance_type": "tied"}

    def _fit(self, X: Any, y: Any) -> None:
        from sklearn.mixture import GaussianMixture

        owner = type(self).__name__
        arr = self._inputs(X, fitting=True)
        if len(arr) < self.n_components:
            raise AssayInputError(
                f"The 'n_components' parameter of {owner} must be at most the number of rows of 'X' "
                f"({len(arr)}). Got {self.n_components!r} instead."
            )
        mean = arr.mean(axis=0)
        scale = arr.std(axis=0)
        scale[scale == 0] = 1.0
        estimator = GaussianMixture(n_components=int(self.n_components),
                                    covariance_type=self.covariance_type,
                                    reg_covar=float(self.reg_covar), random_state=self.random_state)
        estimator.fit((arr - mean) / scale)
        self.mean_ = mean
        self.scale_ = scale
        self.estimator_ = estimator
        self.n_features_in_ = arr.shape[1]

    def _score(self, X: Any) -> np.ndarray:
        arr = self._inputs(X, fitting=False)
        return -self.estimator_.score_samples((arr - self.mean_) / self.scale_)
