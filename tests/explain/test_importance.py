"""Global importance: permutation importance equal to scikit-learn's; mean |attribution|; per-group importance."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.inspection import permutation_importance as sk_permutation_importance

from assay import AssayInputError
from assay.explain import Attribution
from assay.explain.importance import (
    _permutations,
    group_attributions,
    mean_abs_attribution,
    permutation_importance,
)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    y = (X.a + X.b * X.c > 0).astype(int).to_numpy()
    return GradientBoostingClassifier(n_estimators=15, random_state=0).fit(X, y), X, y


@pytest.mark.parametrize("scoring", ["accuracy", "neg_log_loss", "roc_auc"])
def test_permutation_importance_equals_scikit_learn(problem, scoring):
    model, X, y = problem
    ours = permutation_importance(model, X, y, scoring=scoring, n_repeats=4, random_state=7)
    want = sk_permutation_importance(model, X, y, scoring=scoring, n_repeats=4, random_state=7)
    np.testing.assert_allclose(ours.importances, want.importances, atol=1e-12)
    np.testing.assert_allclose(ours.importances_std, want.importances_std, atol=1e-12)
    lo, hi = stats.t.interval(0.95, 3, loc=ours.importances_mean, scale=ours.importances.std(1, ddof=1) / 2)
    np.testing.assert_allclose(ours.lower, lo, atol=1e-12)
    np.testing.assert_allclose(ours.upper, hi, atol=1e-12)
    assert ours.to_frame()["feature"].iloc[0] == "a"


def test_permutation_importance_groups_and_batch_size(problem):
    model, X, y = problem
    full = permutation_importance(model, X, y, n_repeats=3, random_state=1,
                                  feature_groups={"ab": ["a", "b"], "c": "c", "d": ["d"]})
    small = permutation_importance(model, X, y, n_repeats=3, random_state=1, batch_size=1,
                                   feature_groups={"ab": ["a", "b"], "c": "c", "d": ["d"]})
    np.testing.assert_array_equal(full.importances, small.importances)
    # by hand: the same row permutation applied to a and b together
    seed = np.random.RandomState(1).randint(2 ** 31)
    rs, index, current = np.random.RandomState(seed), np.arange(len(y)), np.arange(len(y))
    for r in range(3):
        rs.shuffle(index)
        current = current[index]
        Xp = X.copy()
        Xp[["a", "b"]] = X[["a", "b"]].to_numpy()[current]
        want = (model.predict(X) == y).mean() - (model.predict(Xp) == y).mean()
        assert full.importances[0, r] == pytest.approx(want, abs=1e-12)
    assert full.feature_names == ("ab", "c", "d")


def test_mean_abs_attribution_by_hand():
    values = np.array([[1.0, -2.0], [-3.0, 0.0], [2.0, 1.0]])
    frame = mean_abs_attribution(Attribution(values=values, method="m", target=np.zeros(3, int),
                                             feature_names=("p", "q")))
    assert frame["feature"].tolist() == ["p", "q"]
    np.testing.assert_allclose(frame["mean_abs"], [2.0, 1.0])
    half = stats.norm.ppf(0.975) * np.array([1.0, 1.0]) / np.sqrt(3)
    np.testing.assert_allclose(frame["upper"] - frame["mean_abs"], half)


def test_group_attributions_means_gap_and_welch_test():
    rng = np.random.default_rng(3)
    sex = rng.choice(["F", "M"], 400)
    values = rng.normal(size=(400, 3))
    values[sex == "F", 1] *= 3  # feature "hours" matters more for women
    att = Attribution(values=values, method="m", target=np.zeros(400, int), feature_names=("age", "hours", "edu"))
    race = rng.choice(["a", "b"], 400)
    result = group_attributions(att, {"sex": sex, "race": race}, n_boot=100, random_state=0)
    by = result.table.by_group
    for g in ("F", "M"):
        np.testing.assert_allclose(by.loc[("sex", g), ["age", "hours", "edu"]].astype(float),
                                   np.abs(values[sex == g]).mean(0), atol=1e-12)
    assert result.differences["gap"].is_monotonic_decreasing
    top = result.differences[result.differences["sensitive_feature"] == "sex"].iloc[0]
    assert (top["feature"], top["high_group"]) == ("hours", "F")
    a, b = np.abs(values[sex == "F", 1]), np.abs(values[sex == "M", 1])
    assert top["gap"] == pytest.approx(a.mean() - b.mean(), abs=1e-12)
    assert top["p_value"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)
    assert top["gap_lower"] > 0 and top["p_value"] < 1e-6
    assert top["rank_high"] == 1
    inter = result.differences[result.differences["sensitive_feature"] == "sex x race"]
    assert len(inter) == 3 and inter["high_group"].str.contains(" x ").all()
    signed = group_attributions(att, sex, absolute=False, n_boot=0)
    assert np.isnan(signed.differences["gap_lower"]).all()


def test_bad_inputs(problem):
    model, X, y = problem
    with pytest.raises(AssayInputError, match="'scoring'"):
        permutation_importance(model, X, y, scoring="f2")
    with pytest.raises(AssayInputError, match="'feature_groups'.*'z'"):
        permutation_importance(model, X, y, feature_groups={"g": ["z"]})
    with pytest.raises(AssayInputError, match="'n_repeats'"):
        permutation_importance(model, X, y, n_repeats=0)
    with pytest.raises(AssayInputError, match="'attribution'.*tabular"):
        mean_abs_attribution(np.zeros((2, 1, 3, 3)))


def test_unchanged_rows_are_not_evaluated_and_values_equal_scikit_learn():
    # few distinct values (a category with missing values, a number mostly 0): a shuffled row often equals
    # the original; its probabilities are the baseline's, so only the changed rows reach the model
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({"sex": rng.choice(["f", "m"], n), "gain": np.where(rng.random(n) < 0.8, 0.0, rng.normal(5, 1, n)),
                      "job": rng.choice(np.array(["a", "b", np.nan], dtype=object), n), "age": rng.normal(40, 9, n)})
    y = ((X.sex == "m") ^ (X.gain > 0) ^ (X.age > 40)).astype(int).to_numpy()
    pre = ColumnTransformer([("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="?"),
                                                   OneHotEncoder()), ["sex", "job"])], remainder="passthrough")
    model = make_pipeline(pre, GradientBoostingClassifier(n_estimators=10, random_state=0)).fit(X, y)
    ours = permutation_importance(model, X, y, n_repeats=3, random_state=0, scoring="neg_log_loss")
    want = sk_permutation_importance(model, X, y, n_repeats=3, random_state=0, scoring="neg_log_loss")
    np.testing.assert_allclose(ours.importances, want.importances, atol=1e-12)
    seen = []

    def counting(Z):
        seen.append(len(Z))
        return model.predict_proba(Z)

    counted = permutation_importance(counting, X, y, n_repeats=3, random_state=0, scoring="neg_log_loss")
    np.testing.assert_allclose(counted.importances, want.importances, atol=1e-12)
    perms = _permutations(0, n, 3)
    changed = 0
    for col in X.columns:
        values = X[col].to_numpy()
        same = (values[perms] == values[None]) | (pd.isna(values[perms]) & pd.isna(values[None]))
        changed += int((~same).sum())
    assert sum(seen[1:]) == changed < 0.8 * 4 * 3 * n


def test_missing_values_count_as_equal_when_shuffled():
    X = pd.DataFrame({"job": pd.array(["a", None, "b", None] * 25, dtype="string").astype(object),
                      "n": np.arange(100.0)})
    y = np.arange(100) % 2

    def f(Z):
        p = np.where(Z["job"].isna(), 0.9, 0.2)
        return np.column_stack([1 - p, p])

    ours = permutation_importance(f, X, y, n_repeats=2, random_state=0, scoring="neg_log_loss")
    perms = _permutations(0, 100, 2)
    p0 = np.where(X["job"].isna(), 0.9, 0.2)
    base = np.log(np.where(y == 1, p0, 1 - p0)).mean()
    for r in range(2):
        p = p0[perms[r]]
        assert ours.importances[0, r] == pytest.approx(base - np.log(np.where(y == 1, p, 1 - p)).mean(), abs=1e-12)
    np.testing.assert_allclose(ours.importances[1], 0, atol=1e-12)
