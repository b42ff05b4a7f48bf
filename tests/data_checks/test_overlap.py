"""train_test_overlap: exact duplicates (checked against a pandas merge) and near-duplicates."""

import json

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.data_checks import OverlapResult, train_test_overlap

from ._helpers import mixed_frame


def _merge_count(train, test):
    """Test rows equal to some train row, by an independent route: an inner merge on all columns."""
    merged = test.reset_index(names="_row").merge(train.drop_duplicates(), how="inner", on=list(train.columns))
    return merged["_row"].nunique()


def test_planted_exact_duplicates_are_found():
    train = mixed_frame(300, seed=1, missing=False)
    train.loc[[3, 40], "num"] = np.nan
    train.loc[[17, 40], "city"] = None
    test = mixed_frame(120, seed=2, missing=False)
    planted = [3, 17, 40, 41, 99, 250, 299]  # train rows copied into test
    slots = [0, 5, 10, 11, 60, 100, 119]
    test.iloc[slots] = train.iloc[planted].to_numpy()
    test["color"] = pd.Categorical(test["color"], categories=["blue", "green", "red"])
    assert train.iloc[planted].isna().any(axis=None)  # NaN must equal NaN
    result = train_test_overlap(train, test)
    assert isinstance(result, OverlapResult)
    assert result.n_exact == len(planted) == _merge_count(train, test)
    assert result.exact_fraction == pytest.approx(len(planted) / 120)
    exact = result.examples[result.examples["kind"] == "exact"]
    assert list(exact["test_index"]) == slots[:5]
    for t, r in zip(exact["test_index"], exact["train_index"]):
        assert test.loc[t].equals(train.loc[r]) or test.loc[t].astype(str).equals(train.loc[r].astype(str))


def test_dtypes_and_category_orders_do_not_hide_duplicates():
    train = pd.DataFrame({"a": [1, 2, 3], "b": pd.Categorical(["x", "y", None], categories=["x", "y"])})
    test = pd.DataFrame({
        "b": pd.Categorical(["y", None, "z", "x"], categories=["z", "y", "x"]),  # other order, other column order
        "a": [2.0, 3.0, 3.0, 1.5],
    })
    result = train_test_overlap(train, test)
    assert result.n_exact == 2  # (2, y) and (3, NaN); (3, z) and (1.5, x) are new


def test_duplicates_within_each_split_and_random_merge_cross_check():
    rng = np.random.default_rng(5)
    train = pd.DataFrame({"a": rng.integers(0, 3, 400), "b": rng.choice(list("pq"), 400).astype(object)})
    test = pd.DataFrame({"a": rng.integers(0, 4, 150), "b": rng.choice(list("pqr"), 150).astype(object)})
    result = train_test_overlap(train, test)
    assert result.n_exact == _merge_count(train, test)
    assert result.n_train_duplicates == int(train.duplicated().sum())
    assert result.n_test_duplicates == int(test.duplicated().sum())


def test_near_duplicates_need_same_categories_and_close_numbers():
    train = mixed_frame(500, seed=3, missing=False)
    test = mixed_frame(50, seed=4, missing=False)
    test["num"] += 100.0  # other rows: far from every training row
    sd = train["num"].std(ddof=0)
    test.iloc[:6] = train.iloc[:6].to_numpy()
    test["color"] = pd.Categorical(test["color"])
    test.loc[0, "num"] += 0.001 * sd  # near: RMS over 2 numeric columns = 0.0007
    test.loc[1, "num"] += 0.02 * sd  # RMS 0.014 > 0.01: not near by default
    test.loc[2, "city"] = "Brest"  # another category: never near
    test.loc[3, "num"] += 0.005 * sd  # near
    result = train_test_overlap(train, test)
    assert result.n_exact == 2  # rows 4 and 5
    assert result.n_near == 2
    near = result.examples[result.examples["kind"] == "near"]
    assert list(near["test_index"]) == [0, 3]
    assert list(near["train_index"]) == [0, 3]
    assert near["distance"].iloc[0] == pytest.approx(0.001 / np.sqrt(2), rel=1e-6)
    looser = train_test_overlap(train, test, near_duplicate_threshold=0.02)
    assert looser.n_near == 3
    assert train_test_overlap(train, test, near_duplicate_threshold=0.0).n_near == 0


def test_categorical_only_and_subsample():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"a": rng.choice(list("abc"), 300), "b": rng.choice(list("xy"), 300)})
    test = pd.DataFrame({"a": rng.choice(list("abcd"), 200), "b": rng.choice(list("xy"), 200)})
    result = train_test_overlap(train, test, max_rows=50, random_state=1)
    assert result.n_near == 0  # without numeric features near means exact
    assert result.n_exact == _merge_count(train, test)
    assert result.n_checked == 50
    again = train_test_overlap(train, test, max_rows=50, random_state=1)
    assert again.to_dict() == result.to_dict()


def test_result_is_json_safe_and_frames():
    train, test = mixed_frame(100, seed=1), mixed_frame(80, seed=2)
    result = train_test_overlap(train, test)
    json.dumps(result.to_dict(), allow_nan=False)
    frame = result.to_frame()
    assert frame.loc[0, "n_exact"] == result.n_exact


def test_numpy_inputs():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(50, 3))
    test = np.vstack([train[:4], rng.normal(size=(10, 3))])
    assert train_test_overlap(train, test).n_exact == 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"X_test": pd.DataFrame({"num": [1.0], "other": [2]})}, "'X_test'"),
        ({"X_test": pd.DataFrame({"num": ["a"], "count": [1], "color": ["red"], "city": ["Nice"]})}, "'X_test' column 'num'"),
        ({"X_train": pd.DataFrame()}, "'X_train'"),
        ({"X_train": "not a frame"}, "'X_train'"),
        ({"near_duplicate_threshold": -1.0}, "near_duplicate_threshold"),
        ({"max_rows": 0}, "max_rows"),
        ({"random_state": "x"}, "'random_state'"),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, match):
    args = {"X_train": mixed_frame(20), "X_test": mixed_frame(10, seed=1)}
    args.update(kwargs)
    X_train, X_test = args.pop("X_train"), args.pop("X_test")
    with pytest.raises(AssayInputError, match=match):
        train_test_overlap(X_train, X_test, **args)


def test_infinite_values_are_rejected():
    train = pd.DataFrame({"a": [1.0, np.inf]})
    with pytest.raises(AssayInputError, match="'X_train' column 'a'"):
        train_test_overlap(train, train)
