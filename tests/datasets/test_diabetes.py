"""load_diabetes_split and the reference regressor."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.metrics import r2_score

from assay.core.errors import AssayInputError
from assay.datasets import load_diabetes_split
from assay.models import train_sklearn_regressor


def test_splits_cover_every_patient_once_with_raw_values():
    data = load_diabetes_split()
    assert (len(data.train), len(data.val), len(data.test)) == (220, 89, 133)
    raw = load_diabetes(scaled=False, as_frame=True).frame
    parts = [data.train, data.val, data.test]
    X = np.concatenate([p.X.to_numpy() for p in parts])
    y = np.concatenate([p.y.to_numpy() for p in parts])
    order = np.lexsort(X.T[::-1])
    expected = raw[list(data.numeric_features)].to_numpy()
    expected_order = np.lexsort(expected.T[::-1])
    np.testing.assert_array_equal(X[order], expected[expected_order])
    np.testing.assert_array_equal(y[order], raw["target"].to_numpy()[expected_order])
    assert data.target_name == "progression" and data.classes == () and data.favorable_label is None


def test_sensitive_features_are_honest_about_the_sex_code():
    data = load_diabetes_split()
    for part in (data.train, data.val, data.test):
        sf = part.sensitive_features
        assert list(sf.columns) == ["sex", "age_band"]
        assert list(sf["sex"].cat.categories) == ["sex=1", "sex=2"]
        np.testing.assert_array_equal(sf["sex"].astype(str), [f"sex={int(v)}" for v in part.X["sex"]])
        age = part.X["age"].to_numpy()
        expected = np.where(age < 40, "<40", np.where(age < 60, "40-59", "60+"))
        np.testing.assert_array_equal(sf["age_band"].astype(str), expected)
        assert len(sf.value_counts()) == 6  # stratified: every sex x age band in every split
    assert "not documented" in load_diabetes_split.__doc__ or "not\n        documented" in load_diabetes_split.__doc__
    assert "Efron" in data.description and "License" in data.description


def test_same_seed_same_split_and_bad_sizes():
    a, b = load_diabetes_split(random_state=3), load_diabetes_split(random_state=3)
    assert a.test.X.equals(b.test.X)
    assert not a.test.X.equals(load_diabetes_split(random_state=4).test.X)
    with pytest.raises(AssayInputError, match="val_size"):
        load_diabetes_split(val_size=0.6, test_size=0.5)


@pytest.mark.parametrize("kind", ["ridge", "gbm"])
def test_reference_regressor(kind):
    data = load_diabetes_split()
    model = train_sklearn_regressor(data.train.X, data.train.y, numeric_features=data.numeric_features, kind=kind)
    score = r2_score(data.test.y, model.predict(data.test.X))
    assert 0.2 < score < 0.7  # diabetes: R^2 about 0.4-0.5 for linear models
    again = train_sklearn_regressor(data.train.X, data.train.y, numeric_features=data.numeric_features, kind=kind)
    np.testing.assert_array_equal(model.predict(data.test.X), again.predict(data.test.X))


def test_reference_regressor_bad_inputs():
    data = load_diabetes_split()
    with pytest.raises(AssayInputError, match="kind"):
        train_sklearn_regressor(data.train.X, data.train.y, numeric_features=data.numeric_features, kind="svm")
    with pytest.raises(AssayInputError, match="'y'"):
        train_sklearn_regressor(data.train.X, ["a"] * len(data.train.y), numeric_features=data.numeric_features)
