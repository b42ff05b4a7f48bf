"""assay.wrap(model, calibrator=...): every output, and every audit check, sees the calibrated model."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from assay import AssayInputError, NotFittedError, wrap
from assay.audit import Audit
from assay.audit._fingerprint import model_fingerprint
from assay.metrics import expected_calibration_error
from assay.uncertainty import IsotonicCalibration, TemperatureScaling


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    model = LogisticRegression(C=100.0, max_iter=2000).fit(X[:900], y[:900])  # weakly regularised: over-confident
    return model, X, y


def test_outputs_are_the_calibrated_models(digits):
    model, X, y = digits
    plain = wrap(model, progress=False)
    ts = TemperatureScaling().fit(plain.logits(X[900:1300]), y[900:1300])
    calibrated = wrap(model, calibrator=ts, progress=False)
    expected = ts.predict_proba(plain.logits(X[1300:]))
    np.testing.assert_allclose(calibrated.predict_proba(X[1300:]), expected, rtol=1e-12)
    np.testing.assert_allclose(calibrated.logits(X[1300:]), np.log(expected), rtol=1e-12)
    np.testing.assert_array_equal(calibrated.predict(X[1300:]), model.classes_[expected.argmax(axis=1)])
    np.testing.assert_array_equal(calibrated.classes_, model.classes_)
    assert calibrated.kind == "sklearn"
    # one forward pass of the base model per split, however many outputs are asked for
    calibrated.logits(X[1300:]), calibrated.predict(X[1300:])
    assert sorted(calibrated.forward_passes_.values()) == [1]


def test_refitting_the_calibrator_changes_the_cached_outputs(digits):
    model, X, y = digits
    ts = TemperatureScaling().fit(wrap(model).logits(X[900:1300]), y[900:1300])
    calibrated = wrap(model, calibrator=ts, progress=False)
    first = calibrated.predict_proba(X[1300:]).copy()
    ts.fit(wrap(model).logits(X[900:1000]) * 2, y[900:1000])
    assert not np.allclose(calibrated.predict_proba(X[1300:]), first)
    np.testing.assert_allclose(calibrated.predict_proba(X[1300:]),
                               ts.predict_proba(wrap(model).logits(X[1300:])), rtol=1e-12)


def test_probability_calibrators_read_probabilities(digits):
    model, X, y = digits
    iso = IsotonicCalibration(scores="probabilities").fit(model.predict_proba(X[900:1300]), y[900:1300])
    calibrated = wrap(model, calibrator=iso)
    np.testing.assert_allclose(calibrated.predict_proba(X[1300:]), iso.predict_proba(model.predict_proba(X[1300:])),
                               atol=1e-12)


def test_an_audit_of_a_wrapped_model_reports_the_calibrated_ece(digits):
    model, X, y = digits
    ts = TemperatureScaling().fit(wrap(model).logits(X[900:1300]), y[900:1300])
    data = {"train": (X[:900], y[:900]), "test": (X[1300:], y[1300:])}
    result = Audit(wrap(model, calibrator=ts), data, checks=["calibration"], progress=False).run()
    calibrated_proba = ts.predict_proba(wrap(model).logits(X[1300:]))
    ece = result.records["calibration"]["summary"]["overall_ece"]
    assert ece == pytest.approx(expected_calibration_error(y[1300:], calibrated_proba), abs=1e-12)
    plain = Audit(model, data, checks=["calibration"], progress=False).run()
    assert ece < plain.records["calibration"]["summary"]["overall_ece"]
    # the resume fingerprint tells the calibrated model from the plain one, and from another calibrator
    other = TemperatureScaling().fit(wrap(model).logits(X[900:1000]), y[900:1000])
    prints = {model_fingerprint(wrap(model)), model_fingerprint(wrap(model, calibrator=ts)),
              model_fingerprint(wrap(model, calibrator=other))}
    assert len(prints) == 3
    assert model_fingerprint(wrap(model, calibrator=ts)) == model_fingerprint(wrap(model, calibrator=ts))


def test_torch_models_keep_their_embeddings():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    X = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    base = wrap(net, progress=False)
    ts = TemperatureScaling().fit(base.logits(X), np.arange(50) % 3)
    calibrated = wrap(net, calibrator=ts, progress=False)
    assert calibrated.kind == "torch"
    np.testing.assert_array_equal(calibrated.embeddings(X, "1"), base.embeddings(X, "1"))
    np.testing.assert_allclose(calibrated.predict_proba(X), ts.predict_proba(base.logits(X)), rtol=1e-12)


def test_bad_calibrators_are_refused(digits):
    model, X, y = digits
    with pytest.raises(NotFittedError):
        wrap(model, calibrator=TemperatureScaling())
    with pytest.raises(AssayInputError, match="calibrator"):
        wrap(model, calibrator="temperature")
    groups = np.arange(400) % 2
    per_group = TemperatureScaling(per_group=True).fit(wrap(model).logits(X[900:1300]), y[900:1300], groups)
    with pytest.raises(AssayInputError, match="per_group"):
        wrap(model, calibrator=per_group)
    three = TemperatureScaling().fit(np.zeros((6, 3)), [0, 1, 2, 0, 1, 2])
    with pytest.raises(AssayInputError, match="3 classes"):
        wrap(model, calibrator=three).predict_proba(X[:5])
