"""assay.testing.check_component on every OOD detector and audit check, and on broken components."""

import numpy as np
import pytest

import assay.ood as ood
from assay import AssayInputError, NotFittedError
from assay.audit.base import registered_checks
from assay.core.component import Component, Interval
from assay.testing import CHECKS, check_component, default_data

_W = np.random.default_rng(1).normal(size=(3, 4))
_B = np.array([0.1, -0.2, 0.3])

DETECTORS = [
    ood.MaxSoftmax(), ood.MaxLogit(), ood.Energy(temperature=2.0), ood.Entropy(), ood.GEN(gamma=0.5),
    ood.KLMatching(), ood.ODIN(epsilon=0.0), ood.Mahalanobis(), ood.RelativeMahalanobis(),
    ood.KNN(k=3, fit_fraction=0.5), ood.ViM(weight=_W, bias=_B, dim=2), ood.ReAct(weight=_W, bias=_B),
    ood.IsolationForestDetector(n_estimators=20), ood.GaussianMixtureDetector(n_components=2),
]


def test_every_detector_is_listed():
    exported = {name for name in ood.__all__ if isinstance(getattr(ood, name), type)
                and issubclass(getattr(ood, name), ood.OODDetector) and name != "OODDetector"}
    assert exported == {type(d).__name__ for d in DETECTORS}


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: type(d).__name__)
def test_check_component_on_every_detector(detector):
    ran = check_component(detector)
    assert {"clone", "params_roundtrip", "bad_params", "fit_returns_self", "pickle"} <= set(ran)
    assert ("not_fitted" in ran) == detector.needs_fit
    assert ("deterministic" in ran) == ("random_state" in detector.get_params())


@pytest.mark.parametrize("name", sorted(registered_checks()))
def test_check_component_on_every_registered_check(name):
    ran = check_component(registered_checks()[name]())
    assert ran == ["params_declared", "init_stores_params", "clone", "params_roundtrip", "bad_params", "pickle"]


def test_calibration_check_with_zero_bins_fails_at_run_naming_it():
    check = registered_checks()["calibration"](n_bins=0)  # the constructor accepts anything
    with pytest.raises(AssayInputError, match="'n_bins' parameter of CalibrationCheck must be an int in"):
        check.run(None)


def test_energy_temperature_zero_fails_at_first_use():
    det = ood.Energy(temperature=0)
    with pytest.raises(AssayInputError, match=r"'temperature' parameter of Energy must be a float in \(0, inf\)\. Got 0"):
        det.score(np.zeros((3, 2)))
    with pytest.raises(AssayInputError, match="Energy"):
        det.fit(np.zeros((3, 2)))


# ---------------------------------------------------------------------- broken components
class Good(Component):
    """A correct little component: standardise, then score the distance to the mean."""

    needs_fit = True
    _parameter_constraints = {"scale": [Interval(float, 0, None, closed="neither")], "random_state": ["random_state"]}

    def __init__(self, *, scale=1.0, random_state=0):
        self.scale = scale
        self.random_state = random_state

    def fit(self, X, y=None):
        rng = np.random.default_rng(self.random_state)
        self.mean_ = np.asarray(X).mean(axis=0) + rng.normal(scale=1e-3, size=np.asarray(X).shape[1])
        return self

    def score(self, X):
        if not hasattr(self, "mean_"):
            raise NotFittedError("Good is not fitted yet. Call 'fit' first.")
        return np.linalg.norm((np.asarray(X) - self.mean_) / self.scale, axis=1)


class RenamedParam(Good):
    def __init__(self, *, scale=1.0, random_state=0):
        self._scale = scale
        self.random_state = random_state


class ConvertsInInit(Good):
    def __init__(self, *, scale=1.0, random_state=0):
        self.scale = float(scale) * 1
        self.random_state = list([random_state]) and random_state
        self.scale = np.float64(scale)


class LearnsInInit(Good):
    def __init__(self, *, scale=1.0, random_state=0):
        self.scale = scale
        self.random_state = random_state
        self.mean_ = 0.0


class NoReturn(Good):
    def fit(self, X, y=None):
        super().fit(X, y)


class NoNotFitted(Good):
    def score(self, X):
        return np.zeros(len(X))


class Unpicklable(Good):
    def fit(self, X, y=None):
        super().fit(X, y)
        self.hook_ = lambda v: v
        return self


class Unseeded(Good):
    def fit(self, X, y=None):
        super().fit(X, y)
        self.mean_ = self.mean_ + np.random.default_rng().normal(size=self.mean_.shape)
        return self


class Undeclared(Component):
    _parameter_constraints = {"scale": [Interval(float, 0, None, closed="neither")]}

    def __init__(self, *, scale=1.0, extra=None):
        self.scale = scale
        self.extra = extra


class MisnamedError(Good):
    _validated_methods = ()  # validates by hand, and says too little

    def fit(self, X, y=None):
        if not isinstance(self.scale, float) or self.scale <= 0:
            raise AssayInputError("something is wrong")
        return super().fit(X, y)


class IgnoresSetParams(Good):
    def set_params(self, **params):
        return self


class WrongError(Good):
    _validated_methods = ()

    def fit(self, X, y=None):
        if not self.scale > 0:
            raise ValueError("bad")
        return super().fit(X, y)


def test_a_correct_component_passes():
    assert check_component(Good()) == list(CHECKS)


@pytest.mark.parametrize("broken, sub_check", [
    (RenamedParam(), "init_stores_params"),  # get_params raises: the parameter is stored elsewhere
    (ConvertsInInit(scale=2), "init_stores_params"),
    (LearnsInInit(), "init_stores_params"),
    (IgnoresSetParams(), "params_roundtrip"),
    (Undeclared(), "params_declared"),
    (MisnamedError(), "bad_params"),
    (NoReturn(), "fit_returns_self"),
    (NoNotFitted(), "not_fitted"),
    (Unpicklable(), "pickle"),
    (Unseeded(), "deterministic"),
], ids=lambda v: v if isinstance(v, str) else type(v).__name__)
def test_each_sub_check_catches_its_broken_component(broken, sub_check):
    with pytest.raises(AssertionError) as info:
        check_component(broken)
    assert f"check_component[{sub_check}] failed for {type(broken).__name__}" in str(info.value)


def test_bad_params_catches_the_wrong_error_type():
    with pytest.raises(AssertionError, match=r"bad_params.*raised"):
        check_component(WrongError())


def test_unvalidated_is_caught_by_bad_params_too():
    class Silent(Good):
        _parameter_constraints = {"scale": [Interval(float, 0, None)], "random_state": ["random_state"]}
        _validated_methods = ()

        def fit(self, X, y=None):
            self.mean_ = np.asarray(X).mean(axis=0)
            return self

    with pytest.raises(AssertionError, match=r"bad_params.*was accepted"):
        check_component(Silent())


def test_check_component_rejects_non_components_and_unknown_skips():
    with pytest.raises(AssayInputError, match="'obj'"):
        check_component(object())
    with pytest.raises(AssayInputError, match="'skip'"):
        check_component(Good(), skip=["nope"])


def test_default_data_is_seeded():
    X1, y1 = default_data()
    X2, y2 = default_data()
    np.testing.assert_array_equal(X1, X2)
    assert X1.shape == (60, 4) and set(y1) == {0, 1}
