"""The explanations check on UCI Adult (tables) and digits (a small CNN): numbers equal a direct
recomputation; findings, headline rows, the report section and the card."""

import numpy as np
import pytest
import torch
from torch import nn

from assay import wrap
from assay.audit import Audit, AuditContext
from assay.audit.checks.explanations import ExplanationsCheck
from assay.audit.documents import audit_record, write_audit_report
from assay.datasets import load_adult, load_digits_split
from assay.explain import KernelSHAP, Saliency
from assay.explain.evaluate import randomization_test
from assay.explain.importance import mean_abs_attribution, permutation_importance
from assay.models import train_sklearn_model
from assay.testing import check_component

PARAMS = {"max_rows": 300, "max_explain_rows": 60, "n_background": 6, "n_samples": 64, "n_boot": 30,
          "min_group_size": 8, "proxies": ["relationship"]}


@pytest.fixture(scope="module")
def adult():
    data = load_adult()
    rows = np.random.default_rng(0).permutation(len(data.train.y))[:2000]

    def part(split, index):
        return (split.X.iloc[index], split.y.iloc[index], split.sensitive_features.iloc[index][["sex", "race"]])

    model = train_sklearn_model(data.train.X.iloc[rows], data.train.y.iloc[rows],
                                categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    splits = {"train": part(data.train, rows), "test": part(data.test, np.arange(1000))}
    result = Audit(model, splits, checks=["explanations"], check_params={"explanations": PARAMS},
                   progress=False).run()
    return model, splits, result


def test_adult_numbers_equal_a_direct_recomputation(adult):
    model, splits, result = adult
    record = result.records["explanations"]
    assert record["status"] == "ok", record.get("traceback")
    summary = record["summary"]
    X, y, sf = splits["test"]
    rng = np.random.default_rng(0)
    perm_rows = np.sort(rng.choice(len(y), 300, replace=False))
    perm = permutation_importance(model, X.iloc[perm_rows], y.to_numpy()[perm_rows], random_state=0).to_frame()
    assert summary["top_permutation"]["feature"] == perm["feature"].iloc[0]
    assert summary["top_permutation"]["importance"] == pytest.approx(perm["importance"].iloc[0], abs=1e-12)
    rows = np.sort(rng.choice(len(y), 60, replace=False))
    train = splits["train"][0]
    background = train.iloc[np.sort(rng.choice(len(train), 6, replace=False))]
    att = KernelSHAP(model, output="probabilities", n_samples=64, random_state=0).attribute(
        X.iloc[rows], target=1, baselines=background)
    direct = mean_abs_attribution(att)
    assert summary["top_features"] == direct["feature"].head(5).tolist()
    ranks = {f: i + 1 for i, f in enumerate(direct["feature"])}
    assert summary["sensitive_feature_rank"] == {"sex": ranks["sex"], "race": ranks["race"],
                                                 "relationship": ranks["relationship"]}
    # the share gap of sex, recomputed from the attributions
    shares = {g: np.abs(att.values[(sf["sex"].to_numpy()[rows] == g)]).mean(0) for g in ("Female", "Male")}
    shares = {g: v / v.sum() for g, v in shares.items()}
    gap = np.abs(shares["Female"] - shares["Male"])
    assert summary["importance_share_gap"]["sex"] == pytest.approx(gap.max(), abs=1e-12)
    assert summary["share_gap_detail"]["sex"]["feature"] == att.feature_names[int(gap.argmax())]


def test_findings_report_and_card(adult, tmp_path):
    _model, _splits, result = adult
    summary = result.records["explanations"]["summary"]
    findings = [f for f in result.findings if f.check == "explanations"]
    assert len(findings) == len(summary["importance_share_gap"]) + 3
    rank = next(f for f in findings if f.metric == "sensitive_feature_rank[relationship]")
    value = summary["sensitive_feature_rank"]["relationship"]
    assert rank.severity == ("fail" if value < 2 else "warn" if value < 5 else "pass")
    paths = write_audit_report(audit_record(result, model_name="lr"), tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "Explanations: importance, per group, and sanity checks" in page and "Mean |SHAP| by sex" in page
    assert "data:image/png" in page and "misclassified" in page
    card = paths["card"].read_text(encoding="utf-8")
    assert "Most important features (mean |SHAP|)" in card
    assert f"ranks {summary['sensitive_feature_rank']['sex']} in importance" in card


def test_digits_sanity_checks(tmp_path):
    data = load_digits_split()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    X, y = data.train.X, torch.as_tensor(np.asarray(data.train.y))
    for _ in range(40):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    model.eval()
    Xt, yt = data.test.X, np.asarray(data.test.y)
    result = Audit(model, {"test": (Xt, yt, None)}, checks=["explanations"],
                   check_params={"explanations": {"max_explain_rows": 16}}, progress=False).run()
    record = result.records["explanations"]
    assert record["status"] == "ok", record.get("traceback")
    summary = record["summary"]
    assert set(summary["randomization_rank_correlation"]) == {"Saliency", "IntegratedGradients", "GradCAM"}
    rows = np.sort(np.random.default_rng(0).choice(len(yt), 16, replace=False))
    direct = randomization_test(Saliency(wrap(model)), Xt[rows], threshold=0.5, random_state=0)
    assert summary["randomization_rank_correlation"]["Saliency"] == pytest.approx(direct.final, abs=1e-12)
    assert direct.final < 0.3  # randomising every layer scrambles the gradient maps
    finding = next(f for f in result.findings if f.metric == "randomization_rank_correlation[Saliency]")
    assert finding.severity == "pass"
    assert summary["verdicts"]["Saliency"].startswith("Saliency passes the parameter randomisation test")
    page = write_audit_report(audit_record(result, model_name="cnn"), tmp_path)["html"].read_text(encoding="utf-8")
    assert "Cascading model-parameter randomisation" in page and "Deletion and insertion curves" in page


def test_conformance_and_skips(adult):
    check_component(ExplanationsCheck())
    model, splits, _ = adult
    X, y, sf = splits["test"]
    assert ExplanationsCheck().applicable(AuditContext(wrap(model), {"test": (X, y, sf)})) is None
    assert "labels" in ExplanationsCheck().applicable(AuditContext(wrap(model), {"test": (X, None, sf)}))
    assert "DataFrame, or images" in ExplanationsCheck().applicable(
        AuditContext(wrap(model), {"test": (X.to_numpy(), y, sf)}))
    result = Audit(model, {"test": (X.iloc[:200], y.iloc[:200], sf.iloc[:200])}, checks="auto", progress=False).run()
    assert "explanations" not in result.records
    assert "explanations" in result.skipped
