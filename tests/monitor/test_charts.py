"""Control charts against textbook constants and hand cases; CUSUM/EWMA detection delays; change points."""

import sys

import numpy as np
import pytest

from assay import AssayInputError
from assay.core.findings import Finding
from assay.monitor.charts import (
    c4,
    change_points,
    cusum_chart,
    ewma_chart,
    np_chart,
    p_chart,
    xbar_s_chart,
)


def test_c4_and_the_table_constants():
    # Montgomery, Introduction to Statistical Quality Control, Appendix VI
    assert c4(2) == pytest.approx(0.7979, abs=1e-4) and c4(5) == pytest.approx(0.9400, abs=1e-4)
    assert c4(10) == pytest.approx(0.9727, abs=1e-4)
    a3 = 3 / (c4(5) * np.sqrt(5))
    b4 = 1 + 3 * np.sqrt(1 - c4(5) ** 2) / c4(5)
    assert a3 == pytest.approx(1.427, abs=1e-3) and b4 == pytest.approx(2.089, abs=1e-3)


def test_xbar_s_limits_equal_the_table_formula_for_equal_sizes():
    rng = np.random.default_rng(0)
    values = rng.normal(10, 2, size=5 * 30)
    windows = np.repeat(np.arange(30), 5)
    xbar, s = xbar_s_chart(values, windows, n_reference=20)
    means = values.reshape(30, 5).mean(axis=1)
    sds = values.reshape(30, 5).std(axis=1, ddof=1)
    grand, sbar = means[:20].mean(), sds[:20].mean()
    a3 = 3 / (c4(5) * np.sqrt(5))
    np.testing.assert_allclose(xbar.table["upper"], grand + a3 * sbar)
    np.testing.assert_allclose(xbar.table["value"], means)
    b3 = max(0, 1 - 3 * np.sqrt(1 - c4(5) ** 2) / c4(5))
    np.testing.assert_allclose(s.table["upper"], sbar * (1 + 3 * np.sqrt(1 - c4(5) ** 2) / c4(5)))
    np.testing.assert_allclose(s.table["lower"], sbar * b3)
    assert list(xbar.table["phase"][:20].unique()) == ["reference"]


def test_p_and_np_charts_by_hand():
    x = np.array([10, 12, 8, 10, 30])
    n = np.array([100] * 5)
    chart = p_chart(x, n, n_reference=4)
    p = 40 / 400
    assert chart.table["center"].iloc[0] == pytest.approx(p)
    assert chart.table["upper"].iloc[0] == pytest.approx(p + 3 * np.sqrt(p * (1 - p) / 100))
    assert chart.alerts == [4]
    found = chart.findings()
    assert isinstance(found[0], Finding) and found[0].evidence["alert"] == "p" and found[0].value == 0.3
    npc = np_chart(x, n, n_reference=4)
    assert npc.table["upper"].iloc[0] == pytest.approx(10 + 3 * np.sqrt(100 * p * (1 - p)))
    assert npc.alerts == [4]


def _accuracy_series(seed, drop_at=30, n_windows=45, size=500, drop=0.05):
    rng = np.random.default_rng(seed)
    p = np.where(np.arange(n_windows) < drop_at, 0.85, 0.85 - drop)
    return rng.binomial(size, p) / size


def test_cusum_and_ewma_detect_a_planted_accuracy_drop_within_3_windows():
    # accuracy 0.85 -> 0.80 at window 30 (windows of 500 rows: a 3.1-sigma drop); limits from windows 0-19.
    # Over 100 seeds: delay at most 3 windows for both, false alarms before the drop in 4% of the runs.
    delays, false_alarms = {"cusum": [], "ewma": []}, 0
    sigma = np.sqrt(0.85 * 0.15 / 500)  # binomial sd of a window's accuracy
    for seed in range(20):
        acc = _accuracy_series(seed)
        for name, chart in (("cusum", cusum_chart(acc, n_reference=20, sigma=sigma)),
                            ("ewma", ewma_chart(acc, n_reference=20, sigma=sigma))):
            false_alarms += any(w < 30 for w in chart.alerts)
            delays[name].append(min(w for w in chart.alerts if w >= 30) - 30)
    assert max(delays["cusum"]) <= 3 and max(delays["ewma"]) <= 3
    assert false_alarms <= 6  # of 40 chart runs (about 4% expected)


def test_cusum_by_hand_and_its_findings():
    chart = cusum_chart([0, 0, 0, 0, -2, -2, -2], n_reference=4, mu=0, sigma=1, k=0.5, h=2)
    np.testing.assert_allclose(chart.table["cusum_lower"], [0, 0, 0, 0, 1.5, 3.0, 4.5])
    assert chart.alerts == [5, 6]
    finding = chart.findings()[0]
    assert finding.evidence == {"alert": "cusum", "window": "5", "side": "lower"} and finding.value == 3.0
    ewma = ewma_chart([1.0, 1.0, 3.0], n_reference=2, mu=1, sigma=1, lam=0.5)
    assert ewma.table["value"].tolist() == [1.0, 1.0, 2.0]


def test_change_point_within_2_percent_of_the_planted_index():
    rng = np.random.default_rng(0)
    series = np.concatenate([rng.normal(0.85, 0.01, 300), rng.normal(0.82, 0.01, 200)])
    for method in ("pelt", "binseg"):
        found = change_points(series, method=method)
        assert len(found.indices) == 1 and abs(found.indices[0] - 300) <= 10
    exact = change_points(series, method="binseg", n_change_points=1)
    assert abs(exact.indices[0] - 300) <= 10
    assert exact.segments["mean"].iloc[0] == pytest.approx(series[:exact.indices[0]].mean())


def test_refusals_and_missing_extra(monkeypatch):
    with pytest.raises(AssayInputError, match="'n_reference'"):
        ewma_chart([1.0, 2.0, 3.0], n_reference=5)
    with pytest.raises(AssayInputError, match="'sigma'"):
        cusum_chart([1.0, 1.0, 1.0, 2.0], n_reference=3)
    monkeypatch.setitem(sys.modules, "ruptures", None)
    with pytest.raises(ImportError, match=r"assay\[monitor\]"):
        change_points(np.arange(10.0))
