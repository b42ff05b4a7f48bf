"""Data privacy at scale: k-anonymity vs one pandas group-by (the floor), and PII scan throughput.

    python benchmarks/bench_privacy_data.py              # 1,000,000 rows
    python benchmarks/bench_privacy_data.py --rows 200000 --repeats 3 --json out.json

Data (seed 0): ``--rows`` rows, six quasi-identifiers of mixed types -- age (int64, 17-90), zip
(object strings, 1,000 values), sex (categorical, 2), race (categorical, 5), marital status
(categorical, 7), education (categorical, 16) -- and an income column (int64, the sensitive one).

Timed (median of ``--repeats``):

* **floor**: ``frame.groupby(qis, observed=True, dropna=False, sort=False).size().min()``: one
  pandas group-by, the size of the smallest class, nothing else;
* **assay** ``k_anonymity(frame, qis, k=5)``: k, the violating classes (the 50 smallest listed
  with their quasi-identifier values) and the class-size histogram; goal: under 1 s and within
  2x of the floor. For information: ``l_diversity`` and ``t_closeness`` of income (ordered EMD).
* **PII scan** (``scan_pii``): (a) a free-text column where every row is distinct (``--text-rows``
  rows, 5% carrying one planted finding), in rows per second; (b) the same repetitive frame as above
  (every column; distinct values are scanned once); (c) UCI Adult (train, 32,561 rows x 14).
* **generalize** on Adult (age, sex, race, marital_status, native_country; k = 5): greedy vs the
  exhaustive search over the 1,568-node lattice, loss (mean NCP) and time; then the same with
  ``sensitive="occupation"`` and the targets l = 3 (distinct), t = 0.3, and both, each release checked
  with ``l_diversity`` / ``t_closeness`` (``--only generalize`` runs this part alone).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from _common import machine_info, median_time, print_machine


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    zips = np.array([f"{z:05d}" for z in rng.choice(100_000, 1000, replace=False)], dtype=object)
    cat = pd.Categorical.from_codes
    return pd.DataFrame({
        "age": rng.integers(17, 91, n),
        "zip": zips[rng.integers(0, 1000, n)],
        "sex": cat(rng.integers(0, 2, n), ["Female", "Male"]),
        "race": cat(rng.choice(5, n, p=[.1, .1, .1, .05, .65]), ["Asian", "Black", "Hispanic", "Other", "White"]),
        "marital": cat(rng.integers(0, 7, n), [f"m{i}" for i in range(7)]),
        "education": cat(rng.integers(0, 16, n), [f"e{i}" for i in range(16)]),
        "income": rng.integers(0, 200, n) * 500,
    })


PLANTS = ["mail {i}.x@example.org", "card 4111 1111 1111 1111", "call +44 20 7946 {i:04d}", "ip 10.0.{a}.{b}",
          "ssn 219-09-{i:04d}"]


def make_text(n: int, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    words = np.array(["order", "shipped", "late", "refund", "customer", "asked", "about", "the", "invoice", "2021"])
    picks = words[rng.integers(0, len(words), (n, 8))]
    texts = [f"{' '.join(row)} #{i}" for i, row in enumerate(picks)]
    for i in np.flatnonzero(rng.random(n) < 0.05):
        texts[i] += " " + PLANTS[i % len(PLANTS)].format(i=i % 10_000, a=i % 250, b=(i // 250) % 250)
    return pd.Series(texts, name="notes")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--text-rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None)
    parser.add_argument("--only", choices=("generalize",), default=None)
    args = parser.parse_args(argv)

    from assay.datasets import load_adult
    from assay.privacy import generalize, k_anonymity, l_diversity, scan_pii, t_closeness

    if args.only == "generalize":
        print_machine(machine_info("pandas", "numpy"))
        return {"generalize_targets": generalize_targets(load_adult().train.X,
                                                         ["age", "sex", "race", "marital_status", "native_country"])}

    info = machine_info("pandas", "numpy")
    print_machine(info)
    frame = make_frame(args.rows)
    qis = ["age", "zip", "sex", "race", "marital", "education"]
    out: dict = {"machine": info, "rows": args.rows}

    floor, smallest = median_time(
        lambda: frame.groupby(qis, observed=True, dropna=False, sort=False).size().min(), args.repeats)
    ours, result = median_time(lambda: k_anonymity(frame, qis, k=5), args.repeats)
    assert result.k == smallest
    out["k_anonymity"] = {"floor_s": floor, "assay_s": ours, "ratio": ours / floor, "k": result.k,
                          "classes": result.n_classes, "violating_rows": result.n_violating_rows}
    print(f"k-anonymity, {args.rows:,} rows x 6 QIs: floor (one group-by) {floor:.3f} s, assay {ours:.3f} s "
          f"({ours / floor:.2f}x); k = {result.k}, {result.n_classes:,} classes, "
          f"{result.n_violating_rows:,} rows in classes < 5")
    t_l, _ = median_time(lambda: l_diversity(frame, qis, "income"), max(1, args.repeats // 2))
    t_t, _ = median_time(lambda: t_closeness(frame, qis, "income"), max(1, args.repeats // 2))
    out.update(l_diversity_s=t_l, t_closeness_s=t_t)
    print(f"l-diversity of income {t_l:.3f} s; t-closeness of income (ordered EMD, 200 values) {t_t:.3f} s")

    text = make_text(args.text_rows)
    t_text, scan = median_time(lambda: scan_pii(text), max(1, args.repeats // 2))
    found = int(scan.findings["n_rows"].sum())
    out["pii_text"] = {"rows": args.text_rows, "seconds": t_text, "rows_per_s": args.text_rows / t_text,
                       "rows_found": found}
    print(f"PII scan, free text ({args.text_rows:,} distinct rows): {t_text:.3f} s = "
          f"{args.text_rows / t_text:,.0f} rows/s; {found:,} findings rows")
    t_frame, _ = median_time(lambda: scan_pii(frame), max(1, args.repeats // 2))
    out["pii_frame"] = {"rows": args.rows, "columns": frame.shape[1], "seconds": t_frame}
    print(f"PII scan, the {args.rows:,} x {frame.shape[1]} frame (repetitive columns): {t_frame:.3f} s = "
          f"{args.rows * frame.shape[1] / t_frame:,.0f} cells/s")
    adult = load_adult().train.X
    t_adult, _ = median_time(lambda: scan_pii(adult), args.repeats)
    out["pii_adult_s"] = t_adult
    print(f"PII scan, Adult train (32,561 x 14): {t_adult:.3f} s")

    aq = ["age", "sex", "race", "marital_status", "native_country"]
    t0 = time.perf_counter()
    greedy = generalize(adult, aq, k=5)
    t_greedy = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = generalize(adult, aq, k=5, max_nodes=10_000)
    t_exact = time.perf_counter() - t0
    out["generalize_adult"] = {"greedy": {"loss": greedy.loss, "seconds": t_greedy, "nodes": greedy.nodes_evaluated,
                                          "suppressed": greedy.n_suppressed},
                               "exhaustive": {"loss": exact.loss, "seconds": t_exact, "nodes": exact.nodes_evaluated,
                                              "suppressed": exact.n_suppressed}}
    print(f"generalize Adult k=5: greedy loss {greedy.loss:.4f} ({greedy.nodes_evaluated} nodes, {t_greedy:.2f} s, "
          f"{greedy.n_suppressed} rows suppressed); exhaustive loss {exact.loss:.4f} ({exact.nodes_evaluated} nodes, "
          f"{t_exact:.2f} s, {exact.n_suppressed} suppressed)")

    out["generalize_targets"] = generalize_targets(adult, aq)
    goal = ours < 1.0 and ours <= 2 * floor
    print(f"goal (k-anonymity under 1 s and within 2x of one group-by): {'met' if goal else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


def generalize_targets(adult: pd.DataFrame, aq: list) -> list:
    """k = 5 alone, and with distinct l = 3 / t = 0.3 of occupation, greedy and exhaustive."""
    from assay.privacy import generalize, l_diversity, t_closeness

    rows = []
    print("\n| targets (k = 5 and ...) | search | loss (mean NCP) | rows suppressed | k | l of occupation | "
          "t of occupation | nodes | seconds |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, kw in (("-", {}), ("l = 3", {"l": 3}), ("t = 0.3", {"t": 0.3}), ("l = 3, t = 0.3", {"l": 3, "t": 0.3})):
        for search, nodes in (("greedy", 256), ("exhaustive", 10_000)):
            t0 = time.perf_counter()
            g = generalize(adult, aq, k=5, max_nodes=nodes, **({"sensitive": "occupation", **kw} if kw else {}))
            seconds = time.perf_counter() - t0
            l_ = l_diversity(g.frame, aq, "occupation").l_distinct
            t_ = t_closeness(g.frame, aq, "occupation").t
            rows.append({"targets": name, "search": search, "loss": g.loss, "suppressed": g.n_suppressed, "k": g.k,
                         "l": l_, "t": t_, "nodes": g.nodes_evaluated, "seconds": seconds})
            print(f"| {name} | {search} | {g.loss:.4f} | {g.n_suppressed} | {g.k} | {l_} | {t_:.3f} | "
                  f"{g.nodes_evaluated} | {seconds:.2f} |")
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
