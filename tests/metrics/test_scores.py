"""Score metrics per group equal scikit-learn's on each group's rows."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from assay import AssayInputError
from assay.metrics.scores import ScoreStats, roc_auc_by_group


def _data(seed, n_classes=2):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 400))
    codes = rng.integers(0, 4, n)
    if n_classes == 2:
        y = rng.integers(0, 2, n)
        # coarse scores: many ties
        p = np.round(np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1), 1 if seed % 2 else 3)
    else:
        y = rng.integers(0, n_classes, n)
        logits = rng.normal(size=(n, n_classes)) + np.eye(n_classes)[y]
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    w = rng.integers(1, 5, n).astype(float)
    return y, p, codes, w


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_auc_logloss_brier_equal_sklearn_per_group(seed, weighted):
    y, p, codes, w = _data(seed)
    weights = w if weighted else None
    auc = roc_auc_by_group(y, p, codes, 4, sample_weight=weights)
    stats = ScoreStats(4).update(y, p, codes, weights)
    for g in range(4):
        m = codes == g
        wg = None if weights is None else weights[m]
        assert auc[g] == pytest.approx(roc_auc_score(y[m], p[m], sample_weight=wg), abs=1e-12)
        assert stats.log_loss()[g] == pytest.approx(log_loss(y[m], p[m], sample_weight=wg, labels=[0, 1]), abs=1e-12)
        assert stats.brier()[g] == pytest.approx(brier_score_loss(y[m], p[m], sample_weight=wg), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_multiclass_auc_and_logloss(seed):
    y, p, codes, _ = _data(seed, n_classes=4)
    auc = roc_auc_by_group(y, p, codes, 4)
    stats = ScoreStats(4).update(y, p, codes)
    for g in range(4):
        m = codes == g
        if len(np.unique(y[m])) < 4:
            assert np.isnan(auc[g])
            continue
        assert auc[g] == pytest.approx(roc_auc_score(y[m], p[m], multi_class="ovr", average="macro"), abs=1e-12)
        assert stats.log_loss()[g] == pytest.approx(log_loss(y[m], p[m], labels=range(4)), abs=1e-12)
        onehot = np.eye(4)[y[m]]
        assert stats.brier()[g] == pytest.approx(((p[m] - onehot) ** 2).sum(1).mean(), abs=1e-12)


def test_hand_computed_auc_with_ties():
    # positives score 0.8, 0.4; negatives 0.4, 0.1 -> pairs: (0.8>0.4), (0.8>0.1), (0.4=0.4 -> 1/2), (0.4>0.1)
    assert roc_auc_by_group([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1])[0] == pytest.approx(3.5 / 4)
    # a group with no negatives is undefined
    assert np.isnan(roc_auc_by_group([1, 1, 0], [0.2, 0.3, 0.1], [0, 0, 1], 2)).all()


def test_two_probability_columns_equal_one():
    y, p, codes, _ = _data(3)
    assert_allclose(roc_auc_by_group(y, np.column_stack([1 - p, p]), codes, 4), roc_auc_by_group(y, p, codes, 4))


def test_merge_equals_concat():
    y, p, codes, w = _data(5)
    whole = ScoreStats(4).update(y, p, codes, w)
    parts = ScoreStats(4).update(y[:40], p[:40], codes[:40], w[:40]).merge(
        ScoreStats(4).update(y[40:], p[40:], codes[40:], w[40:]))
    assert_allclose(parts.log_loss(), whole.log_loss(), rtol=1e-12)
    assert (parts.n == whole.n).all()


def test_bad_inputs():
    with pytest.raises(AssayInputError, match="'y_prob'"):
        roc_auc_by_group([0, 1], [0.5, 1.5])
    with pytest.raises(AssayInputError, match="y_true: 3, y_prob: 2"):
        ScoreStats().update([0, 1, 1], [0.5, 0.5])
    with pytest.raises(AssayInputError, match="'group_codes'"):
        roc_auc_by_group([0, 1], [0.2, 0.5], [0, 5], 2)
