"""report.json validates against its schema; MODEL_CARD.md numbers equal report.json's."""

import json
from html import escape as html_escape
from importlib import resources

import jsonschema
import pytest
import yaml

from assay.audit import Audit
from assay.audit.runner import environment
from assay.datasets import load_german_credit
from assay.models import train_sklearn_model
from assay.audit.documents import audit_record, write_audit_report
from assay.report import frame_from_record

from .card_checks import assert_card_matches_record


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    data = load_german_credit(random_state=0)
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic")
    result = Audit(model, {"train": data.train, "test": data.test}, sensitive_features=["sex", "age_group"],
                   progress=False).run()
    record = audit_record(result, model_name="german-logistic", dataset_name="German credit",
                          environment=environment())
    out = tmp_path_factory.mktemp("audit")
    return record, write_audit_report(record, out, model_name="german-logistic")


def test_report_json_validates_against_the_published_schema(written):
    record, paths = written
    schema = json.loads(resources.files("assay.report").joinpath("schema/audit-report.schema.json").read_text())
    on_disk = json.loads(paths["json"].read_text())
    jsonschema.validate(on_disk, schema)
    broken = dict(on_disk, summary=dict(on_disk["summary"], worst_severity="terrible"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    # the top-level headline table: every finished check's rows, with their check, as in AuditResult.headline()
    assert on_disk["headline"] == [{"check": name, **row} for name, rec in on_disk["checks"].items()
                                   for row in rec.get("headline", [])]
    assert {row["check"] for row in on_disk["headline"]} >= {"group_performance", "fairness", "calibration"}
    for bad in ({"direction": "up"}, {"value": "0.5"}, {"check": None}):
        broken = dict(on_disk, headline=[dict(on_disk["headline"][0], **bad)])
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
    broken = dict(on_disk, headline=[{k: v for k, v in on_disk["headline"][0].items() if k != "lower"}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_every_number_in_the_card_equals_report_json(written):
    record, paths = written
    card = paths["card"].read_text()
    front = yaml.safe_load(card.split("---")[1])
    metrics = front["model-index"][0]["results"][0]["metrics"]
    on_disk = json.loads(paths["json"].read_text())
    assert len(metrics) >= 8
    assert assert_card_matches_record(card, on_disk) > len(metrics)  # the per-group table was checked too
    # a changed number in report.json is caught
    tampered = json.loads(paths["json"].read_text())
    next(r for r in tampered["checks"]["calibration"]["headline"] if r["metric"] == "overall_ece")["value"] += 1e-9
    with pytest.raises(AssertionError):
        assert_card_matches_record(card, tampered)
    assert "To fill in" in card and "## Ethical considerations" in card


def test_html_has_findings_first_and_check_sections(written):
    record, paths = written
    html = paths["html"].read_text()
    body = html[html.index("<main>"):]
    order = [body.index(f'id="{anchor}"') for anchor in ("top", "findings", "headline", *record["checks"])]
    assert order == sorted(order)  # verdict, findings, every headline number, then the checks' sections
    assert 'id="calibration"' in html and "<script" not in html
    # the headline table holds every headline number with its interval and group (numbers right-aligned)
    start = body.index('id="headline"')
    table = body[start:body.index("<section", start)]
    def reading(v):  # whole numbers as integers, others to 4 decimals (4 significant digits from 1,000)
        return str(int(v)) if float(v).is_integer() else f"{v:.4g}" if abs(v) >= 1000 else f"{v:.4f}"

    for row in record["headline"]:
        if row["value"] is not None:
            cell = reading(row["value"]) + (f' [{reading(row["lower"])}, {reading(row["upper"])}]'
                                            if row["lower"] is not None else "")
            assert f'<td class="num">{cell}</td>' in table, row
        if row["group"] is not None:
            assert f"<td>{html_escape(row['group'])}</td>" in table, row


def test_frame_round_trip(written):
    record, _ = written
    table = frame_from_record(record["checks"]["group_performance"]["result"]["by_group"])
    assert ("sex", "female") in table.index or ("sex", "male") in table.index
    assert {"accuracy", "count", "small"} <= set(table.columns)
