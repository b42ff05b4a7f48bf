"""The probes check on a tiny torch MLP: numbers equal a direct LinearProbe, one pass, findings, report, card."""

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.audit import Audit
from assay.audit.checks.probes import ProbesCheck, hidden_layers
from assay.audit.documents import audit_record, write_audit_report
from assay.explain import LinearProbe
from assay.testing import check_component


def _data(n, seed):
    """``group`` drives a feature and the label (decodable from the hidden layers); ``noise`` is unrelated."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    X[:, 0] += 2.0 * group
    y = (X[:, 0] + 0.5 * X[:, 1] > 1.0).astype(np.int64)
    sensitive = pd.DataFrame({"group": np.where(group == 1, "a", "b"), "noise": rng.choice(["x", "y", "z"], n),
                              "id": np.arange(n).astype(str)})
    return X, y, sensitive


@pytest.fixture(scope="module")
def audited():
    from assay.models import train_tabular_mlp

    X, y, sensitive = _data(1800, 0)
    model = train_tabular_mlp(X[:800], y[:800], hidden=(16, 8), epochs=15, random_state=0)
    splits = {"train": (X[:800], y[:800], sensitive.iloc[:800]),
              "test": (X[800:], y[800:], sensitive.iloc[800:].reset_index(drop=True))}
    calls = []
    hook = model.register_forward_hook(lambda module, inputs, output: calls.append(len(inputs[0])))
    try:
        result = Audit(model, splits, checks=["probes"], check_params={"probes": {"max_rows": 900}},
                       progress=False).run()
    finally:
        hook.remove()
    return model, splits, result, calls


def test_default_layers_are_the_hidden_linear_layers(audited):
    model = audited[0]
    assert hidden_layers(model) == ["body.0", "penultimate.0"]  # not the output layer "head"


def test_numbers_equal_a_direct_probe_and_one_pass(audited):
    model, splits, result, calls = audited
    record = result.records["probes"]
    assert record["status"] == "ok", record.get("traceback")
    assert sum(calls) == 1000  # the evaluation split went through the model once, for both layers
    X, _, sensitive = splits["test"]
    rows = np.sort(np.random.default_rng(0).choice(1000, 900, replace=False))
    with_input = {"(input)": X[rows].astype(np.float64)}
    import torch

    captured = {}
    hooks = [dict(model.named_modules())[name].register_forward_hook(
        lambda m, i, o, name=name: captured.__setitem__(name, o.detach().numpy())) for name in hidden_layers(model)]
    with torch.no_grad():
        model.eval()(torch.from_numpy(X))
    for hook in hooks:
        hook.remove()
    sources = {**with_input, **{k: v[rows] for k, v in captured.items()}}
    direct = LinearProbe(layers=list(sources), random_state=0).fit(
        sources, sensitive["group"].to_numpy()[rows]).result_.to_frame()
    summary = record["summary"]
    best = direct.drop(index="(input)")["selectivity"]
    assert summary["probe_selectivity"]["group"] == pytest.approx(best.max())
    assert summary["best_layer"]["group"]["layer"] == best.idxmax()
    assert summary["best_layer"]["group"]["input_selectivity"] == pytest.approx(direct.loc["(input)", "selectivity"])
    assert summary["probe_selectivity"]["group"] > 0.3  # group drives feature 0, which the layers keep
    assert summary["probe_selectivity"]["noise"] < 0.08 # unrelated to everything: near the control
    assert "id" in summary["skipped"] and "max_values" in summary["skipped"]["id"]


def test_findings_report_and_card(audited, tmp_path):
    model, _, result, _ = audited
    summary = result.records["probes"]["summary"]
    findings = {f.metric: f for f in result.findings if f.check == "probes"}
    assert set(findings) == {"probe_selectivity[group]", "probe_selectivity[noise]"}
    for column, finding in [("group", findings["probe_selectivity[group]"]),
                            ("noise", findings["probe_selectivity[noise]"])]:
        value = summary["probe_selectivity"][column]
        assert finding.severity == ("fail" if value > 0.3 else "warn" if value > 0.1 else "pass")
    assert findings["probe_selectivity[group]"].severity == "fail"
    assert findings["probe_selectivity[noise]"].severity == "pass"
    paths = write_audit_report(audit_record(result, model_name="mlp"), tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "Linear probes: sensitive attributes in the hidden layers" in page and "data:image/png" in page
    card = paths["card"].read_text(encoding="utf-8")
    info = summary["best_layer"]["group"]
    assert f"group is linearly decodable from layer {info['layer']} with held-out accuracy {info['accuracy']:.4f}" \
        in card.replace("\\", "")
    headline = [r for r in result.records["probes"]["headline"] if r["metric"] == "probe_selectivity"]
    assert {r["feature"] for r in headline} == {"group", "noise"}


def test_thresholds_and_layers_are_parameters(audited):
    model, splits, _, _ = audited
    result = Audit(model, splits, checks=["probes"], thresholds={"probe_selectivity_warn": 0.9,
                                                                 "probe_selectivity_fail": 0.95},
                   check_params={"probes": {"max_rows": 200, "probe_layers": ["penultimate.1"], "max_input_dim": 0}},
                   progress=False).run()
    summary = result.records["probes"]["summary"]
    assert summary["layers"] == ["penultimate.1"] and "input_selectivity" not in summary["best_layer"]["group"]
    assert all(f.severity == "pass" for f in result.findings if f.check == "probes")


def test_opt_in_not_applicable_and_conformance(audited):
    from sklearn.linear_model import LogisticRegression

    model, splits, _, _ = audited
    check_component(ProbesCheck())
    small = {"test": (splits["test"][0][:200], splits["test"][1][:200], splits["test"][2].iloc[:200][["group"]])}
    result = Audit(model, small, checks="auto", progress=False).run()
    assert result.skipped["probes"].startswith("runs only when named")
    sk = LogisticRegression().fit(splits["train"][0], splits["train"][1])
    with pytest.raises(AssayInputError, match="'probes'.*needs torch"):
        Audit(sk, small, checks=["probes"], progress=False).run()
