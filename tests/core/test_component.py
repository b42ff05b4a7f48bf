"""The component base: parameters, constraints, repr, clone."""

import numbers
import pickle

import numpy as np
import pytest
import sklearn.base

from assay import AssayInputError
from assay.audit.base import Check
from assay.core.component import Component, Interval, Options, SequenceOf, clone, validate_parameter
from assay.ood import KNN, Energy


class Inner(Component):
    _parameter_constraints = {"alpha": [Interval(float, 0, 1)]}

    def __init__(self, alpha=0.5):
        self.alpha = alpha

    def fit(self, X=None, y=None):
        return self


class Outer(Component):
    _parameter_constraints = {"inner": [Inner, None], "mode": [Options(str, ("a", "b"))], "names": [SequenceOf(str), None]}

    def __init__(self, inner=None, *, mode="a", names=None):
        self.inner = inner
        self.mode = mode
        self.names = names

    def run(self, context):
        return "ran"


def test_get_params_shallow_and_deep_and_set_params_nested():
    inner = Inner(alpha=0.2)
    outer = Outer(inner, mode="b")
    assert outer.get_params() == {"inner": inner, "mode": "b", "names": None}
    assert outer.get_params(deep=True) == {"inner": inner, "inner__alpha": 0.2, "mode": "b", "names": None}
    assert outer.set_params(inner__alpha=0.9, mode="a") is outer
    assert inner.alpha == 0.9 and outer.mode == "a"
    with pytest.raises(AssayInputError, match="'nope' is not a parameter of Outer. Expected one of: inner, mode, names"):
        outer.set_params(nope=1)


def test_get_params_raises_when_a_parameter_is_stored_under_another_name():
    class Renamed(Check):
        name = "renamed_check_for_test"

        def __init__(self, *, n_bins=10):
            self.bins = n_bins

    with pytest.raises(AssayInputError, match="Renamed does not store its __init__ parameter 'n_bins'"):
        Renamed().get_params()


def test_check_get_params_keeps_the_record_shape():
    from assay.audit.base import registered_checks

    check = registered_checks()["calibration"](n_bins=7)
    assert check.get_params() == {"n_bins": 7, "min_group_size": 30, "n_boot": 200, "recalibrate": True}
    assert repr(check) == "CalibrationCheck(n_bins=7)"


def test_validation_runs_at_fit_and_run_with_the_class_as_owner():
    with pytest.raises(AssayInputError, match=r"The 'alpha' parameter of Inner must be a float in \[0, 1\]. Got 2 instead."):
        Inner(alpha=2).fit()
    with pytest.raises(AssayInputError, match="The 'mode' parameter of Outer must be one of 'a', 'b'. Got 'c' instead."):
        Outer(mode="c").run(None)
    with pytest.raises(AssayInputError, match="'names' parameter of Outer must be a non-empty list of str or None"):
        Outer(names=[1]).run(None)
    assert Outer(Inner(), names=["x"]).run(None) == "ran"


@pytest.mark.parametrize("value, ok", [
    (1, True), (np.int64(3), True), (0, False), (True, False), (1.5, False), ("2", False), (None, False),
])
def test_int_interval(value, ok):
    assert Interval(int, 1, None).is_satisfied_by(value) is ok


@pytest.mark.parametrize("value, ok", [
    (0.5, True), (1, True), (np.float32(0.1), True), (0.0, False), (float("nan"), False), (float("inf"), True),
    (False, False),
])
def test_open_float_interval(value, ok):
    assert Interval(numbers.Real, 0, None, closed="neither").is_satisfied_by(value) is ok


def test_messages_reuse_check_scalar_wording():
    from assay.core.validation import check_scalar

    with pytest.raises(AssayInputError) as ours:
        validate_parameter(0, "n_bins", [Interval(int, 1, None)], owner="X")
    with pytest.raises(AssayInputError) as theirs:
        check_scalar(0, "n_bins", owner="X", kind=numbers.Integral, low=1)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(AssayInputError, match="must be None, an int >= 0 or a numpy Generator. Got -1"):
        validate_parameter(-1, "random_state", ["random_state"], owner="X")
    with pytest.raises(AssayInputError, match="must be a bool or None. Got 'yes'"):
        validate_parameter("yes", "progress", ["boolean", None], owner="X")


def test_repr_shows_parameters_that_differ_from_their_defaults():
    assert repr(Energy(temperature=2.0)) == "Energy(temperature=2.0)"
    assert repr(KNN(k=4, fit_fraction=0.5)) == "KNN(k=4, fit_fraction=0.5)"
    assert repr(Outer(Inner(alpha=0.1))) == "Outer(inner=Inner(alpha=0.1))"


def test_clone_shares_the_model_and_clones_components():
    model = object()
    det = Energy(model, temperature=3.0)
    det.some_state_ = 1
    copy = clone(det)
    assert type(copy) is Energy and copy is not det
    assert copy.model is model and copy.temperature == 3.0 and not hasattr(copy, "some_state_")
    outer = Outer(Inner(alpha=0.3), names=["a"])
    copy = clone(outer)
    assert copy.inner is not outer.inner and copy.inner.alpha == 0.3
    assert copy.names == ["a"] and copy.names is not outer.names
    with pytest.raises(AssayInputError, match="'component'"):
        clone(3)


def test_sklearn_clone_works():
    det = KNN(k=7, random_state=3)
    copy = sklearn.base.clone(det)
    assert isinstance(copy, KNN) and copy.get_params() == det.get_params()


def test_components_pickle():
    det = pickle.loads(pickle.dumps(Energy(temperature=2.0)))
    assert det.temperature == 2.0
