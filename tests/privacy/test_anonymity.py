"""k-anonymity, l-diversity and t-closeness against hand-computed tables and pandas/scipy references."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance

from assay import AssayInputError
from assay.privacy import k_anonymity, l_diversity, t_closeness

# classes of (zip, age): (A,20) rows 0-2, (A,30) rows 3-4, (B,20) row 5, (B,40) rows 6-7
TABLE = pd.DataFrame({
    "zip": ["A", "A", "A", "A", "A", "B", "B", "B"],
    "age": [20, 20, 20, 30, 30, 20, 40, 40],
    "disease": ["flu", "flu", "cold", "flu", "hiv", "cold", "flu", "flu"],
    "name": ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"],
})
QI = ["zip", "age"]


def test_k_anonymity_hand_computed():
    r = k_anonymity(TABLE, QI, k=3)
    assert (r.k, r.n_classes, r.n_violating_classes, r.n_violating_rows, r.n_unique_rows) == (1, 4, 3, 5, 1)
    assert not r.is_k_anonymous
    assert r.violating.to_dict("list") == {"zip": ["B", "A", "B"], "age": [20, 30, 40], "size": [1, 2, 2]}
    assert r.class_sizes.to_dict("index") == {1: {"n_classes": 1, "n_rows": 1}, 2: {"n_classes": 2, "n_rows": 4}}
    assert k_anonymity(TABLE, QI, k=1).is_k_anonymous
    assert k_anonymity(TABLE, "zip", k=3).k == 3
    # only the quasi-identifiers are shown, never another column of a violating row
    shown = str(r.to_dict()) + repr(r) + r.to_frame().to_string()
    assert "n5" not in shown and "cold" not in shown


def test_k_anonymity_max_shown_and_missing_values():
    frame = pd.DataFrame({"a": [1.0, np.nan, np.nan, 2.0], "b": ["x", None, None, "y"]})
    r = k_anonymity(frame, ["a", "b"], k=2, max_shown=1)
    assert (r.k, r.n_classes, r.n_violating_classes, len(r.violating)) == (1, 3, 2, 1)  # missing is one value


def test_k_anonymity_equals_groupby_on_random_data():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.integers(0, 30, 5000), "b": rng.choice(list("xyzw"), 5000),
                          "c": rng.normal(size=5000).round(1)})
    sizes = frame.groupby(["a", "b", "c"]).size()
    r = k_anonymity(frame, ["a", "b", "c"], k=4)
    assert r.k == sizes.min() and r.n_classes == len(sizes)
    assert r.n_violating_rows == sizes[sizes < 4].sum() and r.n_unique_rows == (sizes == 1).sum()


def test_l_diversity_hand_computed():
    r = l_diversity(TABLE, QI, "disease", l=2)
    assert r.l == r.l_distinct == 1 and r.l_entropy == pytest.approx(1.0)
    # (B,20) and (B,40) hold one value each; (A,20) two, but its entropy l is 1.89 < 2
    assert r.per_column.loc["disease", "n_violating_classes"] == 3
    assert r.per_column.loc["disease", "n_violating_rows"] == 6
    table = l_diversity(TABLE, QI, "disease", l=1.95).violating.set_index(["zip", "age"])
    h = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))  # (A,20): flu, flu, cold
    assert table.loc[("A", 20), "entropy_l"] == pytest.approx(math.exp(h))
    assert table.loc[("A", 20), "distinct"] == 2
    assert ("A", 30) not in table.index  # flu, hiv: entropy l = 2
    assert "flu" not in str(r.to_dict())  # sensitive values are never listed


def test_l_diversity_equals_pandas_on_random_data():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"q": rng.integers(0, 40, 3000), "s": rng.choice(list("abcdef"), 3000, p=[.5, .2, .1, .1,
                                                                                                   .05, .05])})
    counts = frame.groupby(["q", "s"]).size()
    p = counts / counts.groupby(level=0).transform("sum")
    entropy = -(p * np.log(p)).groupby(level=0).sum()
    r = l_diversity(frame, "q", "s", l=4)
    assert r.l_distinct == frame.groupby("q")["s"].nunique().min()
    assert r.l_entropy == pytest.approx(np.exp(entropy.min()))
    assert r.per_column.loc["s", "n_violating_classes"] == ((frame.groupby("q")["s"].nunique() < 4)
                                                            | (np.exp(entropy) < 4)).sum()


def test_t_closeness_equal_distance_hand_computed():
    r = t_closeness(TABLE, QI, "disease", t=0.3)
    assert r.distance == {"disease": "equal"}
    assert r.t == pytest.approx(0.75)
    table = t_closeness(TABLE, QI, "disease", t=0.0).violating.set_index(["zip", "age"])["distance"]
    # overall flu 5/8, cold 2/8, hiv 1/8
    assert table.to_dict() == pytest.approx({("A", 20): 0.125, ("A", 30): 0.375, ("B", 20): 0.75, ("B", 40): 0.375})
    assert r.per_column.loc["disease", "n_violating_classes"] == 3


def test_t_closeness_ordered_distance_li_et_al_example():
    # Li, Li & Venkatasubramanian (2007), salaries 3k..11k: {3k,4k,5k} is 0.375 from the table, {6k,8k,11k} 0.167
    frame = pd.DataFrame({"salary": [3, 4, 5, 6, 8, 11, 7, 9, 10], "zip": ["a"] * 3 + ["b"] * 3 + ["c"] * 3})
    r = t_closeness(frame, "zip", "salary", t=0.0)
    distance = r.violating.set_index("zip")["distance"]
    assert distance["a"] == pytest.approx(0.375)
    assert distance["b"] == pytest.approx(1 / 6)
    assert r.t == pytest.approx(0.375) and r.distance == {"salary": "ordered"}


def test_t_closeness_equals_scipy_wasserstein_on_ranks():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"q": rng.integers(0, 25, 2000), "s": rng.integers(0, 60, 2000) ** 2})
    values = np.unique(frame["s"])
    ranks = np.searchsorted(values, frame["s"])
    expected = max(wasserstein_distance(ranks[frame["q"] == g], ranks) for g in frame["q"].unique())
    assert t_closeness(frame, "q", "s").t == pytest.approx(expected / (len(values) - 1), abs=1e-12)
    # the same column as categories, equal distance: total variation
    cross = pd.crosstab(frame["q"], frame["s"], normalize="index")
    overall = frame["s"].value_counts(normalize=True).reindex(cross.columns)
    tv = 0.5 * (cross - overall).abs().sum(axis=1).max()
    assert t_closeness(frame, "q", "s", distance="equal").t == pytest.approx(tv)


def test_ordered_t_closeness_equals_the_dense_definition_with_many_classes():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"q": rng.integers(0, 300, 4000), "s": rng.integers(0, 50, 4000)})
    values, ranks = np.unique(frame["s"], return_inverse=True)
    m = len(values)
    table = pd.crosstab(frame["q"], ranks, normalize="index").reindex(columns=range(m), fill_value=0.0)
    overall = np.bincount(ranks, minlength=m) / len(frame)
    dense = np.abs(np.cumsum(table.to_numpy() - overall, axis=1)[:, :-1]).sum(axis=1) / (m - 1)
    r = t_closeness(frame, "q", "s", t=0.1, max_shown=1000)
    assert r.t == pytest.approx(dense.max(), abs=1e-12)
    shown = r.violating.set_index("q")["distance"]
    assert shown.to_numpy() == pytest.approx(dense[np.searchsorted(table.index, shown.index)], abs=1e-12)
    assert r.per_column.loc["s", "n_violating_classes"] == (dense > 0.1).sum()


@pytest.mark.parametrize("call, words", [
    (lambda: k_anonymity(TABLE, ["zip", "agee"]), ["'quasi_identifiers'", "'agee'", "Did you mean 'age'"]),
    (lambda: k_anonymity(TABLE, QI, k=0), ["'k'", "k_anonymity", "0"]),
    (lambda: k_anonymity(TABLE, []), ["'quasi_identifiers'", "non-empty"]),
    (lambda: k_anonymity(TABLE, ["zip", "zip"]), ["'quasi_identifiers'", "twice"]),
    (lambda: k_anonymity(TABLE.to_numpy(), QI), ["'frame'", "DataFrame"]),
    (lambda: k_anonymity(TABLE.iloc[:0], QI), ["'frame'", "at least one row"]),
    (lambda: l_diversity(TABLE, QI, "zip"), ["'sensitive'", "'quasi_identifiers'"]),
    (lambda: l_diversity(TABLE, QI, "diseases"), ["'sensitive'", "'diseases'"]),
    (lambda: l_diversity(TABLE, QI, "disease", l=0.5), ["'l'", "l_diversity"]),
    (lambda: t_closeness(TABLE, QI, "disease", t=1.5), ["'t'", "t_closeness"]),
    (lambda: t_closeness(TABLE, QI, "disease", distance="emd"), ["'distance'", "'ordered'"]),
    (lambda: t_closeness(TABLE.assign(s=[1, 2, None, 3, 4, 5, 6, 7]), QI, "s"), ["'sensitive'", "missing"]),
    (lambda: k_anonymity(TABLE.assign(z=[[1]] * 8), ["zip", "z"]), ["'z'", "strings or numbers"]),
])
def test_bad_inputs(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value), str(info.value)
