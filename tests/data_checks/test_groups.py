"""group_sizes, label_balance and missingness_by_group, checked against pandas and scipy."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from assay import AssayInputError
from assay.data_checks import (
    GroupSizesResult,
    LabelBalanceResult,
    MissingnessResult,
    group_sizes,
    label_balance,
    missingness_by_group,
)


def _people(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    sf = pd.DataFrame({
        "sex": rng.choice(["F", "M"], n, p=[0.4, 0.6]),
        "race": rng.choice(["A", "B", "C"], n, p=[0.75, 0.22, 0.03]),
    })
    y = (rng.random(n) < np.where(sf["sex"] == "M", 0.35, 0.15)).astype(int)
    return sf, y


def test_group_sizes_by_hand():
    sf = pd.DataFrame({"sex": ["F", "F", "M", "M", "M", "M"], "race": ["A", "B", "A", "A", "A", "B"]})
    result = group_sizes(sf, min_group_size=2)
    assert isinstance(result, GroupSizesResult)
    table = result.table.set_index(["feature", "group"])
    assert table.loc[("sex", "F"), "count"] == 2
    assert table.loc[("sex", "M"), "count"] == 4
    assert table.loc[("sex x race", "M x A"), "count"] == 3
    assert table.loc[("sex x race", "F x A"), "count"] == 1
    assert table.loc[("sex x race", "F x A"), "small"]
    assert not table.loc[("sex", "F"), "small"]
    assert table.loc[("sex", "M"), "fraction"] == pytest.approx(4 / 6)
    assert result.coverage.loc["sex x race", "n_possible"] == 4
    assert result.coverage.loc["sex x race", "n_empty"] == 0
    assert list(result.small_groups["group"]) == ["F x A", "F x B", "M x B"]
    json.dumps(result.to_dict(), allow_nan=False)


def test_group_sizes_empty_intersections_and_no_intersections():
    sf = pd.DataFrame({"a": ["x", "x", "y"], "b": ["p", "q", "p"]})
    assert group_sizes(sf).coverage.loc["a x b", "n_empty"] == 1
    assert set(group_sizes(sf, intersections=False).table["feature"]) == {"a", "b"}


def test_group_sizes_bad_inputs():
    with pytest.raises(AssayInputError, match="'sensitive_features' column 'a' has a single group"):
        group_sizes(pd.DataFrame({"a": ["x", "x"]}))
    with pytest.raises(AssayInputError, match="min_group_size"):
        group_sizes(pd.Series(["x", "y"]), min_group_size=-1)
    with pytest.raises(AssayInputError, match="intersections"):
        group_sizes(pd.Series(["x", "y"]), intersections="yes")


def test_label_balance_against_pandas():
    sf, y = _people()
    result = label_balance(y, sf, min_group_size=50)
    assert isinstance(result, LabelBalanceResult)
    assert result.base_rate == pytest.approx(y.mean())
    counts = np.bincount(y)
    assert result.imbalance_ratio == pytest.approx(counts.max() / counts.min())
    assert result.minority_label == 1 and result.pos_label == 1
    assert result.class_counts.to_dict() == {"0": counts[0], "1": counts[1]}
    by_group = result.by_group.set_index(["feature", "group"])
    expected = pd.Series(y).groupby(sf["sex"]).mean()
    for group, rate in expected.items():
        assert by_group.loc[("sex", group), "base_rate"] == pytest.approx(rate)
    inter = pd.Series(y).groupby([sf["sex"], sf["race"]]).agg(["mean", "size"])
    for (s, r), row in inter.iterrows():
        assert by_group.loc[("sex x race", f"{s} x {r}"), "base_rate"] == pytest.approx(row["mean"])
        assert by_group.loc[("sex x race", f"{s} x {r}"), "small"] == (row["size"] < 50)
    assert result.gaps.loc["sex", "difference"] == pytest.approx(expected.max() - expected.min())
    frame = result.to_frame()
    assert frame.iloc[0]["feature"] == "overall" and len(frame) == len(result.by_group) + 1
    json.dumps(result.to_dict(), allow_nan=False)


def test_label_balance_string_labels_and_pos_label():
    y = np.array(["no", "yes", "no", "no"])
    result = label_balance(y)
    assert result.pos_label == "yes" and result.base_rate == 0.25 and result.by_group is None
    assert label_balance(y, pos_label="no").base_rate == 0.75
    with pytest.raises(AssayInputError, match="'pos_label'"):
        label_balance(y, pos_label="maybe")


@pytest.mark.parametrize(
    ("y", "sf", "match"),
    [
        (np.array([0, 1, 2, 1]), None, "'y' must be a binary target"),
        (np.array([1, 1, 1]), None, "'y' must be a binary target"),
        (np.array([0, 1, 0, 1]), pd.Series(["a", "b", "a"]), "same number of rows"),
        (np.array([0, 1, 0, 1]), pd.Series(["a"] * 4), "single group"),
    ],
)
def test_label_balance_bad_inputs(y, sf, match):
    with pytest.raises(AssayInputError, match=match):
        label_balance(y, sf)


def test_missingness_depends_on_group():
    rng = np.random.default_rng(0)
    n = 2000
    group = rng.choice(["a", "b"], n)
    X = pd.DataFrame({
        "income": np.where((group == "b") & (rng.random(n) < 0.4), np.nan, rng.normal(size=n)),
        "random_gaps": np.where(rng.random(n) < 0.1, np.nan, 1.0),
        "complete": rng.normal(size=n),
        "job": pd.Categorical(np.where(rng.random(n) < 0.05, None, "x")),
    })
    result = missingness_by_group(X, pd.Series(group, name="group"))
    assert isinstance(result, MissingnessResult)
    summary = result.summary.set_index("feature")
    assert summary.loc["income", "p_value"] < 1e-10
    assert summary.loc["income", "depends_on_group"]
    assert summary.loc["random_gaps", "p_value"] > 0.01
    assert not summary.loc["random_gaps", "depends_on_group"]
    assert "complete" not in summary.index
    assert result.features_with_missing == ["income", "random_gaps", "job"]
    # Cross-check with pandas and scipy.
    missing = X["income"].isna()
    table = pd.crosstab(missing, group).to_numpy()
    chi2, p, dof, _ = chi2_contingency(table)
    assert summary.loc["income", "chi2"] == pytest.approx(chi2)
    assert summary.loc["income", "p_value"] == pytest.approx(p)
    rates = missing.groupby(group).mean()
    by_group = result.by_group.set_index(["feature", "group"])
    for g, rate in rates.items():
        assert by_group.loc[("income", g), "missing_rate"] == pytest.approx(rate)
    assert result.overall.loc["job", "n_missing"] == int(X["job"].isna().sum())
    json.dumps(result.to_dict(), allow_nan=False)


def test_missingness_without_groups_and_bad_inputs():
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0]})
    result = missingness_by_group(X)
    assert result.summary.empty and result.overall.loc["a", "n_missing"] == 1
    with pytest.raises(AssayInputError, match="same number of rows"):
        missingness_by_group(X, pd.Series(["x", "y"]))
    with pytest.raises(AssayInputError, match="'alpha'"):
        missingness_by_group(X, alpha=0.0)
