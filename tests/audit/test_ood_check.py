"""The audit's OOD check: its numbers equal the detectors and metrics it stands for."""

import html as html_lib
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import logsumexp
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from assay.audit import Audit
from assay.audit.checks.ood import DETECTORS, OODCheck
from assay.ood import KNN, Mahalanobis, MaxSoftmax, threshold_at_tpr
from assay.audit.documents import audit_record, model_card_markdown, render_audit_html

from ..report.card_checks import assert_card_matches_record


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.penultimate = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU())
        self.head = torch.nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.penultimate(x))


def _blobs(rng, n, shift=0.0):
    y = rng.integers(0, 3, n)
    centres = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], dtype=np.float32)
    return (centres[y] + rng.normal(size=(n, 4)) * 0.6 + shift).astype(np.float32), y


@pytest.fixture(scope="module")
def torch_audit():
    rng = np.random.default_rng(0)
    (X_tr, y_tr), (X_val, y_val), (X_te, y_te) = (_blobs(rng, n) for n in (600, 300, 400))
    X_far, _ = _blobs(rng, 200, shift=np.array([0, 0, 0, 4], dtype=np.float32))
    X_same, _ = _blobs(rng, 200)  # in distribution: the detectors cannot tell it apart
    model = Net()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X_tr)), torch.from_numpy(y_tr))
        loss.backward()
        optimiser.step()
    group = pd.DataFrame({"site": np.where(rng.random(len(y_te)) < 0.5, "a", "b")})
    data = {"train": (X_tr, y_tr), "val": (X_val, y_val), "test": (X_te, y_te, group),
            "ood:far": X_far, "ood:same": X_same}
    result = Audit(model, data, checks=[OODCheck(n_boot=50)], random_state=0, progress=False).run()
    return model, data, result


def test_one_forward_pass_per_split_for_every_detector(torch_audit):
    _, data, result = torch_audit
    assert result.records["ood"]["status"] == "ok", result.records["ood"].get("traceback")
    assert result.forward_passes == {name: 1 for name in data}
    table = result.records["ood"]["result"]["evaluation"]["table"]
    detectors = {row[table["columns"].index("detector")] for row in table["data"]}
    assert detectors == {"MaxSoftmax", "Entropy", "MaxLogit", "Energy", "GEN", "Mahalanobis", "KNN",
                         "IsolationForestDetector", "GaussianMixtureDetector"}  # the inputs are a 2-D array


def test_projection_of_embeddings_on_in_distribution_components(torch_audit):
    _, data, result = torch_audit
    projected = result.records["ood"]["result"]["projection"]
    assert projected["source"] == "embeddings of layer 'penultimate'"
    points = pd.DataFrame(projected["points"]["data"], columns=projected["points"]["columns"])
    assert points["set"].value_counts().to_dict() == {"in-distribution": 400, "ood:far": 200, "ood:same": 200}
    inside = points[points["set"] == "in-distribution"]
    # PCA fitted on the in-distribution sample: its points are centred there, not the OOD ones
    assert abs(inside["x"].mean()) < 1e-3 and abs(inside["y"].mean()) < 1e-3
    assert projected["axis_labels"][0].startswith("PC 1 (")


def _metric(record, detector, ood_set, metric="auroc"):
    table = record["result"]["evaluation"]["table"]
    frame = pd.DataFrame(table["data"], columns=table["columns"])
    return frame.set_index(["detector", "ood_set"]).loc[(detector, ood_set), metric]


def test_aurocs_equal_sklearn_on_directly_computed_scores(torch_audit):
    model, data, result = torch_audit
    record = result.records["ood"]
    X_te, X_far = data["test"][0], data["ood:far"]
    with torch.no_grad():
        logits_in = model(torch.from_numpy(X_te)).numpy().astype(np.float64)
        logits_out = model(torch.from_numpy(X_far)).numpy().astype(np.float64)
    labels = np.r_[np.zeros(len(X_te)), np.ones(len(X_far))]
    energy = np.r_[-logsumexp(logits_in, axis=1), -logsumexp(logits_out, axis=1)]
    assert _metric(record, "Energy", "ood:far") == pytest.approx(roc_auc_score(labels, energy), abs=1e-12)
    msp = MaxSoftmax(model)
    assert _metric(record, "MaxSoftmax", "ood:far") == pytest.approx(
        roc_auc_score(labels, np.r_[msp.score(X_te), msp.score(X_far)]), abs=1e-12)
    # Feature detectors: fitted on the training split with its labels; KNN's k scaled to 600 rows.
    maha = Mahalanobis(model).fit(data["train"][0], data["train"][1])
    assert _metric(record, "Mahalanobis", "ood:far") == pytest.approx(
        roc_auc_score(labels, np.r_[maha.score(X_te), maha.score(X_far)]), abs=1e-9)
    knn = KNN(model, k=1).fit(data["train"][0])
    assert _metric(record, "KNN", "ood:far") == pytest.approx(
        roc_auc_score(labels, np.r_[knn.score(X_te), knn.score(X_far)]), abs=1e-9)


def test_threshold_from_val_and_rejections_by_group(torch_audit):
    model, data, result = torch_audit
    record = result.records["ood"]
    primary = record["summary"]["primary_detector"]
    rows = record["result"]["threshold"]
    threshold = dict(zip(rows["columns"], rows["data"][rows["index"].index(primary)]))
    assert threshold["fitted_on"] == "val"
    cls = DETECTORS[primary]  # recompute the primary detector's scores directly
    if primary in ("Mahalanobis", "KNN"):
        detector = cls(model, **({"k": 1} if primary == "KNN" else {})).fit(data["train"][0], data["train"][1])
    elif primary in ("IsolationForestDetector", "GaussianMixtureDetector"):  # on standardised inputs
        scaler = StandardScaler().fit(data["train"][0])
        extra = {"covariance_type": "tied"} if primary == "GaussianMixtureDetector" else {}
        inner = cls(random_state=0, **extra).fit(scaler.transform(data["train"][0]))
        detector = SimpleNamespace(score=lambda X: inner.score(scaler.transform(X)))
    else:
        detector = cls(model)
    scores_val, scores_te = detector.score(data["val"][0]), detector.score(data["test"][0])
    assert threshold["threshold"] == pytest.approx(threshold_at_tpr(scores_val, 0.95), abs=1e-9)
    assert threshold["achieved_tpr"] == pytest.approx(np.mean(scores_te <= threshold["threshold"]), abs=1e-12)
    assert threshold["fpr[ood:far]"] == pytest.approx(
        np.mean(detector.score(data["ood:far"]) <= threshold["threshold"]), abs=1e-12)
    by_group = record["result"]["rejection_by_group"]["by_group"]
    table = {tuple(k): dict(zip(by_group["columns"], row)) for k, row in zip(by_group["index"], by_group["data"])}
    site = data["test"][2]["site"].to_numpy()
    for name in ("a", "b"):
        expected = np.mean(scores_te[site == name] > threshold["threshold"])
        assert table[("site", name)]["selection_rate"] == pytest.approx(expected, abs=1e-12)
    assert 0 <= record["summary"]["rejection_ratio"]["site"] <= 1
    # the headline ratio is the lowest over the highest refusal rate, recomputed from the scores
    rates = [np.mean(scores_te[site == name] > threshold["threshold"]) for name in ("a", "b")]
    assert min(rates) < max(rates)
    assert record["summary"]["rejection_ratio"]["site"] == pytest.approx(min(rates) / max(rates), abs=1e-12)
    headline = {(r["metric"], r["feature"]): r for r in record["headline"]}
    assert headline[("rejection_ratio", "site")]["value"] == pytest.approx(min(rates) / max(rates), abs=1e-12)
    assert headline[("rejection_ratio", "site")]["direction"] == "higher"


def test_findings_warn_where_ood_inputs_cannot_be_told_apart(torch_audit):
    _, _, result = torch_audit
    by_metric = {f.metric: f for f in result.findings if f.check == "ood"}
    assert by_metric["auroc[ood:far]"].severity == "pass"
    assert by_metric["auroc[ood:same]"].severity == "warn"
    assert by_metric["auroc[ood:same]"].value < 0.7
    # each finding's key names a headline row of the OOD check, with the same value
    from .test_headline_numbers import findings_without_headline

    assert any(m.startswith("rejection_ratio[") for m in by_metric) and findings_without_headline(result) == []


def test_report_section_and_card(torch_audit):
    _, _, result = torch_audit
    record = json.loads(json.dumps(audit_record(result, model_name="net", dataset_name="blobs")))
    html = render_audit_html(record)
    section = html.split('id="ood"', 1)[1]
    assert "Out-of-distribution detection" in html and section.count("data:image/png;base64,") >= 5
    assert "on the first two principal components of the in-distribution sample" in section
    ood = record["checks"]["ood"]
    table = ood["result"]["evaluation"]["table"]
    row = dict(zip(table["columns"], table["data"][0]))
    interval = f"{row['auroc']:.3f}\u00a0[{row['auroc_lower']:.3f},\u00a0{row['auroc_upper']:.3f}]"
    assert interval in html_lib.unescape(section)  # the compact table: value [lower, upper]
    card = model_card_markdown(record, model_name="net")
    assert "### Out-of-distribution detection" in card
    assert assert_card_matches_record(card, record) >= 4
    primary = record["checks"]["ood"]["summary"]["primary_detector"]
    auroc = record["checks"]["ood"]["summary"]["auroc"]["ood:far"]
    assert f"| ood:far | 200 | {auroc:.4f} |" in card and primary in card
    refusals = ood["result"]["rejection_by_group"]
    assert refusals["ci"], "the refusal rates are bootstrapped like the rest of the check"
    ci = {tuple(k): v for k, v in zip(refusals["ci"]["index"], refusals["ci"]["data"])}
    for key, (rate, count, small) in zip(refusals["by_group"]["index"], refusals["by_group"]["data"]):
        lower, upper = ci[tuple(key)]
        assert f"\n| {key[0]} | {key[1]} | {count} | {rate:.4f} | {lower:.4f} | {upper:.4f} |" in card


def test_a_missing_layer_skips_the_feature_detectors_with_the_reason(torch_audit):
    model, data, _ = torch_audit
    result = Audit(model, {k: data[k] for k in ("train", "test", "ood:far")},
                   checks=[OODCheck(layer="nope", n_boot=0)], progress=False).run()
    record = result.records["ood"]
    assert record["status"] == "ok", record.get("error")
    skipped = record["result"]["skipped"]
    assert skipped["Mahalanobis"] == skipped["KNN"] == "the model has no layer named 'nope'"
    assert record["result"]["threshold"]["data"][0][1] == "half of 'test'"


def test_unknown_detector_name_is_a_clear_error(torch_audit):
    model, data, _ = torch_audit
    result = Audit(model, {k: data[k] for k in ("test", "ood:far")},
                   checks=[OODCheck(detectors=["MaxSoftmax", "Magic"])], progress=False).run()
    record = result.records["ood"]
    assert record["status"] == "error" and "'detectors'" in record["error"] and "Magic" in record["error"]


def test_tabular_model_gets_input_detectors_and_no_logit_detectors():
    rng = np.random.default_rng(1)
    n = 1500
    frame = pd.DataFrame({"age": rng.integers(18, 80, n).astype(float), "hours": rng.normal(40, 8, n),
                          "job": rng.choice(["a", "b", "c"], n), "sex": rng.choice(["F", "M"], n)})
    frame["y"] = ((frame["age"] > 45) ^ (rng.random(n) < 0.1)).astype(int)
    foreign = pd.DataFrame({"age": rng.integers(18, 80, 300).astype(float), "hours": rng.normal(70, 8, 300),
                            "job": rng.choice(["a", "b", "c"], 300), "sex": rng.choice(["F", "M"], 300)})
    from assay.models import train_sklearn_model

    model = train_sklearn_model(frame.drop(columns="y").iloc[:1000], frame["y"].iloc[:1000],
                                categorical_features=["job", "sex"], numeric_features=["age", "hours"],
                                kind="logistic")
    result = Audit(model, {"train": frame.iloc[:1000], "test": frame.iloc[1000:], "ood": foreign}, target="y",
                   sensitive_features=["sex"], checks=[OODCheck(n_boot=0)], progress=False).run()
    record = result.records["ood"]
    assert record["status"] == "ok", record.get("traceback")
    assert record["result"]["skipped"]["Energy"] == "the model returns probabilities, not logits"
    assert "needs a torch model" in record["result"]["skipped"]["Mahalanobis"]
    # the foreign rows work 70 hours a week: obvious to a density on the inputs
    assert _metric(record, "GaussianMixtureDetector", "ood") > 0.95
    assert _metric(record, "IsolationForestDetector", "ood") > 0.9
    assert record["summary"]["primary_detector"] in ("GaussianMixtureDetector", "IsolationForestDetector")
