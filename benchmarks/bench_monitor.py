"""Drift report on large frames: ``assay.monitor.drift_report`` next to a bare scipy/NumPy floor.

Two frames of ``--rows`` x ``--columns`` are generated in-process (80% numeric columns: normal, a few
shifted in the current frame; 20% categorical: 12 categories, one with a changed share). Timed:

* **floor**: per numeric column ``scipy.stats.ks_2samp`` + ``wasserstein_distance``; per categorical
  column ``value_counts`` + ``chi2_contingency`` -- the tests alone, no PSI/JS, no binning, no groups;
* **assay, from data**: ``drift_report(reference, current)`` (KS, Wasserstein, PSI, JS, chi-square on 50
  quantile bins, category tests, Holm correction);
* **assay, from a profile**: ``Profile.fit(reference)`` once (timed apart), then
  ``drift_report(profile, current)`` (binned KS / Wasserstein);
* optional ``--dask-rows N``: ``Profile.fit_dask`` of a frame generated partition by partition on a
  local cluster (never whole in memory).

Peak memory: ``tracemalloc`` peak of each call (numpy buffers are traced), next to the frames' size.

* **Evidently** ``Report([DataDriftPreset()])`` on the same frames (generated from the same seeds,
  the same columns as numeric / categorical), timed in its own venv: Evidently's pins clash with the
  project's, so ``--evidently-python PATH`` runs this file again under that interpreter
  (``--evidently-only``: makes the frames, runs only Evidently, prints seconds and peaks as JSON)::

    python3 -m venv /tmp/evvenv && /tmp/evvenv/bin/pip install evidently -c constraints.txt
    .venv/bin/python benchmarks/bench_monitor.py --rows 100000 --columns 50 --evidently-python /tmp/evvenv/bin/python

  When ``evidently`` imports in the running interpreter it runs in-process instead; without either it
  is skipped and said so. Evidently's preset on more than 1,000 rows tests numeric columns with the
  normalised Wasserstein distance and categorical ones with the Jensen-Shannon distance (threshold 0.1);
  assay's report computes those and KS, PSI and chi-square besides, with Holm correction.
  The peak of each tool is ``tracemalloc``'s (Python and numpy allocations) of the call alone; the
  Evidently child also reports its process's maximum resident size (imports and frames included).
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from _common import machine_info, peak_bytes, print_machine

CATEGORIES = [f"c{i}" for i in range(12)]


def make_frame(rows, columns, *, seed, shifted):
    rng = np.random.default_rng(seed)
    n_cat = max(1, columns // 5)
    data = {}
    for j in range(columns - n_cat):
        shift = 0.25 if shifted and j % 10 == 0 else 0.0
        data[f"x{j}"] = rng.normal(shift, 1.0, rows)
    p = np.full(len(CATEGORIES), 1.0 / len(CATEGORIES))
    for j in range(n_cat):
        q = p.copy()
        if shifted and j == 0:
            q[0] *= 3
            q /= q.sum()
        data[f"k{j}"] = pd.Categorical.from_codes(rng.choice(len(CATEGORIES), rows, p=q), CATEGORIES)
    return pd.DataFrame(data)


def floor(reference, current):
    from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

    out = {}
    for column in reference.columns:
        if isinstance(reference[column].dtype, pd.CategoricalDtype):
            table = np.stack([reference[column].value_counts(sort=False).to_numpy(),
                              current[column].value_counts(sort=False).to_numpy()])
            out[column] = chi2_contingency(table[:, table.sum(axis=0) > 0])[1]
        else:
            a, b = reference[column].to_numpy(), current[column].to_numpy()
            out[column] = (ks_2samp(a, b).pvalue, wasserstein_distance(a, b))
    return out


def run_evidently(reference, current):
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    categorical = [c for c in reference.columns if isinstance(reference[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in reference.columns if c not in categorical]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    report = Report([DataDriftPreset(columns=numeric + categorical)])
    return report.run(Dataset.from_pandas(current, data_definition=definition),
                      Dataset.from_pandas(reference, data_definition=definition))


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def evidently_only(rows, columns):
    """Child mode: the frames and Evidently alone; one JSON line on stdout."""
    import evidently

    reference = make_frame(rows, columns, seed=0, shifted=False)
    current = make_frame(rows, columns, seed=1, shifted=True)
    seconds, snapshot = timed(lambda: run_evidently(reference, current))
    drifted = _evidently_drifted(snapshot)
    peak = peak_bytes(lambda: run_evidently(reference, current))
    print(json.dumps({"seconds": seconds, "peak_bytes": peak, "version": evidently.__version__,
                      "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "drifted": drifted}))


def _evidently_drifted(snapshot):
    """Columns Evidently calls drifted (its ValueDrift metrics: value above the threshold)."""
    try:
        out = []
        for metric in snapshot.dict()["metrics"]:
            config = metric.get("config", {})
            if config.get("type", "").endswith("ValueDrift") and metric["value"] >= config.get("threshold", 0.1):
                out.append(config.get("column"))
        return out
    except Exception as exc:  # noqa: BLE001 - the snapshot layout is Evidently's; report, do not fail
        return f"could not read the snapshot ({exc})"


def evidently_child(python, rows, columns):
    command = [python, str(Path(__file__).resolve()), "--evidently-only", "--rows", str(rows), "--columns",
               str(columns)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"Evidently child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def dask_profile(rows, columns, partitions):
    import dask
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    from assay.monitor import Profile

    per = rows // partitions
    meta = make_frame(2, columns, seed=0, shifted=False).iloc[:0]
    parts = [dask.delayed(make_frame)(per, columns, seed=100 + i, shifted=False) for i in range(partitions)]
    ddf = dd.from_delayed(parts, meta=meta)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster):
        seconds, profile = timed(lambda: Profile.fit_dask(ddf))
    return seconds, profile


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--dask-rows", type=int, default=0)
    parser.add_argument("--dask-partitions", type=int, default=20)
    parser.add_argument("--evidently-python", default=None, help="python of a venv with evidently installed")
    parser.add_argument("--evidently-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evidently_only:
        evidently_only(args.rows, args.columns)
        return
    from assay.monitor import Profile, drift_report

    print_machine(machine_info("numpy", "scipy", "pandas", "dask"))
    reference = make_frame(args.rows, args.columns, seed=0, shifted=False)
    current = make_frame(args.rows, args.columns, seed=1, shifted=True)
    size = (reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum()) / 2 ** 20
    print(f"frames: 2 x {args.rows:,} x {args.columns} ({size:,.0f} MiB together)")

    rows = []
    t, _ = timed(lambda: floor(reference, current))
    rows.append(("floor: scipy KS + Wasserstein, chi-square", t, peak_bytes(lambda: floor(reference, current))))
    t, result = timed(lambda: drift_report(reference, current))
    rows.append(("assay drift_report (from data)", t, peak_bytes(lambda: drift_report(reference, current))))
    t, profile = timed(lambda: Profile.fit(reference))
    rows.append(("assay Profile.fit (reference, once)", t, peak_bytes(lambda: Profile.fit(reference))))
    t, from_profile = timed(lambda: drift_report(profile, current))
    rows.append(("assay drift_report (from the profile)", t, peak_bytes(lambda: drift_report(profile, current))))
    evidently_drifted = None
    try:
        import evidently
    except ImportError:
        if args.evidently_python:
            child = evidently_child(args.evidently_python, args.rows, args.columns)
            rows.append((f"Evidently {child['version']} DataDriftPreset (own venv)", child["seconds"],
                         child["peak_bytes"]))
            evidently_drifted = child["drifted"]
            print(f"Evidently child process: max resident size {child['max_rss_bytes'] / 2 ** 20:,.0f} MiB")
        else:
            print("evidently: not installed here and no --evidently-python; skipped")
    else:
        t, snapshot = timed(lambda: run_evidently(reference, current))
        rows.append((f"Evidently {evidently.__version__} DataDriftPreset", t,
                     peak_bytes(lambda: run_evidently(reference, current))))
        evidently_drifted = _evidently_drifted(snapshot)
    print(f"{'what':<46} {'seconds':>8} {'peak MiB':>9}")
    for name, seconds, peak in rows:
        print(f"{name:<46} {seconds:8.2f} {peak / 2 ** 20:9.0f}")
    if evidently_drifted is not None:
        seconds = {name: t for name, t, _ in rows}
        evidently_seconds = rows[-1][1]
        data = seconds["assay drift_report (from data)"]
        profiled = seconds["assay Profile.fit (reference, once)"] + seconds["assay drift_report (from the profile)"]
        print(f"Evidently / assay drift_report from data: {evidently_seconds / data:.1f}x; Evidently / assay "
              f"Profile.fit + drift_report from the profile: {evidently_seconds / profiled:.1f}x")
    print("drifted (data):   ", result.drifted_columns)
    print("drifted (profile):", from_profile.drifted_columns)
    if evidently_drifted is not None:
        print("drifted (Evidently):", evidently_drifted)
    if args.dask_rows:
        seconds, dprofile = dask_profile(args.dask_rows, args.columns, args.dask_partitions)
        print(f"Profile.fit_dask on {args.dask_rows:,} x {args.columns} ({args.dask_partitions} partitions, "
              f"2-worker LocalCluster): {seconds:.1f} s, {int(dprofile.n_rows.sum()):,} rows profiled")


if __name__ == "__main__":
    main()
