"""assay's audit next to Evidently's report and Giskard's scan, on the same model and data.

UCI Adult as published (train 32,561 rows, test 16,281 rows; 48,842 in all), one scikit-learn
GBM pipeline trained by :func:`assay.models.train_sklearn_model` (seed 0). Every tool gets the
train split as reference and the test split as evaluation data, and makes its own predictions,
so each timing includes the tool's own forward passes (counted, in rows).

* Evidently (0.7 API): a ``Report`` with ``DataSummaryPreset`` (data quality) and
  ``DataDriftPreset`` (train vs test, every feature and the target), and one with
  ``ClassificationPreset`` (test metrics, from labels and P(>50K)); snapshots serialised to JSON.
* Giskard (v2): ``giskard.scan`` with its default detectors on the test split.
* assay: ``Audit`` with ``data_quality``, ``group_performance``, ``fairness`` and
  ``calibration`` (sensitive features sex and race, intersections, 200 bootstrap resamples),
  records written to a temporary run directory.

These libraries do not install into the project's venv (their pins clash with it), so this file
runs in a separate one, with assay imported from ``src/``::

    python3 -m venv /tmp/extvenv
    /tmp/extvenv/bin/pip install evidently giskard -c constraints.txt
    /tmp/extvenv/bin/pip install torch==2.13.0 matplotlib tqdm xxhash safetensors -c constraints.txt
    /tmp/extvenv/bin/python benchmarks/bench_audit_external.py

A tool that is not installed is skipped and said so.
"""

import argparse
import importlib.metadata
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

# No telemetry from either library (there is no network here anyway), nothing written to ~.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("ITERATIVE_DO_NOT_TRACK", "1")
os.environ.setdefault("GSK_DISABLE_ANALYTICS", "true")
os.environ.setdefault("GSK_HOME", os.path.join(tempfile.gettempdir(), "giskard-home"))

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from assay.audit import Audit  # noqa: E402
from assay.datasets import load_adult  # noqa: E402
from assay.models import train_sklearn_model  # noqa: E402

SENSITIVE = ["sex", "race"]
TARGET = "income"


class Counting:
    """Delegates to a fitted pipeline and counts the rows it is asked to predict."""

    def __init__(self, model):
        self.model, self.classes_ = model, model.classes_
        self.rows = self.calls = 0

    def fit(self, X, y):  # pragma: no cover - never refitted
        return self

    def predict_proba(self, X):
        self.rows += len(X)
        self.calls += 1
        return self.model.predict_proba(X)


def version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def run_assay(fitted, data):
    model = Counting(fitted)
    with tempfile.TemporaryDirectory() as run_dir:
        tick = time.perf_counter()
        result = Audit(model, {"train": data.train, "test": data.test}, sensitive_features=SENSITIVE,
                       checks=["data_quality", "group_performance", "fairness", "calibration"],
                       progress=False).run(run_dir)
        seconds = time.perf_counter() - tick
    per_check = {k: round(v["seconds"], 2) for k, v in result.records.items()}
    return seconds, model.rows, per_check


def run_evidently(fitted, data):
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.presets import ClassificationPreset, DataDriftPreset, DataSummaryPreset

    model = Counting(fitted)
    tick = time.perf_counter()
    proba = model.predict_proba(data.test.X)[:, 1]
    current = data.test.X.assign(**{TARGET: data.test.y.to_numpy(), "prediction": (proba >= 0.5).astype(int),
                                    "proba": proba})
    reference = data.train.X.assign(**{TARGET: data.train.y.to_numpy()})
    numeric = list(data.numeric_features)
    categorical = list(data.categorical_features)
    # Evidently wants a column present in both datasets or in neither, and the reference (train) has no
    # predictions (assay's audit predicts on the evaluation split only): two reports, data and model
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical + [TARGET])
    data_report = Report([DataSummaryPreset(), DataDriftPreset(columns=numeric + categorical + [TARGET])])
    data_snapshot = data_report.run(Dataset.from_pandas(current.drop(columns=["prediction", "proba"]),
                                                        data_definition=definition),
                                    Dataset.from_pandas(reference, data_definition=definition))
    model_def = DataDefinition(numerical_columns=numeric, categorical_columns=categorical + [TARGET, "prediction"],
                               classification=[BinaryClassification(target=TARGET, prediction_labels="prediction",
                                                                    prediction_probas="proba", pos_label=1)])
    model_snapshot = Report([ClassificationPreset()]).run(Dataset.from_pandas(current, data_definition=model_def),
                                                          None)
    payload = data_snapshot.json() + model_snapshot.json()
    seconds = time.perf_counter() - tick
    return seconds, model.rows, len(payload)


def run_giskard(fitted, data):
    import giskard

    # giskard configures its loggers on import and logs every prediction at INFO: not timed here
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("giskard"):
            logging.getLogger(name).setLevel(logging.WARNING)
    model = Counting(fitted)
    dtypes = data.test.X.dtypes.to_dict()
    columns = list(data.test.X.columns)

    def predict(df):
        # Giskard hands over object columns; give the pipeline the categories it was trained on
        return model.predict_proba(df[columns].astype(dtypes))

    tick = time.perf_counter()
    frame = data.test.X.astype({c: object for c in data.categorical_features}).assign(
        **{TARGET: data.test.y.to_numpy()})
    gmodel = giskard.Model(model=predict, model_type="classification", classification_labels=[0, 1],
                           feature_names=columns, name="adult-gbm")
    gdata = giskard.Dataset(frame, target=TARGET, cat_columns=list(data.categorical_features), name="adult-test")
    results = giskard.scan(gmodel, gdata, verbose=False, raise_exceptions=True)
    seconds = time.perf_counter() - tick
    groups = sorted({issue.group.name for issue in results.issues})
    return seconds, model.rows, f"{len(results.issues)} issues ({', '.join(groups)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of assay and Evidently (best is shown)")
    parser.add_argument("--giskard-repeats", type=int, default=1, help="runs of the Giskard scan (it is slow)")
    parser.add_argument("--skip", nargs="*", default=[], choices=("assay", "evidently", "giskard"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    data = load_adult()
    fitted = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                 numeric_features=data.numeric_features, kind="gbm", random_state=0)
    tick = time.perf_counter()
    fitted.predict_proba(data.test.X)
    pass_time = time.perf_counter() - tick

    rows = []  # (tool, what, seconds, rows predicted, note)
    if "assay" not in args.skip:
        runs = [run_assay(fitted, data) for _ in range(args.repeats)]
        best = min(runs, key=lambda r: r[0])
        rows.append((f"assay {version('assay') or '(src)'}", "data_quality+group_performance+fairness+calibration",
                     best[0], best[1], f"per check s: {best[2]}"))
    for name, runner, repeats, what in (
            ("evidently", run_evidently, args.repeats, "DataSummary+DataDrift+Classification presets"),
            ("giskard", run_giskard, args.giskard_repeats, "scan, default detectors")):
        if name in args.skip:
            continue
        if version(name) is None:
            rows.append((name, what, float("nan"), 0, "not installed: skipped"))
            continue
        try:
            runs = [runner(fitted, data) for _ in range(repeats)]
        except Exception as error:  # record why, keep the other tools' numbers
            rows.append((f"{name} {version(name)}", what, float("nan"), 0,
                         f"failed: {type(error).__name__}: {str(error).splitlines()[0][:120]}"))
            continue
        best = min(runs, key=lambda r: r[0])
        note = f"{best[2]:,} chars of JSON" if name == "evidently" else best[2]
        rows.append((f"{name} {version(name)}", what, best[0], best[1], note))

    print(f"UCI Adult: train {len(data.train.X):,} / test {len(data.test.X):,} rows, sklearn GBM pipeline; "
          f"python {sys.version.split()[0]}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"scikit-learn {version('scikit-learn')}")
    print(f"one forward pass on test: {pass_time:.3f} s; best of {args.repeats} (Giskard: "
          f"{args.giskard_repeats}) runs")
    print(f"{'tool':<18} {'what it computes':<52} {'seconds':>8} {'rows predicted':>15}  note")
    for tool, what, seconds, predicted, note in rows:
        print(f"{tool:<18} {what:<52} {seconds:8.2f} {predicted:>15,}  {note}")


if __name__ == "__main__":
    main()
