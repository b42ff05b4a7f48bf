"""distribution_shift: KS / Wasserstein / chi-square against scipy, PSI by hand."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from assay import AssayInputError
from assay.data_checks import ShiftResult, distribution_shift, population_stability_index


def _frames(shift, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("abc"), n, p=[0.5, 0.3, 0.2])})
    current = pd.DataFrame({"x": rng.normal(loc=shift, size=n), "c": rng.choice(list("abc"), n, p=[0.5, 0.3, 0.2])})
    return reference, current


def test_shifted_normal_is_flagged_and_same_distribution_is_not():
    result = distribution_shift(*_frames(0.5))
    assert isinstance(result, ShiftResult)
    assert result.table.loc["x", "drifted"]
    assert not result.table.loc["c", "drifted"]
    assert result.drifted_features == ["x"]
    same = distribution_shift(*_frames(0.0))
    assert not same.table["drifted"].any()
    assert same.table.loc["x", "ks_pvalue"] > 0.01


def test_numeric_statistics_match_scipy():
    reference, current = _frames(0.3, n=500, seed=1)
    reference.loc[:9, "x"] = np.nan  # missing values are left out of KS and Wasserstein
    row = distribution_shift(reference, current).table.loc["x"]
    ref = reference["x"].dropna().to_numpy()
    cur = current["x"].to_numpy()
    ks = ks_2samp(ref, cur)
    assert row["ks_statistic"] == pytest.approx(ks.statistic)
    assert row["ks_pvalue"] == pytest.approx(ks.pvalue)
    assert row["wasserstein"] == pytest.approx(wasserstein_distance(ref, cur) / ref.std())
    assert row["missing_rate_reference"] == pytest.approx(10 / 500)
    assert row["missing_rate_current"] == 0


def test_psi_by_hand_on_three_categories():
    reference = pd.DataFrame({"c": ["a"] * 500 + ["b"] * 300 + ["c"] * 200})
    current = pd.DataFrame({"c": ["a"] * 300 + ["b"] * 300 + ["c"] * 400})
    expected = (0.3 - 0.5) * np.log(0.3 / 0.5) + 0 + (0.4 - 0.2) * np.log(0.4 / 0.2)  # 0.2408
    row = distribution_shift(reference, current).table.loc["c"]
    assert row["psi"] == pytest.approx(expected)
    assert population_stability_index([500, 300, 200], [300, 300, 400]) == pytest.approx(expected)
    table = np.array([[500, 300, 200], [300, 300, 400]])
    assert row["chi2_pvalue"] == pytest.approx(chi2_contingency(table)[1])
    assert row["drifted"]  # PSI >= 0.2 and p < 0.01
    assert np.isnan(row["ks_statistic"])


def test_psi_floors_empty_bins_and_counts_new_categories():
    reference = pd.DataFrame({"c": ["a"] * 90 + ["b"] * 10})
    current = pd.DataFrame({"c": ["a"] * 80 + ["b"] * 10 + ["new"] * 10})
    eps = 1e-4
    expected = (0.8 - 0.9) * np.log(0.8 / 0.9) + 0 + (0.1 - eps) * np.log(0.1 / eps)
    row = distribution_shift(reference, current).table.loc["c"]
    assert row["psi"] == pytest.approx(expected)
    assert row["n_new_categories"] == 1
    assert distribution_shift(reference, current, psi_epsilon=1e-3).table.loc["c", "psi"] < row["psi"]


def test_missing_values_shift_is_seen_by_psi():
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(size=1000)})
    current = pd.DataFrame({"x": np.where(rng.random(1000) < 0.5, np.nan, rng.normal(size=1000))})
    row = distribution_shift(reference, current).table.loc["x"]
    assert row["missing_rate_current"] == pytest.approx(np.isnan(current["x"]).mean())
    assert row["psi"] > 1 and row["drifted"]


def test_result_is_json_safe_and_column_order_free():
    reference, current = _frames(0.0)
    result = distribution_shift(reference, current[["c", "x"]])
    assert list(result.table.index) == ["x", "c"]
    json.dumps(result.to_dict(), allow_nan=False)
    assert result.to_frame().equals(result.table)


@pytest.mark.parametrize(
    ("current", "kwargs", "match"),
    [
        (pd.DataFrame({"x": [1.0]}), {}, "'X_current' must have the same columns as 'X_reference'"),
        (pd.DataFrame({"x": ["a"], "c": ["a"]}), {}, "'X_current' column 'x'"),
        (None, {"psi_threshold": -1}, "psi_threshold"),
        (None, {"alpha": 1.0}, "'alpha'"),
        (None, {"ks_threshold": 2}, "ks_threshold"),
    ],
)
def test_bad_inputs(current, kwargs, match):
    reference, default_current = _frames(0.0, n=20)
    with pytest.raises(AssayInputError, match=match):
        distribution_shift(reference, default_current if current is None else current, **kwargs)
