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

* **Evidently** ``Report([DataDriftPreset()])`` on the same frames, when ``evidently`` imports (it does
  not install into the project's venv: run this file from the venv of ``bench_audit_external.py``,
  ``/tmp/extvenv/bin/python benchmarks/bench_monitor.py``); skipped and said so otherwise. Not run in
  the session that wrote it (no Evidently available offline)::

    .venv/bin/python benchmarks/bench_monitor.py --rows 1000000 --columns 50
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from _common import machine_info, peak_bytes, print_machine
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from assay.monitor import Profile, drift_report

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


def dask_profile(rows, columns, partitions):
    import dask
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

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
    args = parser.parse_args()
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
    try:
        import evidently  # noqa: F401
    except ImportError:
        print("evidently: not installed here; skipped")
    else:
        t, _ = timed(lambda: run_evidently(reference, current))
        rows.append(("Evidently Report([DataDriftPreset()])", t, peak_bytes(lambda: run_evidently(reference, current))))
    print(f"{'what':<46} {'seconds':>8} {'peak MiB':>9}")
    for name, seconds, peak in rows:
        print(f"{name:<46} {seconds:8.2f} {peak / 2 ** 20:9.0f}")
    print("drifted (data):   ", result.drifted_columns)
    print("drifted (profile):", from_profile.drifted_columns)
    if args.dask_rows:
        seconds, dprofile = dask_profile(args.dask_rows, args.columns, args.dask_partitions)
        print(f"Profile.fit_dask on {args.dask_rows:,} x {args.columns} ({args.dask_partitions} partitions, "
              f"2-worker LocalCluster): {seconds:.1f} s, {int(dprofile.n_rows.sum()):,} rows profiled")


if __name__ == "__main__":
    main()
