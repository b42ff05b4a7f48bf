"""Model extraction and output-only defences: hand cases and what each defence changes."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from assay.core.errors import AssayInputError
from assay.privacy.theft import (
    defence_report,
    defend_outputs,
    defended,
    extraction_attack,
)


def test_defences_on_a_hand_case():
    p = np.array([[0.62, 0.30, 0.08], [0.05, 0.15, 0.80]])
    np.testing.assert_allclose(defend_outputs(p, "label"), [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_allclose(defend_outputs(p, "top_k", k=2), [[0.62 / 0.92, 0.30 / 0.92, 0], [0, 0.15 / 0.95,
                                                                                                   0.80 / 0.95]])
    np.testing.assert_allclose(defend_outputs(p, "round", decimals=1), [[0.6, 0.3, 0.1], [0.0, 0.2, 0.8]])  # numpy rounds 0.05 to 0.0
    noisy = defend_outputs(p, "noise", scale=0.05, random_state=0)
    np.testing.assert_allclose(noisy.sum(axis=1), 1.0)
    np.testing.assert_array_equal(noisy, defend_outputs(p, "noise", scale=0.05, random_state=0))
    with pytest.raises(AssayInputError, match="'kind'"):
        defend_outputs(p, "blur")


@pytest.fixture(scope="module")
def victim():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 5))
    y = (X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=1500) > 0).astype(int)
    return LogisticRegression().fit(X[:500], y[:500]), X, y


def test_extraction_fidelity_grows_with_queries(victim):
    model, X, y = victim
    copycat = LogisticRegression()
    result = extraction_attack(model, X[500:1000], X[1000:], y[1000:], n_queries=[10, 100, 500], copycat=copycat,
                               price_per_1000=2.0)
    table = result.table
    assert table["n_queries"].tolist() == [10, 100, 500]
    np.testing.assert_allclose(table["cost"], [0.02, 0.2, 1.0])
    copy = LogisticRegression().fit(X[500:1000], model.predict(X[500:1000]))
    assert table["fidelity"].iloc[-1] == pytest.approx(np.mean(copy.predict(X[1000:]) == model.predict(X[1000:])))
    assert table["fidelity"].iloc[-1] > 0.95
    assert table["fidelity"].iloc[-1] >= table["fidelity"].iloc[0]
    with pytest.raises(AssayInputError, match="'n_queries'"):
        extraction_attack(model, X[:10], X[1000:], n_queries=[100])


def test_defence_report_label_only_removes_the_loss_signal(victim):
    model, X, y = victim
    report = defence_report(model, (X[:500], y[:500]), (X[1000:], y[1000:]), X_query=X[500:1000], n_queries=300,
                            copycat=LogisticRegression())
    assert list(report.index) == ["none", "label only", "top-1", "round 1 decimal", "noise 0.1"]
    # label-only and top-1 keep the predicted class: same accuracy, the copycat (trained on labels) as faithful
    assert report.loc["label only", "accuracy"] == pytest.approx(report.loc["none", "accuracy"])
    assert report.loc["label only", "extraction_fidelity"] == pytest.approx(report.loc["none", "extraction_fidelity"])
    f = defended(model, "label")
    np.testing.assert_array_equal(f(X[:5]).argmax(axis=1), model.predict(X[:5]))
    # label-only outputs: the loss is 0 (right) or huge (wrong): the attack reads correctness only
    assert report.loc["label only", "ece"] >= report.loc["none", "ece"]
