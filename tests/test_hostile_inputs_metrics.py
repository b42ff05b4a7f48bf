"""Hostile inputs for the metrics, fairness and OOD-by-group entry points (helper: metrics)."""

import numpy as np
import pandas as pd
import pytest

import assay.fairness as af
from assay import AssayInputError
from assay.core.validation import check_sensitive_features
from assay.metrics import GroupedStats, evaluate_groups, evaluate_groups_batches
from assay.ood.groups import rejection_by_group

_SF = np.array(["a", "a", "b", "b"])
_DUP = pd.DataFrame([["F", "x"], ["M", "y"], ["F", "y"], ["M", "x"]], columns=["sex", "sex"])
_IDX = pd.Series([1, 0, 1, 0], index=[0, 1, 2, 3])
_IDX_OTHER = pd.Series(list("aabb"), index=[4, 5, 6, 7])

CASES = [
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, 2.0]}, sensitive_features=_SF),
                 ["values['x']", "4"], id="evaluate_groups: values of the wrong length"),
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, np.nan, 0.0, 1.0]}, sensitive_features=_SF),
                 ["values['x']", "NaN"], id="evaluate_groups: NaN in values"),
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, np.inf, 0.0, 1.0]}, sensitive_features=_SF),
                 ["values['x']", "infinite"], id="evaluate_groups: inf in values"),
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, 0.0, 0.0, 1.0]}, metrics=["median:x"],
                                         sensitive_features=_SF),
                 ["metrics", "median:x", "mean"], id="evaluate_groups: unknown statistic prefix"),
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, 0.0, 0.0, 1.0]}, metrics=["mean:y"],
                                         sensitive_features=_SF),
                 ["metrics", "mean:y", "'x'"], id="evaluate_groups: value name missing from values"),
    pytest.param(lambda: evaluate_groups(metrics=["mean:y"], sensitive_features=_SF),
                 ["values", "mean:y"], id="evaluate_groups: value metric without values"),
    pytest.param(lambda: evaluate_groups(values=[1.0, 0.0, 0.0, 1.0], sensitive_features=_SF),
                 ["values", "dict"], id="evaluate_groups: values not a dict"),
    pytest.param(lambda: evaluate_groups(values={"x": ["a", "b", "c", "d"]}, sensitive_features=_SF),
                 ["values['x']"], id="evaluate_groups: non-numeric values"),
    pytest.param(lambda: evaluate_groups(values={"x": [1.0, 0.0, 0.0, 1.0]}, metrics=["accuracy"],
                                         sensitive_features=_SF),
                 ["y_true", "accuracy"], id="evaluate_groups: label metric without y_true"),
    pytest.param(lambda: evaluate_groups_batches([{"values": {"x": [1.0]}, "sensitive_features": ["a"]},
                                                  {"values": {"y": [1.0]}, "sensitive_features": ["b"]}],
                                                 metrics=["mean:x"]),
                 ["batch 1", "mean:x"], id="evaluate_groups_batches: values keys change"),
    pytest.param(lambda: GroupedStats().update(values={"x": [1.0]}, sensitive_features=["a"]).update(
        values={"z": [1.0]}, sensitive_features=["a"]), ["values"], id="GroupedStats.update: values keys change"),
    pytest.param(lambda: evaluate_groups([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=_SF,
                                         sample_weight=np.zeros(4)),
                 ["sample_weight", "positive total"], id="evaluate_groups: all-zero sample_weight"),
    pytest.param(lambda: af.demographic_parity_ratio([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=_SF,
                                                     sample_weight=np.zeros(4)),
                 ["sample_weight", "positive total"], id="demographic_parity_ratio: all-zero sample_weight"),
    pytest.param(lambda: af.fairness_report([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=_SF,
                                            sample_weight=[0, 0, 0, 0]),
                 ["sample_weight", "positive total"], id="fairness_report: all-zero sample_weight"),
    pytest.param(lambda: evaluate_groups(_IDX, _IDX, sensitive_features=_IDX_OTHER),
                 ["'y_true'", "'sensitive_features'", "index"], id="evaluate_groups: misaligned pandas indexes"),
    pytest.param(lambda: af.demographic_parity_difference(_IDX, _IDX, sensitive_features=_IDX_OTHER),
                 ["'sensitive_features'", "index"], id="demographic_parity_difference: misaligned pandas"),
    pytest.param(lambda: af.fairness_report(_IDX, _IDX, sensitive_features=_IDX_OTHER),
                 ["'sensitive_features'", "index"], id="fairness_report: misaligned pandas"),
    pytest.param(lambda: evaluate_groups([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=_DUP),
                 ["sensitive_features", "'sex'", "more than once"], id="evaluate_groups: duplicate sensitive columns"),
    pytest.param(lambda: check_sensitive_features(_DUP),
                 ["sensitive_features", "'sex'", "more than once"],
                 id="check_sensitive_features (Audit): duplicate sensitive columns"),
    pytest.param(lambda: af.fairness_report([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=_DUP),
                 ["sensitive_features", "'sex'", "more than once"], id="fairness_report: duplicate sensitive columns"),
    pytest.param(lambda: rejection_by_group([0.1, 0.2, np.nan, 0.3], 0.5, _SF),
                 ["scores"], id="rejection_by_group: NaN score"),
]


@pytest.mark.parametrize("call, words", CASES)
def test_refused_metrics(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value)
