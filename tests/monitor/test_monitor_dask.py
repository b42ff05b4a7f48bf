"""run_monitor_dask: drift, drift per window and accuracy per window and group from partition summaries,
equal to the in-memory run (issue 18 item 5)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from assay import AssayInputError
from assay.monitor import Profile, drift_report
from assay.monitor.distributed import PartitionSummary, run_monitor_dask, summarise
from assay.monitor.performance import time_windows
from assay.monitor.run import run_monitor

from .test_profile import _assert_same

dd = pytest.importorskip("dask.dataframe")


def _table(n, start, days, shift, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = rng.choice(["a", "b"], n)
    y = (x + rng.normal(scale=0.7, size=n) > 0).astype(int)
    time = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, days * 24, n), unit="h")
    frame = pd.DataFrame({"x": x, "z": rng.choice(["u", "v", "w"], n), "group": group, "time": time, "y": y})
    if shift:  # from day 4 on, x shifts for group b and its labels stop following x
        late = (frame["time"] >= pd.Timestamp(start) + pd.Timedelta(days=4)) & (frame["group"] == "b")
        frame.loc[late, "x"] += 1.0
        frame.loc[late, "y"] = rng.integers(0, 2, int(late.sum()))
    return frame.sort_values("time").reset_index(drop=True)


@pytest.fixture(scope="module")
def case():
    ref, cur = _table(3000, "2024-01-01", 6, False, 0), _table(3000, "2024-02-01", 8, True, 1)
    model = LogisticRegression().fit(ref[["x"]], ref["y"])
    return ref, cur, model


def _assert_same_performance(a, b):
    pd.testing.assert_frame_equal(a.performance.reset_index(drop=True), b.performance.reset_index(drop=True))
    assert [(c.metric, c.chart) for c in a.charts] == [(c.metric, c.chart) for c in b.charts]
    for x, y in zip(a.charts, b.charts):
        pd.testing.assert_frame_equal(x.table, y.table)
        assert x.alerts == y.alerts


def test_partition_summaries_merge_to_the_whole(case):
    ref, cur, model = case
    options = {"sensitive": ["group"], "model": model, "features": ["x"], "target": "y", "time_column": "time",
               "window": "1D"}
    edges = summarise(ref, edges=None, **options).profile.edges()
    whole = summarise(cur, edges=edges, **options)
    parts = [summarise(cur.iloc[i::3], edges=edges, **options) for i in range(3)]  # rows of a window split up
    merged = parts[0].merge(parts[1]).merge(parts[2])
    assert isinstance(merged, PartitionSummary)
    _assert_same(merged.profile, whole.profile)  # counts exactly, moments to rounding
    assert sorted(merged.windows) == sorted(whole.windows)
    for label, profile in whole.windows.items():
        _assert_same(merged.windows[label], profile)
    key = ["feature", "group", "window"]
    pd.testing.assert_frame_equal(merged.accuracy.sort_values(key).reset_index(drop=True),
                                  whole.accuracy.sort_values(key).reset_index(drop=True), check_dtype=False)
    # hand count: window 2024-02-05, group b
    labels = time_windows(cur["time"], "1D").to_numpy()
    rows = (labels == "2024-02-05T00:00:00") & (cur["group"] == "b").to_numpy()
    row = merged.accuracy.set_index(key).loc[("group", "b", "2024-02-05T00:00:00")]
    assert row["n"] == rows.sum()
    assert row["correct"] == (model.predict(cur[["x"]])[rows] == cur["y"].to_numpy()[rows]).sum()


def test_dask_run_equals_the_in_memory_run(case):
    ref, cur, model = case
    profile = Profile.fit(ref.drop(columns=["time", "y"]), sensitive_features="group", model=model, features=["x"])
    kwargs = {"model": model, "features": ["x"], "target": "y", "time_column": "time", "window": "1D",
              "sensitive_features": "group"}
    memory = run_monitor(profile, cur, **kwargs)
    dask_run = run_monitor_dask(profile, dd.from_pandas(cur, npartitions=4), **kwargs)
    _assert_same_performance(dask_run, memory)
    assert len(memory.performance) and {c.metric for c in dask_run.charts} >= {"accuracy[group=b]"}
    assert any(f.metric == "accuracy[group=b]" and f.severity == "fail" for f in dask_run.findings)
    assert not any(f.metric == "accuracy[group=a]" for f in dask_run.findings)
    # drift of the whole window: the binned tests of the in-memory profile of the current table
    current = Profile.fit(cur.drop(columns=["time", "y"]), sensitive_features="group", model=model, features=["x"],
                          edges=profile.edges())
    expected = drift_report(profile, current)
    pd.testing.assert_frame_equal(dask_run.drift.table, expected.table)
    assert ("group", "b") in dask_run.drift.drifted_groups("x")
    # drift per window: each window's overall rows, from its profile
    labels = time_windows(cur["time"], "1D").to_numpy()
    day = "2024-02-07T00:00:00"
    window = Profile.fit(cur[labels == day].drop(columns=["time", "y"]), sensitive_features="group", model=model,
                         features=["x"], edges=profile.edges())
    o = drift_report(profile, window).overall
    got = dask_run.drift_over_time.set_index(["window", "column"]).loc[day]
    np.testing.assert_allclose(got.loc[o.index, "effect_size"], o["effect_size"])
    assert sorted(dask_run.drift_over_time["window"].unique()) == sorted(np.unique(labels))
    # both paths test the same columns per window, the model's outputs among them
    assert set(memory.drift_over_time["column"]) == set(dask_run.drift_over_time["column"]) >= {"prediction", "x"}


@pytest.mark.slow
def test_two_worker_local_cluster_with_a_dask_reference(case):
    distributed = pytest.importorskip("distributed")
    ref, cur, model = case
    kwargs = {"model": model, "features": ["x"], "target": "y", "time_column": "time", "window": "1D",
              "sensitive_features": "group"}
    memory = run_monitor(ref, cur, **kwargs)  # the reference's windows are the charts' reference period
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as cluster, distributed.Client(cluster):
            result = run_monitor_dask(dd.from_pandas(ref, npartitions=3), dd.from_pandas(cur, npartitions=4),
                                      **kwargs)
    assert set(result.performance["period"]) == {"reference", "current"}
    _assert_same_performance(result, memory)


def test_refusals(case):
    ref, cur, model = case
    profile = Profile.fit(ref.drop(columns=["time", "y"]), sensitive_features="group")
    with pytest.raises(AssayInputError, match="'current'.*Dask DataFrame"):
        run_monitor_dask(profile, cur, sensitive_features="group")
    with pytest.raises(AssayInputError, match="'time_column'.*'when'"):
        run_monitor_dask(profile, dd.from_pandas(cur, npartitions=2), time_column="when", sensitive_features="group")
    with pytest.raises(AssayInputError, match="'sensitive_features'"):
        run_monitor_dask(profile, dd.from_pandas(cur, npartitions=2))
