"""Fairness mitigations: assay vs Fairlearn / AIF360 on the same data (time, accuracy, constraint violation).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_mitigation.py                 # all parts
    PYTHONPATH=src .venv/bin/python benchmarks/bench_mitigation.py --part large --rows 1000000
    PYTHONPATH=src .venv/bin/python benchmarks/bench_mitigation.py --part table

Parts:
* ``large``: GroupThresholds vs Fairlearn's ThresholdOptimizer on synthetic scores (``--rows`` x 4
  groups), demographic parity, true-positive-rate parity and equalized odds: fit + predict time,
  expected accuracy and expected constraint violation on the rows fitted; one ``argsort`` of the
  scores as the floor of any exact threshold search. Then RejectOptionClassifier and
  CostSensitiveThreshold (assay only) on the same scores.
* ``adult``: the same comparison on Adult's test scores of a logistic regression (sex x race),
  Reweighing vs AIF360's, ExponentiatedGradient (assay's wrapper vs Fairlearn direct).
* ``table``: compare_mitigations on Adult (sex, and sex x race) and German credit (age_group).
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
import pandas as pd

from _common import machine_info, print_machine

CONSTRAINTS = (("demographic_parity", "demographic_parity"), ("equal_opportunity", "true_positive_rate_parity"),
               ("equalized_odds", "equalized_odds"))


def _identity():
    from sklearn.base import BaseEstimator, ClassifierMixin

    class Identity(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.fitted_ = True
            return self

        def predict_proba(self, X):
            X = np.asarray(X)
            return np.c_[1 - X[:, 0], X[:, 0]]

        def predict(self, X):
            return (np.asarray(X)[:, 0] >= 0.5).astype(int)

    return Identity().fit(None, None)


def _violation(prob, y, groups, constraint):
    masks = {"demographic_parity": [y >= 0], "equal_opportunity": [y == 1],
             "equalized_odds": [y == 1, y == 0]}[constraint]
    worst = 0.0
    for m in masks:
        rates = [prob[m & (groups == g)].mean() for g in np.unique(groups)]
        worst = max(worst, max(rates) - min(rates))
    return worst


def thresholds_vs_fairlearn(scores, y, groups, sf, label):
    from fairlearn.postprocessing import ThresholdOptimizer

    from assay.fairness import GroupThresholds

    tick = time.perf_counter()
    np.argsort(scores, kind="stable")
    argsort = time.perf_counter() - tick
    print(f"\n{label}: one argsort of the scores {argsort:.3f} s")
    print("| constraint | who | fit s | fit + predict s | x argsort | expected accuracy | expected violation |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for ours_c, theirs_c in CONSTRAINTS:
        tick = time.perf_counter()
        gt = GroupThresholds(constraint=ours_c).fit(scores, y, sensitive_features=sf)
        fit = time.perf_counter() - tick
        gt.predict(scores, sensitive_features=sf, random_state=0)
        both = time.perf_counter() - tick
        prob = gt.positive_probability(scores, sensitive_features=sf)
        acc = np.mean(np.where(y == 1, prob, 1 - prob))
        print(f"| {ours_c} | assay GroupThresholds | {fit:.3f} | {both:.3f} | {fit / argsort:.0f} | {acc:.5f} | "
              f"{_violation(prob, y, groups, ours_c):.1e} |")
        to = ThresholdOptimizer(estimator=_identity(), constraints=theirs_c, prefit=True,
                                predict_method="predict_proba")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tick = time.perf_counter()
            to.fit(scores[:, None], y, sensitive_features=groups)
            fit = time.perf_counter() - tick
            to.predict(scores[:, None], sensitive_features=groups, random_state=0)
            both = time.perf_counter() - tick
            prob = to._pmf_predict(scores[:, None], sensitive_features=groups)[:, 1]
        acc = np.mean(np.where(y == 1, prob, 1 - prob))
        print(f"| {ours_c} | Fairlearn ThresholdOptimizer | {fit:.3f} | {both:.3f} | {fit / argsort:.0f} | "
              f"{acc:.5f} | {_violation(prob, y, groups, ours_c):.1e} |")


def part_large(rows):
    rng = np.random.default_rng(0)
    g = rng.choice(["a", "b", "c", "d"], rows, p=[0.4, 0.3, 0.2, 0.1])
    shift = pd.Series({"a": 0.0, "b": 0.3, "c": -0.3, "d": 0.6})[g].to_numpy()
    y = (rng.random(rows) < 1 / (1 + np.exp(-(shift - 0.5)))).astype(int)
    scores = 1 / (1 + np.exp(-(1.5 * y - 0.75 + shift + rng.normal(size=rows))))
    thresholds_vs_fairlearn(scores, y, g, pd.Series(g, name="group"), f"{rows:,} rows x 4 groups")
    other_post_processing(scores, y, pd.Series(g, name="group"))


def other_post_processing(scores, y, sf):
    """RejectOptionClassifier (every width, exact) and CostSensitiveThreshold (empirical) on the same scores."""
    import assay.fairness as af

    tick = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        roc = af.RejectOptionClassifier(tolerance=0.05).fit(scores, y, sensitive_features=sf)
    fit = time.perf_counter() - tick
    pred = roc.predict(scores, sensitive_features=sf)
    both = time.perf_counter() - tick
    print(f"\nRejectOptionClassifier (every width, {len(roc.rates_)} groups): fit {fit:.2f} s, fit + predict "
          f"{both:.2f} s; width {roc.width_:.4f}, parity gap {roc.gap_:.4f} (within 0.05: {roc.constraint_met_}), "
          f"accuracy {np.mean(pred == y):.4f}")
    tick = time.perf_counter()
    cost = af.CostSensitiveThreshold(cost_matrix=[[0, 5], [1, 0]], method="empirical").fit(scores, y)
    fit = time.perf_counter() - tick
    print(f"CostSensitiveThreshold (empirical, every distinct score, cost 5 FP : 1 FN): fit {fit:.2f} s; threshold "
          f"{cost.threshold_:.4f} (Bayes 5/6 = 0.8333), mean cost {cost.cost_:.4f}")


def part_adult():
    from assay.datasets import load_adult
    from assay.models import train_sklearn_model

    data = load_adult()
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    scores = model.predict_proba(data.test.X)[:, 1].astype(np.float64)
    y = data.test.y.to_numpy()
    sf = data.test.sensitive_features[["sex", "race"]].astype(str).reset_index(drop=True)
    thresholds_vs_fairlearn(scores, y, (sf["sex"] + "|" + sf["race"]).to_numpy(), sf,
                            "Adult test, logistic regression, sex x race (10 cells)")
    _reweighing(data)
    _reductions(data)


def _reweighing(data):
    from aif360.algorithms.preprocessing import Reweighing as AifReweighing
    from aif360.datasets import BinaryLabelDataset

    from assay.fairness import Reweighing

    train = data.train
    sex = (train.sensitive_features["sex"].astype(str) == "Male").astype(float).to_numpy()
    frame = pd.DataFrame({"sex": sex, "label": train.y.to_numpy().astype(float)})
    tick = time.perf_counter()
    dataset = BinaryLabelDataset(df=frame, label_names=["label"], protected_attribute_names=["sex"],
                                 favorable_label=1.0, unfavorable_label=0.0)
    theirs = AifReweighing(unprivileged_groups=[{"sex": 0.0}], privileged_groups=[{"sex": 1.0}]).fit_transform(dataset)
    aif = time.perf_counter() - tick
    tick = time.perf_counter()
    ours = Reweighing().fit(train.X, train.y, sensitive_features=train.sensitive_features["sex"])
    mine = time.perf_counter() - tick
    diff = np.max(np.abs(ours.sample_weight_ - theirs.instance_weights))
    print(f"\nReweighing on Adult train ({len(sex):,} rows, sex): assay {mine:.4f} s, AIF360 {aif:.4f} s "
          f"(incl. its dataset), max |weight difference| {diff:.1e}")


def _reductions(data):
    from fairlearn.reductions import DemographicParity
    from fairlearn.reductions import ExponentiatedGradient as TheirEG
    from sklearn.linear_model import LogisticRegression

    import assay.fairness as af
    from assay.models import make_tabular_preprocessor

    pre = make_tabular_preprocessor(categorical_features=data.categorical_features,
                                    numeric_features=data.numeric_features)
    n = 10_000
    X = pre.fit_transform(data.train.X.iloc[:n])
    y = data.train.y.iloc[:n].to_numpy()
    sf = data.train.sensitive_features[["sex", "race"]].iloc[:n].astype(str).reset_index(drop=True)
    X_test = pre.transform(data.test.X)
    y_test = data.test.y.to_numpy()
    sex_test = data.test.sensitive_features["sex"].astype(str).to_numpy()
    base = LogisticRegression(solver="liblinear").fit(X, y).predict(X_test)
    tick = time.perf_counter()
    ours = af.ExponentiatedGradient(LogisticRegression(solver="liblinear"), max_iter=30, random_state=0).fit(
        X, y, sensitive_features=sf)
    mine = time.perf_counter() - tick
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tick = time.perf_counter()
        TheirEG(LogisticRegression(solver="liblinear"), DemographicParity(difference_bound=0.01), eps=0.01,
                max_iter=30).fit(X, y, sensitive_features=(sf["sex"] + "|" + sf["race"]).to_numpy())
        theirs = time.perf_counter() - tick
    pred = ours.predict(X_test)
    print(f"\nExponentiatedGradient (demographic parity, sex x race, {n:,} Adult rows, 30 iterations): assay "
          f"{mine:.2f} s, Fairlearn direct {theirs:.2f} s; test accuracy {np.mean(pred == y_test):.4f} "
          f"(unconstrained {np.mean(base == y_test):.4f}); parity gap by sex "
          f"{af.demographic_parity_difference(y_test, pred, sensitive_features=sex_test):.4f} "
          f"(unconstrained {af.demographic_parity_difference(y_test, base, sensitive_features=sex_test):.4f})")


def part_table():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    import assay.fairness as af
    from assay.datasets import load_adult, load_german_credit
    from assay.models import make_tabular_preprocessor

    columns = ["stage", "accuracy", "balanced_accuracy", "ece"]
    for loader, features, gap in ((load_adult, ["sex"], "demographic_parity_difference[sex]"),
                                  (load_adult, ["sex", "race"], "demographic_parity_difference[sex x race]"),
                                  (load_german_credit, ["age_group"], "demographic_parity_difference[age_group]")):
        data = loader()
        # the torch mitigations (a 32-unit MLP): ~400,000 row visits, 5 to 30 epochs
        torch_fit = {"epochs": min(30, max(5, round(400_000 / len(data.train.y)))), "batch_size": 128}
        baseline = Pipeline([("pre", make_tabular_preprocessor(categorical_features=data.categorical_features,
                                                                numeric_features=data.numeric_features)),
                             ("clf", LogisticRegression(solver="liblinear"))])
        mitigations = {"reweighing": af.Reweighing(), "resampling": af.GroupResampler(random_state=0),
                       "di_remover": af.DisparateImpactRemover(),
                       "mlp": af.MinDiffClassifier(weight=0.0, **torch_fit),
                       "mindiff": af.MinDiffClassifier(**torch_fit),
                       "adversarial": af.AdversarialDebiasing(**torch_fit),
                       "reject_option": af.RejectOptionClassifier(),
                       "thresholds_dp": af.GroupThresholds(),
                       "thresholds_eq_odds": af.GroupThresholds(constraint="equalized_odds"),
                       "thresholds_dp_tol_0.05": af.GroupThresholds(tolerance=0.05)}
        if data.cost_matrix is not None:  # German credit: 5 for a bad applicant predicted good, 1 for the opposite
            mitigations["cost_threshold"] = af.CostSensitiveThreshold(cost_matrix=data.cost_matrix)
        tick = time.perf_counter()
        result = af.compare_mitigations(baseline, mitigations, data, sensitive_features=features, n_boot=200,
                                        random_state=0)
        seconds = time.perf_counter() - tick
        eo = gap.replace("demographic_parity", "equalized_odds")
        shown = result.table[columns + [gap, f"{gap}_lower", f"{gap}_upper", eo, "fit_seconds", "error"]]
        print(f"\n{data.name}, {' x '.join(features)} ({seconds:.1f} s, {result.params['n_test']:,} test rows):")
        print("| model | stage | accuracy | balanced acc. | ECE | parity gap [95% CI] | eq. odds gap | significant "
              "gap change | s |")
        print("|---|---|---:|---:|---:|---:|---:|---|---:|")
        for name, row in shown.iterrows():
            if isinstance(row["error"], str):
                print(f"| {name} | {row['stage']} | not fitted: {row['error'][:80]} |")
                continue
            sig = "" if name == "none" else ("yes" if result.differences.loc[(name, gap), "significant"] else "no")
            print(f"| {name} | {row['stage']} | {row['accuracy']:.4f} | {row['balanced_accuracy']:.4f} | "
                  f"{row['ece']:.4f} | {row[gap]:.4f} [{row[f'{gap}_lower']:.4f}, {row[f'{gap}_upper']:.4f}] | "
                  f"{row[eo]:.4f} | {sig} | {row['fit_seconds']:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["large", "adult", "table", "all"], default="all")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    print_machine(machine_info("numpy", "scipy", "fairlearn", "aif360", "scikit-learn"))
    if args.part in ("large", "all"):
        part_large(args.rows)
    if args.part in ("adult", "all"):
        part_adult()
    if args.part in ("table", "all"):
        part_table()


if __name__ == "__main__":
    main()
