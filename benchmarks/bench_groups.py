"""Grouped metrics at scale: assay vs Fairlearn's MetricFrame vs a bare NumPy floor.

    python benchmarks/bench_groups.py                 # 1,000,000 rows (MetricFrame takes a while)
    python benchmarks/bench_groups.py --quick         # 100,000 rows, fewer repeats
    python benchmarks/bench_groups.py --rows 300000 --repeats 5 --json out.json

Data: ``--rows`` rows, three sensitive features -- sex (2), race (5), age band (4): 40
intersectional cells -- as pandas categorical columns with string categories; binary
``y_true`` / ``y_pred`` as int64 arrays. Eight label metrics.

The same table, three ways, in one run:

* **Fairlearn** ``MetricFrame``: one frame per grouping (sex, race, age and the four
  intersections: 7 frames, 89 groups -- the table ``evaluate_groups`` returns), with the
  scikit-learn / Fairlearn metric functions. Also timed: the single frame of the 3-way
  intersection alone.
* **floor**: bare NumPy -- the categorical codes combined into a cell code and one
  ``np.bincount`` of ``4 * cell + 2 * y_true + y_pred``: the confusion counts of the 40 cells,
  from which every group's metrics follow by sums. No validation, no table.
* **assay** ``evaluate_groups`` (a) without bootstrap and (b) with 200 bootstrap resamples.

Also timed, for information: the same from string columns (pandas' ``str`` dtype) instead of
categoricals, for the floor (``pd.factorize`` per column first) and for assay.

Timings are the median of ``--repeats`` runs (MetricFrame: one run). Peak memory is the peak
of Python-traced allocations (``tracemalloc``; numpy reports its buffers to it) during one
call, over the bytes of the input arrays. The goals of the issue are checked at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd

from _common import machine_info, peak_bytes, print_machine

METRICS = ["accuracy", "selection_rate", "tpr", "fpr", "fnr", "tnr", "ppv", "f1"]
FEATURES = {
    "sex": ["Female", "Male"],
    "race": ["Asian", "Black", "Hispanic", "Other", "White"],
    "age": ["<25", "25-44", "45-64", "65+"],
}


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    sf = pd.DataFrame({
        name: pd.Categorical.from_codes(rng.integers(0, len(values), n), categories=values)
        for name, values in FEATURES.items()
    })
    y_true = (rng.random(n) < 0.3 + 0.1 * sf["race"].cat.codes.to_numpy() / 4).astype(np.int64)
    y_pred = np.where(rng.random(n) < 0.85, y_true, 1 - y_true).astype(np.int64)
    return y_true, y_pred, sf


def floor(y_true: np.ndarray, y_pred: np.ndarray, sf: pd.DataFrame) -> np.ndarray:
    """Confusion counts of the finest cells with nothing but NumPy: the speed floor."""
    cell = np.zeros(len(y_true), dtype=np.int64)
    size = 1
    for name in sf.columns:
        column = sf[name]
        cell *= len(column.cat.categories)
        cell += column.cat.codes.to_numpy()
        size *= len(column.cat.categories)
    return np.bincount(4 * cell + 2 * y_true + y_pred, minlength=4 * size).reshape(size, 4)


def floor_from_strings(y_true: np.ndarray, y_pred: np.ndarray, sf: pd.DataFrame) -> np.ndarray:
    """The floor for string columns: ``pd.factorize`` each column, then the same bincount."""
    cell = np.zeros(len(y_true), dtype=np.int64)
    size = 1
    for name in sf.columns:
        codes, uniques = pd.factorize(sf[name])
        cell *= len(uniques)
        cell += codes
        size *= len(uniques)
    return np.bincount(4 * cell + 2 * y_true + y_pred, minlength=4 * size).reshape(size, 4)


def fairlearn_table(y_true: np.ndarray, y_pred: np.ndarray, sf: pd.DataFrame, groupings: list[list[str]]):
    import fairlearn.metrics as flm
    import sklearn.metrics as skm

    functions = {
        "accuracy": skm.accuracy_score,
        "selection_rate": flm.selection_rate,
        "tpr": flm.true_positive_rate,
        "fpr": flm.false_positive_rate,
        "fnr": flm.false_negative_rate,
        "tnr": flm.true_negative_rate,
        "ppv": lambda y, p: skm.precision_score(y, p, zero_division=np.nan),
        "f1": lambda y, p: skm.f1_score(y, p, zero_division=np.nan),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [flm.MetricFrame(metrics=functions, y_true=y_true, y_pred=y_pred, sensitive_features=sf[columns])
                for columns in groupings]


def timed(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="100,000 rows, 3 repeats")
    parser.add_argument("--skip-fairlearn", action="store_true", help="time assay and the floor only")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.repeats = min(args.rows, 100_000), 3

    from assay.metrics import evaluate_groups

    y_true, y_pred, sf = make_data(args.rows)
    input_bytes = int(y_true.nbytes + y_pred.nbytes + sf.memory_usage(deep=True, index=False).sum())

    def assay_plain():
        return evaluate_groups(y_true, y_pred, sensitive_features=sf, metrics=METRICS)

    def assay_boot():
        return evaluate_groups(y_true, y_pred, sensitive_features=sf, metrics=METRICS,
                               n_boot=args.n_boot, random_state=0)

    # warm-up (imports, caches), and the numbers agree
    table = assay_plain()
    counts = floor(y_true, y_pred, sf)
    assert counts.sum() == args.rows and table.overall["count"] == args.rows

    results: dict[str, float] = {}
    results["floor_s"], _ = timed(lambda: floor(y_true, y_pred, sf), args.repeats)
    results["assay_s"], _ = timed(assay_plain, args.repeats)
    results["assay_boot_s"], _ = timed(assay_boot, args.repeats)
    results["assay_peak_bytes"] = peak_bytes(assay_plain)
    results["assay_boot_peak_bytes"] = peak_bytes(assay_boot)
    # the same table from string columns (pandas' default "str" dtype): hashing strings costs
    sf_str = sf.astype("str")
    results["floor_str_columns_s"], _ = timed(lambda: floor_from_strings(y_true, y_pred, sf_str), args.repeats)
    results["assay_str_columns_s"], _ = timed(
        lambda: evaluate_groups(y_true, y_pred, sensitive_features=sf_str, metrics=METRICS), max(1, args.repeats // 2)
    )

    groupings = [["sex"], ["race"], ["age"], ["sex", "race"], ["sex", "age"], ["race", "age"], ["sex", "race", "age"]]
    if not args.skip_fairlearn:
        start = time.perf_counter()
        frames = fairlearn_table(y_true, y_pred, sf, groupings)
        results["fairlearn_s"] = time.perf_counter() - start
        start = time.perf_counter()
        fairlearn_table(y_true, y_pred, sf, groupings[-1:])
        results["fairlearn_intersection_only_s"] = time.perf_counter() - start
        # same numbers (assay: NaN where 0/0; none here)
        for columns, frame in zip(groupings, frames):
            ours = table.by_group.loc[" x ".join(columns)]
            labels = [" x ".join(map(str, k)) if isinstance(k, tuple) else str(k) for k in frame.by_group.index]
            assert np.allclose(ours.loc[labels, METRICS].to_numpy(float), frame.by_group[METRICS].to_numpy(float),
                               rtol=0, atol=1e-12)
        results["fairlearn_peak_bytes"] = peak_bytes(lambda: fairlearn_table(y_true, y_pred, sf, groupings[-1:]))

    ratios = {
        "assay_vs_floor": results["assay_s"] / results["floor_s"],
        "assay_vs_floor_str_columns": results["assay_str_columns_s"] / results["floor_str_columns_s"],
        "boot_vs_plain": results["assay_boot_s"] / results["assay_s"],
        "assay_peak_vs_input": results["assay_peak_bytes"] / input_bytes,
        "assay_boot_peak_vs_input": results["assay_boot_peak_bytes"] / input_bytes,
    }
    if "fairlearn_s" in results:
        ratios["fairlearn_vs_assay"] = results["fairlearn_s"] / results["assay_s"]
        ratios["fairlearn_intersection_only_vs_assay"] = results["fairlearn_intersection_only_s"] / results["assay_s"]
    goals = {
        "assay >= 500x faster than MetricFrame": ratios["fairlearn_vs_assay"] >= 500 if "fairlearn_s" in results else None,
        "assay within 5x of the floor": ratios["assay_vs_floor"] <= 5,
        f"{args.n_boot} resamples <= 3x the table without": ratios["boot_vs_plain"] <= 3,
        "peak memory <= 2x the input arrays": max(ratios["assay_peak_vs_input"], ratios["assay_boot_peak_vs_input"]) <= 2,
    }

    machine = machine_info("numpy", "pandas", "fairlearn", "scikit-learn")
    print(f"rows: {args.rows:,}  groups: 89 (7 groupings, 40 cells)  metrics: {len(METRICS)}  "
          f"input arrays: {input_bytes / 1e6:.1f} MB")
    print_machine(machine)
    print()
    print("| what | time | peak memory |")
    print("|---|---:|---:|")
    if "fairlearn_s" in results:
        print(f"| Fairlearn MetricFrame, the 7 groupings | {results['fairlearn_s']:.2f} s | |")
        print(f"| Fairlearn MetricFrame, 3-way intersection only | {results['fairlearn_intersection_only_s']:.2f} s "
              f"| {results['fairlearn_peak_bytes'] / 1e6:.1f} MB |")
    print(f"| NumPy floor (bincount of the cell confusion counts) | {results['floor_s'] * 1e3:.1f} ms | |")
    print(f"| assay evaluate_groups | {results['assay_s'] * 1e3:.1f} ms | {results['assay_peak_bytes'] / 1e6:.1f} MB |")
    print(f"| assay evaluate_groups, n_boot={args.n_boot} | {results['assay_boot_s'] * 1e3:.1f} ms "
          f"| {results['assay_boot_peak_bytes'] / 1e6:.1f} MB |")
    print(f"| NumPy floor, str columns (pd.factorize, then the bincount) | {results['floor_str_columns_s'] * 1e3:.1f} ms | |")
    print(f"| assay evaluate_groups, str columns | {results['assay_str_columns_s'] * 1e3:.1f} ms | |")
    print()
    for name, value in ratios.items():
        print(f"{name}: {value:.3g}")
    print()
    if args.rows != 1_000_000:
        print(f"(the goals are stated for 1,000,000 rows; at {args.rows:,} fixed costs weigh more)")
    for goal, met in goals.items():
        print(f"{'not measured' if met is None else 'met' if met else 'MISSED'}  {goal}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"rows": args.rows, "input_bytes": input_bytes, "results": results, "ratios": ratios,
                       "goals": {k: None if v is None else bool(v) for k, v in goals.items()},
                       "machine": machine}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
