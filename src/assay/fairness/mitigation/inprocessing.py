"""In-processing mitigations: the model is trained under the fairness constraint.

:class:`ExponentiatedGradient` wraps Fairlearn's reductions (Agarwal et al. 2018) behind the
mitigation interface: ``sensitive_features=`` as a keyword, several columns meaning their
intersection (encoded once by :mod:`._groups`, so Fairlearn sees one column of cells).
Fairlearn is optional: ``pip install fairlearn`` (it is in assay's ``test`` extra).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...core.component import Component, Interval, Options
from ...core.errors import AssayInputError
from ...core.validation import as_array, check_consistent_length, check_is_fitted, check_random_state

__all__ = ["ExponentiatedGradient"]

_NO_FAIRLEARN = (
    "{owner} needs Fairlearn, which is not installed. Install it: pip install fairlearn "
    "(it is in assay's test extra: pip install 'assay[test]')."
)
_CONSTRAINTS = ("demographic_parity", "equalized_odds", "true_positive_rate_parity", "false_positive_rate_parity",
                "error_rate_parity", "bounded_group_loss")


def _import_reductions(owner: str) -> Any:
    try:
        from fairlearn import reductions
    except ImportError as exc:  # pragma: no cover - the test extra installs fairlearn
        raise ImportError(_NO_FAIRLEARN.format(owner=owner)) from exc
    return reductions


class ExponentiatedGradient(Component):
    """Fairlearn's exponentiated-gradient reduction, for a sensitive feature or an intersection.

    Trains a randomised mixture of ``estimator`` fits (each with per-row weights) whose
    constraint violation on the training rows is at most ``eps``. ``constraint``:
    ``"demographic_parity"``, ``"equalized_odds"``, ``"true_positive_rate_parity"``,
    ``"false_positive_rate_parity"``, ``"error_rate_parity"`` or ``"bounded_group_loss"``
    (every group's 0-1 loss at most ``upper_bound``). Binary labels in {0, 1}; the estimator
    must accept ``sample_weight`` in ``fit`` (for a Pipeline, its last step). Prediction does not need the groups.

    Attributes
    ----------
    reduction_ : fairlearn.reductions.ExponentiatedGradient
        The fitted Fairlearn object (``predictors_``, ``weights_``, ...).
    groups_ : MultiIndex
        The cells of the sensitive features seen at fit.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "estimator": ["no_validation"],
        "constraint": [Options(str, set(_CONSTRAINTS))],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None)],
        "upper_bound": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator: Any = None, *, constraint: str = "demographic_parity", eps: float = 0.01,
                 max_iter: int = 50, upper_bound: float = 0.1, random_state: Any = None) -> None:
        self.estimator = estimator
        self.constraint = constraint
        self.eps = eps
        self.max_iter = max_iter
        self.upper_bound = upper_bound
        self.random_state = random_state

    def _moment(self, reductions: Any) -> Any:
        if self.constraint == "bounded_group_loss":
            return reductions.BoundedGroupLoss(reductions.ZeroOneLoss(), upper_bound=self.upper_bound)
        name = {"demographic_parity": "DemographicParity", "equalized_odds": "EqualizedOdds",
                "true_positive_rate_parity": "TruePositiveRateParity",
                "false_positive_rate_parity": "FalsePositiveRateParity",
                "error_rate_parity": "ErrorRateParity"}[self.constraint]
        return getattr(reductions, name)(difference_bound=self.eps)

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> ExponentiatedGradient:
        """Fit on ``X`` (n, d) and binary labels ``y`` (n,) under the constraint across the groups."""
        from sklearn.base import clone

        from ._groups import group_codes

        reductions = _import_reductions("ExponentiatedGradient")
        if self.estimator is None or not hasattr(self.estimator, "fit"):
            raise AssayInputError(
                f"'estimator' must be an unfitted scikit-learn classifier accepting sample_weight. "
                f"Got {self.estimator!r}."
            )
        labels = as_array(y, name="y", ndim=1)
        check_consistent_length(X=range(len(X)), y=labels)
        values = set(pd.unique(labels).tolist())
        if not values <= {0, 1}:
            raise AssayInputError(f"'y' must hold binary labels in {{0, 1}}. Got values {sorted(map(str, values))}.")
        codes, cells = group_codes(sensitive_features, len(labels), owner="ExponentiatedGradient")
        if len(cells) < 2:
            raise AssayInputError(
                f"'sensitive_features' must hold at least two groups for ExponentiatedGradient. Got {len(cells)}."
            )
        # Fairlearn draws its own randomness from numpy's global state in places: seed it here
        seed = check_random_state(self.random_state, name="random_state").integers(2**31 - 1)
        state = np.random.get_state()
        np.random.seed(int(seed))
        kwargs = {} if self.constraint == "bounded_group_loss" else {"eps": self.eps}
        if hasattr(self.estimator, "steps"):  # a Pipeline: the weights go to its last step
            kwargs["sample_weight_name"] = f"{self.estimator.steps[-1][0]}__sample_weight"
        reduction = reductions.ExponentiatedGradient(clone(self.estimator), self._moment(reductions),
                                                     max_iter=self.max_iter, **kwargs)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", module=r"fairlearn\.")  # its pandas deprecation notices
                reduction.fit(X, labels.astype(np.int64), sensitive_features=codes)
        finally:
            np.random.set_state(state)
        self.reduction_ = reduction
        self.groups_ = cells
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, 2): the mixture's probability of each label (the weights of the predictors voting for it)."""
        check_is_fitted(self, ["reduction_"])
        return self.reduction_._pmf_predict(X)

    def predict(self, X: Any, *, random_state: Any = None) -> np.ndarray:
        """Labels (n,) drawn from :meth:`predict_proba` with ``random_state`` (default: the estimator's)."""
        proba = self.predict_proba(X)[:, 1]
        rng = check_random_state(self.random_state if random_state is None else random_state, name="random_state")
        return (rng.random(len(proba)) < proba).astype(np.int64)
