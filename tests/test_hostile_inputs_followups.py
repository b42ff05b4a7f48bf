"""Bad input the followups helper's entry points must refuse (headline rows read by the documents)."""

import copy

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.audit import Audit
from assay.audit.documents import audit_record, model_card_markdown, render_audit_html, write_audit_report


def _record():
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({"x": rng.normal(size=n), "sex": rng.choice(["F", "M"], n)})
    frame["label"] = (frame["x"] + rng.normal(size=n) > 0).astype(int)

    class Model:
        classes_ = np.array([0, 1])

        def fit(self, X, y):  # pragma: no cover
            return self

        def predict_proba(self, X):
            p = 1 / (1 + np.exp(-X["x"].to_numpy(float)))
            return np.c_[1 - p, p]

    result = Audit(Model(), {"test": frame}, target="label", sensitive_features=["sex"],
                   checks=["group_performance"], check_params={"group_performance": {"n_boot": 0}},
                   progress=False).run()
    return audit_record(result)


RECORD = _record()


def _with_headline(rows):
    record = copy.deepcopy(RECORD)
    record["checks"]["group_performance"]["headline"] = rows
    return record


CASES = [
    pytest.param(lambda: model_card_markdown(_with_headline("accuracy 0.8")),
                 ["['checks']['group_performance']['headline']", "list", "str"],
                 id="model_card_markdown: headline not a list"),
    pytest.param(lambda: render_audit_html(_with_headline([{"value": 0.8}])),
                 ["['headline'][0]", "string 'metric'"], id="render_audit_html: headline row without a metric"),
    pytest.param(lambda: render_audit_html(_with_headline([{"metric": "accuracy", "value": "0.8"}])),
                 ["['headline'][0]['value']", "number or null", "'0.8'"],
                 id="render_audit_html: headline value a string"),
    pytest.param(lambda: write_audit_report(_with_headline([{"metric": "accuracy", "lower": True}]), "unused"),
                 ["['lower']", "number or null", "bool"], id="write_audit_report: headline bound a bool"),
]


@pytest.mark.parametrize("call, words", CASES)
def test_refused_followups(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_a_record_without_headline_rows_still_renders():
    record = copy.deepcopy(RECORD)
    record.pop("headline")
    for check in record["checks"].values():
        check.pop("headline")
    card = model_card_markdown(record)
    assert "| group_performance | accuracy |  | overall |" in card
    assert "Headline numbers" in render_audit_html(record)
