"""MinDiffLoss: the MMD equals its formula; the penalty halves Adult's parity gap of a small network."""

import numpy as np
import pytest
import torch
from torch import nn

import assay.fairness as af
from assay import AssayInputError
from assay.datasets import load_adult
from assay.fairness.mitigation.mindiff import mmd
from assay.models import fit_torch_classifier, make_tabular_preprocessor


def _mmd_by_hand(a, b, k):
    kaa = np.mean([[k(x, y) for y in a] for x in a])
    kbb = np.mean([[k(x, y) for y in b] for x in b])
    kab = np.mean([[k(x, y) for y in b] for x in a])
    return kaa + kbb - 2 * kab


@pytest.mark.parametrize("kernel,k", [
    ("gaussian", lambda x, y: np.exp(-(x - y) ** 2 / (2 * 0.2 ** 2))),
    ("laplacian", lambda x, y: np.exp(-abs(x - y) / 0.2)),
])
def test_mmd_equals_its_formula(kernel, k):
    a, b = [0.1, 0.4, 0.35], [0.8, 0.7]
    got = mmd(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64), kernel=kernel,
              kernel_length=0.2)
    assert float(got) == pytest.approx(_mmd_by_hand(a, b, k), abs=1e-12)
    same = mmd(torch.tensor(a, dtype=torch.float64), torch.tensor(a, dtype=torch.float64), kernel=kernel)
    assert float(same) == pytest.approx(0.0, abs=1e-12)


def test_penalty_over_groups_label_and_intersections():
    sf = {"s": np.array(list("aabbaabb")), "r": np.array(list("xxxxyyyy"))}
    loss = af.MinDiffLoss(sf, weight=1.0, kernel_length=0.3)
    assert len(loss.groups) == 4
    scores = torch.tensor([.1, .2, .8, .9, .15, .25, .85, .7], dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    idx = torch.arange(8)
    codes = loss.codes.numpy()
    expected = np.mean([float(mmd(scores[codes == g], scores[codes != g], kernel_length=0.3)) for g in range(4)])
    assert float(loss.penalty(scores, y, idx)) == pytest.approx(expected, abs=1e-12)
    # label=0: only the negatives; a batch with one group adds nothing
    neg = af.MinDiffLoss(sf, label=0, kernel_length=0.3)
    m = (y == 0).numpy()
    expected = np.mean([float(mmd(scores[m][codes[m] == g], scores[m][codes[m] != g], kernel_length=0.3))
                        for g in np.unique(codes[m])])
    assert float(neg.penalty(scores, y, idx)) == pytest.approx(expected, abs=1e-12)
    assert float(loss.penalty(scores[:2], y[:2], idx[:2])) == 0.0


def test_mindiff_halves_the_parity_gap_on_adult():
    torch.set_num_threads(1)
    data = load_adult()
    pre = make_tabular_preprocessor(categorical_features=data.categorical_features,
                                    numeric_features=data.numeric_features)
    n = 4000
    X = np.asarray(pre.fit_transform(data.train.X.iloc[:n]), dtype=np.float32)
    y = data.train.y.iloc[:n].to_numpy()
    X_test = torch.from_numpy(np.asarray(pre.transform(data.test.X.iloc[:5000]), dtype=np.float32))
    y_test = data.test.y.iloc[:5000].to_numpy()
    sex = data.test.sensitive_features["sex"].astype(str).to_numpy()[:5000]
    gaps = []
    for weight in (0.0, 3.0):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(X.shape[1], 32), nn.ReLU(), nn.Linear(32, 2))
        loss = af.MinDiffLoss(data.train.sensitive_features["sex"].iloc[:n], weight=weight)
        fit_torch_classifier(net, X, y, epochs=6, batch_size=256, lr=3e-3, random_state=0, loss_fn=loss)
        with torch.no_grad():
            pred = net(X_test).argmax(1).numpy()
        gaps.append(af.demographic_parity_difference(y_test, pred, sensitive_features=sex))
    assert gaps[1] < 0.5 * gaps[0], gaps


@pytest.mark.parametrize("call,words", [
    (lambda: af.MinDiffLoss(None), ["sensitive_features", "None"]),
    (lambda: af.MinDiffLoss(["a", "a"]), ["sensitive_features", "two groups"]),
    (lambda: af.MinDiffLoss(["a", "b"], kernel="cosine"), ["kernel", "cosine"]),
    (lambda: af.MinDiffLoss(["a", "b"], weight=-1), ["weight", "-1"]),
    (lambda: af.MinDiffLoss(["a", "b"], label=2), ["label", "2"]),
], ids=["missing sf", "one group", "kernel", "weight", "label"])
def test_refuses_bad_input(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value)
