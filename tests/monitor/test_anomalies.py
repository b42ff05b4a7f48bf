"""Generalized ESD (critical values of the NIST handbook's example) and seasonal anomalies."""

import numpy as np
import pytest

from assay import AssayInputError
from assay.monitor.anomalies import (
    esd_critical_value,
    generalized_esd,
    seasonal_anomalies,
    seasonal_residuals,
)


def test_critical_values_match_the_nist_example():
    # NIST/SEMATECH e-Handbook 1.3.5.17.3 (Rosner's 54 observations, alpha 0.05)
    for i, expected in ((1, 3.159), (2, 3.151), (3, 3.144)):
        assert esd_critical_value(54, i, 0.05) == pytest.approx(expected, abs=1e-3)


def test_planted_outliers_are_found_and_clean_data_has_none():
    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    x[[7, 50, 93]] = [6.0, -5.5, 5.0]
    assert sorted(generalized_esd(x, max_anomalies=5)) == [7, 50, 93]
    assert generalized_esd(x, max_anomalies=5)[0] == 7  # most extreme first
    clean = [len(generalized_esd(np.random.default_rng(s).normal(size=60), max_anomalies=3)) for s in range(40)]
    assert sum(c > 0 for c in clean) <= 6  # about alpha = 5% of the series


def test_seasonal_spike_is_found_by_both_methods():
    rng = np.random.default_rng(1)
    t = np.arange(7 * 12)
    series = 0.85 + 0.03 * np.sin(2 * np.pi * t / 7) + 0.0005 * t + rng.normal(0, 0.004, len(t))
    series[40] -= 0.05
    assert seasonal_anomalies(series, period=7) == [40]
    assert seasonal_anomalies(series, period=7, method="esd") == [40]
    flat = seasonal_residuals(0.5 + 0.1 * np.sin(2 * np.pi * t / 7), period=7)
    assert np.abs(flat[7:-7]).max() < 0.02  # a pure season leaves almost nothing


def test_refusals():
    with pytest.raises(AssayInputError, match="'values'"):
        generalized_esd(np.arange(5.0), max_anomalies=5)
    with pytest.raises(AssayInputError, match="two periods"):
        seasonal_residuals(np.arange(10.0), period=7)
