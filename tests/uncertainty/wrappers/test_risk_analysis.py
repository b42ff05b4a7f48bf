"""Accuracy by risk decile, risks by group, correlations, plots, and the opt-in `risk` audit check."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from assay.audit import Audit
from assay.audit.checks.risk import RiskCheck, default_layer
from assay.audit.documents import audit_record, write_audit_report
from assay.datasets import load_digits_split
from assay.metrics import evaluate_groups
from assay.models import DigitsCNN
from assay.report import plot_example_grid, plot_regression_bands, plot_risk_deciles
from assay.testing import check_component
from assay.uncertainty.wrappers import (HistogramBias, fit_risk_model, predict_risk, risk_by_decile, risk_by_group,
                                        risk_correlation)


def test_accuracy_by_risk_decile_equals_a_direct_computation():
    rng = np.random.default_rng(0)
    risk = rng.normal(size=1000)
    correct = (rng.random(1000) > 0.3 + 0.1 * risk).astype(float)
    group = np.where(rng.random(1000) < 0.4, "a", "b")
    table = risk_by_decile(risk, correct, sensitive_features={"g": group}, n_boot=50, random_state=0)
    edges = np.quantile(risk, np.linspace(0, 1, 11)[1:-1])
    decile = np.searchsorted(edges, risk, side="left") + 1
    overall = table[table["feature"] == "overall"].set_index("decile")
    for d in range(1, 11):
        assert overall.loc[d, "accuracy"] == pytest.approx(correct[decile == d].mean())
        assert overall.loc[d, "count"] == (decile == d).sum()
        assert overall.loc[d, "lower"] <= overall.loc[d, "accuracy"] <= overall.loc[d, "upper"]
    row = table[(table["feature"] == "g") & (table["group"] == "a") & (table["decile"] == 3)].iloc[0]
    mask = (decile == 3) & (group == "a")
    assert row["accuracy"] == pytest.approx(correct[mask].mean()) and row["mean_risk"] == pytest.approx(risk[mask].mean())
    assert overall["accuracy"].iloc[0] > overall["accuracy"].iloc[-1]  # planted: accuracy falls with risk


def test_risks_by_group_and_correlation_are_the_grouped_table_and_spearman():
    rng = np.random.default_rng(1)
    scores = {"bias": rng.normal(size=300), "epistemic": rng.gamma(2, size=300)}
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], 300), "age": rng.choice(["<40", ">=40"], 300)})
    table = risk_by_group(scores, sf, n_boot=0)
    direct = evaluate_groups(values=scores, metrics=["mean:bias", "mean:epistemic"], sensitive_features=sf)
    pd.testing.assert_frame_equal(table.by_group, direct.by_group)
    assert table.by_group.loc[("sex x age", "F x <40"), "mean:bias"] == pytest.approx(
        scores["bias"][(sf["sex"] == "F").to_numpy() & (sf["age"] == "<40").to_numpy()].mean())
    corr = risk_correlation(scores)
    assert corr.loc["bias", "epistemic"] == pytest.approx(spearmanr(scores["bias"], scores["epistemic"]).statistic)


def test_plots_draw():
    frame = risk_by_decile(np.arange(200.0), (np.arange(200) % 3 > 0).astype(float),
                           sensitive_features={"g": np.arange(200) % 2}, n_boot=20, min_group_size=5)
    figures = [plot_risk_deciles(frame, risk="bias"),
               plot_regression_bands(np.linspace(-1, 1, 50), np.linspace(-1, 1, 50) ** 3,
                                     aleatoric=np.full(50, 0.01), epistemic=np.linspace(0, 0.1, 50),
                                     x_train=np.zeros(3), y_train=np.zeros(3)),
               plot_example_grid(np.random.default_rng(0).random((20, 1, 8, 8)), np.arange(20.0), k=4)]
    assert all(len(f.axes) >= 1 for f in figures)
    assert len(figures[2].axes) == 8


@pytest.fixture(scope="module")
def digits_audit():
    data = load_digits_split(random_state=0)
    torch.manual_seed(0)
    model = fit_risk_model(DigitsCNN(), (data.train.X, data.train.y), epochs=8, lr=3e-3, batch_size=64)
    Xt, yt = data.test.X, np.asarray(data.test.y)
    ink = pd.DataFrame({"ink": np.where(Xt.mean(dim=(1, 2, 3)).numpy() > float(Xt.mean()), "heavy", "light")})
    splits = {"train": (data.train.X, np.asarray(data.train.y)), "test": (Xt, yt, ink)}
    result = Audit(model, splits, checks=["risk"], check_params={"risk": {"n_boot": 50, "head_epochs": 3}},
                   progress=False).run()
    return model, data, result


def test_risk_check_numbers_equal_a_direct_recomputation(digits_audit, tmp_path):
    model, data, result = digits_audit
    record = result.records["risk"]
    assert record["status"] == "ok", record.get("traceback")
    summary = record["summary"]
    assert summary["layer"] == default_layer(model) == "penultimate.1"
    bias = predict_risk(HistogramBias(model, layer="penultimate.1", n_bins=20).fit(data.train.X), data.test.X).bias
    assert summary["mean_bias"] == pytest.approx(float(bias.mean()), rel=1e-6)
    assert "ink" in summary["most_under_represented"]
    assert all(-1 <= summary[k] <= 1 for k in summary if k.startswith("correlation_"))
    paths = write_audit_report(audit_record(result, model_name="cnn"), tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "Risk: representation bias" in page and "data:image/png" in page
    card = paths["card"].read_text(encoding="utf-8")
    assert f"mean representation bias {summary['mean_bias']:.4f}" in card and "risk.bias_accuracy_gap" in card


def test_risk_check_is_opt_in_and_a_component():
    assert RiskCheck.auto is False
    check_component(RiskCheck())
    check_component(RiskCheck(layer="penultimate.1", n_samples=5, head_epochs=2))


def test_risk_check_on_a_tabular_torch_model_lists_rows(tmp_path):
    from assay.models import train_tabular_mlp

    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame(rng.normal(size=(n, 4)).astype(np.float32), columns=["a", "b", "c", "d"])
    y = (X["a"] + 0.5 * X["b"] + rng.normal(scale=0.5, size=n) > 0).astype(int).to_numpy()
    group = pd.DataFrame({"g": np.where(X["c"] > 1, "rare", "common")})
    model = train_tabular_mlp(X.to_numpy(), y, epochs=5, hidden=(16, 8))
    splits = {"train": (X[:300], y[:300]), "val": (X[300:450], y[300:450]), "test": (X[450:], y[450:], group[450:])}
    result = Audit(model, splits, checks=["risk"], check_params={"risk": {"n_boot": 20, "head_epochs": 2}},
                   progress=False).run()
    record = result.records["risk"]
    assert record["status"] == "ok", record.get("traceback")
    assert record["result"]["head_split"] == "val" and record["summary"]["layer"] == "penultimate.0"
    table = pd.DataFrame(**record["result"]["examples"]["table"])
    assert list(table.columns[:4]) == ["a", "b", "c", "d"] and len(table) == 16
    assert table["bias"].iloc[0] == max(table["bias"])
    paths = write_audit_report(audit_record(result, model_name="mlp"), tmp_path)
    assert "least (first)" in paths["html"].read_text(encoding="utf-8")
