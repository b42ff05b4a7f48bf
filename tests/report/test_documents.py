"""The audit's documents: built generically from checks' own parts, every user string escaped."""

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from assay.audit import Audit, Check, register_check
from assay.audit.base import CHECKS, registered_checks
from assay.audit.documents import (audit_record, card_metrics, model_card_markdown, model_index_metrics,
                                   render_audit_html, write_audit_report)
from assay.core.result import Result
from assay.report import escape_markdown, markdown_table

HOSTILE = "<img src=x onerror=alert(1)>"


def _cells(line):
    """Cells of a Markdown table row: split on pipes that are not escaped."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def _tables_keep_their_columns(markdown):
    """Every row of every table has its header's number of cells; returns the number of rows checked."""
    checked, width = 0, None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            width = None
            continue
        if width is None:
            width = len(_cells(line))
        assert len(_cells(line)) == width, line
        checked += 1
    return checked


def test_escape_markdown_keeps_text_inert():
    assert escape_markdown("a|b") == "a\\|b"
    assert escape_markdown("one\ntwo\r\nthree") == "one two three"
    assert escape_markdown("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape_markdown("[click](javascript:x)") == "\\[click\\](javascript:x)"
    assert escape_markdown("`code` & *bold*") == "\\`code\\` &amp; \\*bold\\*"
    assert escape_markdown("# title") == "\\# title" and escape_markdown("- item") == "\\- item"
    assert escape_markdown("1. first") == "1\\. first" and escape_markdown("0.75 [0.7, 0.8]") == "0.75 \\[0.7, 0.8\\]"
    assert escape_markdown("plain_name 0.5") == "plain_name 0.5"
    assert escape_markdown(3) == "3"


def test_markdown_table_escapes_labels_and_cells():
    frame = pd.DataFrame({HOSTILE: [0.123456, np.nan], "text": ["a|b", "x\ny"]},
                         index=pd.Index(["<script>", "ok"], name="g|roup"))
    table = markdown_table(frame)
    assert "<img" not in table and "<script" not in table
    assert _tables_keep_their_columns(table) == 4
    assert "| 0.1235 |" in table and "| n/a |" in table


class _SplitModel:
    """Reads the first two columns by position (whatever their names), binary."""

    classes_ = np.array([0, 1])

    def fit(self, X, y):  # pragma: no cover
        return self

    def predict_proba(self, X):
        z = X.iloc[:, 0].to_numpy(float) + X.iloc[:, 1].to_numpy(float)
        p = 1 / (1 + np.exp(-z))
        return np.c_[1 - p, p]


@pytest.fixture(scope="module")
def hostile_record():
    rng = np.random.default_rng(0)

    def make(n):
        group = rng.choice(["a|b", "line\nbreak", "<script>alert(1)</script>"], n)
        x = rng.normal(0, 1, (n, 2))
        y = (x.sum(axis=1) + rng.normal(0, 1, n) > 0).astype(int)
        return pd.DataFrame({HOSTILE: x[:, 0], "x`2|": x[:, 1], "<b>sex</b>": group, "label": y})

    train, test = make(600), make(400)
    result = Audit(_SplitModel(), {"train": train, "test": test}, target="label", sensitive_features=["<b>sex</b>"],
                   checks=["group_performance", "fairness", "calibration", "training_data", "data_quality"],
                   progress=False).run()
    return audit_record(result, model_name=f"{HOSTILE}|model.pkl", dataset_name="<script>x</script>.csv")


def test_user_strings_cannot_break_the_card_or_inject_html(hostile_record, tmp_path):
    paths = write_audit_report(hostile_record, tmp_path)
    for name in ("card", "datasheet"):
        text = paths[name].read_text()
        assert not re.search(r"<\s*(script|img|b>)", text, re.I), name
        assert _tables_keep_their_columns(text) > 5, name
    card = paths["card"].read_text()
    front = yaml.safe_load(card.split("\n---\n")[0].removeprefix("---\n"))
    assert front["model-index"][0]["name"] == f"{HOSTILE}|model.pkl"  # YAML keeps the name exactly, quoted
    assert f"# Model card: {escape_markdown(HOSTILE)}\\|model.pkl" in card
    assert escape_markdown("line\nbreak") in card and escape_markdown("a|b") in card


def test_findings_stay_one_item_each_whatever_their_messages(hostile_record):
    record = dict(hostile_record)
    record["findings"] = [dict(f) for f in hostile_record["findings"]]
    record["findings"][0]["message"] = "first line\nsecond line\n- **fail** (forged): a fake finding\n## Heading"
    card = model_card_markdown(record)
    section = card.split("## Findings\n", 1)[1].split("\n## ", 1)[0]
    items = [line for line in section.splitlines() if line.strip()]
    assert len(items) == len(record["findings"]) and all(line.startswith("- **") for line in items)
    assert "\n## Heading" not in card


def test_model_name_defaults_to_the_records(hostile_record, tmp_path):
    paths = write_audit_report(hostile_record, tmp_path)
    assert f"# Model card: {escape_markdown(hostile_record['model']['name'])}" in paths["card"].read_text()
    paths = write_audit_report(hostile_record, tmp_path, model_name="other")
    assert "# Model card: other\n" in paths["card"].read_text()


def test_model_index_lists_declared_metrics_only():
    checks = {
        "group_performance": {"overall_accuracy": 0.8, "overall_selection_rate": 0.4, "n_groups": 4,
                              "n_small_groups": 1, "accuracy_gap": {"sex": 0.05}},
        "data_quality": {"n_fail": 1, "n_warn": 2},
        "ood": {"primary_detector": "KNN", "auroc": {"ood:a": 0.9}, "fpr_at_90_tpr": {"ood:a": 0.3},
                "min_auroc": 0.9, "best_auroc": {"ood:a": 0.95}, "threshold_achieved_tpr": 0.95, "aurc": 0.1},
        "fairness": {"demographic_parity_ratio[sex]": 0.7, "demographic_parity_ratio[sex].ci_lower": 0.6},
        "training_data": {"n_rows": 100},
    }
    registered = registered_checks()
    record = {"checks": {name: {"status": "ok", "summary": s, "headline": registered[name]().headline(s)}
                         for name, s in checks.items()}}
    expected = [
        ("group_performance", "accuracy", 0.8), ("group_performance", "accuracy_gap[sex]", 0.05),
        ("ood", "auroc[ood:a]", 0.9), ("ood", "fpr_at_90_tpr[ood:a]", 0.3), ("ood", "aurc", 0.1),
        ("fairness", "demographic_parity_ratio[sex]", 0.7), ("fairness", "demographic_parity_ratio[sex].ci_lower", 0.6)]
    assert model_index_metrics(record) == expected
    # the card's body lists every headline row; the checks' own rows leave out what is not a headline
    # number (the OOD check's min/best AUROC, the data check's counts stay generic rows)
    assert [(r["check"], r["metric"], r["feature"]) for r in card_metrics(record)] == [
        ("group_performance", "accuracy", None), ("group_performance", "selection_rate", None),
        ("group_performance", "accuracy_gap", "sex"), ("group_performance", "n_groups", None),
        ("group_performance", "n_small_groups", None), ("data_quality", "n_fail", None),
        ("data_quality", "n_warn", None), ("ood", "auroc", "ood:a"), ("ood", "fpr_at_90_tpr", "ood:a"),
        ("ood", "threshold_achieved_tpr", None), ("ood", "aurc", None),
        ("fairness", "demographic_parity_ratio", "sex"), ("training_data", "n_rows", None)]
    # a record written before the headline rows existed: read through its check (rebuilt from its params)
    old = {"checks": {name: {"status": "ok", "summary": s, "params": {}} for name, s in checks.items()}}
    assert model_index_metrics(old) == expected
    # ... or, for a check no longer registered, the generic reading of its summary
    old["checks"]["gone"] = {"status": "ok", "summary": {"x[f]": 1.5, "x[f].ci_lower": 1.0, "n": 3}}
    rows = [r for r in card_metrics(old) if r["check"] == "gone"]
    assert [(r["metric"], r["feature"], r["value"], r["lower"]) for r in rows] == [("x", "f", 1.5, 1.0),
                                                                                   ("n", None, 3.0, None)]


def test_a_model_without_sensitive_features_gets_its_overall_performance(tmp_path):
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=200).fit(X[:1000], y[:1000])
    result = Audit(model, {"test": (X[1000:], y[1000:])}, progress=False).run()
    record = audit_record(result, model_name="digits-logistic")
    summary = record["checks"]["group_performance"]["summary"]
    y_pred = model.predict(X[1000:])
    assert summary["overall_accuracy"] == pytest.approx(accuracy_score(y[1000:], y_pred), abs=1e-12)
    assert summary["overall_balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y[1000:], y_pred), abs=1e-12)
    card = write_audit_report(record, tmp_path)["card"].read_text()
    front = yaml.safe_load(card.split("\n---\n")[0].removeprefix("---\n"))
    types = {m["type"]: m["value"] for m in front["model-index"][0]["results"][0]["metrics"]}
    assert types["group_performance.accuracy"] == summary["overall_accuracy"]
    assert "# Model card: digits-logistic" in card and "no per-group analysis" in card
    assert "Overall" in render_audit_html(record)


@pytest.fixture
def outside_check():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Coverage(Result):
        value: float

    @register_check
    class CoverageByGroup(Check):
        name = "coverage_docs_stub"
        title = "Coverage <by> group"
        section = "test"
        needs = frozenset({"model", "labels"})
        order = 950
        model_index = ("coverage",)

        def run(self, context):
            return Coverage(float(np.mean(context.predict() == context.y())))

        def summarize(self, result):
            return {"coverage": result.value, "n_sets": 3}

        @staticmethod
        def card(record):
            return {"Factors": ["Coverage measured per group."],
                    "Caveats and recommendations": [f"- coverage {record['summary']['coverage']:.3f}"],
                    "Quantitative analyses": ["A stub table."]}

    yield CoverageByGroup
    CHECKS.pop("coverage_docs_stub")


def test_a_check_from_outside_writes_its_card_parts(outside_check):
    rng = np.random.default_rng(1)
    test = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200), "label": rng.integers(0, 2, 200)})
    result = Audit(_SplitModel(), {"test": test}, target="label", checks=["coverage_docs_stub"], progress=False).run()
    card = model_card_markdown(audit_record(result))
    factors = card.split("## Factors\n", 1)[1].split("\n## ", 1)[0]
    assert "Coverage measured per group." in factors and "To fill in" not in factors
    assert "### Coverage &lt;by&gt; group\n\nA stub table." in card
    assert "- coverage " in card.split("## Caveats and recommendations", 1)[1]
    front = yaml.safe_load(card.split("\n---\n")[0].removeprefix("---\n"))
    assert [m["type"] for m in front["model-index"][0]["results"][0]["metrics"]] == ["coverage_docs_stub.coverage"]
    assert "| coverage_docs_stub | n_sets |  |  | 3 |" in card  # every number stays in the body (whole numbers as ints)


def test_report_package_imports_nothing_from_audit():
    code = ("import sys, assay.report, assay.report.html, assay.report.io, assay.report.markdown, "
            "assay.report.tables, assay.report.plots; "
            "bad = sorted(m for m in sys.modules if m.startswith('assay.audit')); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    source = "\n".join(p.read_text() for p in __import__("pathlib").Path(
        __import__("assay.report", fromlist=["x"]).__file__).parent.glob("*.py"))
    assert "audit" not in re.findall(r"from \.\.(\w+)", source) and "ood" not in re.findall(r"from \.\.(\w+)", source)


def test_card_numbers_are_rounded_for_reading():
    from assay.audit.documents import _reading

    assert _reading(0.034499999999999954) == "0.0345"
    assert _reading(3.0) == "3" and _reading(None) == "n/a"
    assert _reading(3021.456) == "3021" and _reading(-0.5) == "-0.5000"
