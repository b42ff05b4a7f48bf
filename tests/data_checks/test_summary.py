"""describe_data: the training-data distribution written into model cards."""

import numpy as np
import pandas as pd
import pytest
import torch

from assay import AssayInputError
from assay.data_checks.summary import describe_data


def test_table_summary_matches_pandas():
    rng = np.random.default_rng(0)
    x = rng.normal(10, 2, 1000)
    x[:50] = np.nan
    frame = pd.DataFrame({"x": x, "colour": rng.choice(["red", "green", "blue"], 1000, p=[0.5, 0.3, 0.2])})
    y = rng.integers(0, 2, 1000)
    summary = describe_data(frame, y, top_values=2)
    row = summary.columns.loc["x"]
    assert row["kind"] == "numeric" and row["missing_share"] == pytest.approx(0.05)
    assert row["median"] == pytest.approx(frame["x"].median(), abs=1e-12)
    assert row["p05"] == pytest.approx(frame["x"].quantile(0.05), abs=1e-12)
    assert row["std"] == pytest.approx(frame["x"].std(ddof=0), abs=1e-12)
    colour = summary.columns.loc["colour"]
    shares = frame["colour"].value_counts(normalize=True)
    assert colour["n_unique"] == 3
    assert colour["top_values"] == (f"red ({shares['red']:.1%}), green ({shares['green']:.1%}), ... 1 more")
    assert summary.labels == {"0": pytest.approx(np.mean(y == 0)), "1": pytest.approx(np.mean(y == 1))}
    lines = summary.lines()
    assert lines[0] == "rows: 1,000" and any(line.startswith("x (numeric): median") for line in lines)
    assert "5.0% missing" in next(line for line in lines if line.startswith("x "))


def test_image_tensor_summary():
    images = torch.arange(2 * 1 * 2 * 2, dtype=torch.float32).reshape(2, 1, 2, 2)
    summary = describe_data(images, np.array([3, 7]))
    assert summary.layout == "array" and summary.columns is None
    assert summary.values["shape"] == [1, 2, 2]
    assert summary.values["mean"] == pytest.approx(3.5) and summary.values["max"] == 7
    assert summary.values["row_mean_median"] == pytest.approx(3.5)  # row means 1.5 and 5.5
    assert summary.to_dict()["values"]["min"] == 0


@pytest.mark.parametrize("container", [list, tuple, pd.Series, lambda t: pd.Series(t, dtype=object),
                                       lambda t: np.array(t, dtype=object), np.array])
def test_text_summary_hand_case(container):
    texts = container(["Hello world!", "the cat sat on the mat", ""])  # 12/22/0 characters, 2/6/0 words
    summary = describe_data(texts, [0, 1, 1], top_values=3)
    v = summary.values
    assert summary.layout == "text" and summary.n_rows == 3 and summary.columns is None
    assert (v["chars_min"], v["chars_median"], v["chars_max"]) == (0, 12, 22)
    assert (v["words_min"], v["words_median"], v["words_max"]) == (0, 2, 6)
    assert v["words_p95"] == pytest.approx(np.quantile([0, 2, 6], 0.95))
    assert v["vocabulary"] == 7 and v["empty_share"] == pytest.approx(1 / 3)  # hello world the cat sat on mat
    assert v["top_words"] == "the (25.0%), hello (12.5%), world (12.5%)"  # 'the' is 2 of 8 words
    assert summary.lines()[2].startswith("inputs: text; words per row median 2")
    assert summary.to_dict()["values"]["vocabulary"] == 7


def test_bad_input():
    with pytest.raises(AssayInputError, match="'y' has 3 rows"):
        describe_data(pd.DataFrame({"a": [1, 2]}), [0, 1, 1])
    with pytest.raises(AssayInputError, match="NaN or infinite"):
        describe_data(np.full((2, 2, 2), np.nan))
    with pytest.raises(AssayInputError, match="'X' must be"):
        describe_data("not data")
    with pytest.raises(AssayInputError, match="top_values"):
        describe_data(pd.DataFrame({"a": [1]}), top_values=0)
