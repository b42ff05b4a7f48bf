"""load_table: CSV and Parquet round trips, dtypes, and one-line errors naming the CLI argument."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.ensemble import HistGradientBoostingClassifier

from assay import AssayInputError
from assay.io import LoadedTable, load_table, parse_columns, read_table


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 80
    return pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "hours": rng.normal(40, 5, n).round(2),
        "job": rng.choice(["clerk", "nurse", "welder"], n),
        "sex": rng.choice(["Female", "Male"], n),
        "race": rng.choice(["A", "B", "C"], n),
        "income": rng.integers(0, 2, n),
    })


@pytest.fixture
def csv(tmp_path, frame):
    path = tmp_path / "test.csv"
    frame.to_csv(path, index=False)
    return path


def table_error(path, arg, **kwargs) -> str:
    """The message of the AssayInputError that load_table raises; checks it is one line."""
    kwargs.setdefault("target", "income")
    with pytest.raises(AssayInputError) as excinfo:
        load_table(path, **kwargs)
    message = str(excinfo.value)
    assert message.startswith(f"{arg}: "), message
    assert "\n" not in message and "\r" not in message, message
    return message


# ---------------------------------------------------------------------- round trips
def test_csv_round_trip(csv, frame):
    loaded = load_table(csv, target="income", sensitive="sex,race")
    assert isinstance(loaded, LoadedTable)
    X, y, sf = loaded
    assert list(X.columns) == ["age", "hours", "job", "sex", "race"]  # sensitive kept by default
    assert X["age"].dtype == np.int64 and X["hours"].dtype == np.float64
    for column in ("job", "sex", "race"):
        assert isinstance(X[column].dtype, pd.CategoricalDtype)
        assert_array_equal(X[column].astype(str).to_numpy(), frame[column].to_numpy())
    assert_array_equal(X["hours"].to_numpy(), frame["hours"].to_numpy())
    assert y.name == "income" and y.dtype == np.int64
    assert_array_equal(y.to_numpy(), frame["income"].to_numpy())
    assert list(sf.columns) == ["sex", "race"]
    assert all(isinstance(t, pd.CategoricalDtype) for t in sf.dtypes)
    assert_array_equal(sf["race"].astype(str).to_numpy(), frame["race"].to_numpy())
    assert X.index.equals(y.index) and X.index.equals(sf.index)


def test_parquet_round_trip(tmp_path, frame):
    path = tmp_path / "test.parquet"
    frame.to_parquet(path, index=False)
    X, y, sf = load_table(path, target="income", sensitive=["race"])
    assert_array_equal(X["job"].astype(str).to_numpy(), frame["job"].to_numpy())
    assert isinstance(X["job"].dtype, pd.CategoricalDtype) and X["age"].dtype == np.int64
    assert_array_equal(y.to_numpy(), frame["income"].to_numpy())
    assert list(sf.columns) == ["race"]


def test_tsv_and_compressed_csv(tmp_path, frame):
    tsv = tmp_path / "test.tsv"
    frame.to_csv(tsv, sep="\t", index=False)
    gz = tmp_path / "test.csv.gz"
    frame.to_csv(gz, index=False)
    for path in (tsv, gz):
        X, y, _ = load_table(path, target="income")
        assert X.shape == (len(frame), 5)
        assert_array_equal(y.to_numpy(), frame["income"].to_numpy())


def test_drop_sensitive_and_no_sensitive(csv):
    X, _, sf = load_table(csv, target="income", sensitive=" sex , race,sex", drop_sensitive=True)
    assert list(X.columns) == ["age", "hours", "job"] and list(sf.columns) == ["sex", "race"]
    X, _, sf = load_table(csv, target="income")
    assert sf is None and "sex" in X.columns


def test_model_trained_on_category_frames_scores_the_loaded_table(tmp_path):
    """A pipeline trained on category columns (as assay.datasets gives them) takes X as loaded,
    even when the file holds only some of the categories seen in training."""
    rng = np.random.default_rng(1)
    n = 300
    train = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "job": pd.Categorical(rng.choice(["a", "b", "c"], n), categories=["a", "b", "c"]),
        "sex": pd.Categorical(rng.choice(["F", "M"], n), categories=["F", "M"]),
    })
    y = ((train["job"] == "c") ^ (train["age"] > 50)).astype(int)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=20).fit(train, y)
    test = train[train["job"] != "a"].iloc[:60]
    path = tmp_path / "test.csv"
    test.assign(income=y.loc[test.index]).to_csv(path, index=False)
    X, _, _ = load_table(path, target="income", sensitive="sex")
    assert_array_equal(model.predict_proba(X), model.predict_proba(test))


def test_text_target_is_kept_as_read(tmp_path, frame):
    path = tmp_path / "labels.csv"
    frame.assign(income=np.where(frame["income"] == 1, ">50K", "<=50K")).to_csv(path, index=False)
    _, y, _ = load_table(path, target="income")
    assert not isinstance(y.dtype, pd.CategoricalDtype)
    assert set(y) == {">50K", "<=50K"}


# ---------------------------------------------------------------------- errors
def test_missing_target_lists_columns_and_suggests(csv):
    message = table_error(csv, "--target", target="Income")
    assert "'Income'" in message and "test.csv" in message
    assert "'age', 'hours', 'job', 'sex', 'race', 'income'" in message
    assert "Did you mean 'income'" in message


def test_missing_target_with_many_columns_lists_them_all_up_to_thirty(tmp_path):
    path = tmp_path / "wide.csv"
    pd.DataFrame({f"feature_{i}": [1, 2] for i in range(25)}).to_csv(path, index=False)
    message = table_error(path, "--target", target="label")
    assert "25 column(s)" in message and "'feature_24'" in message and "more)" not in message


def test_missing_target_beyond_thirty_columns_shows_the_closest_first(tmp_path):
    # issue 21 item 20: the right column was hidden behind the first ten
    path = tmp_path / "wider.csv"
    columns = {f"feature_{i}": [1, 2] for i in range(40)}
    pd.DataFrame({**columns, "income": [0, 1]}).to_csv(path, index=False)
    message = table_error(path, "--target", target="incom")
    assert "41 column(s): 'income', 'feature_0'" in message
    assert "'feature_28'" in message and "'feature_29'" not in message and "11 more" in message
    assert "Did you mean 'income'?" in message


def test_missing_sensitive_column(csv):
    message = table_error(csv, "--sensitive", sensitive="sex,ethnicity")
    assert "'ethnicity'" in message and "'race'" in message  # lists the available columns
    assert "'sex' is" not in message


def test_sensitive_problems(tmp_path, frame, csv):
    assert "is the target column" in table_error(csv, "--sensitive", sensitive="income")
    assert "names no column" in table_error(csv, "--sensitive", sensitive=" , ")
    assert "must be strings" in table_error(csv, "--sensitive", sensitive=["sex", 3])
    path = tmp_path / "one_group.csv"
    frame.assign(sex="Female").to_csv(path, index=False)
    assert "single group ('Female')" in table_error(path, "--sensitive", sensitive="sex")
    path = tmp_path / "missing_group.csv"
    frame.assign(race=frame["race"].where(frame.index > 2)).to_csv(path, index=False)
    assert "3 missing value(s)" in table_error(path, "--sensitive", sensitive="race")


def test_target_problems(tmp_path, frame, csv):
    path = tmp_path / "missing_labels.csv"
    frame.assign(income=frame["income"].where(frame.index != 5)).to_csv(path, index=False)
    assert "1 missing value(s) (first at row 5)" in table_error(path, "--target")
    assert "expected the name" in table_error(csv, "--target", target="  ")
    path = tmp_path / "only_target.csv"
    frame[["income"]].to_csv(path, index=False)
    assert "only the target column" in table_error(path, "--data")


def test_empty_csv(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert "is empty" in table_error(path, "--data")
    path.write_text("age,sex,income\n")
    assert "no data rows" in table_error(path, "--data")


def test_unreadable_inputs(tmp_path):
    assert "does not exist" in table_error(tmp_path / "missing.csv", "--data")
    (tmp_path / "folder.csv").mkdir()
    assert "is a directory" in table_error(tmp_path / "folder.csv", "--data")
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"PK\x03\x04")
    assert "extension '.xlsx'" in table_error(path, "--data")
    path = tmp_path / "binary.csv"
    path.write_bytes(b"a,b\n\xff\xfe\xfa,\x80\n")
    assert "cannot parse" in table_error(path, "--data")
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    assert "cannot parse" in table_error(path, "--data")


def test_custom_argument_names(csv):
    with pytest.raises(AssayInputError, match=r"^target: "):
        load_table(csv, target="nope", arg_names={"target": "target"})


def test_parse_columns_and_read_table(csv, frame):
    assert parse_columns("sex, race,,sex") == ["sex", "race"]
    assert parse_columns(("a",)) == ["a"] and parse_columns(None) == []
    with pytest.raises(AssayInputError, match=r"^--sensitive: "):
        parse_columns(3)
    assert read_table(csv).shape == frame.shape


def test_features_the_model_takes(tmp_path, frame, csv):
    X, y, sf = load_table(csv, target="income", sensitive="sex", features=["hours", "age"])
    assert list(X.columns) == ["hours", "age"] and list(sf.columns) == ["sex"] and y.name == "income"
    ood = tmp_path / "ood.csv"
    frame.drop(columns=["hours"]).to_csv(ood, index=False)
    message = table_error(ood, "--ood", target="income", target_optional=True, features="age,hours",
                          arg_names={"data": "--ood"})
    assert "ood.csv' lacks the column(s) ['hours'] the model takes (--features)" in message
    assert "is the target column" in table_error(csv, "--features", target="income", features=["age", "income"])
