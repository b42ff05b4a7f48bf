"""PGD-10 and FGSM on 1,000 digits: assay vs ART 1.20 vs a bare torch loop, in the same run (issue 16).

    python benchmarks/_bench_attacks.py                 # attacks only (a minute)
    python benchmarks/_bench_attacks.py --training      # + standard vs PGD-AT / TRADES training (minutes)

The ``attacks`` and ``training`` sections of ``bench_robustness.py``; runnable alone.

Model: ``train_digits_cnn`` (10 epochs) on the digits train split; data: the first 1,000 of all
1,797 digits, (1, 8, 8) in [0, 1]. L-inf, eps = 0.1, PGD step 0.025, no random start, batch 256.
Timed (median of ``--repeats`` runs), each from inputs to adversarial inputs *and* the success
per row (clean and adversarial predictions):

* ART ``ProjectedGradientDescent`` / ``FastGradientMethod`` on a ``PyTorchClassifier``;
* the floor: a bare torch loop (sign of the cross-entropy gradient, projection, clip), plus the
  two prediction passes;
* assay ``PGD(...).generate(X, y)`` / ``FGSM``.

Success rates are printed side by side (deterministic attacks: they agree to a few rows).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info, print_machine

EPS, STEP, STEPS, BATCH = 0.1, 0.025, 10, 256


def _data():
    from assay.datasets import load_digits_split
    from assay.models import train_digits_cnn

    data = load_digits_split()
    model = train_digits_cnn(data.train.X, data.train.y, epochs=10, random_state=0)
    X = torch.cat([data.train.X, data.val.X, data.test.X])[:1000].numpy()
    y = torch.cat([data.train.y, data.val.y, data.test.y])[:1000].numpy()
    return model, X, y


def bare_pgd(model, X, y, steps):
    """The floor: batches of 256, ``steps`` signed steps (FGSM: one of size eps), projection, clip."""
    model.eval()
    x_all, y_all = torch.from_numpy(X), torch.from_numpy(y)
    success = np.empty(len(X), dtype=bool)
    size = EPS if steps == 1 else STEP
    for i in range(0, len(X), BATCH):
        x0, yb = x_all[i:i + BATCH], y_all[i:i + BATCH]
        with torch.no_grad():
            model(x0).argmax(1)
        xa = x0.clone()
        for _ in range(steps):
            xa.requires_grad_(True)
            (g,) = torch.autograd.grad(F.cross_entropy(model(xa), yb, reduction="sum"), xa)
            xa = (x0 + (xa.detach() + size * g.sign() - x0).clamp(-EPS, EPS)).clamp(0, 1)
        with torch.no_grad():
            success[i:i + BATCH] = (model(xa).argmax(1) != yb).numpy()
    return success


def art_attack(model, X, y, steps):
    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    clf = PyTorchClassifier(model=model, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 8, 8), nb_classes=10,
                            clip_values=(0.0, 1.0))
    if steps == 1:
        attack = FastGradientMethod(clf, norm=np.inf, eps=EPS, batch_size=BATCH)
    else:
        attack = ProjectedGradientDescent(clf, norm=np.inf, eps=EPS, eps_step=STEP, max_iter=steps,
                                          num_random_init=0, batch_size=BATCH, verbose=False)
    clf.predict(X, batch_size=BATCH)
    adv = attack.generate(X, y=y)
    return clf.predict(adv, batch_size=BATCH).argmax(1) != y


def assay_attack(model, X, y, steps):
    from assay import wrap
    from assay.robustness import FGSM, PGD

    adapter = wrap(model, batch_size=BATCH, cache=False)
    attack = FGSM(adapter, eps=EPS) if steps == 1 else PGD(adapter, eps=EPS, steps=steps, step_size=STEP)
    return attack.generate(X, y).success


def bench_attacks(repeats: int = 5) -> dict:
    """Median seconds and success rate per (attack, who); the three are interleaved in every
    repeat, so load on a shared machine hits them alike."""
    model, X, y = _data()
    rows = {}
    for name, steps in (("PGD-10", STEPS), ("FGSM", 1)):
        times: dict[str, list[float]] = {}
        for _ in range(repeats):
            for who, fn in (("ART", art_attack), ("bare torch", bare_pgd), ("assay", assay_attack)):
                start = time.perf_counter()
                success = fn(model, X, y, steps)
                times.setdefault(who, []).append(time.perf_counter() - start)
                rows[(name, who)] = (0.0, float(np.mean(success)))
        for who, spent in times.items():
            rows[(name, who)] = (statistics.median(spent), rows[(name, who)][1])
    print(f"{'attack':8} {'who':11} {'seconds':>8} {'success':>8} {'x bare':>7}")
    for (name, who), (seconds, rate) in rows.items():
        print(f"{name:8} {who:11} {seconds:8.3f} {rate:8.3f} {seconds / rows[(name, 'bare torch')][0]:7.2f}")
    return rows


def bench_training(epochs: int = 30) -> dict:
    """Standard vs PGD-AT vs TRADES (beta 6) training of the digits CNN: clean and PGD-10 robust accuracy
    (eps 0.1) on the test split. Training attack: PGD eps 0.1, 10 steps of 0.025 (the evaluation attack)."""
    from assay.datasets import load_digits_split
    from assay.models.networks import DigitsCNN
    from assay.robustness import PGD, adversarial_loss

    data = load_digits_split()
    X, y = data.train.X, data.train.y
    out = {}
    for kind in ("standard", "pgd", "trades"):
        torch.manual_seed(0)
        model = DigitsCNN()
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        attack = PGD(eps=EPS, steps=10, step_size=0.025)
        order = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        for _ in range(epochs):
            model.train()
            perm = torch.randperm(len(X), generator=order)
            for i in range(0, len(X), 64):
                xb, yb = X[perm[i:i + 64]], y[perm[i:i + 64]]
                loss = (F.cross_entropy(model(xb), yb) if kind == "standard"
                        else adversarial_loss(model, xb, yb, attack, kind=kind))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        seconds = time.perf_counter() - start
        result = PGD(model.eval(), eps=EPS, steps=STEPS, step_size=STEP).generate(data.test.X, data.test.y)
        truth = data.test.y.numpy()
        out[kind] = (seconds, float((result.original_pred == truth).mean()), float((result.adversarial_pred == truth).mean()))
        print(f"{kind:9} train {seconds:6.1f} s  clean {out[kind][1]:.3f}  robust@0.1 {out[kind][2]:.3f}", flush=True)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--training", action="store_true")
    args = parser.parse_args(argv)
    print_machine(machine_info("torch", "adversarial-robustness-toolbox", "numpy"))
    bench_attacks(args.repeats)
    if args.training:
        bench_training()


if __name__ == "__main__":
    main()
