"""``assay demo``: the full audit of four bundled reference models, written to reports and cards.

1. A gradient-boosting (or logistic) pipeline on UCI Adult: data checks, performance per sex,
   race and sex x race with bootstrap intervals, group fairness, calibration, the training data's
   distribution, out-of-distribution detection against German credit applicants mapped onto
   Adult's columns, robustness (corruption curves per group, the constraint-aware tabular attack),
   counterfactual fairness (decisions flipped by the sensitive attribute alone, recourse cost per
   group), membership inference and the training data's k-anonymity and PII, and fairness
   mitigations by post-processing (group thresholds, reject option; sex and sex x race). Written to
   ``out_dir`` (report.json, report.html, MODEL_CARD.md, DATASHEET.md).
2. A logistic pipeline on UCI German credit, audited for age groups, with fairness mitigations by
   post-processing beside the data set's cost-aware threshold (5 for a bad applicant predicted
   good, 1 for the opposite). Written to ``out_dir/german``.
3. A PyTorch MLP on Adult that never sees sex or race, audited with the ``probes`` check: are they
   linearly decodable from its hidden layers anyway (and from its input)? Written to
   ``out_dir/adult-mlp``.
4. A small CNN on scikit-learn's 8x8 digits (PyTorch) trained on the digits 0-7: every check that
   fits an image model, with OOD detection against the digits 8 and 9 it never saw, corrupted and
   rotated digits, noise images and letters, PGD robustness and the three risks (representation
   bias, aleatoric, epistemic). Written to ``out_dir/digits``.

Everything runs offline on bundled data, in well under the three minutes the issue allows on two
CPU cores. Every number printed or written comes from the audit records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .audit import Audit
from .audit.runner import environment
from .datasets import (hold_out_validation, load_adult, load_adult_ood, load_digits_ood, load_digits_split,
                       load_german_credit)
from .models import make_tabular_preprocessor, train_digits_cnn, train_sklearn_model, train_tabular_mlp
from .audit.documents import audit_record, write_audit_report
from .report.tables import frame_from_record
from .core.validation import SEED_NOT_GIVEN, renamed_seed

#: Metrics of the demo's terminal table, in display order.
DEMO_METRICS = ("accuracy", "selection_rate", "tpr", "fpr")
#: Sensitive features of the Adult audit: each alone and their intersection.
DEMO_FEATURES = ("sex", "race")
#: Opt-in checks each audit names beside "auto", with the parameters that keep the demo fast.
ADULT_CHECKS: dict[str, dict[str, Any]] = {
    "robustness": {"max_attack_rows": 200},
    "recourse": {"max_rows": 100, "n_candidates": 20},
    "privacy": {},
    "data_privacy": {"quasi_identifiers": ["age", "sex", "race", "native_country"], "sensitive": ["income"]},
    # post-processing of the audited model itself (prefit: nothing retrained; its cached passes reused)
    "mitigation": {"mitigations": ["thresholds_demographic_parity", "thresholds_equalized_odds", "reject_option"],
                   "prefit": True},
    "explanations": {"max_rows": 300, "max_explain_rows": 30, "n_background": 8, "n_repeats": 3, "n_samples": 128,
                     "n_boot": 50, "min_group_size": 10},
}
DIGITS_CHECKS: dict[str, dict[str, Any]] = {"robustness": {}, "risk": {}, "explanations": {"max_explain_rows": 32}}
#: The torch MLP on Adult (sex and race not among its inputs): only the probes.
MLP_CHECKS: dict[str, dict[str, Any]] = {"probes": {"max_rows": 2000}}
#: Sensitive feature of the German credit audit.
GERMAN_FEATURES = ("age_group",)
#: German credit: post-processing for age groups and the cost-aware threshold of the data set's 5:1 cost
#: matrix (its ``cost_matrix`` is added at run time).
GERMAN_CHECKS: dict[str, dict[str, Any]] = {
    "mitigation": {"mitigations": ["thresholds_demographic_parity", "thresholds_equal_opportunity", "reject_option",
                                   "cost_threshold"], "prefit": True},
}


def _format_table(by_group: pd.DataFrame, overall: dict[str, float], metrics: tuple[str, ...]) -> str:
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


def _ood_text(record: dict[str, Any]) -> str:
    ood = record["checks"].get("ood")
    if not ood or ood["status"] != "ok":
        return ""
    summary = ood["summary"]
    lines = ["", f"Out-of-distribution detection: AUROC and FPR at 95% TPR of {summary['primary_detector']} "
             "(the best detector on average)"]
    lines += [f"  {name:<28} {value:.3f}   {summary['fpr_at_95_tpr'][name]:.3f}"
              for name, value in summary["auroc"].items()]
    return "\n".join(lines)


def _findings_text(record: dict[str, Any]) -> str:
    counts = record["summary"]["findings"]
    lines = [f"findings: {counts['fail']} fail, {counts['warn']} warn, {counts['pass']} pass "
             f"(worst: {record['summary']['worst_severity']})"]
    lines += [f"  {f['severity']:>4}  {f['check']}: {f['message']}" for f in record["findings"]
              if f["severity"] != "pass"][:12]
    return "\n".join(lines)


def _audit_adult(out: Path, model_kind: str, random_state: int, echo: Callable[[str], Any]) -> dict[str, Any]:
    # a validation split held out of the training file: temperature scaling and conformal sets are fitted there
    data = hold_out_validation(load_adult(), val_size=0.2, random_state=random_state)
    echo(f"[1/4] UCI Adult census income (train {len(data.train):,} rows, validation {len(data.val):,}, "
         f"test {len(data.test):,})")
    tick = time.perf_counter()
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind=model_kind, random_state=random_state)
    echo(f"      trained a {model_kind} pipeline in {time.perf_counter() - tick:.1f} s; auditing ...")
    # Out of distribution: the German credit applicants, mapped onto Adult's columns.
    german = load_adult_ood(random_state=random_state).ood["german_credit"]
    result = Audit(model, {"train": data.train, "val": data.val, "test": data.test, "ood:german_credit": german},
                   sensitive_features=list(DEMO_FEATURES), checks=["auto", *ADULT_CHECKS], check_params=ADULT_CHECKS,
                   random_state=random_state).run(out, resume=False)
    record = audit_record(result, title="assay demo: UCI Adult", model_name=f"adult-{model_kind}",
                          dataset_name="UCI Adult", environment=environment(), task="tabular-classification",
                          dataset=data)
    paths = write_audit_report(record, out, model_name=f"adult-{model_kind}")

    performance = record["checks"]["group_performance"]
    echo("")
    echo("Test-set metrics by group (UCI Adult test split; 'small': fewer than "
         f"{performance['params']['min_group_size']} rows, read with care)")
    echo(_format_table(frame_from_record(performance["result"]["by_group"]), performance["result"]["overall"],
                       DEMO_METRICS))
    fairness = record["checks"]["fairness"]["summary"]
    echo("")
    echo(f"Fairness (95% bootstrap intervals, {record['checks']['fairness']['params']['n_boot']} resamples)")
    for key, value in fairness.items():
        if not key.endswith(("ci_lower", "ci_upper")) and value is not None:
            echo(f"  {key:<40} {value:.3f}  [{fairness[key + '.ci_lower']:.3f}, {fairness[key + '.ci_upper']:.3f}]")
    echo(_uncertainty_text(record))
    echo(_ood_text(record))
    echo(_robustness_text(record))
    echo(_recourse_text(record))
    echo(_privacy_text(record))
    echo(_mitigation_text(record))
    echo(_explanations_text(record))
    echo(_findings_text(record))
    echo(f"      wrote {', '.join(str(p) for p in paths.values())}")
    return record


def _mitigation_text(record: dict[str, Any], features: tuple[str, ...] = DEMO_FEATURES) -> str:
    """Baseline and each post-processing mitigation: accuracy and the parity gap by the first feature
    and by the intersection of ``features`` (the same column once when there is one)."""
    mitigation = record["checks"].get("mitigation")
    if not mitigation or mitigation["status"] != "ok":
        return ""
    table = frame_from_record(mitigation["result"]["table"])
    if "model" in table.columns:
        table = table.set_index("model")
    keys = dict.fromkeys((features[0], " x ".join(features)))
    gaps = [c for c in (f"demographic_parity_difference[{f}]" for f in keys) if c in table.columns]
    lines = ["", "Mitigations (post-processing of this model, fitted on the validation split; parity gap "
                 "= largest difference in selection rate)",
             f"  {'model':<32} {'accuracy':>8}  " + "  ".join(f"{'gap ' + g[30:-1]:>16}" for g in gaps)]
    for name, row in table.iterrows():
        if isinstance(row.get("error"), str):
            lines.append(f"  {name:<32} not fitted: {row['error'][:60]}")
            continue
        lines.append(f"  {name:<32} {row['accuracy']:>8.3f}  " + "  ".join(f"{row[g]:>16.3f}" for g in gaps))
    return "\n".join(lines)


def _explanations_text(record: dict[str, Any]) -> str:
    """Tables: the top features and sensitive ranks; images: each method's randomisation verdict."""
    explanations = record["checks"].get("explanations")
    if not explanations or explanations["status"] != "ok":
        return ""
    s = explanations["summary"]
    if s["kind"] == "image":
        return "\n".join(["", f"Explanations ({s['n_rows']} images): parameter randomisation test"]
                         + [f"  {verdict}" for verdict in s["verdicts"].values()])
    top = s["top_permutation"]
    lines = ["", f"Explanations: top features by mean |SHAP| ({s['n_rows']} rows): {', '.join(s['top_features'])}; "
                 f"permutation importance: {top['feature']} {top['importance']:.3f} "
                 f"[{top['lower']:.3f}, {top['upper']:.3f}]"]
    if s["sensitive_feature_rank"]:
        lines.append("  sensitive features' importance rank: "
                     + ", ".join(f"{f} {r}" for f, r in s["sensitive_feature_rank"].items()))
    for feature, detail in s["share_gap_detail"].items():
        lines.append(f"  {feature}: {detail['feature']} gets {detail['high_share']:.1%} of the importance for "
                     f"{detail['high_group']}, {detail['low_share']:.1%} for {detail['low_group']}")
    return "\n".join(lines)


def _privacy_text(record: dict[str, Any]) -> str:
    """Membership inference on the model, and re-identification risk and PII in its training data."""
    lines = []
    privacy = record["checks"].get("privacy")
    if privacy and privacy["status"] == "ok":
        s = privacy["summary"]
        lines += ["", f"Privacy: membership inference ({s['attack']} attack, train vs test): AUC "
                      f"{s['membership_auc']:.3f}, advantage {s['membership_advantage']:.3f}, TPR at 1% FPR "
                      f"{s['tpr_at_1_fpr']:.3f}"]
    data = record["checks"].get("data_privacy")
    if data and data["status"] == "ok":
        s = data["summary"]
        line = f"  training data: largest share of PII in a column {s['pii_share']:.3f}"
        if "k_anonymity" in s:
            line += (f"; k-anonymity of {', '.join(s['quasi_identifiers'])}: k = {s['k_anonymity']} "
                     f"({s['unique_share']:.1%} of rows unique)")
        if "generalization" in s:
            g = s["generalization"]
            line += (f"; a generalisation reaches k = {s['target_k']} at loss {g['loss']:.3f} "
                     f"({g['n_suppressed']} rows suppressed)")
        lines.append(line)
    return "\n".join(lines)


def _recourse_text(record: dict[str, Any]) -> str:
    """Decisions that flip with the sensitive attribute alone, and who must move farthest to be accepted."""
    recourse = record["checks"].get("recourse")
    if not recourse or recourse["status"] != "ok":
        return ""
    s = recourse["summary"]
    flips = ", ".join(f"{column} {value:.3f}" for column, value in s["sensitive_flip_rate"].items())
    lines = ["", f"Counterfactual fairness: decisions that change when only the attribute changes: {flips}"]
    if s.get("mean_cost") is not None:
        lines.append(f"  recourse: {s['found_rate']:.0%} of {s['n_rejected']} rejected applicants have a favourable "
                     f"counterfactual (mean distance {s['mean_cost']:.2f} sd)")
    for feature, ratio in s["recourse_cost_ratio"].items():
        info = s["recourse_gap"][feature]
        lines.append(f"  {feature}: {info['worst']} must move {ratio:.2f}x as far as {info['best']}")
    return "\n".join(lines)


def _risk_text(record: dict[str, Any]) -> str:
    """The three risks of the digits CNN, apart: their means and how little they agree."""
    risk = record["checks"].get("risk")
    if not risk or risk["status"] != "ok":
        return ""
    s = risk["summary"]
    return "\n".join(["", f"Risk (layer {s['layer']}): accuracy gap between the best- and least-represented deciles "
                           f"{s['bias_accuracy_gap']:.3f}; Spearman correlation bias-epistemic "
                           f"{s['correlation_bias_epistemic']:.2f}, bias-aleatoric "
                           f"{s['correlation_bias_aleatoric']:.2f}, "
                           f"aleatoric-epistemic {s['correlation_aleatoric_epistemic']:.2f}"])


def _robustness_text(record: dict[str, Any]) -> str:
    """Accuracy under the worst corruption, the group that breaks first, and the attack's robust accuracy."""
    robustness = record["checks"].get("robustness")
    if not robustness or robustness["status"] != "ok":
        return ""
    s = robustness["summary"]
    lines = ["", f"Robustness: accuracy {s['clean_accuracy']:.3f} clean -> {s['worst_corruption_accuracy']:.3f} under "
                 f"{s['worst_corruption']} at severity {max(s['severities'])}"]
    for feature, info in s["fastest_group"].items():
        lines.append(f"  breaks first among {feature}: {info['group']} (drop {info['drop']:.3f} under "
                     f"{info['corruption']})")
    if s.get("adversarial_robust_accuracy") is not None:
        lines.append(f"  {s['attack']}: robust accuracy {s['adversarial_robust_accuracy']:.3f}, attack success "
                     f"{s['attack_success_rate']:.3f}")
    return "\n".join(lines)


def _uncertainty_text(record: dict[str, Any]) -> str:
    """Calibration before/after temperature scaling, and conformal coverage (marginal and Mondrian)."""
    lines = []
    calibration = record["checks"].get("calibration")
    if calibration and calibration["status"] == "ok" and "temperature" in calibration["summary"]:
        s = calibration["summary"]
        line = (f"Calibration: ECE {s['overall_ece']:.3f} -> {s['recalibrated_ece']:.3f} after temperature "
                f"scaling on the validation split (T = {s['temperature']:.2f})")
        if s.get("max_group_ece") is not None and s.get("recalibrated_max_group_ece") is not None:
            line += f"; worst group ECE {s['max_group_ece']:.3f} -> {s['recalibrated_max_group_ece']:.3f}"
        lines += ["", line]
    conformal = record["checks"].get("conformal")
    if conformal and conformal["status"] == "ok":
        s = conformal["summary"]
        low, high = s.get("coverage_ci") or (None, None)
        interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
        line = (f"Conformal sets (1 - alpha = {s['target_coverage']:.2f}, calibrated on "
                f"{conformal['result']['n_calibration']:,} validation rows): coverage {s['coverage']:.3f}{interval}, "
                f"mean set size {s['mean_set_size']:.2f}")
        if s.get("mondrian_coverage") is not None:
            line += f"; per-group (Mondrian) coverage {s['mondrian_coverage']:.3f}"
        lines += [line] + [f"  under-covered: {g['feature']} = {g['group']}: {g['coverage']:.3f}"
                           + (f" (Mondrian {g['mondrian_coverage']:.3f})" if g.get("mondrian_coverage") else "")
                           for g in s.get("undercovered", [])[:5]]
    return "\n".join(lines)


def _audit_german(out: Path, random_state: int, echo: Callable[[str], Any]) -> dict[str, Any]:
    data = hold_out_validation(load_german_credit(random_state=random_state), val_size=0.2, random_state=random_state)
    echo("")
    echo(f"[2/4] UCI German credit (train {len(data.train):,} applicants, validation {len(data.val):,}, "
         f"test {len(data.test):,}); age groups {', '.join(map(str, data.test.sensitive_features['age_group'].cat.categories))}")
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=random_state)
    checks = {**GERMAN_CHECKS, "mitigation": {**GERMAN_CHECKS["mitigation"],
                                              "cost_matrix": data.cost_matrix.to_numpy().tolist()}}
    result = Audit(model, {"train": data.train, "val": data.val, "test": data.test},
                   sensitive_features=list(GERMAN_FEATURES), checks=["auto", *checks], check_params=checks,
                   random_state=random_state).run(out, resume=False)
    record = audit_record(result, title="assay demo: UCI German credit", model_name="german-credit-logistic",
                          dataset_name="UCI Statlog German credit", environment=environment(),
                          task="tabular-classification", dataset=data)
    paths = write_audit_report(record, out, model_name="german-credit-logistic")
    echo(_mitigation_text(record, GERMAN_FEATURES))
    echo("  (cost_threshold: one threshold minimising the data set's cost -- 5 for a bad applicant "
         "predicted good, 1 for the opposite -- on the validation split)")
    echo(_findings_text(record))
    echo(f"      wrote {', '.join(str(p) for p in paths.values())}")
    return record


def _audit_adult_mlp(out: Path, random_state: int, echo: Callable[[str], Any]) -> dict[str, Any]:
    """A torch MLP on Adult that never sees sex or race: are they decodable from its hidden layers?"""
    data = load_adult()
    categorical = [c for c in data.categorical_features if c not in DEMO_FEATURES]  # sex and race left out
    encode = make_tabular_preprocessor(categorical, data.numeric_features).fit(data.train.X)

    def split(part: Any, rows: slice) -> tuple[Any, Any, Any]:
        X = np.asarray(encode.transform(part.X.iloc[rows]), dtype=np.float32)
        return X, np.asarray(part.y)[rows], part.sensitive_features.iloc[rows][list(DEMO_FEATURES)].reset_index(drop=True)

    train, test = split(data.train, slice(0, 8000)), split(data.test, slice(0, 4000))
    echo("")
    echo(f"[3/4] What a network's layers encode: a PyTorch MLP on Adult ({train[0].shape[1]} encoded features, "
         f"without sex or race), probed for both")
    model = train_tabular_mlp(train[0], train[1], epochs=5, random_state=random_state)
    result = Audit(model, {"train": train, "test": test}, checks=list(MLP_CHECKS), check_params=MLP_CHECKS,
                   random_state=random_state).run(out, resume=False)
    record = audit_record(result, title="assay demo: what an Adult MLP's layers encode", model_name="adult-mlp",
                          dataset_name="UCI Adult", environment=environment(), task="tabular-classification")
    paths = write_audit_report(record, out, model_name="adult-mlp")
    echo(_probes_text(record))
    echo(_findings_text(record))
    echo(f"      wrote {', '.join(str(p) for p in paths.values())}")
    return record


def _probes_text(record: dict[str, Any]) -> str:
    """Per sensitive attribute: the most selective hidden layer's probe against the input's."""
    probes = record["checks"].get("probes")
    if not probes or probes["status"] != "ok":
        return ""
    s = probes["summary"]
    lines = ["", f"Linear probes ({s['n_rows']} rows; selectivity = probe accuracy - control-task accuracy)"]
    for column, info in s["best_layer"].items():
        line = (f"  {column:<6} most selective layer {info['layer']}: accuracy {info['accuracy']:.3f} "
                f"(majority {info['majority']:.3f}), selectivity {s['probe_selectivity'][column]:.3f}")
        if info.get("input_selectivity") is not None:
            line += f"; from the input itself {info['input_selectivity']:.3f}"
        lines.append(line)
    return "\n".join(lines)


def _audit_digits(out: Path, random_state: int, echo: Callable[[str], Any]) -> dict[str, Any]:
    data = load_digits_ood(random_state=random_state)  # digits 0-7 in distribution; 8, 9 and the rest held out
    echo("")
    echo(f"[4/4] 8x8 digits 0-7, a PyTorch CNN (train {len(data.train.y):,} images, test {len(data.test.y):,}; "
         f"{len(data.ood)} out-of-distribution sets)")
    tick = time.perf_counter()
    model = train_digits_cnn(data.train.X, data.train.y, random_state=random_state, X_val=data.val.X, y_val=data.val.y,
                             n_classes=len(data.in_classes))
    echo(f"      trained a DigitsCNN in {time.perf_counter() - tick:.1f} s; auditing ...")
    splits = {"train": (data.train.X, data.train.y), "val": (data.val.X, data.val.y),
              "test": (data.test.X, data.test.y), **{f"ood:{name}": X for name, X in data.ood.items()}}
    result = Audit(model, splits, checks=["auto", *DIGITS_CHECKS], check_params=DIGITS_CHECKS,
                   random_state=random_state).run(out, resume=False)
    record = audit_record(result, title="assay demo: digits CNN", model_name="digits-cnn",
                          dataset_name="scikit-learn digits (8x8)", environment=environment(),
                          task="image-classification", dataset=load_digits_split())  # its source and license
    paths = write_audit_report(record, out, model_name="digits-cnn")
    echo(_uncertainty_text(record))
    echo(_ood_text(record))
    echo(_robustness_text(record))
    echo(_risk_text(record))
    echo(_explanations_text(record))
    echo(_findings_text(record))
    echo(f"      wrote {', '.join(str(p) for p in paths.values())}")
    return record


def run_demo(out_dir: str | Path = "assay-report", *, model_kind: str = "gbm", random_state: int = 0,
             echo: Callable[[str], Any] = print, digits: bool = True,
             seed: Any = SEED_NOT_GIVEN) -> dict[str, dict[str, Any]]:
    """Audit the Adult model (into ``out_dir``), a German credit model (``out_dir/german``), a torch
    MLP on Adult probed for sex and race (``out_dir/adult-mlp``) and the digits CNN (``out_dir/digits``).

    Returns the report.json records, keyed "adult", "german", "adult_mlp" and "digits". ``seed=`` is a deprecated
    alias of ``random_state``.
    """
    random_state = renamed_seed(random_state, seed, owner="run_demo", default=0)
    started = time.perf_counter()
    out = Path(out_dir)
    echo(f"assay {__version__} demo: the full audit of two reference models, offline")
    records = {"adult": _audit_adult(out, model_kind, random_state, echo),
               "german": _audit_german(out / "german", random_state, echo),
               "adult_mlp": _audit_adult_mlp(out / "adult-mlp", random_state, echo)}
    if digits:
        records["digits"] = _audit_digits(out / "digits", random_state, echo)
    echo("")
    echo(f"done in {time.perf_counter() - started:.1f} s; open {out / 'report.html'}, "
         f"{out / 'german' / 'report.html'}, {out / 'adult-mlp' / 'report.html'}"
         + (f" and {out / 'digits' / 'report.html'}" if digits else ""))
    return records
