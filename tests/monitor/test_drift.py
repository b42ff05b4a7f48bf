"""drift_report: statistics equal to scipy's, the drifted rule, groups, planted drift on Adult."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from assay import AssayInputError
from assay.monitor import DriftResult, Profile, drift_report

from ._data import adult_halves, planted


def _frames(shift=0.0, n=1500, seed=0):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("abc"), n, p=[0.5, 0.3, 0.2]),
                        "g": rng.choice(["u", "v"], n)})
    cur = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("abc"), n, p=[0.5, 0.3, 0.2]),
                        "g": rng.choice(["u", "v"], n)})
    cur.loc[cur["g"] == "v", "x"] += shift
    return ref, cur


def test_rows_equal_scipy_overall_and_per_group():
    ref, cur = _frames(0.5)
    ref.loc[:4, "x"] = np.nan
    result = drift_report(ref, cur, sensitive_features="g", anderson=True)
    assert isinstance(result, DriftResult)
    table = result.to_frame()
    assert set(table["feature"]) == {"overall", "g"} and len(table) == 3 * 2
    for (feature, group), rmask, cmask in [(("overall", "overall"), slice(None), slice(None)),
                                           (("g", "v"), ref["g"] == "v", cur["g"] == "v")]:
        row = table[(table.feature == feature) & (table.group == group) & (table.column == "x")].iloc[0]
        a, b = ref.loc[rmask, "x"].dropna().to_numpy(), cur.loc[cmask, "x"].to_numpy()
        assert row["statistic"] == pytest.approx(ks_2samp(a, b).statistic)
        assert row["p_value"] == pytest.approx(ks_2samp(a, b).pvalue)
        assert row["effect_size"] == pytest.approx(wasserstein_distance(a, b) / np.std(a))
        assert row["missing_reference"] == pytest.approx(ref.loc[rmask, "x"].isna().mean())
        assert row["exact"] and np.isfinite(row["anderson_pvalue"])
        crow = table[(table.feature == feature) & (table.group == group) & (table.column == "c")].iloc[0]
        counts = [ref.loc[rmask, "c"].value_counts().sort_index(), cur.loc[cmask, "c"].value_counts().sort_index()]
        assert crow["p_value"] == pytest.approx(chi2_contingency(np.array(counts))[1])
    assert result.drifted_columns == ["x"]
    assert result.drifted_groups("x") == [("g", "v")]
    k = len(table)
    assert (table["p_adjusted"] >= table["p_value"]).all()
    assert table["p_adjusted"].min() == pytest.approx(min(1, table["p_value"].min() * k))


def test_no_drift_is_not_flagged_and_new_categories_are_listed():
    ref, cur = _frames(0.0, seed=1)
    cur.loc[:99, "c"] = "zz"
    result = drift_report(ref, cur)
    row = result.overall.loc["c"]
    assert row["new_categories"] == ["zz"] and row["vanished_categories"] == []
    assert not result.overall.loc["x", "drifted"]
    gone = drift_report(ref, cur.assign(c=np.where(cur["c"] == "b", "a", cur["c"])))
    assert gone.overall.loc["c", "vanished_categories"] == ["b"]


def test_a_column_missing_throughout_the_window_is_drift_not_an_error():
    ref, cur = _frames(0.0, seed=1)
    result = drift_report(ref, cur.assign(c=np.nan, x=None))
    assert result.overall.loc["c", "drifted"] and result.overall.loc["c", "missing_current"] == 1.0
    assert result.overall.loc["x", "missing_current"] == 1.0 and result.overall.loc["x", "test"] == "chi2"
    assert result.overall.loc["x", "drifted"] and result.overall.loc["x", "effect_size"] == pytest.approx(1.0)


def test_effect_threshold_and_alpha_gate_the_rule():
    ref, cur = _frames(0.07, n=60000, seed=3)
    strict = drift_report(ref, cur, sensitive_features="g")
    assert not strict.table["drifted"].any()  # significant but below the effect threshold
    loose = drift_report(ref, cur, sensitive_features="g", effect_threshold=0.05)
    assert loose.drifted_groups("x") == [("g", "v")]


def test_profile_reference_gives_the_same_binned_tests():
    ref, cur = _frames(0.5, seed=4)
    data = drift_report(ref, cur, sensitive_features="g").table.set_index(["feature", "group", "column"])
    prof = drift_report(Profile.fit(ref, sensitive_features="g"), cur).table.set_index(["feature", "group", "column"])
    for column in ("psi", "jensen_shannon", "chi2", "chi2_pvalue"):
        np.testing.assert_allclose(prof[column].to_numpy(float), data[column].to_numpy(float))
    assert not prof.loc[("overall", "overall", "x"), "exact"]
    assert prof.loc[("overall", "overall", "x"), "ks"] == pytest.approx(data.loc[("overall", "overall", "x"), "ks"],
                                                                       abs=0.03)
    assert prof.loc[("g", "v", "x"), "drifted"] and not prof.loc[("g", "u", "x"), "drifted"]


def test_planted_drift_on_adult_is_found_on_those_features_and_that_group():
    ref, cur = adult_halves()
    result = drift_report(ref, planted(cur), sensitive_features=["sex", "race"])
    assert set(result.drifted_columns) == {"age", "occupation"}
    drifted = result.table[result.table["drifted"]]
    assert set(drifted["column"]) == {"age", "occupation"}
    sex_age = drifted[(drifted.feature == "sex") & (drifted.column == "age")]
    assert list(sex_age["group"]) == ["Female"]
    inter_age = drifted[(drifted.feature == "sex x race") & (drifted.column == "age")]
    assert len(inter_age) and all(g.startswith("Female x ") for g in inter_age["group"])


def test_no_false_alarm_on_a_random_resplit_of_adult():
    ref, cur = adult_halves()
    result = drift_report(ref, cur, sensitive_features=["sex", "race"])
    assert not result.table["drifted"].any()
    bh = drift_report(ref, cur, sensitive_features="sex", correction="bh")
    assert not bh.table["drifted"].any()


def test_bad_inputs_are_refused():
    ref, cur = _frames()
    with pytest.raises(AssayInputError, match="'current'.*Missing column"):
        drift_report(ref, cur.drop(columns="c"))
    with pytest.raises(AssayInputError, match="'current'.*at least 1 row"):
        drift_report(ref, cur.iloc[:0])
    with pytest.raises(AssayInputError, match="'sensitive_features'"):
        drift_report(ref, cur, sensitive_features="nope")
    with pytest.raises(AssayInputError, match="'correction'"):
        drift_report(ref, cur, correction="bonferroni")
    with pytest.raises(AssayInputError, match="'current' column 'x' must be numeric"):
        drift_report(ref, cur.assign(x="a"))


def test_model_outputs_are_tested_as_columns():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    cur = pd.DataFrame({"a": rng.normal(1.0, 1, size=2000), "b": rng.normal(size=2000)})
    model = LogisticRegression().fit(ref, (ref["a"] + rng.normal(size=2000) > 0).astype(int))
    result = drift_report(ref, cur, model=model)
    assert {"proba[0]", "proba[1]", "prediction"} <= set(result.overall.index)
    assert result.overall.loc["proba[1]", "drifted"] and result.overall.loc["prediction", "drifted"]
    profile = Profile.fit(ref, model=model)
    assert profile.moments("proba[1]")["mean"] == pytest.approx(model.predict_proba(ref)[:, 1].mean())
    via_profile = drift_report(profile, cur, model=model)
    assert via_profile.overall.loc["proba[1]", "drifted"]
    assert via_profile.overall.loc["prediction", "chi2_pvalue"] == pytest.approx(
        result.overall.loc["prediction", "chi2_pvalue"])


def test_two_profiles_give_the_binned_report():
    ref, cur = _frames(0.5, seed=4)
    ref_profile = Profile.fit(ref, sensitive_features="g")
    from_frame = drift_report(ref_profile, cur).table
    both = drift_report(ref_profile, Profile.fit(cur, sensitive_features="g", edges=ref_profile.edges())).table
    pd.testing.assert_frame_equal(both, from_frame)
    with pytest.raises(AssayInputError, match="'current' profile must match.*binned differently"):
        drift_report(ref_profile, Profile.fit(cur, sensitive_features="g"))
