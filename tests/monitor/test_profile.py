"""Profile: exact merges of batches and Dask partitions, JSON round trip, schema and version checks."""

import json

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.monitor import Profile


def _frame(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=n), "k": rng.integers(0, 5, n),
                          "c": rng.choice(["a", "b", "c", None], n), "g": rng.choice(["u", "v", "w"], n),
                          "h": rng.choice(["p", "q"], n)})
    frame.loc[::17, "x"] = np.nan
    return frame


def _assert_same(a, b):
    assert a.cells == b.cells and list(a.columns) == list(b.columns)
    np.testing.assert_array_equal(a.n_rows, b.n_rows)
    for column, s in a.columns.items():
        t = b.columns[column]
        np.testing.assert_array_equal(s["counts"], t["counts"])
        np.testing.assert_array_equal(s["missing"], t["missing"])
        if s["kind"] == "numeric":
            np.testing.assert_array_equal(s["edges"], t["edges"])
            np.testing.assert_allclose(s["moments"], t["moments"], rtol=1e-12)
            np.testing.assert_array_equal(s["min"], t["min"])
        else:
            assert s["categories"] == t["categories"]


def test_counts_by_hand():
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, np.nan], "c": ["a", "b", "a", None, "a"],
                          "g": ["u", "u", "v", "v", "v"]})
    profile = Profile.fit(frame, sensitive_features="g", edges={"x": [1.5]})
    assert profile.cells == [("u",), ("v",)]
    np.testing.assert_array_equal(profile.columns["x"]["counts"], [[2, 0], [0, 2]])
    np.testing.assert_array_equal(profile.columns["x"]["missing"], [0, 1])
    assert profile.columns["c"]["categories"] == ["a", "b"]
    np.testing.assert_array_equal(profile.columns["c"]["counts"], [[1, 1], [2, 0]])
    m = profile.moments("x")
    assert m["mean"] == pytest.approx(1.5) and m["sd"] == pytest.approx(np.std([0, 1, 2, 3.0]))
    assert (m["min"], m["max"]) == (0.0, 3.0)


def test_batches_merge_exactly_like_the_whole_table():
    frame = _frame()
    first = Profile.fit(frame.iloc[:1000], sensitive_features=["g", "h"])
    whole = Profile.fit(frame, sensitive_features=["g", "h"], edges=first.edges())
    batched = Profile.fit_batches([frame.iloc[i:i + 1000] for i in range(0, 3000, 1000)], sensitive_features=["g", "h"])
    _assert_same(whole, batched)
    # a batch lacking a cell and a category still merges on the union
    part = frame[(frame["g"] != "w") & (frame["c"] != "b")]
    rest = frame.drop(part.index)
    merged = Profile.fit(part, sensitive_features=["g", "h"], edges=first.edges()).merge(
        Profile.fit(rest, sensitive_features=["g", "h"], edges=first.edges()))
    _assert_same(whole, merged)


def test_dask_partitions_merge_exactly():
    dd = pytest.importorskip("dask.dataframe")
    frame = _frame()
    ddf = dd.from_pandas(frame, npartitions=4)
    first = Profile.fit(ddf.partitions[0].compute(), sensitive_features="g")
    _assert_same(Profile.fit(frame, sensitive_features="g", edges=first.edges()),
                 Profile.fit_dask(ddf, sensitive_features="g"))


def test_json_round_trip_and_refusals(tmp_path):
    profile = Profile.fit(_frame(), sensitive_features="g")
    path = tmp_path / "profile.json"
    profile.to_json(path)
    again = Profile.from_json(path)
    assert again == profile
    _assert_same(profile, again)
    record = json.loads(path.read_text())
    record["assay_version"] = "0.0.1"
    with pytest.raises(AssayInputError, match="'profile' was written by assay '0.0.1'"):
        Profile.from_json(json.dumps(record))
    with pytest.raises(AssayInputError, match="schema"):
        Profile.from_json(json.dumps({"schema": "other"}))
    with pytest.raises(AssayInputError, match="same bin edges"):
        profile.merge(Profile.fit(_frame(seed=1), sensitive_features="g"))


@pytest.mark.slow
def test_two_worker_local_cluster_profile_equals_the_in_memory_one():
    distributed = pytest.importorskip("distributed")
    dd = pytest.importorskip("dask.dataframe")
    import warnings

    frame = _frame(n=4000, seed=3)
    ddf = dd.from_pandas(frame, npartitions=5)
    edges = Profile.fit(frame).edges()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as cluster, distributed.Client(cluster):
            result = Profile.fit_dask(ddf, sensitive_features=["g", "h"], edges=edges)
    _assert_same(Profile.fit(frame, sensitive_features=["g", "h"], edges=edges), result)
