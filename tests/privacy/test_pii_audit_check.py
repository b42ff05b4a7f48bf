"""The data_privacy audit check: its numbers equal the privacy functions', findings match headline
rows, and no PII value appears in full in report.json, report.html or the model card."""

import json

import numpy as np
import pandas as pd
import pytest

from assay.audit import Audit
from assay.audit.base import find_headline_row, registered_checks
from assay.audit.documents import audit_record, write_audit_report
from assay.privacy import generalize, k_anonymity, l_diversity, scan_pii, t_closeness
from assay.testing import check_component

SECRETS = ["jane.roe@example.org", "4111 1111 1111 1111", "Jane Roe", "Richard Miles"]


def _frame(n, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=n), "age": rng.integers(20, 70, n),
                          "zip": rng.choice(["10115", "10117", "10119", "20095"], n), "sex": rng.choice(["F", "M"], n),
                          "notes": rng.choice(["ok", "late", "n/a"], n), "label": rng.integers(0, 2, n)})
    frame.loc[[4, 9], "notes"] = ["mail jane.roe@example.org", "card 4111 1111 1111 1111"]
    frame["customer_name"] = "anonymous"
    frame.loc[[1, 2], "customer_name"] = ["Jane Roe", "Richard Miles"]
    return frame


@pytest.fixture(scope="module")
def audit():
    train, test = _frame(300, 0), _frame(200, 1)
    params = {"quasi_identifiers": ["age", "zip", "sex"], "sensitive": ["label"]}
    result = Audit(None, {"train": train, "test": test}, target="label", sensitive_features=["sex"],
                   checks=["data_privacy"], check_params={"data_privacy": params}, progress=False).run()
    return train, result


def test_numbers_equal_the_privacy_functions(audit):
    train, result = audit
    record = result.records["data_privacy"]
    assert record["status"] == "ok", record.get("traceback")
    summary = record["summary"]
    scan = scan_pii(train).to_frame().set_index(["column", "kind"])
    assert summary["split"] == "train" and summary["n_rows"] == 300
    assert summary["pii_kinds"] == {"notes": ["email", "card"], "customer_name": ["name"]}
    assert summary["pii_columns"]["notes"] == pytest.approx(scan.loc[("notes", "email"), "share"]) == 1 / 300
    assert summary["pii_columns"]["customer_name"] == pytest.approx(1.0)  # every value of a name column
    k = k_anonymity(train, ["age", "zip", "sex"], k=5)
    assert (summary["k_anonymity"], summary["n_unique_rows"], summary["n_violating_rows"]) == (
        k.k, k.n_unique_rows, k.n_violating_rows)
    assert summary["l_diversity"]["label"] == l_diversity(train, ["age", "zip", "sex"], "label").l
    assert summary["t_closeness"]["label"] == pytest.approx(t_closeness(train, ["age", "zip", "sex"], "label").t)
    g = generalize(train, ["age", "zip", "sex"], k=5)
    assert summary["generalization"]["loss"] == pytest.approx(g.loss)
    assert summary["generalization"]["levels"] == g.per_column["description"].to_dict()


def test_findings_are_headline_rows(audit):
    _, result = audit
    record = result.records["data_privacy"]
    findings = [f for f in result.findings if f.check == "data_privacy"]
    assert {f.metric for f in findings} == {"pii_share[notes]", "pii_share[customer_name]", "k_anonymity",
                                            "l_diversity[label]", "t_closeness[label]"}
    for finding in findings:
        row = find_headline_row(record["headline"], finding.metric)
        assert row is not None and row["value"] == pytest.approx(finding.value), finding.metric
    severity = {f.metric: f.severity for f in findings}
    assert severity["pii_share[customer_name]"] == "fail" and severity["k_anonymity"] == "fail"
    assert severity["pii_share[notes]"] == "warn"  # 1 row in 300: above 0, below 1%


def test_documents_never_show_a_value_in_full(audit, tmp_path):
    _, result = audit
    paths = write_audit_report(audit_record(result, model_name="none"), tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    card = paths["card"].read_text(encoding="utf-8")
    record = json.dumps(audit_record(result, model_name="none"))
    assert "Data privacy: PII and re-identification" in page and "**** **** **** **11" in page
    assert "k-anonymity of (age, zip, sex): k = 1" in card and "Generalising them reaches k = 5" in card
    assert "A generalisation that reaches k" in page
    for value in SECRETS:
        assert value not in page and value not in card and value not in record, value


def test_without_quasi_identifiers_only_the_scan_runs_and_adult_is_clean():
    from assay.datasets import load_adult

    data = load_adult()
    result = Audit(None, {"train": data.train, "test": data.test}, checks=["data_privacy"], progress=False).run()
    summary = result.records["data_privacy"]["summary"]
    assert summary["pii_share"] == 0.0 and "k_anonymity" not in summary
    assert [f.severity for f in result.findings if f.check == "data_privacy"] == ["pass"]


def test_component_and_registration():
    cls = registered_checks()["data_privacy"]
    assert cls.auto and "pii_share_warn" in cls.thresholds
    check_component(cls(quasi_identifiers=["age"], max_shown=3))
