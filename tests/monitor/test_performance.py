"""Performance per window and group; CBPE against the realised accuracy on a covariate-shifted Adult window."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from assay import AssayInputError
from assay.monitor.performance import (
    estimate_performance,
    performance_over_time,
    time_windows,
)


def test_time_windows_and_refusals():
    t = pd.Series(pd.to_datetime(["2024-01-01 03:00", "2024-01-01 23:00", "2024-01-02 01:00"]))
    assert time_windows(t, "1D").tolist() == ["2024-01-01T00:00:00", "2024-01-01T00:00:00", "2024-01-02T00:00:00"]
    assert time_windows(["2024-01-01 10:00", "2024-01-03"], "1D").tolist() == ["2024-01-01T00:00:00", "2024-01-03T00:00:00"]
    with pytest.raises(AssayInputError, match="'time' must hold dates"):
        time_windows(np.arange(3), "1D")
    with pytest.raises(AssayInputError, match="'time' must hold dates"):
        time_windows(["a", "b"], "1D")
    with pytest.raises(AssayInputError, match="'window'"):
        time_windows(t, "fortnight")


def test_performance_per_window_and_group_equals_counting():
    rng = np.random.default_rng(0)
    n = 900
    time = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 3 * 24, n), unit="h")
    y, pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    sex = rng.choice(["F", "M"], n)
    table = performance_over_time(y, pred, time=time, window="1D", sensitive_features=pd.DataFrame({"sex": sex}),
                                  n_boot=20, random_state=0)
    day = time.floor("1D").strftime("%Y-%m-%dT%H:%M:%S").to_numpy()
    for d in np.unique(day):
        mask = day == d
        assert table.by_group.loc[("window", d), "accuracy"] == pytest.approx(np.mean(y[mask] == pred[mask]))
        both = mask & (sex == "F")
        assert table.by_group.loc[("window x sex", f"{d} x F"), "accuracy"] == pytest.approx(
            np.mean(y[both] == pred[both]))
    with pytest.raises(AssayInputError, match="two windows"):
        performance_over_time(y, pred, time=np.full(n, pd.Timestamp("2024-01-01")), window="1D")


def test_cbpe_by_hand():
    ref = np.array([[0.2, 0.8], [0.9, 0.1], [0.4, 0.6], [0.7, 0.3]])
    cur = np.array([[0.2, 0.8], [0.5, 0.5], [0.1, 0.9]])
    est = estimate_performance(ref, [1, 0, 0, 0], cur, max_ece=1.0)
    row = est.table.loc["all"]
    assert row["estimated_accuracy"] == pytest.approx((0.8 + 0.5 + 0.9) / 3)
    half = 1.959964 * np.sqrt(0.8 * 0.2 + 0.25 + 0.9 * 0.1) / 3
    assert row["upper"] == pytest.approx(min(1, row["estimated_accuracy"] + half), rel=1e-5)
    assert est.reference_accuracy == pytest.approx(0.75) and est.reliable


def test_cbpe_gate_refuses_an_overconfident_model_unless_recalibrated():
    rng = np.random.default_rng(0)
    n = 4000
    p1 = rng.random(n)
    y = (rng.random(n) < p1).astype(int)
    sharp = np.clip((p1 - 0.5) * 3 + 0.5, 0, 1)  # overconfident
    proba = np.column_stack([1 - sharp, sharp])
    est = estimate_performance(proba[:2000], y[:2000], proba[2000:], current_y=y[2000:])
    assert not est.reliable and est.reference_ece > 0.05
    fixed = estimate_performance(proba[:2000], y[:2000], proba[2000:], current_y=y[2000:], calibrate=True)
    row = fixed.table.loc["all"]
    assert fixed.reliable and row["lower"] <= row["accuracy"] <= row["upper"]


def test_cbpe_on_a_covariate_shifted_adult_window():
    from assay.datasets import load_adult

    ds = load_adult()
    numeric = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss"]
    categorical = ["workclass", "marital_status", "occupation", "relationship", "sex"]
    model = make_pipeline(
        make_column_transformer((StandardScaler(), numeric),
                                (OneHotEncoder(handle_unknown="ignore"), categorical)),
        LogisticRegression(max_iter=500)).fit(ds.train.X[numeric + categorical].astype(object).fillna("?"), ds.train.y)
    X = ds.test.X[numeric + categorical].astype(object).fillna("?")
    y = ds.test.y.to_numpy()
    rng = np.random.default_rng(0)
    ref = rng.random(len(X)) < 0.4
    # covariate shift: the current window over-samples older, longer-hours workers (p(y | x) unchanged)
    weight = np.where((X["age"] > 40) & (X["hours_per_week"] > 40), 1.0, 0.25)
    cur = ~ref & (rng.random(len(X)) < weight)
    proba = model.predict_proba(X)
    est = estimate_performance(proba[ref], y[ref], proba[cur], current_y=y[cur], calibrate=True)
    row = est.table.loc["all"]
    assert est.reliable, est.reference_ece
    # measured: estimate 0.827 [0.815, 0.838], realised 0.823, reference 0.853
    assert row["lower"] <= row["accuracy"] <= row["upper"]
    assert abs(row["accuracy"] - est.reference_accuracy) > 0.02  # the shift moved accuracy
