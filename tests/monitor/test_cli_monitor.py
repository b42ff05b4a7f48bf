"""assay monitor: report.json / report.html, exit codes for CI, Parquet input, profile reference, refusals."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from assay.cli import main
from assay.monitor import Profile


def _tables(seed=0, drift=True):
    rng = np.random.default_rng(seed)

    def table(n, start, days, shift):
        x = rng.normal(size=n)
        group = rng.choice(["a", "b"], n)
        z = rng.choice(["u", "v", "w"], n)
        y = (x + rng.normal(scale=0.7, size=n) > 0).astype(int)
        time = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, days * 24, n), unit="h")
        frame = pd.DataFrame({"x": x, "z": z, "group": group, "time": time, "y": y})
        if shift:  # from day 4 on, x shifts for group b and the labels stop following x there
            late = (frame["time"] >= pd.Timestamp(start) + pd.Timedelta(days=4)) & (frame["group"] == "b")
            frame.loc[late, "x"] += 1.0
            frame.loc[late, "y"] = rng.integers(0, 2, int(late.sum()))
        return frame.sort_values("time").reset_index(drop=True)

    return table(6000, "2024-01-01", 6, False), table(6000, "2024-02-01", 8, drift)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("monitor")
    ref, cur = _tables()
    model = LogisticRegression().fit(ref[["x"]], ref["y"])
    (root / "model.pkl").write_bytes(pickle.dumps(model))
    ref.to_csv(root / "ref.csv", index=False)
    cur.to_parquet(root / "cur.parquet")
    _, calm = _tables(seed=1, drift=False)
    calm.to_csv(root / "calm.csv", index=False)
    return root


def test_monitor_writes_reports_and_gates(files, capsys):
    out = files / "run"
    code = main(["monitor", "--reference", str(files / "ref.csv"), "--current", str(files / "cur.parquet"),
                 "--model", str(files / "model.pkl"), "--trust-model-file", "--features", "x", "--target", "y",
                 "--time-column", "time", "--window", "1D", "--sensitive", "group", "--out", str(out),
                 "--fail-on", "fail"])
    printed = capsys.readouterr().out
    assert code == 1, printed
    record = json.loads((out / "report.json").read_text())
    assert record["kind"] == "assay.monitor" and record["worst_severity"] == "fail"
    drift = pd.DataFrame(record["drift"]["data"], columns=record["drift"]["columns"])
    drifted = drift[drift["drifted"]]
    assert ("group", "b") in set(zip(drifted["feature"], drifted["group"]))
    assert not len(drifted[(drifted["feature"] == "group") & (drifted["group"] == "a")])
    alerts = [f for f in record["findings"] if f["severity"] == "fail"]
    assert alerts and all(f["evidence"]["window"] >= "2024-02-05" for f in alerts)
    assert any("group=b" in f["metric"] for f in alerts)
    assert not any("group=a" in f["metric"] for f in alerts)
    shifts = record["change_points"]["accuracy"]["shifts"]
    assert [s[0] for s in shifts] == ["2024-02-05T00:00:00"] and shifts[0][2] < shifts[0][1] - 0.05
    html = (out / "report.html").read_text()
    assert "Drift per column and group" in html and "Performance over time" in html and "<img" in html


def test_monitor_without_drift_passes_and_reads_a_profile(files, tmp_path):
    ref = pd.read_csv(files / "ref.csv").drop(columns=["time", "y"])
    Profile.fit(ref, sensitive_features="group").to_json(tmp_path / "profile.json")
    calm = pd.read_csv(files / "calm.csv").drop(columns=["y"])
    calm.to_csv(tmp_path / "calm.csv", index=False)
    code = main(["monitor", "--reference", str(tmp_path / "profile.json"), "--current", str(tmp_path / "calm.csv"),
                 "--time-column", "time", "--sensitive", "group", "--out", str(tmp_path / "run"), "--fail-on", "warn"])
    assert code == 0
    record = json.loads((tmp_path / "run" / "report.json").read_text())
    assert record["params"]["reference"] == "profile" and record["worst_severity"] == "pass"


def test_monitor_refusals_name_the_flag(files, tmp_path, capsys):
    base = ["monitor", "--reference", str(files / "ref.csv"), "--out", str(tmp_path / "o")]
    assert main([*base, "--current", str(files / "calm.csv"), "--time-column", "nope"]) == 2
    assert "--time-column" in capsys.readouterr().err
    assert main([*base, "--current", str(files / "calm.csv"), "--time-column", "x"]) == 2
    err = capsys.readouterr().err
    assert "--time-column" in err and "dates" in err
    pd.read_csv(files / "calm.csv").drop(columns=["z"]).to_csv(tmp_path / "fewer.csv", index=False)
    assert main([*base, "--current", str(tmp_path / "fewer.csv")]) == 2
    assert "--current" in capsys.readouterr().err
    profile = json.loads(Profile.fit(pd.read_csv(files / "ref.csv")).to_json())
    profile["schema_version"] = 99
    (tmp_path / "old.json").write_text(json.dumps(profile))
    assert main(["monitor", "--reference", str(tmp_path / "old.json"), "--current", str(files / "calm.csv"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "--reference" in capsys.readouterr().err


def test_run_monitor_estimates_accuracy_without_labels():
    from assay.monitor.run import run_monitor

    ref, cur = _tables(seed=2, drift=False)
    model = LogisticRegression().fit(ref[["x"]], ref["y"])
    result = run_monitor(ref, cur.drop(columns="y"), model=model, features=["x"], target="y", time_column="time")
    est = result.estimate
    assert est is not None and est.reliable and len(est.table) == 8
    truth = (model.predict(cur[["x"]]) == cur["y"]).mean()
    weighted = np.average(est.table["estimated_accuracy"], weights=est.table["n"])
    assert abs(weighted - truth) < 0.02
    assert result.worst_severity == "pass" and not len(result.performance)


def test_monitor_with_dask_tests_drift_from_profiles(files, tmp_path):
    pytest.importorskip("dask.dataframe")
    out = tmp_path / "dask"
    code = main(["monitor", "--reference", str(files / "ref.csv"), "--current", str(files / "cur.parquet"),
                 "--dask", "--sensitive", "group", "--time-column", "time", "--target", "y", "--out", str(out),
                 "--fail-on", "warn"])
    assert code == 1
    record = json.loads((out / "report.json").read_text())
    assert record["params"]["current"] == "dask"
    drift = pd.DataFrame(record["drift"]["data"], columns=record["drift"]["columns"])
    drifted = drift[drift["drifted"]]
    assert set(zip(drifted["feature"], drifted["group"], drifted["column"])) >= {("group", "b", "x")}
    # with a model: accuracy per window and group from partition counts, and its control charts
    code = main(["monitor", "--reference", str(files / "ref.csv"), "--current", str(files / "cur.parquet"),
                 "--dask", "--model", str(files / "model.pkl"), "--trust-model-file", "--features", "x",
                 "--target", "y", "--time-column", "time", "--sensitive", "group", "--out", str(out),
                 "--fail-on", "fail"])
    assert code == 1
    record = json.loads((out / "report.json").read_text())
    assert record["params"]["model"] and any(f["severity"] == "fail" and "group=b" in str(f["metric"])
                                             for f in record["findings"])
