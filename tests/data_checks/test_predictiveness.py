"""single_feature_predictiveness and proxy_features: hand-made cases and sklearn cross-checks."""

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.stats.contingency import association
from sklearn.metrics import roc_auc_score

from assay import AssayInputError
from assay.data_checks import PredictivenessResult, ProxyResult, proxy_features, single_feature_predictiveness
from assay.data_checks._common import (
    categorical_auc,
    chi2_statistic,
    cramers_v,
    numeric_auc,
    oof_class_frequencies,
    stratified_folds,
)


def _binary_case(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    X = pd.DataFrame({
        "leak": y.astype(float),  # the target itself
        "leak_negated": -3.0 * y + 1,  # orientation must not matter
        "leak_label": np.where(y == 1, "yes", "no"),  # categorical copy
        "user_id": [f"u{i:05d}" for i in rng.permutation(n)],  # unique per row
        "row_number": rng.permutation(n).astype(float),  # numeric unique per row
        "noise": rng.normal(size=n),
        "signal": y + rng.normal(scale=1.5, size=n),
    })
    return X, y


def test_leaks_are_flagged_and_ids_are_not():
    X, y = _binary_case()
    result = single_feature_predictiveness(X, y)
    assert isinstance(result, PredictivenessResult)
    table = result.table
    for leak in ("leak", "leak_negated", "leak_label"):
        assert table.loc[leak, "auc"] == pytest.approx(1.0)
        assert table.loc[leak, "suspicious"]
    assert table.loc["leak", "direction"] == "increasing"
    assert table.loc["leak_negated", "direction"] == "decreasing"
    # Out-of-fold encoding: a unique ID encodes every row to the prior, AUC about 0.5.
    assert table.loc["user_id", "auc"] < 0.6
    assert not table.loc["user_id", "suspicious"]
    assert table.loc["row_number", "auc"] < 0.6
    assert 0.6 < table.loc["signal", "auc"] < 0.9
    assert set(result.suspicious_features) == {"leak", "leak_negated", "leak_label"}
    assert list(table["auc"]) == sorted(table["auc"], reverse=True)
    json.dumps(result.to_dict(), allow_nan=False)
    assert result.to_frame().equals(table)


def test_in_sample_encoding_would_fake_the_id_leak():
    """The reason for out of fold: encoding the ID with its own rows' labels gives AUC 1."""
    X, y = _binary_case()
    codes = pd.factorize(X["user_id"])[0]
    in_sample = pd.Series(y).groupby(codes).transform("mean")
    assert roc_auc_score(y, in_sample) == 1.0


def test_numeric_auc_matches_sklearn():
    rng = np.random.default_rng(1)
    for _ in range(5):
        n = int(rng.integers(50, 400))
        y = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(int)
        x = np.round(rng.normal(size=n) + rng.normal() * y, 1)  # ties on purpose
        auc, direction = numeric_auc(x, y, 2)
        reference = roc_auc_score(y, x)
        assert auc == pytest.approx(max(reference, 1 - reference), abs=1e-12)
        assert direction == (1 if reference >= 0.5 else -1)


def test_numeric_auc_missing_values_can_be_informative():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    x = np.array([0.1, 0.4, 0.2, 0.3, np.nan, np.nan, np.nan, np.nan])
    assert numeric_auc(x, y, 2)[0] == 1.0


def test_categorical_auc_matches_sklearn_on_the_oof_encoding():
    rng = np.random.default_rng(2)
    n, m = 500, 12
    codes = rng.integers(0, m, n)
    y = (rng.random(n) < np.linspace(0.1, 0.9, m)[codes]).astype(int)
    folds = stratified_folds(y, 5, np.random.default_rng(0))
    encoded = oof_class_frequencies(codes, m, y, 2, folds, 5)
    assert categorical_auc(codes, m, y, 2, folds, 5) == pytest.approx(roc_auc_score(y, encoded[:, 1]), abs=1e-12)
    # The encoding, recomputed naively with pandas: class-1 share of the category in the other folds.
    frame = pd.DataFrame({"code": codes, "y": y, "fold": folds})
    for fold in range(5):
        rest = frame[frame["fold"] != fold]
        share = rest.groupby("code")["y"].mean()
        held = frame[frame["fold"] == fold]
        expected = held["code"].map(share).fillna(rest["y"].mean()).to_numpy()
        assert_allclose(encoded[held.index, 1], expected)


def test_multiclass_auc_matches_sklearn_ovr_macro():
    rng = np.random.default_rng(3)
    n, m, k = 800, 9, 4
    codes = rng.integers(0, m, n)
    t = (codes % k + (rng.random(n) < 0.3) * rng.integers(0, k, n)) % k
    folds = stratified_folds(t, 5, np.random.default_rng(1))
    encoded = oof_class_frequencies(codes, m, t, k, folds, 5)
    expected = roc_auc_score(t, encoded, multi_class="ovr", average="macro")
    assert categorical_auc(codes, m, t, k, folds, 5) == pytest.approx(expected, abs=1e-12)


def test_stratified_folds_balance_classes():
    t = np.repeat([0, 1, 2], [103, 50, 7])
    folds = stratified_folds(t, 5, np.random.default_rng(0))
    counts = pd.crosstab(t, folds).to_numpy()
    assert (counts.max(axis=1) - counts.min(axis=1) <= 1).all()


def test_non_monotone_relations_are_caught_by_the_binned_encoding():
    rng = np.random.default_rng(4)
    z = rng.normal(size=2000)
    y = (np.abs(z) > 1).astype(int)
    table = single_feature_predictiveness(pd.DataFrame({"z": z}), y).table
    assert table.loc["z", "auc_monotone"] < 0.6
    assert table.loc["z", "auc"] > 0.9


def test_seed_gives_same_result():
    X, y = _binary_case(seed=3)
    a = single_feature_predictiveness(X, y, random_state=7).to_dict()
    b = single_feature_predictiveness(X, y, random_state=7).to_dict()
    assert a == b


@pytest.mark.parametrize(
    ("y", "kwargs", "match"),
    [
        (np.zeros(599), {}, "same number of rows"),
        (np.arange(600) % 3, {}, "'y' must be a binary target"),
        (np.zeros(600), {}, "'y' must be a binary target"),
        (np.r_[np.nan, np.ones(599)], {}, "'y' must not contain missing"),
        (np.arange(600) % 2, {"cv": 1}, "'cv'"),
        (np.arange(600) % 2, {"threshold": 1.5}, "'threshold'"),
    ],
)
def test_predictiveness_bad_inputs(y, kwargs, match):
    X, _ = _binary_case()
    with pytest.raises(AssayInputError, match=match):
        single_feature_predictiveness(X, y, **kwargs)


# ---------------------------------------------------------------------------------------------
# proxies
# ---------------------------------------------------------------------------------------------


def _proxy_case(n=900, seed=0):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["A", "B", "C", "D"], n, p=[0.5, 0.3, 0.15, 0.05])
    X = pd.DataFrame({
        "sex": sex,  # the sensitive column itself
        "gender_copy": pd.Categorical(sex),
        "title": np.where(sex == "F", "Ms", "Mr"),
        "race_code": pd.Series(race).map({"A": 10, "B": 3, "C": 7, "D": 1}).astype(float),  # not monotone
        "noise": rng.normal(size=n),
        "user_id": np.arange(n).astype(str),
    })
    return X, pd.DataFrame({"sex": sex, "race": race})


def test_proxies_found_and_sensitive_column_excluded():
    X, sf = _proxy_case()
    result = proxy_features(X, sf)
    assert isinstance(result, ProxyResult)
    assert result.sensitive_in_X == ("sex",)
    assert "sex" not in set(result.table["feature"])
    sex = result.top("sex", 10).set_index("feature")
    assert sex.loc["gender_copy", "auc"] == pytest.approx(1.0)
    assert sex.loc["title", "auc"] == pytest.approx(1.0)
    assert sex.loc["gender_copy", "cramers_v"] == pytest.approx(1.0, abs=0.01)
    assert sex.loc["gender_copy", "strong"] and sex.loc["title", "strong"]
    assert sex.loc["noise", "auc"] < 0.6 and not sex.loc["noise", "strong"]
    assert sex.loc["user_id", "auc"] < 0.6 and sex.loc["user_id", "cramers_v"] < 0.05
    race = result.top("race", 10).set_index("feature")
    assert race.loc["race_code", "auc"] == pytest.approx(1.0)  # the binned encoding: any order
    assert race.loc["race_code", "strong"]
    assert set(result.strong_proxies["feature"]) == {"gender_copy", "title", "race_code"}
    json.dumps(result.to_dict(), allow_nan=False)


def test_cramers_v_against_scipy_and_bias_correction():
    rng = np.random.default_rng(0)
    table = rng.integers(5, 60, size=(4, 3))
    assert cramers_v(table, corrected=False) == pytest.approx(association(table, method="cramer"))
    from scipy.stats import chi2_contingency

    assert chi2_statistic(table) == pytest.approx(chi2_contingency(table, correction=False)[0])
    # A column of unique IDs: uncorrected V is 1, corrected V is about 0.
    n = 400
    ids = np.eye(n, dtype=int)[:, :n]
    groups = rng.integers(0, 2, n)
    id_table = np.stack([ids[groups == 0].sum(axis=0), ids[groups == 1].sum(axis=0)], axis=1)
    assert cramers_v(id_table, corrected=False) == pytest.approx(1.0)
    assert cramers_v(id_table) < 0.05


@pytest.mark.parametrize(
    ("sf", "match"),
    [
        (pd.DataFrame({"sex": ["F"] * 900}), "single group"),
        (pd.Series(["F", "M"] * 10, name="sex"), "same number of rows"),
        (pd.Series([None, "F"] * 450, name="sex"), "missing value"),
    ],
)
def test_proxy_bad_inputs(sf, match):
    X, _ = _proxy_case()
    with pytest.raises(AssayInputError, match=f"sensitive_features.*{match}|{match}.*sensitive_features"):
        proxy_features(X, sf)
