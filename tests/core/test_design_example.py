"""The example of docs/DESIGN.md "How to add a component", run as a test."""

import numpy as np
import pytest

from assay import AssayInputError
from assay.core.component import Component, Interval, clone
from assay.core.validation import check_is_fitted
from assay.testing import check_component


class DistanceToMean(Component):
    """Score = distance to the training mean, in units of ``scale``: (n, d) -> (n,)."""

    _parameter_constraints = {"scale": [Interval(float, 0, None, closed="neither")]}

    def __init__(self, *, scale=1.0):
        self.scale = scale  # stored as given; checked when fit runs

    def fit(self, X, y=None):
        self.mean_ = np.asarray(X, dtype=float).mean(axis=0)
        return self

    def score(self, X):
        check_is_fitted(self, ["mean_"])
        return np.linalg.norm(np.asarray(X, dtype=float) - self.mean_, axis=1) / self.scale


def test_how_to_add_a_component():
    check_component(DistanceToMean(scale=2.0))  # clone, params, pickling, bad params, not fitted...
    X = np.array([[0.0, 0.0], [2.0, 0.0]])
    assert DistanceToMean(scale=2.0).fit(X).score([[1.0, 0.0], [1.0, 2.0]]).tolist() == [0.0, 1.0]
    assert repr(clone(DistanceToMean(scale=2.0))) == "DistanceToMean(scale=2.0)"
    with pytest.raises(AssayInputError, match="'scale' parameter of DistanceToMean must be a float in"):
        DistanceToMean(scale=0).fit(X)
