"""Every bad input raises AssayInputError naming the argument; results serialise to JSON."""

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from assay import AssayInputError, NotFittedError, Result
from assay.core import validation as v
from assay.core.batching import fingerprint
from assay.core.result import to_jsonable


def test_as_array_wrong_ndim_names_argument():
    with pytest.raises(AssayInputError, match=r"'y_true' must be a 1-D array.*\(3, 2\)"):
        v.as_array(np.zeros((3, 2)), name="y_true", ndim=1)


def test_as_array_nan_names_argument_and_index():
    with pytest.raises(AssayInputError, match=r"'y_score'.*1 NaN.*index 2"):
        v.as_array([0.1, 0.2, np.nan], name="y_score")
    assert np.isnan(v.as_array([np.nan], name="x", allow_nan=True)).all()


def test_as_array_bad_conversion_and_empty():
    with pytest.raises(AssayInputError, match="'x' must be an array convertible to float64"):
        v.as_array(["a", "b"], name="x", dtype=float)
    with pytest.raises(AssayInputError, match="'x' must contain at least 1 row"):
        v.as_array(np.zeros((0, 2)), name="x")
    with pytest.raises(AssayInputError, match="'x' must be an array. Got None"):
        v.as_array(None, name="x")


def test_as_array_accepts_torch_and_pandas():
    np.testing.assert_array_equal(v.as_array(torch.arange(3), name="x"), [0, 1, 2])
    np.testing.assert_array_equal(v.as_array(pd.Series([1, 2]), name="x"), [1, 2])


def test_lengths_that_differ_are_named():
    with pytest.raises(AssayInputError, match="y_true: 3, y_pred: 2"):
        v.check_consistent_length(y_true=[1, 2, 3], y_pred=[1, 2])
    assert v.check_consistent_length(a=[1, 2], b=None, c=np.zeros(2)) == 2


def test_probabilities_checked():
    with pytest.raises(AssayInputError, match=r"'y_prob' must hold probabilities in \[0, 1\]"):
        v.check_probabilities([0.2, 1.3], name="y_prob")
    with pytest.raises(AssayInputError, match="'y_prob'.*rows summing to 1.*row 1"):
        v.check_probabilities([[0.5, 0.5], [0.9, 0.3]], name="y_prob")
    assert v.check_probabilities([[0.25, 0.75]], name="p").dtype == np.float64


def test_labels_not_in_the_model_classes():
    with pytest.raises(AssayInputError, match=r"'y'.*classes \[0, 1\]: \[2\]"):
        v.check_labels([0, 1, 2], name="y", classes=[0, 1])
    with pytest.raises(AssayInputError, match="'y'.*NaN"):
        v.check_labels([0.0, np.nan], name="y", classes=[0, 1])
    with pytest.raises(AssayInputError, match="'y'.*NaN"):
        v.check_labels(np.array(["a", None], dtype=object), name="y", classes=["a"])


@pytest.mark.parametrize("features", [
    pd.Series(["F"] * 4, name="sex"),
    pd.DataFrame({"sex": ["F", "M", "F", "M"], "race": ["w"] * 4}),
    {"sex": ["F", "F", "F", "F"]},
])
def test_sensitive_feature_with_a_single_group(features):
    with pytest.raises(AssayInputError, match="'sensitive_features' column '(sex|race)' has a single group"):
        v.check_sensitive_features(features, n_samples=4)


def test_sensitive_features_shapes_and_errors():
    frame = v.check_sensitive_features({"sex": ["F", "M"], "age": [20, 30]}, n_samples=2)
    assert list(frame.columns) == ["sex", "age"] and frame["age"].tolist() == ["20", "30"]
    arr = v.check_sensitive_features(np.array([[0, 1], [1, 0]]))
    assert list(arr.columns) == ["sensitive_feature_0", "sensitive_feature_1"]
    with pytest.raises(AssayInputError, match="sensitive_features: 2, expected 3"):
        v.check_sensitive_features(["a", "b"], n_samples=3)
    with pytest.raises(AssayInputError, match="'sensitive_features' column 'sex' has 1 missing"):
        v.check_sensitive_features(pd.Series(["F", None, "M"], name="sex"))
    with pytest.raises(AssayInputError, match="'sensitive_features' must be"):
        v.check_sensitive_features(5)
    with pytest.raises(AssayInputError, match=r"sensitive_features\['a'\]: 2"):
        v.check_sensitive_features({"a": [1, 2], "b": [1, 2, 3]})


def test_check_scalar_messages():
    with pytest.raises(AssayInputError, match=r"The 'n_bins' parameter of Calib must be an int in \[1, inf\). Got 0"):
        v.check_scalar(0, "n_bins", owner="Calib", kind=int, low=1)
    with pytest.raises(AssayInputError, match=r"a float in \(0, 1\). Got 1"):
        v.check_scalar(1, "alpha", owner="X", low=0, high=1, closed="neither")
    with pytest.raises(AssayInputError, match="Got True"):
        v.check_scalar(True, "n", owner="X", kind=int)
    assert v.check_scalar(0.5, "alpha", owner="X", low=0, high=1) == 0.5
    with pytest.raises(AssayInputError, match=r"'norm' parameter of X must be one of 'l1', 'max'. Got 'l3'"):
        v.check_option("l3", "norm", owner="X", options=("l1", "max"))


def test_random_state():
    assert v.check_random_state(3).integers(100) == np.random.default_rng(3).integers(100)
    gen = np.random.default_rng(0)
    assert v.check_random_state(gen) is gen
    with pytest.raises(AssayInputError, match="'seed'"):
        v.check_random_state("abc")
    with pytest.raises(AssayInputError, match="'seed'"):
        v.check_random_state(-1)


def test_check_is_fitted():
    class Detector:
        def __init__(self, k=3):
            self.k = k

    detector = Detector()
    with pytest.raises(NotFittedError, match="This Detector instance is not fitted yet. Call 'fit' first."):
        v.check_is_fitted(detector)
    detector.mean_ = 1.0
    v.check_is_fitted(detector)


def test_fingerprint_is_content_based():
    a = np.arange(12.0).reshape(3, 4)
    assert fingerprint(a) == fingerprint(a.copy())
    assert fingerprint(a) != fingerprint(a.reshape(4, 3))
    assert fingerprint(a) != fingerprint(a.astype(np.float32))
    b = a.copy()
    b[1, 1] = -1
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint(torch.from_numpy(a)) == fingerprint(torch.from_numpy(a.copy()))
    frame = pd.DataFrame({"x": [1, 2], "c": pd.Categorical(["a", "b"])})
    assert fingerprint(frame) == fingerprint(frame.copy())
    assert fingerprint(frame) != fingerprint(frame.rename(columns={"x": "y"}))
    assert fingerprint(a[:, ::2]) == fingerprint(np.ascontiguousarray(a[:, ::2]))


@dataclasses.dataclass(frozen=True)
class ToyResult(Result):
    name: str
    overall: float
    by_group: pd.DataFrame
    counts: np.ndarray


def test_result_to_dict_is_json_safe():
    frame = pd.DataFrame({"tpr": [0.5, np.nan]}, index=pd.Index([("F", "Black"), ("M", "White")]))
    result = ToyResult(name="toy", overall=np.float32(0.25), by_group=frame, counts=np.array([3, 4]))
    record = result.to_dict()
    text = json.dumps(record, allow_nan=False)  # NaN would make invalid JSON
    back = json.loads(text)
    assert back["type"] == "ToyResult"
    assert back["overall"] == 0.25
    assert back["by_group"]["index"] == ["F x Black", "M x White"]
    assert back["by_group"]["data"] == [[0.5], [None]]
    assert back["counts"] == [3, 4]
    assert result.to_frame().loc[0, "overall"] == pytest.approx(0.25)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.overall = 1.0


def test_to_jsonable_scalars():
    assert to_jsonable(np.int64(3)) == 3 and isinstance(to_jsonable(np.int64(3)), int)
    assert to_jsonable(float("inf")) is None
    assert to_jsonable(np.bool_(True)) is True
    assert to_jsonable({1: (np.float64(0.5),)}) == {"1": [0.5]}
    assert math.isclose(to_jsonable(torch.tensor([0.5]))[0], 0.5)
