"""How the audit reads its inputs (assay.audit.inputs): labels vs the model's classes, the
columns the model takes, continuous sensitive features, column names in errors (issue 21)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from assay import AssayInputError
from assay.audit import Audit
from assay.audit.inputs import audit_inputs
from assay.core.adapters import wrap
from assay.data_checks import bin_by_quantiles

FEATURES = ["x1", "x2"]


def _make(rng, n, shift=0.0):
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    age = rng.integers(18, 80, n)
    x1 = rng.normal(shift, 1, n) + (sex == "M") * 0.5
    x2 = rng.normal(0, 1, n)
    y = (x1 + x2 + rng.normal(0, 0.7, n) > 0.4).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "sex": sex, "race": race, "age": age, "label": y})


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    train, test, ood = _make(rng, 1200), _make(rng, 600), _make(rng, 300, shift=3.0)
    # an "unaware" model: fitted on a DataFrame without the sensitive columns
    model = LogisticRegression().fit(train[FEATURES], train["label"])
    return train, test, ood, model


def _yes_no(frame):
    return frame.assign(label=np.where(frame["label"] == 1, "yes", "no"))


def _ece(y, p, n_bins=15):
    """Equal-width-bin ECE of the positive class, by hand."""
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        inside = bins == b
        if inside.any():
            total += inside.mean() * abs(y[inside].mean() - p[inside].mean())
    return total


# ---------------------------------------------------------------------- item 1: labels
def test_labels_that_are_not_the_models_classes_are_refused_before_any_check(frames, tmp_path):
    train, test, _, model = frames
    audit = Audit(model, {"train": train, "test": _yes_no(test)}, target="label", sensitive_features=["sex"],
                  progress=False)
    with pytest.raises(AssayInputError) as info:
        audit.run(tmp_path / "run")
    message = str(info.value)
    for words in ("'label' of data['test']", "[0, 1]", "['no', 'yes']", "map {'no': 0, 'yes': 1}"):
        assert words in message, message
    assert not (tmp_path / "run").exists()  # refused while building the context: no check ran


def test_labels_are_checked_on_every_labelled_split(frames):
    train, test, ood, model = frames
    with pytest.raises(AssayInputError, match=r"'label' of data\['train'\]"):
        audit_inputs({"train": _yes_no(train), "test": test}, target="label", model=wrap(model))
    with pytest.raises(AssayInputError, match=r"data\['ood'\].*\[2\]"):
        audit_inputs({"test": test, "ood": ood.assign(label=2)}, target="label", model=wrap(model))


def test_labels_of_a_model_with_text_classes(frames):
    train, test, _, _ = frames
    model = LogisticRegression().fit(train[FEATURES], _yes_no(train)["label"])
    with pytest.raises(AssayInputError, match=r"map \{0: 'no', 1: 'yes'\}"):
        audit_inputs({"test": test}, target="label", model=wrap(model))
    splits = audit_inputs({"test": _yes_no(test)}, target="label", model=wrap(model))
    assert set(splits["test"][1]) == {"no", "yes"}


def test_labels_of_a_model_whose_classes_are_its_output_indices(frames):
    _, test, _, model = frames
    scores = wrap(lambda X: model.predict_proba(X[FEATURES]), output="probabilities")  # classes unknown
    with pytest.raises(AssayInputError, match=r"indices 0\.\.k-1.*\{'no': 0, 'yes': 1\}"):
        audit_inputs({"test": _yes_no(test)}, target="label", model=scores)
    assert audit_inputs({"test": test}, target="label", model=scores)["test"][1] is not None


def test_correctly_coded_numbers_are_unchanged(frames):
    train, test, ood, model = frames
    data = {"train": train, "test": test, "ood": ood.drop(columns="label")}
    result = Audit(model, data, target="label", sensitive_features=["sex"], checks=["calibration", "ood"],
                   progress=False).run()
    p = model.predict_proba(test[FEATURES])[:, 1]
    assert result.records["calibration"]["summary"]["overall_ece"] == pytest.approx(
        _ece(test["label"].to_numpy(), p), abs=1e-12)
    # the same numbers as with the model's columns given explicitly, as (X, y) tuples
    explicit = {"train": (train[FEATURES], train["label"], train[["sex"]]),
                "test": (test[FEATURES], test["label"], test[["sex"]]), "ood": ood[FEATURES]}
    again = Audit(model, explicit, checks=["calibration", "ood"], progress=False).run()
    for check, key in (("calibration", "overall_ece"), ("ood", "aurc")):
        assert result.records[check]["summary"][key] == again.records[check]["summary"][key]


# ---------------------------------------------------------------------- item 14: features
def test_an_unaware_model_is_not_fed_the_sensitive_columns(frames):
    train, test, _, model = frames
    result = Audit(model, {"train": train, "test": test}, target="label", sensitive_features=["sex"],
                   progress=False).run()
    assert all(r["status"] == "ok" for r in result.records.values()), {
        k: r.get("error") for k, r in result.records.items()}
    assert "group_performance" in result.records and "fairness" in result.records
    splits = audit_inputs({"test": test}, target="label", sensitive_features="sex", model=wrap(model))
    assert list(splits["test"][0].columns) == FEATURES
    assert list(splits["test"][2].columns) == ["sex"]


def test_features_given_explicitly(frames):
    train, test, _, model = frames
    scores = wrap(lambda X: model.predict_proba(X.to_numpy()), output="probabilities")  # no feature names
    splits = audit_inputs({"test": test}, target="label", sensitive_features="sex", model=scores,
                          features=["x1", "x2"])
    assert list(splits["test"][0].columns) == FEATURES
    with pytest.raises(AssayInputError, match=r"did not expect \['sex'\]"):
        audit_inputs({"test": test}, target="label", model=wrap(model), features=["x1", "x2", "sex"])
    with pytest.raises(AssayInputError, match=r"lacks \['x2'\]"):
        audit_inputs({"test": test}, target="label", model=wrap(model), features="x1")
    with pytest.raises(AssayInputError, match="'features' names the target"):
        audit_inputs({"test": test}, target="label", features=["x1", "label"])
    with pytest.raises(AssayInputError, match="pass DataFrames"):
        audit_inputs({"test": (test[FEATURES].to_numpy(), test["label"])}, features=FEATURES)


# ---------------------------------------------------------------------- item 18: missing columns
def test_a_split_without_the_models_columns_is_refused_when_read(frames):
    train, test, ood, model = frames
    data = {"train": train, "test": test, "ood:far": ood.drop(columns=["x2", "label"])}
    with pytest.raises(AssayInputError) as info:
        Audit(model, data, target="label", progress=False).run()
    message = str(info.value)
    assert "data['ood:far']" in message and "['x2']" in message and "feature_names_in_" in message
    unnamed = LogisticRegression().fit(train[FEATURES].to_numpy(), train["label"])
    with pytest.raises(AssayInputError, match=r"X of data\['ood'\] has 1 column.*fitted on 2"):
        audit_inputs({"test": (test[FEATURES].to_numpy(), test["label"]), "ood": ood[["x1"]].to_numpy()},
                     model=wrap(unnamed))


# ---------------------------------------------------------------------- item 19: continuous sensitive
def test_a_continuous_sensitive_feature_is_refused_with_a_hint(frames):
    train, test, _, model = frames
    with pytest.raises(AssayInputError) as info:
        Audit(model, {"train": train, "test": test}, target="label", sensitive_features=["age"]).run()
    message = str(info.value)
    for words in ("'age'", "62 distinct values", "pd.qcut", "bin_sensitive=4"):
        assert words in message, message
    # a numeric attribute with few values is a group code, accepted as it is
    coded = test.assign(age=test["age"] // 20)
    assert audit_inputs({"test": coded}, target="label", sensitive_features="age")["test"][2]["age"].nunique() == 4


def test_bin_sensitive_groups_by_quantiles_of_the_training_split(frames):
    train, test, _, model = frames
    splits = audit_inputs({"train": train, "test": test}, target="label", sensitive_features=["age", "sex"],
                          model=wrap(model), bin_sensitive=4)
    edges = np.quantile(train["age"], [0.25, 0.5, 0.75])
    expected = np.searchsorted(edges, test["age"].to_numpy(), side="right")
    codes = pd.Categorical(splits["test"][2]["age"], categories=sorted(
        splits["train"][2]["age"].unique(), key=lambda s: float(s.split(",")[0][1:]))).codes
    np.testing.assert_array_equal(codes, expected)
    assert splits["train"][2]["age"].nunique() == 4 and set(splits["test"][2]["sex"]) == {"F", "M"}
    result = Audit(model, {"train": train, "test": test}, target="label", sensitive_features="age",
                   bin_sensitive=4, checks=["group_performance"], progress=False).run()
    assert result.records["group_performance"]["status"] == "ok"
    with pytest.raises(AssayInputError, match="'bin_sensitive'"):
        audit_inputs({"test": test}, target="label", sensitive_features="age", bin_sensitive=1)


def test_bin_by_quantiles_by_hand():
    binned = bin_by_quantiles(np.arange(1, 9), 4)  # quartiles of 1..8: 2.75, 4.5, 6.25
    assert binned.tolist() == ["(-inf, 2.75)"] * 2 + ["[2.75, 4.5)"] * 2 + ["[4.5, 6.25)"] * 2 + ["[6.25, inf)"] * 2
    other = bin_by_quantiles([0, 5, 100], 4, reference=np.arange(1, 9))
    assert other.tolist() == ["(-inf, 2.75)", "[4.5, 6.25)", "[6.25, inf)"]
    with pytest.raises(AssayInputError, match="'values' must be numbers"):
        bin_by_quantiles(["a", "b"], 2)


# ---------------------------------------------------------------------- item 20: column names
def test_a_wrong_target_lists_the_columns_and_suggests(frames):
    _, test, _, _ = frames
    wide = pd.concat([pd.DataFrame({f"feature_{i}": np.zeros(len(test)) for i in range(40)}), test], axis=1)
    with pytest.raises(AssayInputError) as info:
        audit_inputs({"test": wide}, target="lable")
    message = str(info.value)
    assert "'target' 'lable' is not a column of data['test']" in message
    assert "46 column(s): 'label'" in message and "Did you mean 'label'?" in message


def test_comma_joined_sensitive_features_are_split(frames):
    _, test, _, _ = frames
    splits = audit_inputs({"test": test}, target="label", sensitive_features="sex, race")
    assert list(splits["test"][2].columns) == ["sex", "race"]
    odd = test.rename(columns={"race": "sex,race"})
    splits = audit_inputs({"test": odd}, target="label", sensitive_features="sex,race")  # a column's own name
    assert list(splits["test"][2].columns) == ["sex,race"]
    with pytest.raises(AssayInputError, match=r"'sensitive_features' names \['rase'\].*Did you mean 'race'"):
        audit_inputs({"test": test}, target="label", sensitive_features="sex,rase")


# ---------------------------------------------------------------------- items 11, 21: data check
def test_the_data_check_knows_the_models_features(frames):
    train, test, _, model = frames
    data = {"train": train, "test": test}
    result = Audit(model, data, target="label", sensitive_features=["sex"], checks=["data_quality"],
                   progress=False).run()
    summary = result.records["data_quality"]["summary"]
    assert not any(f["check"] == "sensitive_in_features" for f in summary["findings"])
    assert "Target: label." in summary["datasheet"] and "__target__" not in summary["datasheet"]
    sizes = [f["message"] for f in summary["findings"] if f["check"] == "group_sizes"]
    assert sizes and "training data" in sizes[0] and "sex = " in sizes[0]
    fed = {k: (v[["x1", "x2", "sex"]], v["label"].to_numpy(), v[["sex"]]) for k, v in data.items()}
    result = Audit(None, fed, checks=["data_quality"], progress=False).run()
    summary = result.records["data_quality"]["summary"]
    assert any(f["check"] == "sensitive_in_features" for f in summary["findings"])
    assert "Target: the label." in summary["datasheet"]


def test_duplicate_column_names_are_refused(frames):
    # issue 12 item 6: a raw TypeError before
    _, test, _, _ = frames
    twice = pd.concat([test, test[["sex"]]], axis=1)
    with pytest.raises(AssayInputError, match=r"X of data\['test'\] has duplicate column names \['sex'\]"):
        audit_inputs({"test": twice}, target="label", sensitive_features="sex")


def test_numeric_looking_text_groups_are_not_continuous(frames):
    # a code written as text (e.g. region "01".."40") is a label, not a number to bin
    _, test, _, _ = frames
    coded = test.assign(age=test["age"].map("{:03d}".format))
    splits = audit_inputs({"test": coded}, target="label", sensitive_features="age")
    assert splits["test"][2]["age"].nunique() == test["age"].nunique() > 20
    as_category = test.assign(age=test["age"].astype("category"))  # as load_table reads it
    with pytest.raises(AssayInputError, match="'age'.*distinct values"):
        audit_inputs({"test": as_category}, target="label", sensitive_features="age")
    with pytest.raises(AssayInputError, match="'age'.*distinct values"):  # a tuple split with a Series
        audit_inputs({"test": (test[FEATURES], test["label"], test["age"])})
