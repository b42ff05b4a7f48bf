"""Sufficient statistics merge: two halves updated separately and merged equal the whole."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from assay import AssayInputError
from assay.metrics import CalibrationStats, ConfusionStats


def _data(seed, k=1):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 400))
    codes = rng.integers(0, 5, n)
    y_true = rng.integers(0, 2 if k <= 2 else k, n)
    y_pred = rng.integers(0, 2, n)
    if k == 1:
        prob = rng.random(n)
    else:
        prob = rng.dirichlet(np.ones(k), n)
    int_weights = rng.integers(0, 4, n).astype(float)  # integer weights: sums are exact
    float_weights = rng.uniform(0.1, 3.0, n)
    return y_true, y_pred, prob, codes, int_weights, float_weights


def _assert_states_equal(a, b):
    for state in type(a)._states:
        assert_array_equal(getattr(a, state), getattr(b, state), err_msg=state)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("weights", ["none", "int"])
def test_confusion_merge_of_halves_equals_whole_exactly(seed, weights):
    y_true, y_pred, _, codes, w_int, _ = _data(seed)
    w = None if weights == "none" else w_int
    cut = len(y_true) // 3
    half = lambda sl: None if w is None else w[sl]  # noqa: E731
    left = ConfusionStats(5).update(y_true[:cut], y_pred[:cut], codes[:cut], half(slice(None, cut)))
    right = ConfusionStats(5).update(y_true[cut:], y_pred[cut:], codes[cut:], half(slice(cut, None)))
    whole = ConfusionStats(5).update(y_true, y_pred, codes, w)
    merged = left.merge(right)
    assert merged == whole
    _assert_states_equal(merged, whole)
    # update twice on one object == concatenation, too
    twice = ConfusionStats(5).update(y_true[:cut], y_pred[:cut], codes[:cut], half(slice(None, cut)))
    twice.update(y_true[cut:], y_pred[cut:], codes[cut:], half(slice(cut, None)))
    assert twice == whole
    assert left + right == whole


def test_confusion_merge_with_float_weights_is_close():
    y_true, y_pred, _, codes, _, w = _data(11)
    a = ConfusionStats(5).update(y_true[:70], y_pred[:70], codes[:70], w[:70])
    b = ConfusionStats(5).update(y_true[70:], y_pred[70:], codes[70:], w[70:])
    whole = ConfusionStats(5).update(y_true, y_pred, codes, w)
    for state in ("tp", "fp", "tn", "fn"):
        assert_allclose(getattr(a.merge(b), state), getattr(whole, state), rtol=1e-14)
    assert_array_equal(a.merge(b).n, whole.n)


def test_merge_returns_new_object_and_leaves_inputs_unchanged():
    a = ConfusionStats(2).update([1, 0], [1, 1], [0, 1])
    b = ConfusionStats(2).update([1, 1], [0, 1], [1, 1])
    a_before, b_before = a.copy(), b.copy()
    merged = a.merge(b)
    assert merged is not a and merged is not b
    assert a == a_before and b == b_before
    assert merged.tp.tolist() == [1, 1] and merged.fn.tolist() == [0, 1] and merged.n.tolist() == [1, 3]


def test_merge_refuses_incompatible_statistics():
    with pytest.raises(AssayInputError, match="different group labels"):
        ConfusionStats(["a", "b"]).merge(ConfusionStats(["a", "c"]))
    with pytest.raises(AssayInputError, match="different pos_label"):
        ConfusionStats(2).merge(ConfusionStats(2, pos_label=0))
    with pytest.raises(AssayInputError, match="'other' must be a ConfusionStats"):
        ConfusionStats(2).merge(CalibrationStats(2))
    with pytest.raises(AssayInputError, match="different n_bins"):
        CalibrationStats(2, n_bins=10).merge(CalibrationStats(2, n_bins=15))
    binary = CalibrationStats(1).update([0, 1], [0.2, 0.9])
    top = CalibrationStats(1).update([0, 2], [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    with pytest.raises(AssayInputError, match="different mode"):
        binary.merge(top)
    with pytest.raises(AssayInputError, match="already holds binary calibration"):
        binary.update([0, 2], [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 3])
def test_calibration_merge_of_halves_equals_whole_exactly(seed, k):
    y_true, _, prob, codes, w, _ = _data(seed, k)
    cut = len(y_true) // 2
    left = CalibrationStats(5, n_bins=10).update(y_true[:cut], prob[:cut], codes[:cut], w[:cut])
    right = CalibrationStats(5, n_bins=10).update(y_true[cut:], prob[cut:], codes[cut:], w[cut:])
    whole = CalibrationStats(5, n_bins=10).update(y_true, prob, codes, w)
    merged = left.merge(right)
    assert_array_equal(merged.n, whole.n)
    assert_array_equal(merged.weight, whole.weight)  # integer weights: exact
    assert_array_equal(merged.correct_sum, whole.correct_sum)
    # confidences are floats: sums in a different order agree to rounding
    assert_allclose(merged.conf_sum, whole.conf_sum, rtol=1e-13)
    assert merged.mode == whole.mode == ("binary" if k == 1 else "top_label")


def test_aggregate_equals_direct_statistics_of_coarser_groups():
    rng = np.random.default_rng(5)
    n = 300
    sex, race = rng.integers(0, 2, n), rng.integers(0, 3, n)
    cell = sex * 3 + race
    y_true, y_pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    w = rng.integers(1, 5, n).astype(float)
    fine = ConfusionStats(6).update(y_true, y_pred, cell, w)
    by_sex = fine.aggregate(np.array([0, 0, 0, 1, 1, 1]), ["F", "M"])
    direct = ConfusionStats(["F", "M"]).update(y_true, y_pred, sex, w)
    assert by_sex == direct
    assert fine.total() == ConfusionStats(["overall"]).update(y_true, y_pred, None, w)
    prob = rng.random(n)
    cal = CalibrationStats(6, n_bins=5).update(y_true, prob, cell, w)
    cal_sex = cal.aggregate(np.array([0, 0, 0, 1, 1, 1]), ["F", "M"])
    cal_direct = CalibrationStats(["F", "M"], n_bins=5).update(y_true, prob, sex, w)
    assert_array_equal(cal_sex.n, cal_direct.n)
    assert_array_equal(cal_sex.weight, cal_direct.weight)
    assert_allclose(cal_sex.conf_sum, cal_direct.conf_sum, rtol=1e-13)


def test_confusion_counts_and_positive_label():
    stats = ConfusionStats(["F", "M"], pos_label="yes").update(
        ["yes", "no", "yes", "yes"], ["yes", "yes", "no", "yes"], [0, 0, 1, 1]
    )
    assert stats.tp.tolist() == [1, 1] and stats.fp.tolist() == [1, 0]
    assert stats.fn.tolist() == [0, 1] and stats.tn.tolist() == [0, 0]
    assert stats.n.tolist() == [2, 2] and stats.weight.tolist() == [2, 2]
    assert stats.reset() == ConfusionStats(["F", "M"], pos_label="yes")


def test_bad_statistics_inputs_name_the_argument():
    with pytest.raises(AssayInputError, match=r"'group_codes' must hold integers in \[0, 2\)"):
        ConfusionStats(2).update([0, 1], [0, 1], [0, 2])
    with pytest.raises(AssayInputError, match="'group_codes' must be given"):
        ConfusionStats(2).update([0, 1], [0, 1])
    with pytest.raises(AssayInputError, match="y_true: 2, y_pred: 3"):
        ConfusionStats(1).update([0, 1], [0, 1, 1])
    with pytest.raises(AssayInputError, match="'groups' parameter of ConfusionStats"):
        ConfusionStats(0)
    with pytest.raises(AssayInputError, match="distinct group labels"):
        ConfusionStats(["a", "a"])
    with pytest.raises(AssayInputError, match="'n_bins' parameter of CalibrationStats"):
        CalibrationStats(1, n_bins=0)
    with pytest.raises(AssayInputError, match="'y_prob' must hold probabilities"):
        CalibrationStats(1).update([0, 1], [0.5, -0.2])
    with pytest.raises(AssayInputError, match="'group_of' must be an integer array of shape"):
        ConfusionStats(3).aggregate([0, 1], ["a", "b"])


def test_reliability_points_per_bin():
    from assay.metrics import CalibrationStats

    stats = CalibrationStats(n_bins=4).update([0, 1, 1, 0, 1], [0.1, 0.2, 0.6, 0.7, 0.9])
    # bins (0, .25], (.25, .5], (.5, .75], (.75, 1]
    np.testing.assert_allclose(stats.bin_confidence()[0], [0.15, np.nan, 0.65, 0.9])
    np.testing.assert_allclose(stats.bin_accuracy()[0], [0.5, np.nan, 0.5, 1.0])
