"""Disparity across many groups: std, variance, range, ratio, coefficient of variation."""

import json
import math

import numpy as np
import pandas as pd
import pytest

import assay.fairness as af
from assay import AssayInputError
from assay.metrics import evaluate_groups


def test_disparity_summary_by_hand():
    # Selection rates: a 1/2, b 1/4, c 0 (rows: a 2, b 4, c 2).
    y_pred = np.array([1, 0, 1, 0, 0, 0, 0, 0])
    y_true = np.zeros(8, dtype=int)
    group = np.array(["a", "a", "b", "b", "b", "b", "c", "c"])
    grouped = evaluate_groups(y_true, y_pred, sensitive_features=group, metrics=["selection_rate", "count"],
                              min_group_size=3)
    row = af.disparity_summary(grouped).table.loc[("sensitive_feature", "selection_rate")]
    mean = (1 / 2 + 1 / 4 + 0) / 3
    variance = ((1 / 2 - mean) ** 2 + (1 / 4 - mean) ** 2 + (0 - mean) ** 2) / 3  # population: / G
    assert row["n_groups"] == 3
    assert row["mean"] == pytest.approx(1 / 4)
    assert row["variance"] == pytest.approx(variance) and variance == pytest.approx(1 / 24)
    assert row["std"] == pytest.approx(math.sqrt(1 / 24))
    assert row["range"] == pytest.approx(1 / 2)
    assert row["ratio"] == pytest.approx(0.0)
    assert row["cv"] == pytest.approx(math.sqrt(1 / 24) / (1 / 4))
    # Without the small groups (a and c have 2 rows): only b is left.
    small = af.disparity_summary(grouped, include_small=False).table.loc[("sensitive_feature", "selection_rate")]
    assert small["n_groups"] == 1 and small["std"] == 0.0


def test_disparity_summary_agrees_with_grouped_aggregates_and_skips_nan():
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["a", "b", "c", "d"], n)})
    y_true = rng.integers(0, 2, n)
    y_pred = rng.integers(0, 2, n)
    grouped = evaluate_groups(y_true, y_pred, sensitive_features=frame, metrics=["selection_rate", "tpr", "ppv"])
    summary = af.disparity_summary(grouped)
    table = summary.to_frame()
    assert list(table.columns) == ["n_groups", "mean", "std", "variance", "min", "max", "range", "ratio", "cv"]
    for feature in grouped.features:
        for metric in grouped.metrics:
            if metric == "count":
                continue
            row = table.loc[(feature, metric)]
            values = grouped.by_group.xs(feature, level="feature")[metric]
            assert row["range"] == pytest.approx(grouped.difference().loc[feature, metric], abs=1e-15)
            assert row["ratio"] == pytest.approx(grouped.ratio().loc[feature, metric], abs=1e-15)
            assert row["std"] == pytest.approx(values.std(ddof=0), abs=1e-15)
            assert row["variance"] == pytest.approx(np.var(values.to_numpy()), abs=1e-15)
    assert ("sex x race", "count") not in table.index
    record = summary.to_dict()
    assert ["sex x race", "tpr"] in record["table"]["index"]
    assert json.dumps(record, allow_nan=False)


def test_disparity_summary_needs_grouped_metrics():
    with pytest.raises(AssayInputError, match="'grouped'"):
        af.disparity_summary(pd.DataFrame({"a": [1]}))
    grouped = evaluate_groups([0, 1], [0, 1], sensitive_features=["a", "b"], metrics=["selection_rate"])
    with pytest.raises(AssayInputError, match="'include_small'"):
        af.disparity_summary(grouped, include_small="yes")


def test_disparity_summary_of_counts_only_is_an_empty_table():
    grouped = evaluate_groups([0, 1], [0, 1], sensitive_features=["a", "b"], metrics=["count"])
    table = af.disparity_summary(grouped).to_frame()
    assert table.empty and list(table.index.names) == ["feature", "metric"]
