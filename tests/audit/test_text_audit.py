"""The audit on a text model: a callable on lists of strings gets every check that fits."""

import numpy as np

from assay.audit import Audit
from assay.datasets.text import load_text_domains
from assay.audit.documents import audit_record, model_card_markdown, render_audit_html

POSITIVE = {"great", "excellent", "love", "good", "perfect", "amazing", "wonderful", "best"}


def sentiment_model(texts):
    """P(negative), P(positive) from a count of positive words: a black box on raw strings."""
    hits = np.array([sum(w.strip(".,!?").lower() in POSITIVE for w in t.split()) for t in texts], float)
    p = 1.0 / (1.0 + np.exp(-2.0 * (hits - 0.5)))
    return np.column_stack([1.0 - p, p])


def test_text_model_audit_runs_the_checks_that_fit():
    data = load_text_domains(n_reviews=300, n_ood=100, random_state=0)
    texts, y = list(data.reviews), np.asarray(data.sentiment)
    splits = {"train": (texts[:200], y[:200]), "test": (texts[200:], y[200:]), "ood:legal": list(data.ood["legal"])}
    result = Audit(sentiment_model, splits, random_state=0, progress=False).run()
    assert {name: r["status"] for name, r in result.records.items()} == {
        "training_data": "ok", "group_performance": "ok", "calibration": "ok", "ood": "ok"}
    assert result.skipped["data_quality"] == "needs tabular"
    assert result.forward_passes == {"test": 1, "ood:legal": 1}
    summary = result.records["training_data"]["result"]
    assert summary["layout"] == "text" and summary["n_rows"] == 200
    ood = result.records["ood"]["result"]
    table = ood["evaluation"]["table"]
    assert {row[table["columns"].index("detector")] for row in table["data"]} == {"MaxSoftmax", "Entropy"}
    assert "input-space detectors run on tables" in ood["skipped"]["IsolationForestDetector"]
    assert ood["projection"] is None  # no detector reads features of raw text
    record = audit_record(result, model_name="word-count", dataset_name="generated reviews")
    assert "Out-of-distribution detection" in render_audit_html(record)
    assert "inputs: text; words per row median" in model_card_markdown(record, model_name="word-count")
