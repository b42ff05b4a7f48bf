"""Membership inference on Adult: assay's loss attack and LiRA (8 reference models) vs ART's
``MembershipInferenceBlackBox`` on the same target and the same evaluation rows; DP-SGD training
time (``assay.privacy.train_private``) vs the same loop without privacy and vs a bare Opacus loop.

Run: ``PYTHONPATH=src python benchmarks/bench_privacy.py [--members 1000] [--epochs 40] [--seeds 8]``.
``--seeds N`` adds (``--seeds-only`` runs only) the acceptance case of the tests over seeds 0..N-1: a
memorising MLP (one hidden layer of 2,048, no dropout or weight decay, full batch, 400 epochs) on 50
Adult training rows vs 2,000 test rows, the loss attack's AUC / TPR at 1% FPR / advantage per seed, and
the same network trained with DP-SGD at epsilon 1 (``train_private``, 20 epochs, batch 25), whose
advantage is compared with the 99% quantile of a random score's advantage on 50 vs 2,000 rows.

The target is an overfit MLP (two hidden layers, no dropout) trained on ``--members`` Adult
training rows; non-members are as many Adult test rows. ART's attack trains its classifier on half
of each (members and non-members known to the attacker) and every attack is scored on the other half.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from _common import machine_info, print_machine

torch.set_num_threads(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--references", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=0)
    parser.add_argument("--seeds-only", action="store_true")
    args = parser.parse_args()
    if args.seeds_only:
        print_machine(machine_info("torch", "opacus", "scikit-learn"))
        seed_sweep(max(args.seeds, 1))
        return

    from assay.datasets import load_adult
    from assay.models import TabularMLP, fit_torch_classifier, make_tabular_preprocessor, train_tabular_mlp
    from assay.privacy import LiRA, evaluate_attack, loss_attack, train_private

    print_machine(machine_info("torch", "opacus", "adversarial-robustness-toolbox", "scikit-learn"))
    ds = load_adult()
    n = args.members
    tr = np.random.default_rng(0).choice(len(ds.train.X), n, replace=False)
    te = np.random.default_rng(1).choice(len(ds.test.X), n, replace=False)
    pre = make_tabular_preprocessor(ds.categorical_features, ds.numeric_features)
    X_m, y_m = pre.fit_transform(ds.train.X.iloc[tr]).astype(np.float32), ds.train.y.to_numpy()[tr]
    X_n, y_n = pre.transform(ds.test.X.iloc[te]).astype(np.float32), ds.test.y.to_numpy()[te]
    hidden = (args.hidden, args.hidden)

    def train_fn(X, y, random_state=0):
        return train_tabular_mlp(X, y, epochs=args.epochs, hidden=hidden, dropout=0.0, batch_size=32, lr=2e-3,
                                 random_state=random_state)

    start = time.perf_counter()
    target = train_fn(X_m, y_m, random_state=0)
    train_seconds = time.perf_counter() - start
    acc_m = float(np.mean(target(torch.from_numpy(X_m)).argmax(1).numpy() == y_m))
    acc_n = float(np.mean(target(torch.from_numpy(X_n)).argmax(1).numpy() == y_n))
    print(f"target: {n} members, train acc {acc_m:.3f}, test acc {acc_n:.3f}, trained in {train_seconds:.1f} s")
    half = n // 2  # attack-training half (ART) | evaluation half (every attack)
    ev_m, ev_n = slice(half, n), slice(half, n)
    rows = []

    start = time.perf_counter()
    scores_m, scores_n = loss_attack(target, X_m, y_m), loss_attack(target, X_n, y_n)
    r = evaluate_attack(scores_m[ev_m], scores_n[ev_n], n_boot=0)
    rows.append(("assay loss attack", r.auc, r.tpr_at_fpr(0.01), r.advantage, time.perf_counter() - start))

    start = time.perf_counter()
    pool_X, pool_y = np.concatenate([X_m, X_n]), np.concatenate([y_m, y_n])
    lira = LiRA(target, train_fn=train_fn, n_reference=args.references, online=False, random_state=0)
    lira.fit(pool_X, pool_y)
    fit_seconds = time.perf_counter() - start
    for online in (False, True):
        lira.set_params(online=online)
        s = lira.score(pool_X)
        r = evaluate_attack(s[:n][ev_m], s[n:][ev_n], n_boot=0)
        name = f"assay LiRA {'online' if online else 'offline'} ({args.references} reference models)"
        rows.append((name, r.auc, r.tpr_at_fpr(0.01), r.advantage, fit_seconds))

    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox
    from art.estimators.classification import PyTorchClassifier

    classifier = PyTorchClassifier(model=target, loss=torch.nn.CrossEntropyLoss(), input_shape=(X_m.shape[1],),
                                   nb_classes=2)
    for kind in ("rf", "nn"):
        start = time.perf_counter()
        attack = MembershipInferenceBlackBox(classifier, attack_model_type=kind)
        attack.fit(X_m[:half], y_m[:half], X_n[:half], y_n[:half])
        p_m = attack.infer(X_m[ev_m], y_m[ev_m], probabilities=True).reshape(len(X_m[ev_m]), -1)[:, -1]
        p_n = attack.infer(X_n[ev_n], y_n[ev_n], probabilities=True).reshape(len(X_n[ev_n]), -1)[:, -1]
        r = evaluate_attack(p_m, p_n, n_boot=0)
        rows.append((f"ART MembershipInferenceBlackBox ({kind})", r.auc, r.tpr_at_fpr(0.01), r.advantage,
                     time.perf_counter() - start))

    print(f"\n{n - half} members vs {n - half} non-members scored\n")
    print("| attack | AUC | TPR at 1% FPR | advantage | seconds |")
    print("|---|---:|---:|---:|---:|")
    for name, auc, tpr, adv, sec in rows:
        print(f"| {name} | {auc:.3f} | {tpr:.3f} | {adv:.3f} | {sec:.1f} |")

    # DP-SGD time: the same module, epochs and batch size; plain Adam loop vs bare Opacus vs train_private
    epochs, batch = 10, 64

    def fresh():
        torch.manual_seed(0)
        return TabularMLP(X_m.shape[1], n_classes=2, hidden=hidden, dropout=0.0)

    timings = {}
    start = time.perf_counter()
    fit_torch_classifier(fresh(), X_m, y_m, epochs=epochs, batch_size=batch, lr=2e-3)
    timings["no privacy (fit_torch_classifier)"] = time.perf_counter() - start

    import opacus

    start = time.perf_counter()
    module = fresh()
    data = torch.utils.data.TensorDataset(torch.from_numpy(X_m), torch.from_numpy(y_m.astype(np.int64)))
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True)
    optim = torch.optim.Adam(module.parameters(), lr=2e-3)
    engine = opacus.PrivacyEngine(accountant="rdp")
    module, optim, loader = engine.make_private_with_epsilon(module=module, optimizer=optim, data_loader=loader,
                                                             target_epsilon=1.0, target_delta=1e-5, epochs=epochs,
                                                             max_grad_norm=1.0)
    for _ in range(epochs):
        for xb, yb in loader:
            optim.zero_grad()
            torch.nn.functional.cross_entropy(module(xb), yb).backward()
            optim.step()
    timings["bare Opacus loop (epsilon 1)"] = time.perf_counter() - start

    start = time.perf_counter()
    result = train_private(fresh(), (X_m, y_m), epsilon=1.0, delta=1e-5, epochs=epochs, batch_size=batch, lr=2e-3)
    timings["assay train_private (epsilon 1)"] = time.perf_counter() - start
    base = timings["no privacy (fit_torch_classifier)"]
    print(f"\nDP-SGD: {n} rows, {epochs} epochs, batch {batch}; spent epsilon {result.epsilon:.3f} "
          f"(noise multiplier {result.noise_multiplier:.3f})\n")
    print("| training | seconds | x no privacy |")
    print("|---|---:|---:|")
    for name, sec in timings.items():
        print(f"| {name} | {sec:.2f} | {sec / base:.2f} |")
    assert math.isfinite(result.epsilon)
    if args.seeds:
        seed_sweep(args.seeds)


def seed_sweep(n_seeds: int, members: int = 50, nonmembers: int = 2000) -> None:
    """The tests' acceptance case (tests/privacy/conftest.py, seed 0) over seeds 0..n_seeds-1."""
    from assay.datasets import load_adult
    from assay.models import TabularMLP, make_tabular_preprocessor, train_tabular_mlp
    from assay.privacy import evaluate_attack, loss_attack, train_private

    ds = load_adult()
    rng = np.random.default_rng(0)
    null = [evaluate_attack(rng.random(members), rng.random(nonmembers), n_boot=0).advantage for _ in range(500)]
    q99 = float(np.quantile(null, 0.99))
    print(f"\nacceptance case over {n_seeds} seeds: {members} members, {nonmembers} non-members; a random score's "
          f"advantage 99% quantile {q99:.3f}\n")
    print("| seed | test acc | loss-attack AUC | TPR at 1% FPR | advantage | DP epsilon | DP test acc | DP AUC | "
          "DP advantage | seconds |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for s in range(n_seeds):
        start = time.perf_counter()
        tr = np.random.default_rng(s).choice(len(ds.train.X), members, replace=False)
        te = np.random.default_rng(1000 + s).choice(len(ds.test.X), nonmembers, replace=False)
        pre = make_tabular_preprocessor(ds.categorical_features, ds.numeric_features)
        Xtr = np.asarray(pre.fit_transform(ds.train.X.iloc[tr]), dtype=np.float32)
        Xte = np.asarray(pre.transform(ds.test.X.iloc[te]), dtype=np.float32)
        ytr, yte = ds.train.y.to_numpy()[tr], ds.test.y.to_numpy()[te]
        model = train_tabular_mlp(Xtr, ytr, epochs=400, hidden=(2048,), dropout=0.0, batch_size=members, lr=1e-3,
                                  random_state=s)
        plain = evaluate_attack(loss_attack(model, Xtr, ytr), loss_attack(model, Xte, yte), n_boot=0)
        torch.manual_seed(s)
        net = TabularMLP(Xtr.shape[1], n_classes=2, hidden=(2048,), dropout=0.0)
        dp = train_private(net, (Xtr, ytr), epsilon=1.0, epochs=20, batch_size=25, lr=1e-3, random_state=s)
        private = evaluate_attack(loss_attack(dp.model, Xtr, ytr), loss_attack(dp.model, Xte, yte), n_boot=0)
        acc = float(np.mean(model(torch.from_numpy(Xte)).argmax(1).numpy() == yte))
        dp_acc = float(np.mean(dp.model(torch.from_numpy(Xte)).argmax(1).numpy() == yte))
        rows.append((plain.auc, plain.tpr_at_fpr(0.01), plain.advantage, private.advantage))
        print(f"| {s} | {acc:.3f} | {plain.auc:.3f} | {plain.tpr_at_fpr(0.01):.3f} | {plain.advantage:.3f} | "
              f"{dp.epsilon:.2f} | {dp_acc:.3f} | {private.auc:.3f} | {private.advantage:.3f} | "
              f"{time.perf_counter() - start:.1f} |")
    a = np.array(rows)
    print(f"\nAUC > 0.6 on {int((a[:, 0] > 0.6).sum())}/{n_seeds} seeds (min {a[:, 0].min():.3f}); TPR at 1% FPR "
          f"> 1% on {int((a[:, 1] > 0.01).sum())}/{n_seeds}; plain advantage > {q99:.3f} on "
          f"{int((a[:, 2] > q99).sum())}/{n_seeds}; DP advantage < {q99:.3f} on {int((a[:, 3] < q99).sum())}/{n_seeds}")


if __name__ == "__main__":
    main()
