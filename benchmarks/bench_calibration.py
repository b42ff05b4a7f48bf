"""Calibration at scale: assay vs netcal vs a bare NumPy floor, in one run.

    python benchmarks/bench_calibration.py            # 1,000,000 x 10 probabilities
    python benchmarks/bench_calibration.py --quick    # 100,000 rows, fewer repeats

Data: ``--rows`` rows of 10-class probabilities (softmax of normal logits), labels drawn from
them, three sensitive features -- sex (2), race (5), age band (4): 40 intersectional cells.

Sections (each a function; each asserts that every tool gives the same number):

* ``ece``: ECE, 15 equal-width bins, top-label -- assay ``expected_calibration_error``,
  netcal ``ECE(bins=15)``, and the floor: bare NumPy, ``max``/``argmax`` and one
  ``np.bincount`` pass (no input checks).
* ``ece_groups``: ECE of every group and intersection of the 40 cells (7 groupings, 89 groups
  and overall: ``evaluate_groups(metrics=["ece"])``) against the overall ECE alone.
* ``temperature`` (``_bench_temperature.py``): temperature scaling on the same size, assay vs
  netcal vs a bare SciPy L-BFGS floor, same T asserted.
* ``conformal`` (``_bench_conformal.py``): LAC and APS sets, 90,000 calibration + 100,000 test
  rows, assay vs MAPIE vs a NumPy floor, same sets asserted; Mondrian with 40 groups vs marginal.

``--only ece,temperature`` runs some sections; each helper script also runs alone.

Times are medians of ``--repeats`` runs (netcal: of fewer). The issue's goals are checked at the end.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from _common import machine_info, median_time, print_machine

N_BINS = 15
FEATURES = {"sex": 2, "race": 5, "age": 4}


def make_data(n: int, k: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 2.0
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(proba, axis=1)
    y = np.minimum((cumulative < rng.random((n, 1))).sum(axis=1), k - 1)
    sf = pd.DataFrame({name: pd.Categorical.from_codes(rng.integers(0, size, n), categories=[f"{name}{i}"
                                                                                             for i in range(size)])
                       for name, size in FEATURES.items()})
    return proba, y, sf




def floor_ece(proba: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> float:
    """Top-label ECE in bare NumPy: no checks, one bincount pass over bin x outcome."""
    predicted = proba.argmax(axis=1)
    confidence = proba[np.arange(len(proba)), predicted]
    bins = np.minimum((confidence * n_bins).astype(np.intp), n_bins - 1)
    key = 2 * bins + (predicted == y)
    counts = np.bincount(key, minlength=2 * n_bins)
    conf_sum = np.bincount(bins, weights=confidence, minlength=n_bins)
    correct = counts[1::2]
    return float(np.abs(correct - conf_sum).sum() / len(proba))


def bench_ece(proba: np.ndarray, y: np.ndarray, repeats: int) -> dict[str, float]:
    from assay.metrics import expected_calibration_error

    rows = {}
    rows["floor"], floor = median_time(lambda: floor_ece(proba, y), repeats)
    rows["assay"], ours = median_time(lambda: expected_calibration_error(y, proba, n_bins=N_BINS), repeats)
    try:
        from netcal.metrics import ECE
    except ImportError:
        ECE = None
    if ECE is not None:
        rows["netcal"], theirs = median_time(lambda: ECE(bins=N_BINS).measure(proba, y), max(1, repeats // 3))
        assert abs(theirs - ours) < 1e-9, (theirs, ours)
    assert abs(floor - ours) < 1e-9, (floor, ours)
    rows["value"] = ours
    return rows


def bench_ece_groups(proba: np.ndarray, y: np.ndarray, sf: pd.DataFrame, repeats: int) -> dict[str, float]:
    from assay.metrics import evaluate_groups, expected_calibration_error

    rows = {}
    rows["overall"], overall = median_time(lambda: expected_calibration_error(y, proba, n_bins=N_BINS), repeats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows["groups"], table = median_time(lambda: evaluate_groups(y, y_score=proba, sensitive_features=sf,
                                                              metrics=["ece"], n_bins=N_BINS), repeats)
        rows["groups_boot"], _ = median_time(lambda: evaluate_groups(y, y_score=proba, sensitive_features=sf,
                                                               metrics=["ece"], n_bins=N_BINS, n_boot=200,
                                                               random_state=0), max(1, repeats // 2))
    assert abs(table.overall["ece"] - overall) < 1e-12, (table.overall["ece"], overall)
    rows["n_groups"] = len(table.by_group)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="100,000 rows, 3 repeats")
    parser.add_argument("--only", default="ece,temperature,conformal",
                        help="comma-separated sections: ece, temperature, conformal (default: all)")
    args = parser.parse_args(argv)
    sections = set(args.only.split(","))
    if args.quick:
        args.rows, args.repeats = 100_000, 3
    print_machine(machine_info("numpy", "pandas", "scipy", "netcal", "mapie"))
    if "ece" in sections:
        run_ece(args)
    if "temperature" in sections:
        from _bench_temperature import bench_temperature, print_temperature

        print()
        print_temperature(bench_temperature(args.rows, 10, repeats=min(args.repeats, 3)))
    if "conformal" in sections:
        from _bench_conformal import bench_conformal, make_conformal_data, print_conformal

        scale = 10 if args.quick else 1
        print(f"\nconformal sets: {90_000 // scale:,} calibration + {100_000 // scale:,} test rows, 10 classes")
        print_conformal(bench_conformal(make_conformal_data(90_000 // scale, 100_000 // scale), args.repeats))


def run_ece(args: argparse.Namespace) -> None:
    proba, y, sf = make_data(args.rows)
    print(f"rows: {args.rows:,} x {proba.shape[1]} classes ({proba.nbytes / 1e6:,.0f} MB), repeats: {args.repeats}")

    ece = bench_ece(proba, y, args.repeats)
    print(f"\nECE ({N_BINS} bins, top-label) = {ece['value']:.6f}")
    for name in ("netcal", "floor", "assay"):
        if name in ece:
            print(f"  {name:<8} {ece[name] * 1e3:9.1f} ms")
    groups = bench_ece_groups(proba, y, sf, args.repeats)
    print(f"\nECE of every group ({groups['n_groups']} groups of 40 cells) vs overall")
    print(f"  overall            {groups['overall'] * 1e3:9.1f} ms")
    print(f"  groups             {groups['groups'] * 1e3:9.1f} ms")
    print(f"  groups, n_boot=200 {groups['groups_boot'] * 1e3:9.1f} ms")

    print("\ngoals (issue 13)")
    ratio = ece["assay"] / ece["floor"]
    print(f"  assay ECE within 1.3x of the floor: {ratio:.2f}x  {'met' if ratio <= 1.3 else 'NOT met'}")
    if "netcal" in ece:
        print(f"  assay vs netcal: {ece['netcal'] / ece['assay']:.1f}x faster")
    ratio = groups["groups"] / groups["overall"]
    print(f"  ECE for 40 groups at most 1.5x overall: {ratio:.2f}x  {'met' if ratio <= 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
