"""Robustness at scale (issue 16): attacks, adversarial training, corruption curves, the tabular attack.

    python benchmarks/bench_robustness.py                              # attacks, corruptions, tabular
    python benchmarks/bench_robustness.py --only attacks --repeats 7   # one section
    python benchmarks/bench_robustness.py --only training              # standard vs PGD-AT vs TRADES (minutes)
    python benchmarks/bench_robustness.py --quick                      # smaller data, fewer repeats

Sections (each runs the reference or the floor in the same run):

* ``attacks`` (``_bench_attacks.py``): PGD-10 and FGSM on 1,000 digits, assay vs ART 1.20 vs a
  bare torch loop, success rates side by side.
* ``training`` (``_bench_attacks.py``): standard vs PGD-AT vs TRADES training of the digits CNN,
  clean and PGD-10 robust accuracy at eps 0.1.
* ``corruptions`` (``_bench_corruptions.py``): ``robustness_curve`` over every corruption x 5
  severities on Adult test and digits vs the model evaluations it needs (bare and through the adapter).
* ``tabular`` (below): ``TabularAttack`` (eps 0.3 sd, at most 3 changed columns, sex/race/age/
  native_country fixed, 100 queries) on Adult test rows against a gradient-boosting pipeline vs the
  floor: the same model evaluations alone (one ``predict_proba`` per iteration on as many rows as
  the attack still had unbroken), so the ratio is the search's own overhead.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import machine_info, print_machine

FIXED = ["sex", "race", "age", "native_country"]


def bench_tabular(n_rows: int = 1000, max_queries: int = 100, repeats: int = 3) -> dict:
    from assay.datasets import load_adult
    from assay.models import train_sklearn_model
    from assay.robustness import TabularAttack

    data = load_adult()
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="gbm", random_state=0)
    X, y = data.test.X.iloc[:n_rows], np.asarray(data.test.y)[:n_rows]
    attack = TabularAttack(model, eps=0.3, max_changes=3, immutable=FIXED, reference=data.train.X,
                           max_queries=max_queries, random_state=0)
    spent, floor = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        result = attack.generate(X, y)
        spent.append(time.perf_counter() - start)
        active = [int((result.queries > t).sum()) for t in range(max_queries)]
        start = time.perf_counter()
        for count in [n_rows, *[a for a in active[1:] if a], n_rows]:  # clean, iterations, the final check
            model.predict_proba(X.iloc[:count])
        floor.append(time.perf_counter() - start)
    out = {"rows": n_rows, "seconds": float(np.median(spent)), "floor_s": float(np.median(floor)),
           "success_rate": result.success_rate, "robust_accuracy": float(np.mean(result.adversarial_pred == y)),
           "clean_accuracy": float(np.mean(result.original_pred == y)),
           "median_queries_successful": float(np.median(result.queries[result.success])),
           "mean_changed_successful": float(result.n_changed[result.success].mean())}
    print(f"TabularAttack on {n_rows:,} Adult test rows (GBM pipeline; eps 0.3 sd, <= 3 columns, fixed "
          f"{', '.join(FIXED)}; {max_queries} queries): {out['seconds']:.2f} s vs model evaluations alone "
          f"{out['floor_s']:.2f} s ({out['seconds'] / out['floor_s']:.2f}x) | success {out['success_rate']:.3f}, "
          f"clean accuracy {out['clean_accuracy']:.3f} -> robust {out['robust_accuracy']:.3f}; successful rows: "
          f"median {out['median_queries_successful']:.0f} queries, {out['mean_changed_successful']:.2f} columns changed")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="attacks,corruptions,tabular",
                        help="comma-separated sections: attacks, training, corruptions, tabular")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    sections = set(args.only.split(","))
    if args.quick:
        args.repeats = 2
    print_machine(machine_info("torch", "scikit-learn", "pandas", "adversarial-robustness-toolbox"))
    if "attacks" in sections:
        from _bench_attacks import bench_attacks

        print("\n== attacks: PGD-10 and FGSM on 1,000 digits")
        bench_attacks(args.repeats)
    if "training" in sections:
        from _bench_attacks import bench_training

        print("\n== adversarial training on digits")
        bench_training()
    if "corruptions" in sections:
        from _bench_corruptions import adult_problem, bench_curves, digits_problem, print_curves

        print("\n== corruption curves")
        for name, make in {"Adult test": lambda: adult_problem(4000 if args.quick else None),
                           "digits": lambda: digits_problem(1 if args.quick else 5)}.items():
            print_curves(name, bench_curves(make(), repeats=min(args.repeats, 3)))
    if "tabular" in sections:
        print("\n== constraint-aware tabular attack")
        bench_tabular(300 if args.quick else 1000, repeats=min(args.repeats, 3))


if __name__ == "__main__":
    main()
