"""`assay demo` end to end: it writes the report, and its numbers are the model's own."""

import json
import subprocess
import sys

import pytest
from sklearn.metrics import accuracy_score, recall_score

from assay.cli import main
from assay.datasets import load_adult


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "report"
    lines = []
    from assay.demo import run_demo

    record = run_demo(out, model_kind="logistic", seed=0, echo=lines.append)
    return out, record, "\n".join(lines)


def test_demo_writes_report_files(demo_run):
    out, _, text = demo_run
    for name in ("report.json", "report.html", "tpr_by_group.png", "reliability.png"):
        assert (out / name).stat().st_size > 0, name
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "Female x Black" in html
    assert "sex x race" in text and "Male x White" in text


def test_demo_numbers_equal_a_direct_recomputation(demo_run):
    out, _, _ = demo_run
    record = json.loads((out / "report.json").read_text())
    metrics = record["metrics"]
    table = {tuple(k): dict(zip(metrics["by_group"]["columns"], row))
             for k, row in zip(metrics["by_group"]["index"], metrics["by_group"]["data"])}
    # Recompute two cells independently: train the same seeded model, slice by mask, use sklearn.
    from assay.models import train_sklearn_model

    data = load_adult()
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", seed=0)
    y_pred = model.predict(data.test.X)
    y = data.test.y.to_numpy()
    sf = data.test.sensitive_features
    mask = ((sf["sex"] == "Female") & (sf["race"] == "Black")).to_numpy()
    assert table[("sex x race", "Female x Black")]["accuracy"] == pytest.approx(
        accuracy_score(y[mask], y_pred[mask]), abs=1e-12)
    male = (sf["sex"] == "Male").to_numpy()
    assert table[("sex", "Male")]["tpr"] == pytest.approx(recall_score(y[male], y_pred[male]), abs=1e-12)
    assert table[("sex", "Male")]["count"] == male.sum()
    assert json.dumps(record, allow_nan=False)


def test_cli_demo_and_help(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "r"), "--model", "logistic"]) == 0
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
