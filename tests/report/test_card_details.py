"""The model card says what the audit knows (model type, preprocessing, classes, decision rule, the
data's source, license and citation, rows per split), pre-fills the caveats it measured, and takes
the sections only a person can write from a YAML or JSON file."""

import json
import subprocess
import sys
import warnings

import jsonschema
import numpy as np
import pandas as pd
import pytest
import torch
from importlib import resources
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import assay
from assay import AssayInputError
from assay.audit import Audit
from assay.audit.details import dataset_details, model_details, split_details
from assay.audit.documents import audit_record, model_card_markdown, read_card_sections, write_audit_report
from assay.cli import main
from assay.datasets import load_german_credit
from assay.models import train_sklearn_model
from assay.report import escape_markdown
from assay.report.tables import with_intervals


@pytest.fixture(scope="module")
def german():
    data = load_german_credit(random_state=0)
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = Audit(model, data, checks=["data_quality", "group_performance"], progress=False).run()
    return data, model, result


def test_model_details_of_a_pipeline():
    X = np.random.default_rng(0).normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    adapter = assay.wrap(model)
    details = model_details(adapter)
    assert details["type"] == "sklearn.Pipeline" and details["estimator"] == "sklearn.LogisticRegression"
    assert details["framework"] == "scikit-learn" and details["preprocessing"] == ["standardscaler (StandardScaler)"]
    assert details["n_features_in"] == 3 and details["classes"] == [0, 1]
    assert details["decision_rule"] == "1 when P(1) >= 0.5 (the most probable class)"


def test_model_details_of_a_torch_model_and_a_callable():
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    adapter = assay.wrap(net)
    adapter.predict_proba(torch.zeros(2, 4))
    details = model_details(adapter)
    assert details["n_parameters"] == 4 * 8 + 8 + 8 * 3 + 3  # weights and biases of both layers
    assert details["framework"] == "torch" and details["classes"] == [0, 1, 2]
    assert "argmax" in details["decision_rule"]
    fn = assay.wrap(lambda X: np.tile([0.2, 0.8], (len(X), 1)), classes=["no", "yes"])
    assert model_details(fn)["framework"] == "callable"
    assert model_details(fn)["decision_rule"].startswith("yes when P(yes) >= 0.5")
    assert model_details(None) == {}


def test_split_and_dataset_details():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    splits = {"train": (X, np.array([0, 1, 0]), pd.DataFrame({"sex": ["F", "M", "F"]})), "ood": (X[:2], None, None)}
    assert split_details(splits) == {"train": {"rows": 3, "labelled": True, "sensitive_features": ["sex"]},
                                     "ood": {"rows": 2, "labelled": False, "sensitive_features": []}}
    assert dataset_details({"name": "x", "license": None, "source": "doi"}) == {"name": "x", "source": "doi"}


def test_an_audit_of_a_bundled_dataset_reaches_the_card_and_datasheet(german, tmp_path):
    data, _, result = german
    assert result.details["splits"] == {"train": {"rows": 700, "labelled": True,
                                                  "sensitive_features": ["sex", "age_group", "foreign_worker"]},
                                        "test": {"rows": 300, "labelled": True,
                                                 "sensitive_features": ["sex", "age_group", "foreign_worker"]}}
    record = audit_record(result, model_name="german")
    schema = json.loads(resources.files("assay.report").joinpath("schema/audit-report.schema.json").read_text())
    jsonschema.validate(json.loads(json.dumps(record)), schema)
    assert record["dataset"]["name"] == "german_credit" and record["dataset"]["license"] == "CC BY 4.0"
    paths = write_audit_report(record, tmp_path)
    card = paths["card"].read_text()
    assert f"- source: {escape_markdown(data.source)}" in card
    assert f"- citation: {escape_markdown(data.citation)}" in card
    assert "| train | 700 | yes | sex, age_group, foreign_worker |" in card
    assert "- model type: `sklearn.Pipeline`, final estimator `sklearn.LogisticRegression`" in card
    assert "- classes: 0, 1" in card and "- decision rule: 1 when P(1) &gt;= 0.5" in card
    datasheet = paths["datasheet"].read_text()
    assert datasheet.index("## Source") < datasheet.index("## Summary of data checks")
    assert "- License: CC BY 4.0" in datasheet


def test_caveats_are_prefilled_from_what_was_measured(german):
    _, _, result = german
    card = model_card_markdown(audit_record(result))
    caveats = card.split("## Caveats and recommendations", 1)[1]
    summary = result.records["group_performance"]["summary"]
    assert f"- {summary['n_small_groups']} group(s) of the evaluation split have fewer than 30 rows" in caveats
    assert "'sex' can be predicted from single features" in caveats  # the proxy the data checks found
    assert "> **To fill in:** known limitations" in caveats  # the person's part stays


def test_card_sections_replace_the_prompts(german, tmp_path):
    _, _, result = german
    sections = {"intended_use": "Teaching fairness audits.\n\n- not for <b>credit</b> decisions",
                "ethical_considerations": "Applicants are people."}
    card = model_card_markdown(audit_record(result, card_sections=sections))
    intended = card.split("## Intended use", 1)[1].split("## Factors", 1)[0]
    assert "Teaching fairness audits.\n\n- not for &lt;b&gt;credit&lt;/b&gt; decisions" in intended
    assert "To fill in" not in intended and "<b>" not in card
    assert "Applicants are people." in card.split("## Ethical considerations", 1)[1]
    assert "> **To fill in:** primary uses" not in card and "> **To fill in:** who built the model" in card
    # from a YAML file, through the CLI's `assay card`, over the sections kept in the record
    record = audit_record(result, card_sections=sections)
    write_audit_report(record, tmp_path)
    yaml_file = tmp_path / "sections.yaml"
    yaml_file.write_text("model_details: |\n  Built by the assay team, v1.\n")
    assert main(["card", str(tmp_path), "--card-sections", str(yaml_file)]) == 0
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "Built by the assay team, v1." in card and "Teaching fairness audits." in card
    json_file = tmp_path / "sections.json"
    json_file.write_text(json.dumps({"training_data": "Collected in 1994."}))
    assert read_card_sections(json_file) == {"training_data": "Collected in 1994."}


def test_broken_yaml_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "sections.yaml"
    bad.write_text("intended_use: [unclosed\n")
    with pytest.raises(AssayInputError, match="is not valid YAML"):
        read_card_sections(bad)


def test_with_intervals_hand_case():
    values = pd.DataFrame({"acc": [0.8734, np.nan, 0.5], "count": [10, 3, 4], "small": [False, True, True]},
                          index=["a", "b", "c"])
    ci = pd.DataFrame({("acc", "lower"): [0.86812, 0.1, np.nan], ("acc", "upper"): [0.87849, 0.2, 0.7]},
                      index=["a", "b", "c"])
    out = with_intervals(values, ci)
    assert out["acc"].tolist() == ["0.873 [0.868, 0.878]", "n/a", "0.500"]
    assert out["count"].tolist() == ["10", "3", "4"] and out["small"].tolist() == [False, True, True]
    assert with_intervals(values, None, digits=1)["acc"].tolist() == ["0.9", "n/a", "0.5"]


def test_markdown_escape_keeps_numbers_and_escapes_list_markers():
    assert escape_markdown("0.873 [0.868, 0.878]") == "0.873 \\[0.868, 0.878\\]"
    assert escape_markdown("12) twelve") == "12\\) twelve" and escape_markdown("-0.5") == "\\-0.5"


def test_cli_audit_takes_card_sections(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=300), "x2": rng.normal(size=300)})
    frame["label"] = (frame["x1"] + rng.normal(size=300) > 0).astype(int)
    frame["sex"] = np.where(rng.random(300) < 0.5, "F", "M")
    model = LogisticRegression().fit(frame[["x1", "x2"]], frame["label"])
    import joblib

    joblib.dump(model, tmp_path / "model.joblib")
    frame.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "card.yaml").write_text("intended_use: Synthetic test data only.\n")
    code = subprocess.run([sys.executable, "-m", "assay", "audit", "--model", str(tmp_path / "model.joblib"),
                           "--trust-model-file", "--data", str(tmp_path / "data.csv"), "--target", "label",
                           "--sensitive", "sex", "--checks", "group_performance", "--out", str(tmp_path / "out"),
                           "--card-sections", str(tmp_path / "card.yaml")], capture_output=True, text=True)
    assert code.returncode == 0, code.stderr
    assert "Synthetic test data only." in (tmp_path / "out" / "MODEL_CARD.md").read_text()
    assert json.loads((tmp_path / "out" / "report.json").read_text())["card_sections"] == {
        "intended_use": "Synthetic test data only."}
