"""Risk wrappers vs the bare loops they replace, in the same run (issue 19).

    python benchmarks/bench_risk.py            # 100,000 inputs; 1,000,000 x 64 representations
    python benchmarks/bench_risk.py --quick    # 10x smaller

* MC dropout, 20 samples, on 100,000 rows of 20 features through a ``TabularMLP`` (64, 32) with its
  two dropout layers: ``predict_risk(MCDropout(model, n_samples=20), X)`` (the adapter's batches
  of 256 rows; one batched pass of the clean copy + 20 masked copies per batch) vs (a) the bare
  loop ``model.train(); [model(xb) for _ in range(20)]`` per batch and (b) the bare batched pass
  ``model(xb.repeat(20, 1))`` in train mode; both followed by the mean and variance.
* A 5-member ensemble of the same network: ``predict_risk(DeepEnsemble(...), X)`` vs the bare
  loop ``[m(xb) for m in members]`` per batch of 256, mean and variance.
* ``HistogramBias`` scoring of 1,000,000 x 64 float32 representations (20 bins per dimension):
  ``log_density_representations(Z)`` vs one ``np.searchsorted(edges[d], Z[:, d])`` per dimension
  (the bin lookup alone, without the table lookup and sum).

Median of ``--repeats`` runs each.

``--resampling``: digits with a planted rare style (2% of the training split rotated by 90°):
a ``DigitsCNN`` trained 20 epochs by ``fit_risk_model`` with and without DB-VAE resampling
(``RepresentationResampler(alpha=0.1, n_bins=10)`` on the ``pool`` layer, refitted each epoch),
accuracy on the 720 common and the same 720 rotated held-out digits, and HistogramBias's AUROC
(rare vs common) on ``penultimate.1``, for seeds 0..``--seeds``-1 (default 3), with the mean and
standard deviation of the gains over seeds. ``--resampling-only`` skips the timings.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info, print_machine

BATCH, SAMPLES, MEMBERS = 256, 20, 5


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def bare_mc_loop(model, X):
    model.train()
    x_all = torch.from_numpy(X)
    mean, var = np.empty((len(X), 2), np.float32), np.empty((len(X), 2), np.float32)
    with torch.no_grad():
        for i in range(0, len(X), BATCH):
            xb = x_all[i:i + BATCH]
            s = torch.stack([model(xb) for _ in range(SAMPLES)])
            mean[i:i + BATCH], var[i:i + BATCH] = s.mean(0).numpy(), s.var(0).numpy()
    model.eval()
    return mean, var


def bare_mc_batched(model, X):
    model.train()
    x_all = torch.from_numpy(X)
    mean, var = np.empty((len(X), 2), np.float32), np.empty((len(X), 2), np.float32)
    with torch.no_grad():
        for i in range(0, len(X), BATCH):
            xb = x_all[i:i + BATCH]
            s = model(xb.repeat(SAMPLES, 1)).view(SAMPLES, len(xb), -1)
            mean[i:i + BATCH], var[i:i + BATCH] = s.mean(0).numpy(), s.var(0).numpy()
    model.eval()
    return mean, var


def bare_ensemble(members, X):
    x_all = torch.from_numpy(X)
    mean, var = np.empty((len(X), 2), np.float32), np.empty((len(X), 2), np.float32)
    with torch.no_grad():
        for i in range(0, len(X), BATCH):
            xb = x_all[i:i + BATCH]
            s = torch.stack([m(xb) for m in members])
            mean[i:i + BATCH], var[i:i + BATCH] = s.mean(0).numpy(), s.var(0).numpy()
    return mean, var


def bare_searchsorted(edges, Z):
    out = np.empty(Z.shape, dtype=np.int64)
    for d in range(Z.shape[1]):
        out[:, d] = np.searchsorted(edges[d], Z[:, d])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: stable on a shared machine)")
    parser.add_argument("--resampling", action="store_true", help="also the digits resampling experiment")
    parser.add_argument("--resampling-only", action="store_true", help="only the digits resampling experiment")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 of the resampling experiment")
    parser.add_argument("--alpha", type=float, default=0.1, help="RepresentationResampler's smoothing alpha")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from assay.models import TabularMLP
    from assay.uncertainty.wrappers import DeepEnsemble, HistogramBias, MCDropout, predict_risk

    n, n_z = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    print_machine(machine_info("torch", "numpy"))
    print(f"torch threads: {torch.get_num_threads()}")
    if args.resampling_only:
        resampling(tuple(range(args.seeds)), alpha=args.alpha)
        return
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 20)).astype(np.float32)
    torch.manual_seed(0)
    model = TabularMLP(20, 2, hidden=(64, 32), dropout=0.1).eval()

    rows = []
    wrapper = MCDropout(model, n_samples=SAMPLES)
    t_ours, _ = timed(lambda: predict_risk(wrapper, X, batch_size=BATCH, cache=False), args.repeats)
    t_loop, _ = timed(lambda: bare_mc_loop(model, X), args.repeats)
    t_batched, _ = timed(lambda: bare_mc_batched(model, X), args.repeats)
    rows += [("MC dropout, 20 samples", "bare loop over samples", t_loop, t_loop),
             ("MC dropout, 20 samples", "bare batched pass (20 copies)", t_batched, t_loop),
             ("MC dropout, 20 samples", "assay predict_risk(MCDropout)", t_ours, t_loop)]

    ensemble = DeepEnsemble(lambda: TabularMLP(20, 2, hidden=(64, 32), dropout=0.1), n_members=MEMBERS).eval()
    t_ours, _ = timed(lambda: predict_risk(ensemble, X, batch_size=BATCH, cache=False), args.repeats)
    t_bare, _ = timed(lambda: bare_ensemble(list(ensemble.members), X), args.repeats)
    rows += [("ensemble, 5 members", "bare loop over members", t_bare, t_bare),
             ("ensemble, 5 members", "assay predict_risk(DeepEnsemble)", t_ours, t_bare)]

    Z = rng.standard_t(4, size=(n_z, 64)).astype(np.float32)
    bias = HistogramBias(model, layer="head", n_bins=20).fit_representations(Z[:100_000])
    edges = bias.lo_[:, None] + bias.width_[:, None] * np.arange(21)
    t_ours, scores = timed(lambda: bias.log_density_representations(Z), args.repeats)
    t_bare, _ = timed(lambda: bare_searchsorted(edges, Z), args.repeats)
    assert np.isfinite(scores).all()
    rows += [(f"HistogramBias {n_z:,} x 64", "np.searchsorted per dimension", t_bare, t_bare),
             (f"HistogramBias {n_z:,} x 64", "assay log_density_representations", t_ours, t_bare)]

    print(f"\n{n:,} inputs (20 features) for the network rows; median of {args.repeats}\n")
    print("| task | who | seconds | x bare |")
    print("|---|---|---:|---:|")
    for task, who, seconds, ref in rows:
        print(f"| {task} | {who} | {seconds:.3f} | {seconds / ref:.2f} |")

    if args.resampling or args.resampling_only:
        resampling(tuple(range(args.seeds)), alpha=args.alpha)


def resampling(seeds=(0, 1, 2), alpha: float = 0.1) -> None:
    from sklearn.metrics import roc_auc_score

    from assay.datasets import load_digits_split
    from assay.models import DigitsCNN
    from assay.uncertainty.wrappers import HistogramBias, RepresentationResampler, fit_risk_model
    from assay.uncertainty.wrappers.analysis import plant_rare_style

    d = load_digits_split(random_state=0)
    X_common = np.concatenate([d.val.X.numpy(), d.test.X.numpy()])
    y_test = np.concatenate([d.val.y.numpy(), d.test.y.numpy()])
    X_rare = plant_rare_style(X_common, 1.0)[0]

    def accuracy(model, X):
        with torch.no_grad():
            return float((model(torch.from_numpy(X)).argmax(1).numpy() == y_test).mean())

    print("\n| seed | training | common accuracy | rare-style accuracy | HistogramBias AUROC (rare vs common) |")
    print("|---:|---|---:|---:|---:|")
    gains = {"common": [], "rare": []}
    for seed in seeds:
        measured = {}
        X_train, _ = plant_rare_style(d.train.X.numpy(), 0.02, random_state=seed)
        for name, options in (("plain", {}), ("resampled", {"resample": RepresentationResampler(alpha=alpha, n_bins=10),
                                                            "resample_layer": "pool"})):
            torch.manual_seed(seed)
            model = fit_risk_model(DigitsCNN(), (X_train, d.train.y.numpy()), epochs=20, lr=3e-3, batch_size=64,
                                   random_state=seed, **options)
            bias = HistogramBias(model, layer="penultimate.1", n_bins=10).fit(X_train)
            auc = roc_auc_score(np.r_[np.zeros(len(X_common)), np.ones(len(X_rare))],
                                np.r_[-bias.log_density(X_common), -bias.log_density(X_rare)])
            measured[name] = (accuracy(model, X_common), accuracy(model, X_rare))
            print(f"| {seed} | {name} | {measured[name][0]:.4f} | {measured[name][1]:.4f} | {auc:.3f} |", flush=True)
        gains["common"].append(100 * (measured["resampled"][0] - measured["plain"][0]))
        gains["rare"].append(100 * (measured["resampled"][1] - measured["plain"][1]))
    for part, values in gains.items():
        spread = statistics.stdev(values) if len(values) > 1 else float("nan")
        print(f"{part} accuracy, resampled - plain, points: mean {statistics.mean(values):+.1f}, sd {spread:.1f}, "
              f"min {min(values):+.1f}, max {max(values):+.1f} over {len(values)} seeds")


if __name__ == "__main__":
    main()
