"""Per-example uncertainty scores: the issue's worked case, scipy's entropy, sampling order, bad input."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from numpy.testing import assert_allclose

from assay import AssayInputError
from assay.metrics import evaluate_groups
from assay.uncertainty import entropy, least_confidence, margin, uncertainty_sampling

WORKED = [[0.1, 0.85, 0.05], [0.6, 0.3, 0.1], [0.39, 0.61, 0.0]]


def test_the_issue_worked_case():
    assert_allclose(least_confidence(WORKED), [0.15, 0.4, 0.39], atol=1e-12)
    assert_allclose(margin(WORKED), [0.75, 0.3, 0.22], atol=1e-12)
    assert_allclose(entropy(WORKED), [0.518, 0.898, 0.669], atol=5e-4)
    # by hand, to full precision: -sum p log p, 0 log 0 = 0
    assert entropy(WORKED)[2] == pytest.approx(-(0.39 * np.log(0.39) + 0.61 * np.log(0.61)), abs=1e-15)
    assert uncertainty_sampling(WORKED, 3).tolist() == [1, 2, 0]
    assert uncertainty_sampling(WORKED, 2, method="least_confidence").tolist() == [1, 2]
    assert uncertainty_sampling(WORKED, 1, method="margin").tolist() == [2]


def test_scores_equal_references_on_random_rows():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(6, 0.5), 500)
    assert_allclose(entropy(p), scipy.stats.entropy(p, axis=1), rtol=1e-12, atol=1e-15)
    ordered = np.sort(p, axis=1)
    assert_allclose(margin(p), ordered[:, -1] - ordered[:, -2], atol=0)
    assert_allclose(least_confidence(p), 1 - ordered[:, -1], atol=0)
    # sampling: the k largest scores, in descending order
    for method, score in (("entropy", entropy(p)), ("least_confidence", least_confidence(p)),
                          ("margin", -margin(p))):
        top = uncertainty_sampling(p, 50, method=method)
        assert top.dtype == np.int64 and len(set(top.tolist())) == 50
        assert np.all(np.diff(score[top]) <= 0) and score[top].min() >= np.sort(score)[-50]


def test_ties_are_broken_by_row_order():
    p = np.array([[0.5, 0.5], [0.9, 0.1], [0.5, 0.5], [0.1, 0.9], [0.5, 0.5]])
    for method in ("entropy", "least_confidence", "margin"):
        assert uncertainty_sampling(p, 4, method=method).tolist() == [0, 2, 4, 1]
    # binary: one column per class
    assert margin([[0.3, 0.7]]).tolist() == pytest.approx([0.4])


def test_a_score_per_group_through_the_grouped_table():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(3), 400)
    sex = pd.Series(rng.choice(["F", "M"], 400), name="sex")
    table = evaluate_groups(values={"entropy": entropy(p)}, metrics=["mean:entropy"], sensitive_features=sex)
    for group in ("F", "M"):
        expected = entropy(p[(sex == group).to_numpy()]).mean()
        assert table.by_group.loc[("sex", group), "mean:entropy"] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("call, words", [
    (lambda: entropy([[0.2, 0.2], [0.5, 0.5]]), ["'proba'", "rows summing to 1", "row 0"]),
    (lambda: margin([[1.2, -0.2], [0.5, 0.5]]), ["'proba'", "-0.2"]),
    (lambda: least_confidence([[np.nan, 0.5], [0.5, 0.5]]), ["'proba'"]),
    (lambda: entropy([0.2, 0.8]), ["'proba'", "2-D", "(2,)", "column_stack"]),
    (lambda: uncertainty_sampling(WORKED, 4), ["'k'", "uncertainty_sampling", "[1, 3]", "4"]),
    (lambda: uncertainty_sampling(WORKED, 0), ["'k'", "[1, 3]"]),
    (lambda: uncertainty_sampling(WORKED, 1, method="random"), ["'method'", "'entropy'", "'random'"]),
])
def test_bad_input_is_refused(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value), str(info.value)
