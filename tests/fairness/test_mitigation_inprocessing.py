"""In-processing mitigations: Fairlearn's exponentiated gradient behind assay's interface."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression

import assay.fairness as af
from assay import AssayInputError
from assay.datasets import load_adult
from assay.models import make_tabular_preprocessor
from assay.testing import check_component

pytest.importorskip("fairlearn")


@pytest.fixture(scope="module")
def adult_small():
    a = load_adult()
    pre = make_tabular_preprocessor(categorical_features=a.categorical_features, numeric_features=a.numeric_features)
    n, m = 3000, 4000
    train_sf = a.train.sensitive_features[["sex", "race"]].iloc[:n].astype(str).reset_index(drop=True)
    test_sf = a.test.sensitive_features[["sex", "race"]].iloc[:m].astype(str).reset_index(drop=True)
    return (pre.fit_transform(a.train.X.iloc[:n]), a.train.y.iloc[:n].to_numpy(), train_sf,
            pre.transform(a.test.X.iloc[:m]), a.test.y.iloc[:m].to_numpy(), test_sf)


def _lr():
    return LogisticRegression(solver="liblinear")


def test_equals_fairlearn_on_the_combined_column(adult_small):
    from fairlearn.reductions import EqualizedOdds
    from fairlearn.reductions import ExponentiatedGradient as TheirEG

    X, y, sf, X_test, _, _ = adult_small
    ours = af.ExponentiatedGradient(_lr(), constraint="equalized_odds", max_iter=10, random_state=0)
    ours.fit(X, y, sensitive_features=sf)
    combined = (sf["sex"] + "|" + sf["race"]).to_numpy()
    theirs = TheirEG(_lr(), EqualizedOdds(difference_bound=0.01), eps=0.01, max_iter=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, y, sensitive_features=combined)
    assert_allclose(ours.predict_proba(X_test), theirs._pmf_predict(X_test), rtol=0, atol=1e-12)
    assert len(ours.groups_) == len(np.unique(combined))


@pytest.mark.parametrize("constraint,measure,share", [
    ("demographic_parity", af.demographic_parity_difference, 0.5),
    # ~110 positive women among the 3,000 training rows: on test the TPR gap falls by a third
    ("true_positive_rate_parity", af.equal_opportunity_difference, 0.8),
])
def test_narrows_the_targeted_gap_on_adult(adult_small, constraint, measure, share):
    X, y, sf, X_test, y_test, sf_test = adult_small
    sex = sf_test["sex"].to_numpy()
    base = _lr().fit(X, y).predict(X_test)
    eg = af.ExponentiatedGradient(_lr(), constraint=constraint, max_iter=15, random_state=0)
    pred = eg.fit(X, y, sensitive_features=sf[["sex"]]).predict(X_test)
    before = measure(y_test, base, sensitive_features=sex)
    after = measure(y_test, pred, sensitive_features=sex)
    assert abs(after) < share * abs(before), (before, after)
    # on the training rows the mixture's expected rates meet the constraint (eps = 0.01, plus the reduction's slack)
    proba = eg.predict_proba(X)[:, 1]
    mask = y >= 0 if constraint == "demographic_parity" else y == 1
    rates = [proba[mask & (sf["sex"].to_numpy() == g)].mean() for g in ("Female", "Male")]
    assert abs(rates[0] - rates[1]) < 0.03, rates
    np.testing.assert_array_equal(pred, eg.predict(X_test))  # seeded draw
    assert eg.predict(X_test, random_state=1).mean() == pytest.approx(eg.predict_proba(X_test)[:, 1].mean(), abs=0.03)


class _Bound(af.ExponentiatedGradient):
    def fit(self, X, y):
        return super().fit(X, y, sensitive_features=np.asarray(X)[:, 0] > 0)


def test_is_a_component():
    check_component(_Bound(_lr(), max_iter=3, random_state=0))


@pytest.mark.parametrize("call,words", [
    (lambda: af.ExponentiatedGradient().fit(np.zeros((4, 1)), [0, 1, 0, 1], sensitive_features=list("abab")),
     ["estimator", "None"]),
    (lambda: af.ExponentiatedGradient(_lr(), constraint="parity").fit(np.zeros((4, 1)), [0, 1, 0, 1],
                                                                      sensitive_features=list("abab")),
     ["constraint", "parity"]),
    (lambda: af.ExponentiatedGradient(_lr()).fit(np.zeros((4, 1)), [0, 1, 0, 1]), ["sensitive_features", "None"]),
    (lambda: af.ExponentiatedGradient(_lr()).fit(np.zeros((4, 1)), [0, 1, 2, 1], sensitive_features=list("abab")),
     ["y", "binary"]),
    (lambda: af.ExponentiatedGradient(_lr()).fit(np.zeros((4, 1)), [0, 1, 0, 1], sensitive_features=list("aaaa")),
     ["sensitive_features", "two groups"]),
], ids=["no estimator", "unknown constraint", "missing sf", "labels", "one group"])
def test_refuses_bad_input(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value)
