"""What the audit costs on top of the checks it runs, and what its output cache saves.

In one run, on UCI Adult (48,842 rows) with a trained GBM pipeline:

* the audit: every check that applies, one forward pass on the test split (counted);
* the same checks called one by one the way a script without the audit's cache would, each
  asking the scikit-learn model for its own predictions (the reference);
* a resumed audit in the same run directory (nothing recomputed);

    .venv/bin/python benchmarks/bench_audit.py
"""

import argparse
import tempfile
import time

import numpy as np

from assay.audit import Audit
from assay.data_checks import run_data_checks
from assay.data_checks.summary import describe_data
from assay.datasets import load_adult
from assay.fairness import fairness_report
from assay.metrics import evaluate_groups
from assay.models import train_sklearn_model


CALLS = {}  # kept outside the model, so counting does not change the model's fingerprint


class CountingModel:
    """Delegates to a fitted pipeline and counts predict_proba calls."""

    def __init__(self, model):
        self.model, self.classes_ = model, model.classes_
        self.token = len(CALLS)
        CALLS[self.token] = 0

    @property
    def calls(self):
        return CALLS[self.token]

    def fit(self, X, y):  # pragma: no cover - never refitted
        return self

    def predict_proba(self, X):
        CALLS[self.token] += 1
        return self.model.predict_proba(X)


def separate_calls(predict_proba, data, features, seed):
    """The checks without the audit. ``predict_proba(X)`` is the model's (each check predicts
    for itself: the naive script) or returns outputs computed beforehand (the checks' own compute)."""
    test, train = data.test, data.train
    sensitive = test.sensitive_features[features]
    y = test.y.to_numpy()
    train_frame = train.X.assign(__target__=train.y.to_numpy())
    test_frame = test.X.assign(__target__=y)
    run_data_checks(train_frame, test_frame, target="__target__", sensitive_features=features, random_state=seed,
                    max_rows=20_000)
    describe_data(train.X, train.y)
    pred = (predict_proba(test.X)[:, 1] >= 0.5).astype(int)
    evaluate_groups(y, pred, sensitive_features=sensitive, metrics=["accuracy", "balanced_accuracy",
                    "selection_rate", "tpr", "fpr", "ppv"], n_boot=200, random_state=seed)
    proba = predict_proba(test.X)
    fairness_report(y, (proba[:, 1] >= 0.5).astype(int), sensitive_features=sensitive, y_score=proba[:, 1],
                    n_boot=200, random_state=seed)
    proba = predict_proba(test.X)
    evaluate_groups(y, None, y_score=proba[:, 1], sensitive_features=sensitive, metrics=["ece"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("gbm", "logistic"), default="gbm")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    data = load_adult()
    features = ["sex", "race"]
    fitted = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                 numeric_features=data.numeric_features, kind=args.model, random_state=0)
    splits = {"train": data.train, "test": data.test}

    audit_times, separate_times, resume_times, compute_times, pass_times = [], [], [], [], []
    for _ in range(args.repeats):
        model = CountingModel(fitted)
        with tempfile.TemporaryDirectory() as run_dir:
            tick = time.perf_counter()
            result = Audit(model, splits, sensitive_features=features, progress=False).run(run_dir)
            audit_times.append(time.perf_counter() - tick)
            audit_calls = model.calls
            tick = time.perf_counter()
            resumed = Audit(model, splits, sensitive_features=features, progress=False).run(run_dir)
            resume_times.append(time.perf_counter() - tick)
        assert result.forward_passes == {"test": 1} and not resumed.computed
        separate = CountingModel(fitted)
        tick = time.perf_counter()
        separate_calls(separate.predict_proba, data, features, seed=0)
        separate_times.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        proba = fitted.predict_proba(data.test.X)
        pass_times.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        separate_calls(lambda X: proba, data, features, seed=0)
        compute_times.append(time.perf_counter() - tick)
    pass_time = min(pass_times)

    def best(times):
        return min(times)

    print(f"UCI Adult, {args.model} pipeline, checks: {', '.join(result.records)}; best of {args.repeats}")
    print(f"one forward pass (test split)        {pass_time:7.3f} s")
    print(f"audit (all checks, records on disk)  {best(audit_times):7.3f} s   forward passes on test: "
          f"{result.forward_passes['test']} ({audit_calls} predict_proba batches)")
    print(f"same checks called separately        {best(separate_times):7.3f} s   forward passes on test: "
          f"{separate.calls}")
    print(f"ratio audit / separate               {best(audit_times) / best(separate_times):7.2f}x")
    # the floor: one forward pass plus the checks' own compute on outputs computed beforehand
    floor = pass_time + best(compute_times)
    print(f"checks' own compute (outputs given)  {best(compute_times):7.3f} s")
    print(f"floor: one pass + checks' compute    {floor:7.3f} s")
    print(f"ratio audit / floor                  {best(audit_times) / floor:7.2f}x   (goal: at most 1.2x)")
    print(f"resumed audit (nothing recomputed)   {best(resume_times):7.3f} s")
    print("per check (s):", {k: round(v["seconds"], 3) for k, v in result.records.items()})
    assert np.isfinite(best(audit_times))


if __name__ == "__main__":
    main()
