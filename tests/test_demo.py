"""`assay demo` end to end: it writes the report, and its numbers are the model's own."""

import json
from importlib import resources
import subprocess
import sys

import jsonschema
import pytest
from sklearn.metrics import accuracy_score, recall_score

from assay.cli import main
from assay.datasets import hold_out_validation, load_adult

from .report.card_checks import assert_card_matches_record


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "report"
    lines = []
    from assay.demo import run_demo

    record = run_demo(out, model_kind="logistic", random_state=0, echo=lines.append)
    return out, record, "\n".join(lines)


def test_demo_writes_reports_cards_and_datasheet(demo_run):
    out, records, text = demo_run
    for folder, names in ((out, ("report.json", "report.html", "MODEL_CARD.md", "DATASHEET.md")),
                          (out / "german", ("report.json", "report.html", "MODEL_CARD.md", "DATASHEET.md")),
                          (out / "adult-mlp", ("report.json", "report.html", "MODEL_CARD.md")),
                          (out / "digits", ("report.json", "report.html", "MODEL_CARD.md"))):
        for name in names:
            assert (folder / name).stat().st_size > 0, folder / name
    html = (out / "report.html").read_text()
    assert "Female x Black" in html and html.count("data:image/png;base64,") >= 5
    assert "sex x race" in text and "Male x White" in text and "findings:" in text
    assert set(records) == {"adult", "german", "adult_mlp", "digits"}
    # the digits model is audited as a torch image model: no tabular data checks, calibration runs
    digits = records["digits"]
    assert "data_quality" in digits["summary"]["checks_skipped"] and "calibration" in digits["checks"]
    # OOD: German credit rows against the Adult model; six image sets against the digits CNN
    assert set(records["adult"]["checks"]["ood"]["summary"]["auroc"]) == {"ood:german_credit"}
    assert len(digits["checks"]["ood"]["summary"]["auroc"]) == 6
    assert digits["summary"]["forward_passes"].keys() >= {"train", "val", "test", "ood:letters"}
    assert "Out-of-distribution detection" in text and "ood:held_out_classes" in text
    # robustness (opt-in, named by the demo): corruption curves on both, the tabular attack on Adult, PGD on digits
    for name, attack in (("adult", "TabularAttack"), ("digits", "PGD")):
        robustness = records[name]["checks"]["robustness"]
        assert robustness["status"] == "ok" and robustness["summary"]["attack"].startswith(attack)
    assert "Robustness: accuracy" in text and "breaks first among sex" in text
    recourse = records["adult"]["checks"]["recourse"]
    assert recourse["status"] == "ok" and set(recourse["summary"]["sensitive_flip_rate"]) == {"sex", "race"}
    assert "Counterfactual fairness:" in text
    for name in ("privacy", "data_privacy"):
        assert records["adult"]["checks"][name]["status"] == "ok"
    assert "Privacy: membership inference" in text and "k-anonymity of age, sex, race, native_country" in text
    assert records["digits"]["checks"]["risk"]["status"] == "ok" and "Risk (layer" in text
    # fairness mitigations: post-processing of the audited model itself, by sex x race (and reported by sex)
    mitigation = records["adult"]["checks"]["mitigation"]
    assert mitigation["status"] == "ok" and mitigation["summary"]["prefit"]
    rows = mitigation["summary"]["rows"]
    assert set(rows) == {"none", "thresholds_demographic_parity", "thresholds_equalized_odds", "reject_option"}
    assert mitigation["summary"]["gap"] == "demographic_parity_difference[sex x race]"
    assert rows["thresholds_demographic_parity"]["gap"] < rows["none"]["gap"]
    assert rows["none"]["accuracy"] == pytest.approx(records["adult"]["checks"]["group_performance"]["result"]
                                                     ["overall"]["accuracy"], abs=1e-12)  # the audited model itself
    assert "Mitigations (post-processing" in text and "gap sex x race" in text and "reject_option" in text
    # explanations (opt-in, named by the demo): SHAP/permutation on Adult, the randomisation test on digits
    adult_ex, digits_ex = records["adult"]["checks"]["explanations"], digits["checks"]["explanations"]
    assert adult_ex["status"] == "ok" and adult_ex["summary"]["kind"] == "tabular"
    assert set(adult_ex["summary"]["sensitive_feature_rank"]) == {"sex", "race"}
    assert digits_ex["status"] == "ok" and set(digits_ex["summary"]["verdicts"]) == {"Saliency",
                                                                                      "IntegratedGradients", "GradCAM"}
    assert "Explanations: top features by mean |SHAP|" in text and "parameter randomisation test" in text
    assert "Saliency passes the parameter randomisation test" in text or "Saliency fails" in text
    # German credit: post-processing for age groups beside the data set's cost-aware threshold
    german = records["german"]["checks"]["mitigation"]
    assert german["status"] == "ok" and german["summary"]["gap"] == "demographic_parity_difference[age_group]"
    assert set(german["summary"]["rows"]) == {"none", "thresholds_demographic_parity", "thresholds_equal_opportunity",
                                              "reject_option", "cost_threshold"}
    assert german["summary"]["rows"]["thresholds_demographic_parity"]["gap"] < german["summary"]["rows"]["none"]["gap"]
    assert "UCI German credit" in text and "gap age_group" in text and "cost_threshold" in text
    # the torch MLP that never sees sex or race: both probed on its hidden layers and on its input
    probes = records["adult_mlp"]["checks"]["probes"]
    assert probes["status"] == "ok" and set(probes["summary"]["probe_selectivity"]) == {"sex", "race"}
    best = probes["summary"]["best_layer"]["sex"]
    assert best["accuracy"] > best["majority"] and best["layer"] in probes["summary"]["layers"]
    assert "Linear probes (" in text and "from the input itself" in text


def test_demo_cards_equal_report_json_and_validate(demo_run):
    out, _, _ = demo_run
    schema = json.loads(resources.files("assay.report").joinpath("schema/audit-report.schema.json").read_text())
    for folder in (out, out / "german", out / "adult-mlp", out / "digits"):
        record = json.loads((folder / "report.json").read_text())
        jsonschema.validate(record, schema)
        # every number in the card equals the record's; the probes-only card holds two (sex, race)
        assert assert_card_matches_record((folder / "MODEL_CARD.md").read_text(), record) >= (
            2 if folder.name == "adult-mlp" else 3)
        # one forward pass of the model per split it was evaluated on (OOD splits included)
        passes = record["summary"]["forward_passes"]
        assert passes["test"] == 1 and set(passes.values()) == {1}
        if folder.name == "adult-mlp":  # only the probes check was named
            assert set(record["checks"]) == {"probes"}
        elif folder.name == "german":  # no OOD split: the check is skipped, with its reason
            assert "ood" in record["summary"]["checks_skipped"]
        else:
            assert record["checks"]["ood"]["status"] == "ok"
    card = (out / "MODEL_CARD.md").read_text()
    assert "hours_per_week (numeric): median 40" in card  # the training data's distribution, measured
    assert "Mitigations considered" in card and "| none (baseline) | baseline |" in card


def test_demo_numbers_equal_a_direct_recomputation(demo_run):
    out, _, _ = demo_run
    record = json.loads((out / "report.json").read_text())
    metrics = record["checks"]["group_performance"]["result"]
    table = {tuple(k): dict(zip(metrics["by_group"]["columns"], row))
             for k, row in zip(metrics["by_group"]["index"], metrics["by_group"]["data"])}
    # Recompute two cells independently: train the same seeded model, slice by mask, use sklearn.
    from assay.models import train_sklearn_model

    data = hold_out_validation(load_adult(), val_size=0.2, random_state=0)  # as the demo does
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    y_pred = model.predict(data.test.X)
    y = data.test.y.to_numpy()
    sf = data.test.sensitive_features
    mask = ((sf["sex"] == "Female") & (sf["race"] == "Black")).to_numpy()
    assert table[("sex x race", "Female x Black")]["accuracy"] == pytest.approx(
        accuracy_score(y[mask], y_pred[mask]), abs=1e-12)
    male = (sf["sex"] == "Male").to_numpy()
    assert table[("sex", "Male")]["tpr"] == pytest.approx(recall_score(y[male], y_pred[male]), abs=1e-12)
    assert table[("sex", "Male")]["count"] == male.sum()


def test_cli_demo_and_help(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "r"), "--model", "logistic", "--no-digits"]) == 0
    assert (tmp_path / "r" / "report.json").exists()
    assert "Female x Black" in capsys.readouterr().out
    help_text = subprocess.run([sys.executable, "-m", "assay", "demo", "--help"], capture_output=True,
                               text=True, check=True).stdout
    assert "--out" in help_text and "UCI Adult" in help_text


def test_cli_bad_argument_is_one_line():
    result = subprocess.run([sys.executable, "-m", "assay", "demo", "--model", "svm"], capture_output=True,
                            text=True)
    assert result.returncode == 2 and "invalid choice: 'svm'" in result.stderr
    assert "Traceback" not in result.stderr
