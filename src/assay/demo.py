"""``assay demo``: a reference model on UCI Adult, evaluated per group, written to a report.

Everything runs offline on the bundled data in well under a minute on two CPU cores. Later
checks (the audit, OOD, explanations, ...) add their sections here as they land.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .core.adapters import wrap
from .datasets import load_adult
from .fairness import fairness_report
from .metrics import CalibrationStats, evaluate_groups
from .models import train_sklearn_model
from .report import Section, figure_to_png, plot_metric_by_group, plot_reliability_diagram, render_html, write_report

#: Metrics of the demo's table, in display order.
DEMO_METRICS = ("accuracy", "selection_rate", "tpr", "fpr", "ece")
#: Sensitive features of the demo: each alone and their intersection.
DEMO_FEATURES = ("sex", "race")
#: Bootstrap resamples of the confidence intervals (stratified by group, seeded).
N_BOOT = 200


def _format_table(by_group: pd.DataFrame, overall: pd.Series, metrics: tuple[str, ...]) -> str:
    """The per-group table as fixed-width text for the terminal."""
    rows = [("overall", "all", *(overall[m] for m in metrics), int(overall["count"]), "")]
    for (feature, group), row in by_group.iterrows():
        rows.append((feature, group, *(row[m] for m in metrics), int(row["count"]),
                     "small" if row.get("small", False) else ""))
    header = ("feature", "group", *metrics, "n", "")
    text_rows = [header] + [
        (r[0], r[1], *("n/a" if pd.isna(v) else f"{v:.3f}" for v in r[2:2 + len(metrics)]),
         str(r[-2]), r[-1]) for r in rows
    ]
    widths = [max(len(str(r[i])) for r in text_rows) for i in range(len(header))]
    lines = []
    for i, r in enumerate(text_rows):
        cells = [str(c).ljust(w) if j < 2 else str(c).rjust(w) for j, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def run_demo(out_dir: str | Path = "assay-report", *, model_kind: str = "gbm", seed: int = 0,
             echo: Callable[[str], Any] = print) -> dict[str, Any]:
    """Train, evaluate per group, print the table, write the report. Returns the JSON record."""
    started = time.perf_counter()
    timings: dict[str, float] = {}

    data = load_adult()
    echo(f"assay {__version__} demo: UCI Adult census income (train {len(data.train):,} rows, "
         f"test {len(data.test):,} rows)")

    tick = time.perf_counter()
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind=model_kind, seed=seed)
    timings["train_seconds"] = time.perf_counter() - tick
    echo(f"trained a {model_kind} pipeline in {timings['train_seconds']:.1f} s")

    tick = time.perf_counter()
    adapter = wrap(model)
    y_true = data.test.y.to_numpy()
    proba = adapter.predict_proba(data.test.X)[:, 1]      # one forward pass ...
    y_pred = adapter.predict(data.test.X)                 # ... reused here
    sensitive = data.test.sensitive_features[list(DEMO_FEATURES)]
    table = evaluate_groups(y_true, y_pred, y_score=proba, sensitive_features=sensitive,
                            metrics=list(DEMO_METRICS), intersections=True, n_boot=N_BOOT, random_state=seed)
    fairness = fairness_report(y_true, y_pred, sensitive_features=sensitive, y_score=proba, n_boot=N_BOOT,
                               seed=seed)
    calibration = CalibrationStats(n_bins=15).update(y_true, proba)
    timings["evaluate_seconds"] = time.perf_counter() - tick

    echo("")
    echo("Test-set metrics by group (UCI Adult test split; 'small': fewer than "
         f"{table.min_group_size} rows, read with care)")
    echo(_format_table(table.by_group, table.overall, DEMO_METRICS))
    echo("")
    headline = fairness.table.loc[[k for k in fairness.table.index if k[1] in (
        "demographic_parity_ratio", "equalized_odds_difference")], ["value", "ci_lower", "ci_upper", "flag"]]
    echo(f"Fairness (95% bootstrap intervals, {N_BOOT} resamples)")
    echo(headline.to_string(float_format=lambda v: f"{v:.3f}"))
    echo("")

    figures = {
        f"{metric}_by_group": figure_to_png(plot_metric_by_group(
            table.by_group, metric, overall=float(table.overall[metric]), ci=table.ci[metric],
            title=f"{metric} by group on the Adult test split, 95% CI (hatched: small group)"))
        for metric in ("selection_rate", "tpr", "fpr")
    }
    figures["reliability"] = figure_to_png(plot_reliability_diagram(
        calibration.bin_confidence()[0], calibration.bin_accuracy()[0], calibration.weight[0],
        label=model_kind, title="Reliability of P(income > 50K), Adult test split"))

    difference, ratio = table.difference(), table.ratio()
    timings["total_seconds"] = time.perf_counter() - started
    record = {
        "title": "assay demo: UCI Adult",
        "assay_version": __version__,
        "seed": seed,
        "environment": {"python": platform.python_version(), "platform": platform.platform()},
        "dataset": {"name": data.name, "n_train": len(data.train), "n_test": len(data.test),
                    "target": data.target_name, "favorable_label": data.favorable_label,
                    "sensitive_features": list(DEMO_FEATURES)},
        "model": {"kind": model_kind, "type": type(model).__name__,
                  "steps": [name for name, _ in model.steps]},
        "metrics": table.to_dict(),
        "gaps": {"difference_between_groups": difference, "ratio_between_groups": ratio},
        "fairness": fairness.to_dict(),
        "calibration": {"n_bins": 15, "bin_confidence": calibration.bin_confidence()[0],
                        "bin_accuracy": calibration.bin_accuracy()[0], "count": calibration.n[0]},
        "timings": timings,
    }

    sections = [
        Section(
            "Performance by group",
            [f"Reference {model_kind} model trained on the published UCI Adult training split and evaluated "
             f"on its test split ({len(data.test):,} rows). Groups with fewer than {table.min_group_size} rows "
             "are flagged 'small': their numbers are noisy.",
             "TPR: share of people earning >50K that the model predicts as such; FPR: share of the others "
             "predicted >50K; selection rate: share predicted >50K; ECE: expected calibration error "
             "(15 equal-width bins)."],
            tables=[("Overall", table.overall.to_frame("value")),
                    ("By group and intersection", table.by_group),
                    ("Largest difference between groups (max - min), per feature", difference),
                    ("Ratio between groups (min / max), per feature", ratio),
                    (f"95% bootstrap intervals by group ({N_BOOT} resamples, stratified by group)", table.ci)],
            figures=[(f"{m} by group", figures[f"{m}_by_group"]) for m in ("selection_rate", "tpr", "fpr")],
            anchor="groups",
        ),
        Section("Group fairness",
                ["Each measure with its 95% bootstrap interval; 'uncertain' means the interval straddles the "
                 "edge of the fair range (e.g. the four-fifths rule), so the data cannot tell."],
                tables=[("Fairness measures", fairness.table)], anchor="fairness"),
        Section("Calibration", ["Each point is one confidence bin; its area is the bin's share of the test set."],
                figures=[("Reliability diagram", figures["reliability"])], anchor="calibration"),
    ]
    html = render_html("assay demo: UCI Adult", sections,
                       subtitle="Disaggregated evaluation of a reference model, from measured numbers.",
                       meta={"assay": __version__, "model": f"{model_kind} ({type(model).__name__})",
                             "data": f"UCI Adult, {len(data.test):,} test rows", "seed": str(seed),
                             "run time": f"{timings['total_seconds']:.1f} s"})
    paths = write_report(out_dir, record, html, figures)
    echo(f"wrote {paths['json']}, {paths['html']} and {len(figures)} plots "
         f"in {time.perf_counter() - started:.1f} s")
    return record
