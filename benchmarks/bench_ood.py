"""OOD feature detectors at scale: assay's Mahalanobis and KNN vs straightforward baselines.

    python benchmarks/bench_ood.py            # 200,000 x 512 float32 fit embeddings, 20,000 test rows
    python benchmarks/bench_ood.py --quick    # 20,000 fit rows, 2,000 test rows
    python benchmarks/bench_ood.py --fit-rows 100000 --test-rows 10000 --dim 256 --json out.json

Data: synthetic embeddings, ``--classes`` Gaussian clusters (seeded; random unit-scale centres,
a shared random correlation, then a ReLU as in a penultimate layer), float32. Test rows: half
from the clusters, half from a shifted distribution.

Timed in the same run (fit + score each):

* **Mahalanobis** -- assay ``Mahalanobis`` (one pass of blocked ``syrk`` for the shared
  covariance, an eigen-whitening, all class distances by matrix products in row blocks) vs a
  straightforward NumPy version: float64 copy, class means, ``np.linalg.inv`` of the
  covariance, and per class ``einsum("ij,ij->i", (x - mu) @ inv, x - mu)``.
* **KNN** (k = ``--k``) -- assay ``KNN`` (float32 similarity blocks, top-k, exact float64
  re-check of the candidates) vs scikit-learn ``NearestNeighbors`` (fit + ``kneighbors``) on the
  same L2-normalised features (the float32 vectors KNN stores).

The scores must agree (``np.allclose``, rtol 1e-6). Peak memory: the peak of Python-traced
allocations (``tracemalloc``; numpy reports its buffers) during one fit + score, one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from _common import machine_info, peak_bytes, print_machine


def make_data(n_fit: int, n_test: int, dim: int, n_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * 1.5
    mixing = (np.eye(dim) + rng.normal(scale=0.5 / np.sqrt(dim), size=(dim, dim))).astype(np.float32)
    y = rng.integers(0, n_classes, n_fit)

    def sample(labels, shift=0.0):
        out = np.empty((len(labels), dim), dtype=np.float32)
        for start in range(0, len(labels), 16384):
            part = labels[start:start + 16384]
            noise = rng.standard_normal((len(part), dim), dtype=np.float32) @ mixing
            out[start:start + len(part)] = np.maximum(centres[part] + noise + shift, 0)
        return out

    X_fit = sample(y)
    half = n_test // 2
    X_test = np.vstack([sample(rng.integers(0, n_classes, half)),
                        sample(rng.integers(0, n_classes, n_test - half), shift=rng.normal(size=dim) * 0.7)])
    return X_fit, y, X_test


def numpy_mahalanobis(X_fit, y, X_test):
    """The straightforward version: inv of the covariance, one einsum per class."""
    X = X_fit.astype(np.float64)
    classes = np.unique(y)
    means = np.stack([X[y == c].mean(axis=0) for c in classes])
    centred = X - means[np.searchsorted(classes, y)]
    cov = centred.T @ centred / len(X)
    inv = np.linalg.inv(cov)
    T = X_test.astype(np.float64)
    scores = np.full(len(T), np.inf)
    for mu in means:
        diff = T - mu
        scores = np.minimum(scores, np.einsum("ij,ij->i", diff @ inv, diff))
    return scores


def assay_mahalanobis(X_fit, y, X_test):
    from assay.ood import Mahalanobis

    return Mahalanobis().fit(X_fit, y).score(X_test)


def sklearn_knn(bank, T_norm, k):
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=k).fit(bank).kneighbors(T_norm)[0][:, -1]


def assay_knn(X_fit, X_test, k):
    from assay.ood import KNN

    det = KNN(k=k, progress=False).fit(X_fit)
    return det.score(X_test), det.bank_


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit-rows", type=int, default=200_000)
    parser.add_argument("--test-rows", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="20,000 fit rows, 2,000 test rows")
    parser.add_argument("--skip-memory", action="store_true", help="no tracemalloc runs")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.fit_rows, args.test_rows = min(args.fit_rows, 20_000), min(args.test_rows, 2_000)

    X_fit, y, X_test = make_data(args.fit_rows, args.test_rows, args.dim, args.classes)
    assay_knn(X_fit[:1000], X_test[:10], 5)  # warm-up: imports (torch), BLAS threads

    results: dict[str, float] = {}
    results["mahalanobis_numpy_s"], ref_md = timed(lambda: numpy_mahalanobis(X_fit, y, X_test))
    results["mahalanobis_assay_s"], ours_md = timed(lambda: assay_mahalanobis(X_fit, y, X_test))
    results["mahalanobis_max_rel_diff"] = float(np.max(np.abs(ours_md - ref_md) / np.abs(ref_md)))
    assert np.allclose(ours_md, ref_md, rtol=1e-6, atol=0), results["mahalanobis_max_rel_diff"]

    results["knn_assay_s"], (ours_knn, bank) = timed(lambda: assay_knn(X_fit, X_test, args.k))
    T64 = X_test.astype(np.float64)
    T_norm = T64 / np.linalg.norm(T64, axis=1, keepdims=True)
    results["knn_sklearn_s"], ref_knn = timed(lambda: sklearn_knn(bank, T_norm, args.k))
    results["knn_max_rel_diff"] = float(np.max(np.abs(ours_knn - ref_knn) / np.abs(ref_knn)))
    assert np.allclose(ours_knn, ref_knn, rtol=1e-6, atol=0), results["knn_max_rel_diff"]

    if not args.skip_memory:
        results["mahalanobis_numpy_peak_bytes"] = peak_bytes(lambda: numpy_mahalanobis(X_fit, y, X_test))
        results["mahalanobis_assay_peak_bytes"] = peak_bytes(lambda: assay_mahalanobis(X_fit, y, X_test))
        results["knn_assay_peak_bytes"] = peak_bytes(lambda: assay_knn(X_fit, X_test, args.k))
        results["knn_sklearn_peak_bytes"] = peak_bytes(lambda: sklearn_knn(bank, T_norm, args.k))

    ratios = {
        "mahalanobis_numpy_vs_assay": results["mahalanobis_numpy_s"] / results["mahalanobis_assay_s"],
        "knn_sklearn_vs_assay": results["knn_sklearn_s"] / results["knn_assay_s"],
    }
    machine = machine_info("numpy", "scipy", "scikit-learn", "torch")
    mb = lambda key: f"{results[key] / 1e6:,.0f} MB" if key in results else ""  # noqa: E731
    print(f"fit rows: {args.fit_rows:,}  test rows: {args.test_rows:,}  dim: {args.dim}  classes: "
          f"{args.classes}  k: {args.k}  input: {X_fit.nbytes / 1e6:,.0f} MB float32")
    print_machine(machine)
    print()
    print("| what (fit + score) | time | peak memory | max rel. diff of scores |")
    print("|---|---:|---:|---:|")
    print(f"| Mahalanobis, NumPy (inv + per-class einsum) | {results['mahalanobis_numpy_s']:.2f} s "
          f"| {mb('mahalanobis_numpy_peak_bytes')} | |")
    print(f"| Mahalanobis, assay | {results['mahalanobis_assay_s']:.2f} s | {mb('mahalanobis_assay_peak_bytes')} "
          f"| {results['mahalanobis_max_rel_diff']:.1e} |")
    print(f"| KNN, scikit-learn NearestNeighbors | {results['knn_sklearn_s']:.2f} s | {mb('knn_sklearn_peak_bytes')} | |")
    print(f"| KNN, assay | {results['knn_assay_s']:.2f} s | {mb('knn_assay_peak_bytes')} "
          f"| {results['knn_max_rel_diff']:.1e} |")
    print()
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}x")
    goals = {f"{name} >= 3x": value >= 3 for name, value in ratios.items()}
    for goal, met in goals.items():
        print(f"{'met' if met else 'MISSED'}  {goal}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), "results": results, "ratios": ratios, "goals": goals,
                       "machine": machine}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
