"""MMD-critic prototypes and criticisms: assay's blocked greedy vs a direct full-kernel greedy, and feature
visualization of the digits CNN's 10 classes (issue 20, items 2 and 3).

    python benchmarks/bench_prototypes.py            # about a minute on one core
    python benchmarks/bench_prototypes.py --large    # + 20,000 rows (the direct version needs a 3.2 GB kernel)

Prototypes (10) and criticisms (5) of

* the 1,797 digits (64 pixels), gamma by the median heuristic;
* a 3-blob Gaussian mixture of 8,000 rows in 32 dimensions (``--large``: 20,000 rows).

"direct" builds the whole ``n x n`` kernel (scikit-learn's ``rbf_kernel``) and, at each greedy step, scores
every candidate from it (the reference implementation's shape); assay never stores the kernel (blocked
column sums, one kernel row per selection). Both must select the same rows; time (median of 3) and the peak
of traced allocations are printed.

Feature visualization: ``FeatureVisualization(objective="log_prob", steps=200)`` of the 10 digit classes on
``train_digits_cnn`` (5 epochs), with and without the robustness transforms; the lowest target probability
and the mean total variation are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info, peak_bytes, print_machine

M_PROTOTYPES, M_CRITICISMS = 10, 5


def direct(X, gamma, m, c):
    """The full-kernel greedy: K stored, every candidate scored from it."""
    from sklearn.metrics.pairwise import rbf_kernel

    K = rbf_kernel(X, gamma=gamma)
    n = len(K)
    colsum = K.sum(0) / n
    protos: list[int] = []
    for _ in range(m):
        gain = 2 * colsum - (2 * K[protos].sum(0) + 1) / (len(protos) + 1)
        gain[protos] = -np.inf
        protos.append(int(np.argmax(gain)))
    witness = np.abs(colsum - K[protos].mean(0))
    crits: list[int] = []
    for _ in range(c):
        if crits:
            rows = K[crits]
            reg = np.log(np.maximum(np.abs(1 - (rows * np.linalg.solve(K[np.ix_(crits, crits)], rows)).sum(0)),
                                    1e-300))
        else:
            reg = np.zeros(n)
        gain = witness + reg
        gain[protos + crits] = -np.inf
        crits.append(int(np.argmax(gain)))
    return protos, crits


def ours(X, gamma, m, c):
    from assay.explain.prototypes import _column_means, select_criticisms, select_prototypes

    colmean = _column_means(X, gamma, None)  # once for both, as MMDCritic.fit does
    protos, _ = select_prototypes(X, m, gamma, column_means=colmean)
    crits, _ = select_criticisms(X, protos, c, gamma, column_means=colmean)
    return protos.tolist(), crits.tolist()


def timed(function, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def bench_prototypes(large: bool) -> None:
    from sklearn.datasets import load_digits

    from assay.explain.prototypes import median_heuristic_gamma

    rng = np.random.default_rng(0)
    sets = {"digits 1,797 x 64": load_digits().data / 16.0}
    sizes = [8000] + ([20000] if large else [])
    for n in sizes:
        centres = rng.normal(0, 4, size=(3, 32))
        sets[f"mixture {n:,} x 32"] = centres[rng.integers(3, size=n)] + rng.normal(size=(n, 32))
    print(f"{'data':<22} {'direct s':>9} {'assay s':>8} {'direct MiB':>11} {'assay MiB':>10} same")
    for name, X in sets.items():
        gamma = median_heuristic_gamma(X)
        t_direct, a = timed(lambda: direct(X, gamma, M_PROTOTYPES, M_CRITICISMS))
        t_ours, b = timed(lambda: ours(X, gamma, M_PROTOTYPES, M_CRITICISMS))
        m_direct = peak_bytes(lambda: direct(X, gamma, M_PROTOTYPES, M_CRITICISMS)) / 2 ** 20
        m_ours = peak_bytes(lambda: ours(X, gamma, M_PROTOTYPES, M_CRITICISMS)) / 2 ** 20
        print(f"{name:<22} {t_direct:9.2f} {t_ours:8.2f} {m_direct:11.0f} {m_ours:10.0f} {a == b}")


def bench_visualization() -> None:
    import torch

    from assay.datasets import load_digits_split
    from assay.explain import FeatureVisualization
    from assay.models import train_digits_cnn

    torch.set_num_threads(1)
    data = load_digits_split()
    model = train_digits_cnn(data.train.X, data.train.y, epochs=5, random_state=0)
    print(f"{'feature visualization (10 classes, 200 steps)':<62} {'s':>6} {'min p':>6} {'mean TV':>8}")
    for label, kwargs in [("log_prob", {}), ("log_prob, tv=1", {"tv": 1.0}),
                          ("log_prob, Fourier + jitter 1 + scales + rotation 10 + blur 0.5",
                           {"fourier": True, "jitter": 1, "scales": (0.9, 1.0, 1.1), "rotation": 10.0, "blur": 0.5}),
                          ("class logit", {"objective": "class"})]:
        vis = FeatureVisualization(model, input_shape=(1, 8, 8), steps=200, **{"objective": "log_prob", **kwargs})
        seconds, result = timed(lambda: vis.visualize(np.arange(10)), repeats=1)
        frame = result.to_frame()
        print(f"{label:<62} {seconds:6.2f} {frame['target_probability'].min():6.3f} "
              f"{frame['total_variation'].mean():8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true")
    args = parser.parse_args()
    print_machine(machine_info("numpy", "scikit-learn", "torch"))
    bench_prototypes(args.large)
    bench_visualization()


if __name__ == "__main__":
    main()
