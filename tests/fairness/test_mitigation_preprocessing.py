"""Pre-processing mitigations beyond reweighing: resampling, disparate-impact remover, dropping the sensitive columns."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import assay.fairness as af
from assay import AssayInputError
from assay.datasets import load_adult
from assay.testing import check_component

_SF = pd.Series(["a"] * 3 + ["b"] * 5, name="g")
_Y = np.array([1, 1, 0, 1, 0, 0, 0, 0])
_X = pd.DataFrame({"x": np.arange(8.0), "s": list("abcdefgh")})


@pytest.fixture(scope="module")
def adult():
    return load_adult()


# --------------------------------------------------------------------------- GroupResampler
@pytest.mark.parametrize("kind,balance,sizes", [
    # independence: n_g n_c / n = (a,0) 15/8, (a,1) 9/8, (b,0) 25/8, (b,1) 15/8; counts 1, 2, 4, 1.
    # "over" scales by max(count / expected) = 16/9 (cell (a,1) kept as is): 3.33, 2, 5.56, 3.33 -> 3, 2, 6, 3
    ("over", "independence", [3, 2, 6, 3]),
    # "under" scales by min(count / expected) = 8/15: 1, 0.6, 1.67, 1 -> 1, 1, 2, 1
    ("under", "independence", [1, 1, 2, 1]),
    ("over", "equal", [4, 4, 4, 4]),
    ("under", "equal", [1, 1, 1, 1]),
])
def test_resampler_cell_sizes_by_hand(kind, balance, sizes):
    r = af.GroupResampler(kind=kind, balance=balance, random_state=0)
    X, y, sf = r.fit_resample(_X, _Y, sensitive_features=_SF)
    assert list(r.cells_["n"]) == [1, 2, 4, 1]
    assert list(r.cells_["n_resampled"]) == sizes
    assert len(X) == len(y) == len(sf) == sum(sizes)
    got = pd.crosstab(sf.to_numpy(), y).to_numpy().ravel()
    assert list(got) == sizes
    assert (X["x"].to_numpy() == _X["x"].to_numpy()[r.sample_indices_]).all()
    counts = np.bincount(r.sample_indices_, minlength=8)
    if kind == "over":
        assert (counts >= 1).all()  # every row kept
    else:
        assert (counts <= 1).all()  # no row repeated
    again = af.GroupResampler(kind=kind, balance=balance, random_state=0).fit(_X, _Y, sensitive_features=_SF)
    np.testing.assert_array_equal(again.sample_indices_, r.sample_indices_)


def test_resampler_makes_the_label_independent_of_sex_and_race_on_adult(adult):
    train = adult.train
    sf = train.sensitive_features[["sex", "race"]]
    cells = sf["sex"].astype(str) + "|" + sf["race"].astype(str)
    before = train.y.groupby(cells.to_numpy()).mean()
    _, y, s = af.GroupResampler(kind="under", random_state=1).fit_resample(train.X, train.y, sensitive_features=sf)
    after = y.groupby((s["sex"].astype(str) + "|" + s["race"].astype(str)).to_numpy()).mean()
    overall = y.mean()
    assert before.max() - before.min() > 0.15
    assert (after - overall).abs().max() < 0.02  # rounding of the smallest cells only


class _BoundResampler(af.GroupResampler):
    def fit(self, X, y):
        return super().fit(X, y, sensitive_features=np.asarray(X)[:, 0] > 0)


def test_resampler_is_a_component():
    check_component(_BoundResampler(random_state=0))
    check_component(_BoundResampler(kind="under", balance="equal", random_state=0))


# --------------------------------------------------------------------------- DisparateImpactRemover
def test_disparate_impact_remover_by_hand():
    X = pd.DataFrame({"x": [1., 2, 3, 10, 20, 30, 40], "c": list("abcdefg")})
    g = np.array(list("aaabbbb"))
    # a: positions 1/6, 1/2, 5/6; b: 1/8, 3/8, 5/8, 7/8. Row x=1 (a, u=1/6): F_b^-1(1/6) = 10 + (1/24)/(1/4) * 10
    # = 11.667, median of the two groups = (1 + 11.667) / 2. Row x=10 (b, u=1/8): F_a^-1 = 1 (below a's first
    # position): (1 + 10) / 2. Row x=20 (b, u=3/8): F_a^-1(3/8) = 1 + (5/24)/(1/3) = 1.625 -> (1.625 + 20) / 2
    full = af.DisparateImpactRemover().fit_transform(X, sensitive_features=g)
    assert full["x"].iloc[0] == pytest.approx((1 + 35 / 3) / 2)
    assert full["x"].iloc[3] == pytest.approx(5.5)
    assert full["x"].iloc[4] == pytest.approx((1.625 + 20) / 2)
    assert (full["c"] == X["c"]).all()
    half = af.DisparateImpactRemover(repair_level=0.5).fit_transform(X, sensitive_features=g)
    assert_allclose(half["x"], 0.5 * X["x"] + 0.5 * full["x"], rtol=1e-12)
    none = af.DisparateImpactRemover(repair_level=0.0).fit_transform(X, sensitive_features=g)
    assert_allclose(none["x"], X["x"], rtol=0, atol=0)
    # numpy's hazen quantile is the inverse used
    assert np.quantile([10., 20, 30, 40], 1 / 6, method="hazen") == pytest.approx(35 / 3)


def test_disparate_impact_remover_equal_groups_get_one_distribution():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(0, 1, 500), rng.normal(3, 2, 500)]
    g = np.repeat(["a", "b"], 250)
    X[g == "b", 0] += 2.0
    out = af.DisparateImpactRemover().fit(X, sensitive_features=g).transform(X, sensitive_features=g)
    for j in range(2):  # same group sizes, no ties: the same sorted values in both groups
        assert_allclose(np.sort(out[g == "a", j]), np.sort(out[g == "b", j]), rtol=0, atol=1e-12)
        # each row keeps its rank within its group
        assert (np.argsort(out[g == "a", j]) == np.argsort(X[g == "a", j])).all()


def test_disparate_impact_remover_on_adult_closes_the_mean_gaps(adult):
    train = adult.train
    sex = train.sensitive_features["sex"].astype(str).to_numpy()
    di = af.DisparateImpactRemover(repair_level=1.0).fit(train.X, sensitive_features=sex)
    out = di.transform(train.X, sensitive_features=sex)
    assert set(di.features_) == set(adult.numeric_features) & set(train.X.columns)
    # age (few ties) closes to 1.4% of its gap, fnlwgt to 0.01%; hours per week (40 h for half the rows: equal
    # values stay equal) to 25%
    for c, left in (("age", 0.03), ("fnlwgt", 0.001), ("hours_per_week", 0.3)):
        before = abs(train.X[c][sex == "Male"].mean() - train.X[c][sex == "Female"].mean())
        after = abs(out[c][sex == "Male"].mean() - out[c][sex == "Female"].mean())
        assert before > 1 and after < left * before, (c, before, after)


class _BoundRemover(af.DisparateImpactRemover):
    def fit(self, X, y=None):
        return super().fit(X, y, sensitive_features=np.asarray(X)[:, 0] > 0)

    def transform(self, X):
        return super().transform(X, sensitive_features=np.asarray(X)[:, 0] > 0)


def test_disparate_impact_remover_is_a_component():
    check_component(_BoundRemover(repair_level=0.7))


# --------------------------------------------------------------------------- SensitiveFeatureRemover
def test_sensitive_feature_remover_reports_the_proxies(adult):
    X = adult.train.X.iloc[:4000].copy()
    sf = adult.train.sensitive_features[["sex"]].iloc[:4000]
    remover = af.SensitiveFeatureRemover(columns=["race"])
    out = remover.fit_transform(X, sensitive_features=sf)
    assert remover.dropped_ == ["race", "sex"] and "sex" not in out.columns
    assert list(out.columns) == [c for c in X.columns if c not in remover.dropped_]
    # relationship (husband / wife) still predicts sex: the scan the data checks report names it
    table = remover.proxies_.table
    assert table.iloc[0]["feature"] == "relationship" and table.iloc[0]["auc"] > 0.8
    assert "relationship" in remover.strong_proxies_
    assert af.SensitiveFeatureRemover(proxies=False).fit(X, sensitive_features=sf).proxies_ is None


@pytest.mark.parametrize("call,words", [
    (lambda: af.DisparateImpactRemover(repair_level=1.5).fit(_X[["x"]], sensitive_features=_SF),
     ["repair_level", "1.5"]),
    (lambda: af.DisparateImpactRemover().fit(_X[["x"]]), ["sensitive_features", "None"]),
    (lambda: af.DisparateImpactRemover().fit(_X[["x"]], sensitive_features=_SF).transform(
        _X[["x"]], sensitive_features=pd.Series(["c"] * 8, name="g")), ["sensitive_features", "did not see"]),
    (lambda: af.DisparateImpactRemover(features=["z"]).fit(_X, sensitive_features=_SF), ["features", "z"]),
    (lambda: af.GroupResampler(kind="smote").fit(_X, _Y, sensitive_features=_SF), ["kind", "smote"]),
    (lambda: af.GroupResampler().fit(_X.iloc[:5], _Y, sensitive_features=_SF), ["X", "5", "8"]),
    (lambda: af.SensitiveFeatureRemover().fit(np.zeros((8, 2)), sensitive_features=_SF), ["X", "DataFrame"]),
    (lambda: af.SensitiveFeatureRemover(columns=["nope"]).fit(_X, sensitive_features=_SF), ["columns", "nope"]),
], ids=["repair level", "missing sf", "unseen group", "unknown feature", "unknown kind", "X length",
        "array X", "unknown column"])
def test_preprocessing_refuses_bad_input(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value)
