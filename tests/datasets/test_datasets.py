"""Bundled data sets: counts, dtypes and values checked against the raw files parsed independently.

The raw files are read from ``../shared/datasets/`` next to the repository when it exists, else
from the package's gzip copies; either way they are parsed here with plain ``csv`` / ``str``
code, not with the loaders' pandas code.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import io
import json
import socket
from collections import Counter
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from assay import AssayInputError
from assay.datasets import Dataset, Split, load_adult, load_digits_split, load_german_credit
from assay.datasets import _loaders

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
PACKAGED = {  # package file -> path of the raw file under SHARED
    "adult.data.gz": "adult/adult.data",
    "adult.test.gz": "adult/adult.test",
    "german.data.gz": "german/german.data",
    "german_values_maps.json.gz": "german/values_maps.json",
}
RAW_SHA256 = {
    "adult.data.gz": "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
    "adult.test.gz": "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
    "german.data.gz": "b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871",
    "german_values_maps.json.gz": "73a48f120cdb8019fb9f0ad84078ef1ba109f1100bbcc6cbcf925d60e6adcd4e",
}

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week",
    "native_country",
]
ADULT_NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
GERMAN_COLUMNS = [
    "status", "duration", "credit_history", "purpose", "credit_amount", "savings",
    "present_employment", "installment_rate", "status_sex", "other_debtors",
    "present_residence_since", "property", "age", "installment_plans", "housing",
    "number_of_existing_credits", "job", "number_of_people_liable_for", "telephone",
    "foreign_worker",
]
GERMAN_NUMERIC = [
    "duration", "credit_amount", "installment_rate", "present_residence_since", "age",
    "number_of_existing_credits", "number_of_people_liable_for",
]


# --------------------------------------------------------------------------------------------
# Independent parsing of the raw files
# --------------------------------------------------------------------------------------------


def raw_bytes(package_file: str) -> bytes:
    path = SHARED / PACKAGED[package_file]
    if path.exists():
        return path.read_bytes()
    return gzip.decompress(packaged_bytes(package_file))


def packaged_bytes(package_file: str) -> bytes:
    return resources.files("assay.datasets").joinpath("data", package_file).read_bytes()


@lru_cache(maxsize=None)
def raw_adult(package_file: str) -> tuple[tuple[str, ...], ...]:
    """Rows of 15 stripped fields, the header comment and blank lines dropped."""
    text = raw_bytes(package_file).decode("utf-8")
    rows = []
    for record in csv.reader(io.StringIO(text)):
        if not record or all(not field.strip() for field in record):
            continue
        if len(record) == 1 and record[0].startswith("|"):
            continue  # "|1x3 Cross validator"
        assert len(record) == 15, record
        rows.append(tuple(field.strip() for field in record))
    return tuple(rows)


@lru_cache(maxsize=None)
def raw_german() -> tuple[tuple[tuple[str, ...], ...], dict]:
    rows = tuple(
        tuple(line.split())
        for line in raw_bytes("german.data.gz").decode("utf-8").splitlines()
        if line.strip()
    )
    codebook = json.loads(raw_bytes("german_values_maps.json.gz"))
    return rows, codebook


@pytest.fixture(scope="module")
def adult() -> Dataset:
    return load_adult()


@pytest.fixture(scope="module")
def german() -> Dataset:
    return load_german_credit()


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_digits_split()


def both_splits(ds: Dataset):
    return [("train", ds.train, "adult.data.gz"), ("test", ds.test, "adult.test.gz")]


# --------------------------------------------------------------------------------------------
# Package data
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("package_file", sorted(PACKAGED))
def test_package_data_is_reproducible_gzip_of_raw_file(package_file):
    data = packaged_bytes(package_file)
    assert data[:2] == b"\x1f\x8b"
    assert data[4:8] == b"\x00\x00\x00\x00", "gzip mtime must be 0 for reproducible bytes"
    content = gzip.decompress(data)
    assert hashlib.sha256(content).hexdigest() == RAW_SHA256[package_file]
    if (SHARED / PACKAGED[package_file]).exists():
        assert content == (SHARED / PACKAGED[package_file]).read_bytes()


# --------------------------------------------------------------------------------------------
# Adult
# --------------------------------------------------------------------------------------------


def test_adult_raw_counts_are_the_documented_ones():
    # The independent parse itself agrees with the documentation.
    train, test = raw_adult("adult.data.gz"), raw_adult("adult.test.gz")
    assert (len(train), len(test)) == (32_561, 16_281)
    assert Counter(r[14] for r in train) == {"<=50K": 24_720, ">50K": 7_841}
    assert Counter(r[14] for r in test) == {"<=50K.": 12_435, ">50K.": 3_846}


def test_adult_shapes_columns_dtypes(adult):
    assert adult.name == "adult"
    assert adult.val is None
    assert (len(adult.train), len(adult.test)) == (32_561, 16_281)
    assert adult.target_name == "income"
    assert adult.classes == (0, 1)
    assert adult.class_names == ("<=50K", ">50K")
    assert adult.favorable_label == 1
    assert adult.cost_matrix is None
    assert list(adult.numeric_features) == ADULT_NUMERIC
    assert sorted(adult.categorical_features + adult.numeric_features) == sorted(ADULT_COLUMNS)
    assert "CC BY 4.0" in adult.description and "Kohavi" in adult.description
    for _, split, _ in both_splits(adult):
        X, y = split.X, split.y
        assert list(X.columns) == ADULT_COLUMNS
        assert X.index.equals(pd.RangeIndex(len(X)))
        assert y.index.equals(X.index)
        assert y.name == "income" and y.dtype == np.int64
        for column in ADULT_NUMERIC:
            assert X[column].dtype == np.int64, column
        for column in adult.categorical_features:
            assert isinstance(X[column].dtype, pd.CategoricalDtype), column
    for column in adult.categorical_features:
        assert adult.train.X[column].cat.categories.equals(adult.test.X[column].cat.categories)


def test_adult_labels_match_raw_file(adult):
    for _, split, raw_file in both_splits(adult):
        expected = [1 if r[14].rstrip(".") == ">50K" else 0 for r in raw_adult(raw_file)]
        assert set(split.y.unique()) == {0, 1}
        assert split.y.tolist() == expected
    assert int(adult.train.y.sum()) == 7_841
    assert int(adult.test.y.sum()) == 3_846
    assert 0.2 < adult.train.y.mean() < 0.3 and 0.2 < adult.test.y.mean() < 0.3


def test_adult_missing_values_match_raw_question_marks(adult):
    for _, split, raw_file in both_splits(adult):
        rows = raw_adult(raw_file)
        raw_missing = {
            ADULT_COLUMNS[i]: sum(r[i] == "?" for r in rows) for i in range(len(ADULT_COLUMNS))
        }
        assert split.X.isna().sum().to_dict() == raw_missing
        assert sum(raw_missing.values()) > 0  # the check has something to check
    assert adult.train.X.isna().sum()[["workclass", "occupation", "native_country"]].tolist() == [
        1_836, 1_843, 583,
    ]


def test_adult_no_question_marks_or_stray_spaces_anywhere(adult):
    for _, split, _ in both_splits(adult):
        for column in adult.categorical_features:
            categories = [str(c) for c in split.X[column].cat.categories]
            assert "?" not in categories, column
            assert all(c == c.strip() and c for c in categories), column
            assert not split.X[column].astype(str).str.contains(r"\?").any(), column
        for column in split.sensitive_features.columns:
            assert "?" not in [str(c) for c in split.sensitive_features[column].cat.categories]


def test_adult_values_match_raw_file(adult):
    for _, split, raw_file in both_splits(adult):
        rows = raw_adult(raw_file)
        for i, column in enumerate(ADULT_COLUMNS):
            raw = [r[i] for r in rows]
            if column in ADULT_NUMERIC:
                assert split.X[column].tolist() == [int(v) for v in raw], column
            else:
                got = split.X[column].astype(object).where(split.X[column].notna(), "?")
                assert got.tolist() == raw, column


def test_adult_sensitive_features(adult):
    expected_groups = ["17-24", "25-44", "45-64", "65+"]
    for _, split, raw_file in both_splits(adult):
        sf = split.sensitive_features
        assert list(sf.columns) == ["sex", "race", "age_group"]
        assert len(sf) == len(split) and sf.index.equals(split.X.index)
        for column in sf.columns:
            assert isinstance(sf[column].dtype, pd.CategoricalDtype), column
            assert sf[column].notna().all(), column
        assert sf["sex"].astype(str).tolist() == split.X["sex"].astype(str).tolist()
        assert set(sf["sex"].astype(str)) == {"Female", "Male"}
        assert sf["age_group"].cat.ordered
        assert list(sf["age_group"].cat.categories) == expected_groups

        def group(age: int) -> str:
            for upper, name in ((24, "17-24"), (44, "25-44"), (64, "45-64")):
                if age <= upper:
                    return name
            return "65+"

        raw_groups = Counter(group(int(r[0])) for r in raw_adult(raw_file))
        assert Counter(sf["age_group"].astype(str)) == raw_groups
        assert Counter(sf["race"].astype(str)) == Counter(r[8] for r in raw_adult(raw_file))


def test_adult_calls_return_independent_copies():
    first = load_adult()
    first.train.X.loc[0, "age"] = -1
    first.train.X["workclass"] = first.train.X["workclass"].cat.add_categories("zzz")
    first.train.y.iloc[:] = 0
    del first.train.sensitive_features["race"]
    second = load_adult()
    assert second.train.X.loc[0, "age"] == 39
    assert "zzz" not in second.train.X["workclass"].cat.categories
    assert int(second.train.y.sum()) == 7_841
    assert "race" in second.train.sensitive_features.columns


# --------------------------------------------------------------------------------------------
# German credit
# --------------------------------------------------------------------------------------------


def german_all(ds: Dataset) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    X = pd.concat([ds.train.X, ds.test.X], ignore_index=True)
    y = pd.concat([ds.train.y, ds.test.y], ignore_index=True)
    sf = pd.concat([ds.train.sensitive_features, ds.test.sensitive_features], ignore_index=True)
    return X, y, sf


def test_german_shapes_columns_dtypes(german):
    assert german.name == "german_credit"
    assert german.val is None
    assert (len(german.train), len(german.test)) == (700, 300)
    assert german.target_name == "credit"
    assert german.classes == (0, 1) and german.class_names == ("bad", "good")
    assert german.favorable_label == 1
    assert list(german.numeric_features) == GERMAN_NUMERIC
    assert sorted(german.categorical_features + german.numeric_features) == sorted(GERMAN_COLUMNS)
    assert "CC BY 4.0" in german.description and "Hofmann" in german.description
    for split in (german.train, german.test):
        assert list(split.X.columns) == GERMAN_COLUMNS
        assert split.X.index.equals(pd.RangeIndex(len(split)))
        assert split.y.name == "credit" and split.y.dtype == np.int64
        assert split.y.index.equals(split.X.index)
        for column in GERMAN_NUMERIC:
            assert split.X[column].dtype == np.int64, column
        for column in german.categorical_features:
            assert isinstance(split.X[column].dtype, pd.CategoricalDtype), column
            assert split.X[column].notna().all(), column
            assert not any(str(c).startswith("A") and str(c)[1:].isdigit()
                           for c in split.X[column].cat.categories), column
        assert list(split.sensitive_features.columns) == ["sex", "age_group", "foreign_worker"]
        for column in split.sensitive_features.columns:
            assert isinstance(split.sensitive_features[column].dtype, pd.CategoricalDtype)
    for column in german.categorical_features:
        assert german.train.X[column].cat.categories.equals(german.test.X[column].cat.categories)


def test_german_decoding_matches_codebook(german):
    rows, codebook = raw_german()
    assert len(rows) == 1_000 and all(len(r) == 21 for r in rows)
    X, y, _ = german_all(german)
    assert len(X) == 1_000
    for i, column in enumerate(GERMAN_COLUMNS):
        raw = [r[i] for r in rows]
        if column in GERMAN_NUMERIC:
            assert sorted(X[column].tolist()) == sorted(int(v) for v in raw), column
            continue
        meanings = codebook[column]

        def decode(code, meanings=meanings):
            value = meanings[code]
            if isinstance(value, bool):
                return "yes" if value else "no"
            return value.strip()

        assert Counter(X[column].astype(str)) == Counter(decode(v) for v in raw), column
    assert Counter(X["purpose"].astype(str))["car (new)"] == sum(r[3] == "A40" for r in rows)
    raw_credit = Counter(r[20] for r in rows)
    assert Counter(y.tolist()) == {1: raw_credit["1"], 0: raw_credit["2"]}
    assert Counter(y.tolist()) == {1: 700, 0: 300}


def test_german_sensitive_feature_counts_match_raw_codes(german):
    rows, _ = raw_german()
    X, _, sf = german_all(german)
    status_sex = Counter(r[8] for r in rows)
    assert dict(Counter(sf["sex"].astype(str))) == {
        "female": status_sex["A92"] + status_sex["A95"],
        "male": status_sex["A91"] + status_sex["A93"] + status_sex["A94"],
    }
    ages = [int(r[12]) for r in rows]
    assert dict(Counter(sf["age_group"].astype(str))) == {
        ">25": sum(a > 25 for a in ages), "<=25": sum(a <= 25 for a in ages),
    }
    assert dict(Counter(sf["foreign_worker"].astype(str))) == {
        "yes": sum(r[19] == "A201" for r in rows), "no": sum(r[19] == "A202" for r in rows),
    }
    # Row by row, the sensitive features agree with the features they come from.
    assert (sf["sex"].astype(str) == X["status_sex"].astype(str).str.split(" :").str[0]).all()
    assert ((sf["age_group"].astype(str) == ">25") == (X["age"] > 25)).all()
    assert (sf["foreign_worker"].astype(str) == X["foreign_worker"].astype(str)).all()
    assert sf["age_group"].cat.ordered
    assert list(sf["age_group"].cat.categories) == ["<=25", ">25"]


def test_german_cost_matrix(german):
    cm = german.cost_matrix
    assert cm.index.name == "true" and cm.columns.name == "predicted"
    assert list(cm.index) == ["bad", "good"] and list(cm.columns) == ["bad", "good"]
    assert cm.loc["bad", "good"] == 5
    assert cm.loc["good", "bad"] == 1
    assert cm.loc["bad", "bad"] == 0 and cm.loc["good", "good"] == 0


def test_german_split_determinism_and_stratification():
    a, b = load_german_credit(random_state=3), load_german_credit(random_state=3)
    pd.testing.assert_frame_equal(a.train.X, b.train.X)
    pd.testing.assert_series_equal(a.test.y, b.test.y)
    pd.testing.assert_frame_equal(a.test.sensitive_features, b.test.sensitive_features)
    c = load_german_credit(random_state=4)
    assert not a.train.X.equals(c.train.X)
    for ds in (a, c, load_german_credit(test_size=0.5, random_state=11)):
        for split in (ds.train, ds.test):
            assert abs(split.y.mean() - 0.7) <= 0.02
    sized = load_german_credit(test_size=0.25)
    assert (len(sized.train), len(sized.test)) == (750, 250)


# --------------------------------------------------------------------------------------------
# Digits
# --------------------------------------------------------------------------------------------


def test_digits_shapes_dtypes_values(digits):
    from sklearn.datasets import load_digits

    assert digits.name == "digits"
    assert digits.classes == tuple(range(10))
    assert digits.class_names == tuple(str(d) for d in range(10))
    assert digits.favorable_label is None and digits.cost_matrix is None
    assert digits.categorical_features == () and digits.numeric_features == ()
    splits = (digits.train, digits.val, digits.test)
    assert sum(len(s) for s in splits) == 1_797
    assert [len(s) for s in splits] == [1_077, 360, 360]
    for split in splits:
        assert isinstance(split.X, torch.Tensor) and isinstance(split.y, torch.Tensor)
        assert split.X.dtype == torch.float32 and split.y.dtype == torch.int64
        assert split.X.shape == (len(split), 1, 8, 8) and split.y.shape == (len(split),)
        assert split.sensitive_features is None
        assert float(split.X.min()) >= 0.0 and float(split.X.max()) <= 1.0
        assert torch.equal(split.X * 16, torch.round(split.X * 16))
    # Together the splits hold every image of scikit-learn's copy exactly once.
    bunch = load_digits()
    got = torch.cat([s.X.reshape(len(s), 64) * 16 for s in splits]).numpy().astype(np.int64)
    labels = torch.cat([s.y for s in splits]).numpy()
    expected = np.column_stack([bunch.data.astype(np.int64), bunch.target])
    merged = np.column_stack([got, labels])
    assert np.array_equal(
        expected[np.lexsort(expected.T[::-1])], merged[np.lexsort(merged.T[::-1])]
    )


def test_digits_determinism_and_stratification():
    a, b = load_digits_split(random_state=5), load_digits_split(random_state=5)
    for part in ("train", "val", "test"):
        assert torch.equal(getattr(a, part).X, getattr(b, part).X)
        assert torch.equal(getattr(a, part).y, getattr(b, part).y)
    c = load_digits_split(random_state=6)
    assert not torch.equal(a.test.X, c.test.X)
    overall = np.bincount(torch.cat([a.train.y, a.val.y, a.test.y]).numpy(), minlength=10) / 1_797
    for ds in (a, c, load_digits_split(val_size=0.1, test_size=0.3, random_state=1)):
        for split in (ds.train, ds.val, ds.test):
            share = np.bincount(split.y.numpy(), minlength=10) / len(split)
            assert np.abs(share - overall).max() <= 0.02
    sized = load_digits_split(val_size=0.1, test_size=0.3, random_state=1)
    assert len(sized.train) + len(sized.val) + len(sized.test) == 1_797
    assert abs(len(sized.test) - 0.3 * 1_797) <= 1 and abs(len(sized.val) - 0.1 * 1_797) <= 2


# --------------------------------------------------------------------------------------------
# Offline, bad input, containers
# --------------------------------------------------------------------------------------------


def test_loaders_never_use_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a data set loader tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # Drop the caches so that every file really is read again under the patch.
    _loaders._adult_frames.cache_clear()
    _loaders._german_frame.cache_clear()
    assert len(load_adult().train) == 32_561
    assert len(load_german_credit().test) == 300
    assert len(load_digits_split().val) == 360


@pytest.mark.parametrize("value", [0, 1.5, "a", 1.0, -0.2, None, True, float("nan")])
def test_german_bad_test_size(value):
    with pytest.raises(AssayInputError, match="'test_size' parameter of load_german_credit"):
        load_german_credit(test_size=value)


@pytest.mark.parametrize("argument", ["val_size", "test_size"])
@pytest.mark.parametrize("value", [0, 1.5, "a", 1, None])
def test_digits_bad_fraction(argument, value):
    with pytest.raises(AssayInputError, match=f"'{argument}' parameter of load_digits_split"):
        load_digits_split(**{argument: value})


@pytest.mark.parametrize("val_size, test_size", [(0.5, 0.5), (0.6, 0.5), (0.9, 0.2)])
def test_digits_sizes_must_leave_training_rows(val_size, test_size):
    with pytest.raises(AssayInputError, match="'val_size' and 'test_size'") as info:
        load_digits_split(val_size=val_size, test_size=test_size)
    assert "sum to less than 1" in str(info.value)


def test_too_small_split_is_an_input_error():
    with pytest.raises(AssayInputError, match="'test_size'"):
        load_german_credit(test_size=0.001)
    with pytest.raises(AssayInputError, match="'val_size'"):
        load_digits_split(val_size=0.001)


@pytest.mark.parametrize("seed", [-1, "x", 1.5])
def test_bad_seed(seed):
    with pytest.raises(AssayInputError, match="'random_state'"):
        load_german_credit(random_state=seed)
    with pytest.raises(AssayInputError, match="'random_state'"):
        load_digits_split(random_state=seed)


def test_containers_are_frozen_and_check_lengths(german):
    with pytest.raises(dataclasses.FrozenInstanceError):
        german.name = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        german.train.X = None
    with pytest.raises(AssayInputError, match="same number of rows"):
        Split(X=pd.DataFrame({"a": [1, 2]}), y=pd.Series([0]))
    assert len(german.train) == 700
    assert "german_credit" in repr(german) and "n=700" in repr(german.train)


def test_hold_out_validation_is_stratified_disjoint_and_complete():
    from assay.datasets import hold_out_validation

    data = load_german_credit(random_state=0)
    held = hold_out_validation(data, val_size=0.25, random_state=1)
    assert len(held.train) + len(held.val) == len(data.train) and held.test is data.test
    assert len(held.val) == 175  # 25% of 700
    # stratified: the base rate of the validation rows equals the training file's to a row
    assert abs(held.val.y.mean() - data.train.y.mean()) < 1 / len(held.val)
    # every training row lands in exactly one part, with its features, label and groups
    both = pd.concat([held.train.X.assign(y=held.train.y.to_numpy(), sex=held.train.sensitive_features["sex"].to_numpy()),
                      held.val.X.assign(y=held.val.y.to_numpy(), sex=held.val.sensitive_features["sex"].to_numpy())])
    original = data.train.X.assign(y=data.train.y.to_numpy(), sex=data.train.sensitive_features["sex"].to_numpy())
    key = list(original.columns)
    pd.testing.assert_frame_equal(both.sort_values(key).reset_index(drop=True),
                                  original.sort_values(key).reset_index(drop=True), check_dtype=False)
    assert hold_out_validation(data, random_state=1).val.X.equals(hold_out_validation(data, random_state=1).val.X)
    with pytest.raises(AssayInputError, match="already has a validation split"):
        hold_out_validation(held)
    with pytest.raises(AssayInputError, match="val_size"):
        hold_out_validation(data, val_size=1.5)
