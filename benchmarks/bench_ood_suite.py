"""OOD detection on the shipped offline benchmarks: detector x OOD set, AUROC and FPR@95TPR.

    .venv/bin/python benchmarks/bench_ood_suite.py                       # seeds 0 1 2, all three
    .venv/bin/python benchmarks/bench_ood_suite.py --quick               # seed 0, smaller settings
    .venv/bin/python benchmarks/bench_ood_suite.py --seeds 0 1 --only digits --json out.json

Every number is the mean ± sample standard deviation (ddof 1) over the seeds; a seed sets the
data split, the model's initialisation and training, and the detectors' own randomness. The
in-distribution side is always held-out data (never the rows a detector was fitted on).
Metrics from :func:`assay.ood.evaluate_scores` (AUROC, OOD positive; FPR at 95% TPR,
in-distribution positive: lower is better).

(a) **digits** -- ``load_digits_ood(random_state=s)``: a :class:`~assay.models.DigitsCNN` trained on the
    8 known digits' train split (``train_digits_cnn(..., random_state=s, epochs=15, n_classes=8)``).
    Detectors fitted on the train split (class-conditional ones with the true labels), scored
    on the test split (in) and every OOD set of ``load_digits_ood``. The model detectors share
    one adapter (``assay.wrap(model)``), so each split is one forward pass (logits and
    ``penultimate`` embedding captured together); ODIN adds its own perturbation passes.
    IsolationForest / GaussianMixture on the 64 flattened pixels.
(b) **adult** -- ``load_adult_ood(random_state=s)``: ``make_tabular_preprocessor`` (one-hot categoricals,
    standardised numerics) fitted on train; a :class:`~assay.models.TabularMLP`
    (``train_tabular_mlp(..., random_state=s)``) on the preprocessed train rows. Output detectors on its
    logits, Mahalanobis / KNN on its ``penultimate`` embedding, IsolationForest / GaussianMixture
    on the preprocessed inputs. In: Adult's test file; OOD: ``german_credit``,
    ``held_out_subgroup``.
(c) **text** -- ``load_text_domains(held_out_category="leisure", random_state=s)``: reviews of four
    product categories (2/3 fit, 1/3 test) vs ``clinical``, ``legal`` (far) and reviews of the
    held-out leisure products (near), embedded with MiniLM (``embed_sentences``). Mahalanobis / RelativeMahalanobis /
    KNN on the embeddings (``model=None``, sentiment labels for the class-conditional ones);
    output detectors on the logits of a scikit-learn ``LogisticRegression`` sentiment
    classifier fitted on the fit embeddings: the two logits ``(-f/2, f/2)`` of its decision
    function ``f`` (the convention of ``assay.wrap`` for one-logit models).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from _common import machine_info, print_machine

BENCHMARKS = ("digits", "adult", "text")


# ---------------------------------------------------------------------- the three benchmarks
def run_digits(seed: int, quick: bool) -> tuple[dict, dict, dict]:
    import assay
    from assay.datasets import load_digits_ood
    from assay.models import train_digits_cnn
    from assay.ood import (
        GEN, KNN, ODIN, Energy, Entropy, GaussianMixtureDetector, IsolationForestDetector, KLMatching,
        Mahalanobis, MaxLogit, MaxSoftmax, ReAct, RelativeMahalanobis, ViM,
    )

    data = load_digits_ood(random_state=seed)
    X_train, y_train = data.train.X, data.train.y
    model = train_digits_cnn(X_train, y_train, random_state=seed, epochs=5 if quick else 15,
                             n_classes=len(data.in_classes))
    adapter = assay.wrap(model)
    detectors = {
        "MaxSoftmax": MaxSoftmax(adapter), "MaxLogit": MaxLogit(adapter), "Energy": Energy(adapter),
        "Entropy": Entropy(adapter), "GEN": GEN(adapter), "KLMatching": KLMatching(adapter),
        "ODIN": ODIN(adapter), "Mahalanobis": Mahalanobis(adapter),
        "RelativeMahalanobis": RelativeMahalanobis(adapter), "KNN (k=1)": KNN(adapter, k=1),
        "KNN (k=50)": KNN(adapter, k=50), "ViM": ViM(adapter), "ReAct": ReAct(adapter),
    }
    pixel_detectors = {
        "IsolationForest (pixels)": IsolationForestDetector(random_state=seed),
        "GaussianMixture (pixels)": GaussianMixtureDetector(random_state=seed),
    }
    flat = lambda x: x.reshape(len(x), -1).numpy()  # noqa: E731
    for det in detectors.values():
        det.fit(X_train, y_train)
    for det in pixel_detectors.values():
        det.fit(flat(X_train))
    scores_in, scores_out = {}, {}
    for name, det in detectors.items():
        scores_in[name] = det.score(data.test.X)
        scores_out[name] = {s: det.score(x) for s, x in data.ood.items()}
    for name, det in pixel_detectors.items():
        scores_in[name] = det.score(flat(data.test.X))
        scores_out[name] = {s: det.score(flat(x)) for s, x in data.ood.items()}
    passes = {"forward_passes": int(sum(adapter.forward_passes_.values())),
              "splits": len(adapter.forward_passes_),
              "max_passes_per_split": int(max(adapter.forward_passes_.values()))}
    return scores_in, scores_out, passes


def run_adult(seed: int, quick: bool) -> tuple[dict, dict, dict]:
    import assay
    from assay.datasets import load_adult_ood
    from assay.models import make_tabular_preprocessor, train_tabular_mlp
    from assay.ood import (
        GEN, KNN, ODIN, Energy, Entropy, GaussianMixtureDetector, IsolationForestDetector, KLMatching,
        Mahalanobis, MaxLogit, MaxSoftmax,
    )

    data = load_adult_ood(random_state=seed)
    pre = make_tabular_preprocessor(data.categorical_features, data.numeric_features).fit(data.train.X)
    X_train = pre.transform(data.train.X)
    y_train = data.train.y.to_numpy()
    X_test = pre.transform(data.test.X)
    ood = {s: pre.transform(frame) for s, frame in data.ood.items()}
    model = train_tabular_mlp(X_train, y_train, random_state=seed, epochs=3 if quick else 10)
    adapter = assay.wrap(model)
    detectors = {
        "MaxSoftmax": MaxSoftmax(adapter), "MaxLogit": MaxLogit(adapter), "Energy": Energy(adapter),
        "Entropy": Entropy(adapter), "GEN": GEN(adapter), "KLMatching": KLMatching(adapter),
        "ODIN": ODIN(adapter), "Mahalanobis": Mahalanobis(adapter), "KNN (k=50)": KNN(adapter, k=50),
        "IsolationForest (inputs)": IsolationForestDetector(random_state=seed),
        "GaussianMixture (inputs)": GaussianMixtureDetector(random_state=seed),
    }
    for det in detectors.values():
        det.fit(X_train, y_train)
    scores_in = {name: det.score(X_test) for name, det in detectors.items()}
    scores_out = {name: {s: det.score(x) for s, x in ood.items()} for name, det in detectors.items()}
    info = {"n_features": int(X_train.shape[1]), "forward_passes": int(sum(adapter.forward_passes_.values())),
            "splits": len(adapter.forward_passes_),
            "test_accuracy": float((adapter.predict(X_test) == data.test.y.to_numpy()).mean())}
    return scores_in, scores_out, info


def run_text(seed: int, quick: bool) -> tuple[dict, dict, dict]:
    from sklearn.linear_model import LogisticRegression

    from assay.datasets.text import embed_sentences, load_text_domains
    from assay.ood import (
        GEN, KNN, Energy, Entropy, KLMatching, Mahalanobis, MaxLogit, MaxSoftmax, RelativeMahalanobis,
    )

    n_reviews, n_ood = (600, 200) if quick else (1500, 500)
    data = load_text_domains(n_reviews=n_reviews, n_ood=n_ood, held_out_category="leisure", random_state=seed)
    sets = list(data.ood)
    texts = list(data.reviews) + [t for s in sets for t in data.ood[s]]
    emb = embed_sentences(texts, progress=False)
    n_fit = 2 * n_reviews // 3
    E_fit, E_test = emb[:n_fit], emb[n_fit:n_reviews]
    y_fit, y_test = data.sentiment[:n_fit], data.sentiment[n_fit:]
    E_ood = {s: emb[n_reviews + i * n_ood: n_reviews + (i + 1) * n_ood] for i, s in enumerate(sets)}

    clf = LogisticRegression(max_iter=1000).fit(E_fit, y_fit)
    logit = lambda E: np.column_stack([-clf.decision_function(E) / 2, clf.decision_function(E) / 2])  # noqa: E731
    feature_detectors = {
        "Mahalanobis": Mahalanobis().fit(E_fit, y_fit),
        "RelativeMahalanobis": RelativeMahalanobis().fit(E_fit, y_fit),
        "KNN (k=1)": KNN(k=1).fit(E_fit), "KNN (k=50)": KNN(k=50).fit(E_fit),
    }
    L_fit = logit(E_fit)
    output_detectors = {
        "MaxSoftmax": MaxSoftmax(), "MaxLogit": MaxLogit(), "Energy": Energy(), "Entropy": Entropy(),
        "GEN": GEN(), "KLMatching": KLMatching().fit(L_fit, y_fit),
    }
    scores_in, scores_out = {}, {}
    for name, det in output_detectors.items():
        scores_in[name] = det.score(logit(E_test))
        scores_out[name] = {s: det.score(logit(E)) for s, E in E_ood.items()}
    for name, det in feature_detectors.items():
        scores_in[name] = det.score(E_test)
        scores_out[name] = {s: det.score(E) for s, E in E_ood.items()}
    info = {"n_fit": n_fit, "n_test": n_reviews - n_fit, "n_ood_each": n_ood,
            "sentiment_test_accuracy": float((clf.predict(E_test) == y_test).mean())}
    return scores_in, scores_out, info


RUNNERS = {"digits": run_digits, "adult": run_adult, "text": run_text}


# ---------------------------------------------------------------------- tables
def summarise(per_seed: list[dict]) -> dict:
    """``{detector: {ood_set: {metric: (mean, sd, values)}}}`` from per-seed metric dicts."""
    out: dict = {}
    for detector in per_seed[0]:
        out[detector] = {}
        for ood_set in per_seed[0][detector]:
            out[detector][ood_set] = {}
            for metric in ("auroc", "fpr_at_95_tpr"):
                values = [run[detector][ood_set][metric] for run in per_seed]
                sd = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
                out[detector][ood_set][metric] = {"mean": float(np.mean(values)), "sd": sd, "values": values}
    return out


def markdown(summary: dict, metric: str) -> str:
    sets = list(next(iter(summary.values())))
    lines = ["| detector | " + " | ".join(sets) + " | mean |", "|---|" + "---:|" * (len(sets) + 1)]
    for detector, row in summary.items():
        cells = []
        for s in sets:
            cell = row[s][metric]
            cells.append(f"{cell['mean']:.3f}" + ("" if np.isnan(cell["sd"]) else f" ± {cell['sd']:.3f}"))
        overall = np.mean([row[s][metric]["mean"] for s in sets])
        lines.append(f"| {detector} | " + " | ".join(cells) + f" | {overall:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2 (--quick: 0)")
    parser.add_argument("--quick", action="store_true",
                        help="one seed, fewer epochs (digits 5, adult 3), 600 reviews / 200 per OOD domain")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    parser.add_argument("--json", help="also write every per-seed number to this file")
    args = parser.parse_args(argv)
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])

    from assay.ood import evaluate_scores

    record: dict = {"args": {**vars(args), "seeds": seeds}, "benchmarks": {}}
    for bench in args.only:
        per_seed, infos, start = [], [], time.perf_counter()
        for seed in seeds:
            scores_in, scores_out, info = RUNNERS[bench](seed, args.quick)
            table = evaluate_scores(scores_in, scores_out).table
            per_seed.append({d: {s: {m: float(table.loc[(table.detector == d) & (table.ood_set == s), m].iloc[0])
                                     for m in ("auroc", "fpr_at_95_tpr")}
                                 for s in scores_out[d]} for d in scores_in})
            infos.append({"seed": seed, **info})
        seconds = time.perf_counter() - start
        summary = summarise(per_seed)
        record["benchmarks"][bench] = {"summary": summary, "info": infos, "seconds": seconds}
        label = "seed" if len(seeds) == 1 else "mean ± sd over seeds"
        print(f"## {bench} ({label} {', '.join(map(str, seeds))}; {seconds:.0f} s)")
        for info in infos:
            print("  ", ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items()))
        print(f"\nAUROC (higher is better), {label}\n")
        print(markdown(summary, "auroc"))
        print(f"\nFPR at 95% TPR (lower is better), {label}\n")
        print(markdown(summary, "fpr_at_95_tpr"))
        if bench == "digits":
            print("\nheld_out_classes AUROC per seed:", ", ".join(
                f"{d} " + "/".join(f"{v:.3f}" for v in summary[d]["held_out_classes"]["auroc"]["values"])
                for d in ("MaxSoftmax", "KNN (k=1)", "KNN (k=50)", "Mahalanobis")))
        print(flush=True)

    record["machine"] = machine_info("numpy", "scipy", "scikit-learn", "torch")
    print_machine(record["machine"])
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(record, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
