"""Threshold sweep: all thresholds at once vs one evaluate_groups call per threshold.

    .venv/bin/python benchmarks/bench_thresholds.py --rows 1000000 --thresholds 1000

The naive baseline is timed on the first --naive thresholds and extrapolated linearly to all
of them (it is a loop: its time is proportional to the number of thresholds). The two agree
exactly at the thresholds both compute (checked here).
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from assay.metrics import evaluate_groups, threshold_sweep


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--thresholds", type=int, default=1000)
    parser.add_argument("--naive", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.rows
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["A", "B", "C", "D"], n)})
    y = rng.integers(0, 2, n)
    score = rng.random(n) + 0.3 * y
    metrics = ["balanced_accuracy", "selection_rate", "tpr", "fpr"]

    tick = time.perf_counter()
    sweep = threshold_sweep(y, score, sensitive_features=sf, thresholds=args.thresholds, metrics=metrics)
    vectorised = time.perf_counter() - tick

    grid = sweep.thresholds[:: max(1, len(sweep.thresholds) // args.naive)][: args.naive]
    tick = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables = [evaluate_groups(y, (score >= t).astype(int), sensitive_features=sf, metrics=metrics) for t in grid]
    naive = (time.perf_counter() - tick) / len(grid) * len(sweep.thresholds)
    for t, table in zip(grid, tables):
        assert np.isclose(sweep.overall("tpr").loc[t], table.overall["tpr"], rtol=0, atol=1e-12)
    print(f"{n:,} rows, 2 x 4 groups + intersections, {len(sweep.thresholds)} thresholds, {len(metrics)} metrics")
    print(f"threshold_sweep (all at once)            {vectorised:8.3f} s")
    print(f"evaluate_groups per threshold (extrap.)  {naive:8.3f} s   ratio {naive / vectorised:6.0f}x")


if __name__ == "__main__":
    main()
