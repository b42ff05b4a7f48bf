"""AdversarialDebiasing: Zhang et al.'s projected update narrows Adult's parity gap of a small network."""

import numpy as np
import pytest
import torch
from torch import nn

import assay.fairness as af
from assay import AssayInputError
from assay.datasets import load_adult
from assay.models import fit_torch_classifier, make_tabular_preprocessor
from assay.testing import check_component


def test_halves_the_parity_gap_on_adult():
    torch.set_num_threads(1)
    data = load_adult()
    pre = make_tabular_preprocessor(categorical_features=data.categorical_features,
                                    numeric_features=data.numeric_features)
    n = 4000
    X = np.asarray(pre.fit_transform(data.train.X.iloc[:n]), dtype=np.float32)
    y = data.train.y.iloc[:n].to_numpy()
    X_test = np.asarray(pre.transform(data.test.X.iloc[:5000]), dtype=np.float32)
    y_test = data.test.y.iloc[:5000].to_numpy()
    sex = data.test.sensitive_features["sex"].astype(str).to_numpy()[:5000]

    def net():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(X.shape[1], 32), nn.ReLU(), nn.Linear(32, 2))

    plain = fit_torch_classifier(net(), X, y, epochs=6, batch_size=256, lr=3e-3, random_state=0)
    with torch.no_grad():
        base = plain(torch.from_numpy(X_test)).argmax(1).numpy()
    debiased = af.AdversarialDebiasing(net(), alpha=3.0, epochs=6).fit(
        X, y, sensitive_features=data.train.sensitive_features["sex"].iloc[:n])
    pred = debiased.predict(X_test)
    before = af.demographic_parity_difference(y_test, base, sensitive_features=sex)
    after = af.demographic_parity_difference(y_test, pred, sensitive_features=sex)
    assert after < 0.5 * before, (before, after)
    assert len(debiased.history_["adversary_loss"]) == 6
    assert np.allclose(debiased.predict_proba(X_test).sum(axis=1), 1.0)


class _Bound(af.AdversarialDebiasing):
    def fit(self, X, y):
        return super().fit(X, y, sensitive_features=np.asarray(X)[:, 0] > 0)


def test_is_a_component():
    torch.manual_seed(0)
    # a torch module compares by identity, so the pickle round trip cannot compare the parameters
    check_component(_Bound(nn.Linear(4, 2), epochs=2, batch_size=16, constraint="equalized_odds"), skip=["pickle"])


@pytest.mark.parametrize("call,words", [
    (lambda: af.AdversarialDebiasing(None).fit(np.zeros((4, 2)), [0, 1, 0, 1], sensitive_features=list("abab")),
     ["module", "None"]),
    (lambda: af.AdversarialDebiasing(nn.Linear(2, 2)).fit(np.zeros((4, 2)), [0, 1, 0, 1]),
     ["sensitive_features", "None"]),
    (lambda: af.AdversarialDebiasing(nn.Linear(2, 2), alpha=-1).fit(np.zeros((4, 2)), [0, 1, 0, 1],
                                                                    sensitive_features=list("abab")),
     ["alpha", "-1"]),
    (lambda: af.AdversarialDebiasing(nn.Linear(2, 2)).fit(np.zeros((4, 2)), [0, 1, 2, 1],
                                                          sensitive_features=list("abab")), ["y", "binary"]),
], ids=["no module", "missing sf", "negative alpha", "labels"])
def test_refuses_bad_input(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value)
