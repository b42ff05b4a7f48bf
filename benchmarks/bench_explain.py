"""Explanations: assay vs Captum 0.9, shap 0.51 and scikit-learn on the same inputs, in the same run (issue 15).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_explain.py                # everything (minutes)
    PYTHONPATH=src .venv/bin/python benchmarks/bench_explain.py --only ig      # one part: ig, occlusion,
                                                                               # gradcam, kernelshap, permutation

Everything runs on one thread (torch and scikit-learn's OpenMP). Parts, each timed as the median
of ``--repeats`` interleaved runs, with the peak of Python-traced
allocations (numpy buffers; torch's CPU tensors are not traced) and the largest absolute
difference to the reference:

* ``ig``: integrated gradients, 50 Gauss-Legendre steps, over 1,000 digits (``train_digits_cnn``,
  10 epochs) for the predicted class: assay ``IntegratedGradients`` vs Captum's, both with 64 rows
  x 50 steps per pass, vs the bare cost: the same 50 forward+backward passes of 3,200 path
  points in a plain loop.
* ``occlusion``: 2x2 windows, stride 2, on the 1,000 digits: assay vs Captum (``perturbations_per_eval``
  matched to assay's batch).
* ``gradcam``: Grad-CAM on the last convolution, upsampled to 8x8 (nearest): assay vs Captum's
  ``LayerGradCam`` + ``LayerAttribution.interpolate``.
* ``kernelshap``: 200 Adult rows, 8 columns (ordinal-encoded), a ``HistGradientBoostingClassifier``
  (50 trees) and a scaled logistic regression, 20 background rows: assay ``KernelSHAP`` (exact: 2^8
  coalitions, each distinct model row evaluated once) vs ``shap.KernelExplainer``
  (default ``nsamples``), both scored against brute-force exact Shapley values.
* ``permutation``: permutation importance (5 repeats) of the Adult pipeline (one-hot + GBM) on 2,000
  test rows: assay vs scikit-learn's ``permutation_importance`` (same permutations: equal values),
  vs the model evaluations alone (``predict_proba`` of the 14 x 5 permuted copies, built beforehand),
  and vs the evaluations assay needs alone: only the rows a shuffle changed (a row whose shuffled
  value equals its own keeps the baseline's probabilities), built beforehand.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info, peak_bytes, print_machine

ROWS, STEPS, PER_PASS = 1000, 50, 64


def _interleaved(runs: dict, repeats: int) -> dict:
    """Median seconds per name of ``runs`` (name -> callable), interleaved; then each one's peak and result."""
    times = {name: [] for name in runs}
    results = {}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), peak_bytes(fn), results[name]) for name, fn in runs.items()}


def _table(title: str, rows: dict, reference: str, errors: dict) -> None:
    print(f"\n{title}")
    print("| who | seconds | peak MiB (traced) | max abs diff | x " + reference + " |")
    print("|---|---:|---:|---:|---:|")
    base = rows[reference][0]
    for name, (seconds, peak, _) in rows.items():
        err = errors.get(name)
        print(f"| {name} | {seconds:.3f} | {peak / 2**20:.1f} | {'' if err is None else f'{err:.1e}'} | "
              f"{seconds / base:.2f} |")


def _digits():
    from assay.datasets import load_digits_split
    from assay.models import train_digits_cnn

    data = load_digits_split()
    model = train_digits_cnn(data.train.X, data.train.y, epochs=10, random_state=0)
    X = torch.cat([data.train.X, data.val.X, data.test.X])[:ROWS].float()
    model.eval()
    with torch.no_grad():
        target = model(X).argmax(1)
    return model, X, target


def bench_ig(repeats: int) -> None:
    from captum.attr import IntegratedGradients as CaptumIG

    from assay.explain import IntegratedGradients

    model, X, target = _digits()
    nodes, weights = np.polynomial.legendre.leggauss(STEPS)
    alphas = torch.tensor(0.5 * (1 + nodes), dtype=torch.float32).view(-1, 1, 1, 1, 1)
    w = torch.tensor(0.5 * weights, dtype=torch.float32).view(-1, 1, 1, 1, 1)

    def bare():
        out = torch.empty_like(X)
        for i in range(0, ROWS, PER_PASS):
            x, t = X[i:i + PER_PASS], target[i:i + PER_PASS]
            path = (alphas * x.unsqueeze(0)).reshape(-1, *x.shape[1:]).requires_grad_(True)
            logits = model(path)
            (g,) = torch.autograd.grad(logits.gather(1, t.repeat(STEPS).view(-1, 1)).sum(), path)
            out[i:i + PER_PASS] = (g.reshape(STEPS, *x.shape) * w).sum(0) * x
        return out.numpy()

    def ours():
        return IntegratedGradients(model, n_steps=STEPS, batch_size=PER_PASS * STEPS).attribute(
            X, target=target.numpy()).values

    def captum():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return CaptumIG(model).attribute(X, target=target, n_steps=STEPS,
                                             internal_batch_size=PER_PASS * STEPS).detach().numpy()

    rows = _interleaved({"bare loop": bare, "assay IntegratedGradients": ours, "Captum IntegratedGradients": captum},
                        repeats)
    ref = rows["bare loop"][2]
    _table(f"Integrated gradients, {STEPS} steps, {ROWS} digits", rows, "bare loop",
           {k: float(np.abs(v[2] - ref).max()) for k, v in rows.items()})


def bench_occlusion(repeats: int) -> None:
    from captum.attr import Occlusion as CaptumOcclusion

    from assay.explain import Occlusion

    model, X, target = _digits()
    windows = 16

    def ours():
        return Occlusion(model, sliding_window_shapes=(1, 2, 2), strides=(1, 2, 2),
                         batch_size=ROWS * windows).attribute(X, target=target.numpy()).values

    def captum():
        return CaptumOcclusion(model).attribute(X, sliding_window_shapes=(1, 2, 2), strides=(1, 2, 2), target=target,
                                                perturbations_per_eval=windows).numpy()

    rows = _interleaved({"Captum Occlusion": captum, "assay Occlusion": ours}, repeats)
    ref = rows["Captum Occlusion"][2]
    _table(f"Occlusion 2x2 stride 2, {ROWS} digits", rows, "Captum Occlusion",
           {k: float(np.abs(v[2] - ref).max()) for k, v in rows.items()})


def bench_gradcam(repeats: int) -> None:
    from captum.attr import LayerAttribution, LayerGradCam

    from assay.explain import GradCAM

    model, X, target = _digits()
    convs = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    layer = dict(model.named_modules())[convs[-1]]

    def ours():
        return GradCAM(model, layer=convs[-1], relu=False, batch_size=256).attribute(X, target=target.numpy()).values

    def captum():
        out = np.empty(tuple(X.shape), dtype=np.float32)
        for i in range(0, ROWS, 256):
            cam = LayerGradCam(model, layer).attribute(X[i:i + 256], target=target[i:i + 256])
            out[i:i + 256] = LayerAttribution.interpolate(cam, (8, 8)).detach().numpy()
        return out

    rows = _interleaved({"Captum LayerGradCam": captum, "assay GradCAM": ours}, repeats)
    ref = rows["Captum LayerGradCam"][2]
    _table(f"Grad-CAM (layer {convs[-1]!r}), {ROWS} digits", rows, "Captum LayerGradCam",
           {k: float(np.abs(v[2] - ref).max()) for k, v in rows.items()})


def _adult_numeric(n_rows: int, n_background: int, kind: str = "gbm"):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.preprocessing import OrdinalEncoder

    from assay.datasets import load_adult

    data = load_adult()
    cols = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss", "sex", "marital_status",
            "relationship"]
    cats = ["sex", "marital_status", "relationship"]
    enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(data.train.X[cats])

    def encode(frame):
        return np.column_stack([frame[cols[:5]].to_numpy(dtype=np.float64), enc.transform(frame[cats])])

    Xtr = encode(data.train.X)
    if kind == "gbm":
        model = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(Xtr, data.train.y)
    else:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(Xtr, data.train.y)
    Xte = encode(data.test.X)
    rng = np.random.default_rng(0)
    return model, Xte[:n_rows], Xtr[rng.choice(len(Xtr), n_background, replace=False)]


def bench_kernelshap(repeats: int, n_rows: int = 200, n_background: int = 20) -> None:
    for kind in ("gbm", "logistic"):
        _bench_kernelshap(repeats, n_rows, n_background, kind)


def _bench_kernelshap(repeats: int, n_rows: int, n_background: int, kind: str) -> None:
    import itertools
    import math

    import shap

    from assay.explain import KernelSHAP

    model, X, background = _adult_numeric(n_rows, n_background, kind)
    m = X.shape[1]
    def f(Z):
        return model.predict_proba(Z)[:, 1]

    def brute_force():  # the textbook sum over subsets, every coalition evaluated once per row
        values = {}
        for size in range(m + 1):
            for S in itertools.combinations(range(m), size):
                Z = np.repeat(background[None], len(X), 0)
                Z[:, :, list(S)] = X[:, None, list(S)]
                values[S] = f(Z.reshape(-1, m)).reshape(len(X), -1).mean(1)
        phi = np.zeros_like(X)
        for i in range(m):
            for S, v in values.items():
                if i not in S:
                    w = math.factorial(len(S)) * math.factorial(m - len(S) - 1) / math.factorial(m)
                    phi[:, i] += w * (values[tuple(sorted(S + (i,)))] - v)
        return phi

    def ours():
        return KernelSHAP(model, output="probabilities").attribute(X, target=1, baselines=background).values

    def reference():
        explainer = shap.KernelExplainer(f, background)
        return np.asarray(explainer.shap_values(X, silent=True))

    exact = brute_force()
    rows = _interleaved({"shap KernelExplainer": reference, "assay KernelSHAP (exact)": ours}, repeats)
    _table(f"KernelSHAP, {kind}, {n_rows} Adult rows, {m} features, {n_background} background rows (error vs "
           "brute-force exact Shapley values)", rows, "shap KernelExplainer",
           {k: float(np.abs(v[2] - exact).max()) for k, v in rows.items()})


def bench_permutation(repeats: int, n_rows: int = 2000, n_repeats: int = 5) -> None:
    from sklearn.inspection import permutation_importance as sk_permutation_importance

    from assay.datasets import load_adult
    from assay.explain.importance import permutation_importance
    from assay.models import train_sklearn_model

    data = load_adult()
    rows = np.random.default_rng(0).permutation(len(data.train.y))[:5000]
    model = train_sklearn_model(data.train.X.iloc[rows], data.train.y.iloc[rows],
                                categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="gbm", random_state=0)
    X, y = data.test.X.iloc[:n_rows], data.test.y.iloc[:n_rows].to_numpy()
    d = X.shape[1]

    from assay.explain.importance import _permutations, _same

    rng = np.random.default_rng(0)
    copies, changed_copies = [], []  # built outside the timing: the model evaluations alone, one call per copy
    perms = _permutations(0, n_rows, n_repeats)
    for j in range(d):
        for r in range(n_repeats):
            Xp = X.copy()
            Xp[X.columns[j]] = X.iloc[:, j].to_numpy()[rng.permutation(n_rows)]
            copies.append(Xp)
            col = X.iloc[:, j].to_numpy()
            rows_changed = np.flatnonzero(~_same(col[perms[r]], col))
            Xc = X.iloc[rows_changed].copy()
            Xc[X.columns[j]] = col[perms[r]][rows_changed]
            changed_copies.append(Xc)
    share = sum(len(c) for c in changed_copies) / (d * n_repeats * n_rows)
    print(f"\npermutation: {share:.1%} of the {d} x {n_repeats} shuffled copies' rows differ from the original row")

    def evaluations():
        for Xp in copies:
            model.predict_proba(Xp)

    def changed_evaluations():
        for Xc in changed_copies:
            model.predict_proba(Xc)

    def ours():
        return permutation_importance(model, X, y, n_repeats=n_repeats, random_state=0).importances

    def sklearn():
        return sk_permutation_importance(model, X, y, n_repeats=n_repeats, random_state=0).importances

    out = _interleaved({"model evaluations alone": evaluations,
                        "model evaluations of the changed rows alone": changed_evaluations,
                        "scikit-learn permutation_importance": sklearn,
                        "assay permutation_importance": ours}, repeats)
    ref = out["scikit-learn permutation_importance"][2]
    _table(f"Permutation importance, {n_rows} Adult rows, {d} columns x {n_repeats} repeats", out,
           "model evaluations alone", {k: float(np.abs(v[2] - ref).max()) for k, v in out.items()
                                       if v[2] is not None})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["ig", "occlusion", "gradcam", "kernelshap", "permutation"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from threadpoolctl import threadpool_limits

    # one thread for scikit-learn's OpenMP (HistGradientBoosting) too: on a shared machine its threads spin and
    # small calls (shap's one call per row) slow down 10x or more, which says nothing about either library
    threadpool_limits(1)
    print_machine(machine_info("torch", "captum", "shap", "scikit-learn", "numpy"))
    parts = {"ig": bench_ig, "occlusion": bench_occlusion, "gradcam": bench_gradcam, "kernelshap": bench_kernelshap,
             "permutation": bench_permutation}
    for name, part in parts.items():
        if args.only in (None, name):
            part(args.repeats)


if __name__ == "__main__":
    main()
