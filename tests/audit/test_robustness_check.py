"""The robustness check on UCI Adult and digits: its numbers equal a direct recomputation; findings,
headline rows, the report section and the card."""

import numpy as np
import pandas as pd
import pytest
import torch

from assay.audit import Audit
from assay.audit.checks.robustness import RobustnessCheck
from assay.audit.documents import audit_record, write_audit_report
from assay.datasets import load_adult
from assay.models import train_sklearn_model
from assay.robustness import get_corruption
from assay.testing import check_component


@pytest.fixture(scope="module")
def adult():
    data = load_adult()
    rows = np.random.default_rng(0).permutation(len(data.train.y))[:3000]

    def part(split, index):
        return (split.X.iloc[index], split.y.iloc[index], split.sensitive_features.iloc[index][["sex", "race"]])

    model = train_sklearn_model(data.train.X.iloc[rows], data.train.y.iloc[rows],
                                categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    splits = {"train": part(data.train, rows), "test": part(data.test, np.arange(3000))}
    result = Audit(model, splits, checks=["robustness"], check_params={"robustness": {"max_rows": 1500}},
                   progress=False).run()
    return model, splits, result


def test_adult_numbers_equal_a_direct_recomputation(adult):
    model, splits, result = adult
    record = result.records["robustness"]
    assert record["status"] == "ok", record.get("traceback")
    summary = record["summary"]
    X, y, sf = splits["test"]
    rows = np.sort(np.random.default_rng(0).choice(len(y), 1500, replace=False))
    X, y, sf = X.iloc[rows], y.to_numpy()[rows], sf.iloc[rows]
    assert summary["n_rows"] == 1500
    assert summary["clean_accuracy"] == pytest.approx(np.mean(model.predict(X) == y), abs=1e-12)
    table = pd.DataFrame(**record["result"]["table"])
    top = table[(table["feature"] == "overall") & (table["severity"] == 5) & (table["metric"] == "accuracy")]
    assert summary["robust_accuracy"] == pytest.approx(top["value"].mean())
    assert summary["robust_accuracy_drop"] == pytest.approx(summary["clean_accuracy"] - top["value"].min())
    # feature dropout of one column is deterministic whatever the seed: recompute it directly
    dropout = get_corruption("feature_dropout", columns=["capital_gain"], reference=splits["train"][0])
    kept = Audit(model, {"train": splits["train"], "test": (X, pd.Series(y), sf)}, checks=["robustness"],
                 check_params={"robustness": {"corruptions": [dropout], "severities": [5]}}, progress=False).run()
    sub = pd.DataFrame(**kept.records["robustness"]["result"]["table"])
    pred = model.predict(dropout(X, 5, 0))
    by_sex = sub[(sub["corruption"] == "feature_dropout") & (sub["feature"] == "sex")].set_index("group")["value"]
    for sex in ("Female", "Male"):
        mask = (sf["sex"] == sex).to_numpy()
        assert by_sex[sex] == pytest.approx(np.mean(pred[mask] == y[mask]), abs=1e-12)
    # the fastest-falling group: its drop exceeds every other group's by the reported gap
    deg = pd.DataFrame(**record["result"]["degradation"])
    info = summary["fastest_group"]["sex"]
    drops = deg[(deg["corruption"] == info["corruption"]) & (deg["feature"] == "sex")].set_index("group")["drop"]
    assert info["drop"] == pytest.approx(drops.max()) and info["group"] == drops.idxmax()
    assert summary["group_robustness_gap"]["sex"] == pytest.approx(drops.max() - drops.drop(info["group"]).max())
    keys = {(r["metric"], r["feature"]) for r in record["headline"]}
    assert {("clean_accuracy", None), ("robust_accuracy", None), ("robust_accuracy_drop", None),
            ("group_robustness_gap", "sex")} <= keys


def test_adult_tabular_attack_equals_a_direct_attack(adult):
    from assay.robustness import TabularAttack, attack_report

    model, splits, result = adult
    summary = result.records["robustness"]["summary"]
    attacks = result.records["robustness"]["result"]["attacks"]
    X, y, sf = splits["test"]
    rows = np.sort(np.random.default_rng(0).choice(len(y), 1500, replace=False))[:500]
    attack = TabularAttack(eps=0.3, max_changes=3, immutable=["sex", "race"], reference=splits["train"][0],
                           max_queries=100, random_state=0)
    direct = attack_report(model, X.iloc[rows], y.to_numpy()[rows], attack, n_boot=0)
    assert attacks["immutable"] == ["sex", "race"] and attacks["n_rows"] == 500
    assert summary["adversarial_robust_accuracy"] == pytest.approx(direct.robust_accuracy, abs=1e-12)
    assert summary["attack_success_rate"] == pytest.approx(direct.success_rate, abs=1e-12)
    assert 0 < summary["attack_success_rate"] < 1
    assert "TabularAttack" in summary["attack"] and "fixed: sex, race" in summary["attack"]
    adversarial = direct.result.adversarial
    pd.testing.assert_frame_equal(adversarial[["sex", "race"]], X.iloc[rows][["sex", "race"]])


def test_findings_report_and_card(adult, tmp_path):
    model, splits, result = adult
    summary = result.records["robustness"]["summary"]
    findings = [f for f in result.findings if f.check == "robustness"]
    assert len(findings) == 1 + len(summary["group_robustness_gap"])
    drop = next(f for f in findings if f.metric == "robust_accuracy_drop")
    expected = "fail" if summary["robust_accuracy_drop"] > 0.25 else "warn" if summary["robust_accuracy_drop"] > 0.1 \
        else "pass"
    assert drop.severity == expected
    lenient = Audit(model, splits, checks=["robustness"], thresholds={
        "robust_accuracy_drop_warn": 1.0, "robust_accuracy_drop_fail": 1.0, "group_robustness_gap_warn": 1.0,
        "group_robustness_gap_fail": 1.0}, check_params={"robustness": {"max_rows": 1500}}, progress=False).run()
    assert all(f.severity == "pass" for f in lenient.findings if f.check == "robustness")
    paths = write_audit_report(audit_record(result, model_name="lr"), tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "Robustness to corruptions by group" in page and "Accuracy vs corruption severity" in page
    assert "data:image/png" in page
    card = paths["card"].read_text(encoding="utf-8")
    assert f"clean accuracy {summary['clean_accuracy']:.4f}" in card and "Breaks first among sex" in card


def test_digits_images_per_group():
    from torch import nn

    from assay.datasets import load_digits_split

    data = load_digits_split()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    X, y = data.train.X, torch.as_tensor(np.asarray(data.train.y))
    for _ in range(60):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    model.eval()
    Xt, yt = data.test.X, np.asarray(data.test.y)
    ink = pd.DataFrame({"ink": np.where(Xt.mean(dim=(1, 2, 3)).numpy() > float(Xt.mean()), "heavy", "light")})
    result = Audit(model, {"test": (Xt, yt, ink)}, checks=["robustness"], progress=False).run()
    record = result.records["robustness"]
    assert record["status"] == "ok", record.get("traceback")
    summary = record["summary"]
    assert summary["corruptions"] == ["gaussian_noise", "gaussian_blur", "contrast", "rotate"]
    with torch.no_grad():
        assert summary["clean_accuracy"] == pytest.approx(float((model(Xt).argmax(1).numpy() == yt).mean()))
    table = pd.DataFrame(**record["result"]["table"])
    contrast = get_corruption("contrast")(Xt, 5, 0)
    with torch.no_grad():
        correct = model(contrast).argmax(1).numpy() == yt
    heavy = (ink["ink"] == "heavy").to_numpy()
    row = table[(table["corruption"] == "contrast") & (table["severity"] == 5) & (table["group"] == "heavy")]
    assert row["value"].iloc[0] == pytest.approx(correct[heavy].mean())
    assert summary["robust_accuracy"] < summary["clean_accuracy"]
    assert "ink" in summary["group_robustness_gap"]
    # the adversarial part: PGD L-inf 0.1 on the same rows equals a direct attack_report
    from assay.robustness import PGD, attack_report

    direct = attack_report(model, Xt, yt, PGD(model, eps=0.1, steps=10, step_size=0.025), n_boot=0)
    assert summary["adversarial_robust_accuracy"] == pytest.approx(direct.robust_accuracy)
    assert summary["attack_success_rate"] == pytest.approx(direct.success_rate)
    assert summary["adversarial_robust_accuracy"] < summary["clean_accuracy"]
    attacks = pd.DataFrame(**record["result"]["attacks"]["table"])
    assert len(attacks) > 1  # overall and the ink groups
    assert any(r["metric"] == "adversarial_robust_accuracy" for r in record["headline"])


def test_conformance_and_skips(adult):
    from assay import wrap
    from assay.audit import AuditContext

    check_component(RobustnessCheck())
    check_component(RobustnessCheck(corruptions=["unit_error"], severities=[5], max_rows=100, n_boot=0))
    model, splits, _ = adult
    X, y, sf = splits["test"]
    assert RobustnessCheck().applicable(AuditContext(wrap(model), {"test": (X, y, sf)})) is None
    assert "labels" in RobustnessCheck().applicable(AuditContext(wrap(model), {"test": (X, None, sf)}))
    assert "DataFrame or images" in RobustnessCheck().applicable(
        AuditContext(wrap(model), {"test": (X.to_numpy(), y, sf)}))


def test_auto_leaves_it_out_with_the_reason(adult):
    model, splits, _ = adult
    result = Audit(model, splits, checks="auto", progress=False).run()
    assert "robustness" not in result.records
    assert result.skipped["robustness"] == "runs only when named in 'checks' (it costs extra model passes)"


def test_auto_plus_named_opt_in_checks(adult):
    model, splits, _ = adult
    params = {"robustness": {"max_rows": 300, "severities": [5], "max_attack_rows": 50}}
    mixed = Audit(model, splits, checks=["auto", "robustness"], check_params=params, progress=False).run()
    automatic = Audit(model, splits, checks="auto", progress=False).run()
    assert set(mixed.records) == set(automatic.records) | {"robustness"}
    assert "robustness" not in mixed.skipped
    assert set(mixed.skipped) == set(automatic.skipped) - {"robustness"}
    from assay.audit.base import CHECKS

    assert list(mixed.records) == sorted(mixed.records, key=lambda n: (CHECKS[n].order, n))
