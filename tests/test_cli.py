"""`assay audit`, `assay report`, `assay card` from the command line."""

import json
import pickle
import subprocess
import sys

import pytest

from assay.cli import main
from assay.datasets import load_german_credit
from assay.models import train_sklearn_model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data = load_german_credit(random_state=0)
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic")
    for name, split in (("test", data.test), ("train", data.train)):
        frame = split.X.assign(credit=split.y.to_numpy(), sex=split.sensitive_features["sex"].astype(str),
                               age_group=split.sensitive_features["age_group"].astype(str))
        frame.to_csv(root / f"{name}.csv", index=False)
    with open(root / "model.pkl", "wb") as handle:
        pickle.dump(model, handle)
    return root


def test_audit_writes_report_and_resumes(files, capsys):
    out = files / "run"
    args = ["audit", "--model", str(files / "model.pkl"), "--trust-model-file", "--data", str(files / "test.csv"),
            "--train", str(files / "train.csv"), "--target", "credit", "--sensitive", "sex,age_group",
            "--out", str(out)]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "0 resumed" in first
    for name in ("report.json", "report.html", "MODEL_CARD.md", "audit.json"):
        assert (out / name).exists(), name
    record = json.loads((out / "report.json").read_text())
    assert record["summary"]["forward_passes"] == {"test": 1}
    assert main(args) == 0
    assert "0 check(s) run" in capsys.readouterr().out
    assert main(args + ["--fail-on", "warn"]) in (0, 1)
    worst = record["summary"]["worst_severity"]
    assert main(args + ["--fail-on", worst if worst != "pass" else "warn"]) == (1 if worst != "pass" else 0)


def test_report_and_card_rebuild_from_record(files):
    out = files / "run-rebuild"
    assert main(["audit", "--model", str(files / "model.pkl"), "--trust-model-file", "--data",
                 str(files / "test.csv"), "--target", "credit", "--sensitive", "sex", "--out", str(out)]) == 0
    (out / "MODEL_CARD.md").unlink()
    assert main(["card", str(out), "--model-name", "german"]) == 0
    assert "# Model card: german" in (out / "MODEL_CARD.md").read_text()
    assert main(["report", str(out)]) == 0


@pytest.mark.parametrize("extra, expected", [
    (["--target", "income"], "--target"),
    (["--target", "credit", "--sensitive", "gender"], "--sensitive"),
])
def test_bad_table_arguments_are_one_line_errors(files, extra, expected):
    result = subprocess.run(
        [sys.executable, "-m", "assay", "audit", "--model", str(files / "model.pkl"), "--trust-model-file",
         "--data", str(files / "test.csv"), "--out", str(files / "bad"), *extra],
        capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.stderr


def test_untrusted_pickle_is_refused(files, capsys):
    code = main(["audit", "--model", str(files / "model.pkl"), "--data", str(files / "test.csv"),
                 "--target", "credit", "--out", str(files / "refused")])
    assert code == 2
    assert "--trust-model-file" in capsys.readouterr().err


def test_model_file_that_cannot_be_loaded(files, capsys):
    broken = files / "broken.pt"
    broken.write_bytes(b"not a torch file")
    assert main(["audit", "--model", str(broken), "--data", str(files / "test.csv"), "--target", "credit"]) == 2
    assert "--model" in capsys.readouterr().err


def test_report_of_a_missing_directory(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "run_dir" in capsys.readouterr().err


def test_audit_with_validation_and_ood_tables_runs_the_ood_check(files, capsys):
    data = load_german_credit(random_state=0)
    sf = data.test.sensitive_features
    test = data.test.X.assign(credit=data.test.y.to_numpy(), sex=sf["sex"].astype(str),
                              age_group=sf["age_group"].astype(str))
    test.iloc[:150].to_csv(files / "val_part.csv", index=False)   # disjoint validation and test rows
    test.iloc[150:].to_csv(files / "test_part.csv", index=False)
    shifted = test.drop(columns=["credit"])                        # OOD inputs need no labels
    numeric = list(data.numeric_features)
    shifted[numeric] = shifted[numeric] * 5 + 50
    shifted.to_csv(files / "shifted.csv", index=False)
    out = files / "run-ood"
    args = ["audit", "--model", str(files / "model.pkl"), "--trust-model-file", "--data", str(files / "test_part.csv"),
            "--val", str(files / "val_part.csv"), "--train", str(files / "train.csv"), "--target", "credit",
            "--sensitive", "sex", "--ood", str(files / "shifted.csv"), "--ood", f"again={files / 'shifted.csv'}",
            "--out", str(out)]
    assert main(args) == 0
    record = json.loads((out / "report.json").read_text())
    ood = record["checks"]["ood"]
    assert ood["status"] == "ok", ood.get("error")
    assert set(ood["summary"]["auroc"]) == {"ood:shifted", "ood:again"}
    assert ood["summary"]["auroc"]["ood:shifted"] > 0.9          # a 5x shift of every numeric column
    assert record["summary"]["forward_passes"] == {"test": 1, "val": 1, "ood:shifted": 1, "ood:again": 1}
    assert "out-of-distribution" in (out / "report.html").read_text().lower()


@pytest.mark.parametrize("ood, expected", [
    (["--ood", "a=x.csv", "--ood", "a=y.csv"], "given twice"),
    (["--ood", "=x.csv"], "NAME=PATH"),
])
def test_bad_ood_arguments(files, capsys, ood, expected):
    code = main(["audit", "--model", str(files / "model.pkl"), "--trust-model-file", "--data", str(files / "test.csv"),
                 "--target", "credit", "--out", str(files / "bad-ood"), *ood])
    assert code == 2
    err = capsys.readouterr().err
    assert "--ood" in err and expected in err and len(err.strip().splitlines()) == 1


def test_thresholds_from_the_command_line_change_the_findings(files, capsys):
    base = ["audit", "--model", str(files / "model.pkl"), "--trust-model-file", "--data", str(files / "test.csv"),
            "--target", "credit", "--sensitive", "sex", "--checks", "calibration", "--fail-on", "warn"]
    lenient = base + ["--out", str(files / "lenient"), "--threshold", "ece_warn=1", "--threshold", "ece_fail=1"]
    assert main(lenient) == 0
    strict = base + ["--out", str(files / "strict"), "--threshold", "ece_warn=0", "--threshold", "ece_fail=0"]
    assert main(strict) == 1
    assert "fail" in capsys.readouterr().out


@pytest.mark.parametrize("value, expected", [
    ("ece=0.1", "unknown key 'ece'"), ("ece_warn", "expected KEY=VALUE"), ("ece_warn=low", "must be a number"),
])
def test_bad_threshold_arguments(files, capsys, value, expected):
    code = main(["audit", "--model", str(files / "model.pkl"), "--trust-model-file", "--data", str(files / "test.csv"),
                 "--target", "credit", "--out", str(files / "bad-threshold"), "--threshold", value])
    assert code == 2
    err = capsys.readouterr().err
    assert "--threshold" in err and expected in err and len(err.strip().splitlines()) == 1


def test_summary_lines_name_skipped_checks_and_wrap_messages():
    from types import SimpleNamespace

    import pandas as pd

    from assay.cli import _summary_lines

    long = "The largest accuracy difference between groups of sex x race is 0.154, above the fail threshold 0.1."
    frame = pd.DataFrame({"severity": ["fail", "pass"], "check": ["group_performance", "ood"],
                          "message": [long, "ok\nfine"]})
    result = SimpleNamespace(computed=("a",), resumed=(), skipped={"ood": "needs ood"}, worst_severity="fail",
                             to_frame=lambda: frame)
    lines = _summary_lines(result, columns=80)
    assert lines[0].endswith("1 skipped; worst finding: fail")
    assert lines[1] == "  skipped ood: needs ood"
    assert lines[2].startswith("fail   group_performance  The largest")
    assert all(len(line) <= 80 for line in lines[2:])
    body = [line for line in lines[2:] if line.startswith(" ")]
    assert body and all(line.startswith(" " * 26) for line in body)  # under the message: 5 + 2 + 17 + 2
    assert " ".join(line.strip() for line in lines[2:2 + 1 + len(body)]).endswith(long.split()[-1])
    assert lines[-1] == "pass   ood                ok fine"                      # one line per finding
