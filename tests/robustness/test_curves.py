"""robustness_curve: every number equals a direct recomputation on the corrupted inputs;
mCE and the fastest-falling group by hand; image and tabular inputs; the adapter's cache untouched."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import assay
from assay import AssayInputError
from assay.metrics import evaluate_groups
from assay.metrics.intervals import wilson_interval
from assay.robustness import get_corruption, robustness_curve
from assay.robustness.curves import degradation, mean_corruption_error


@pytest.fixture(scope="module")
def adult():
    from assay.datasets import load_adult
    from assay.models import train_sklearn_model

    data = load_adult()
    model = train_sklearn_model(data.train.X.iloc[:3000], data.train.y.iloc[:3000],
                                categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    return model, data.test.X.iloc[:2000], data.test.y.iloc[:2000], data.test.sensitive_features.iloc[:2000][["sex"]]


@pytest.fixture(scope="module")
def images():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 3)).double().eval()
    X = torch.rand(300, 3, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        y = model(X).argmax(1).numpy()
    groups = np.where(np.arange(300) % 3 == 0, "a", "b")
    return model, X, y, groups


def test_tabular_curve_equals_a_direct_recomputation(adult):
    model, X, y, sf = adult
    dropout = get_corruption("feature_dropout", columns=["capital_gain"])  # one column: no randomness
    result = robustness_curve(model, X, y, corruptions=[dropout], severities=[1, 5], sensitive_features=sf,
                              metrics=["accuracy", "tpr"], n_boot=50, random_state=0)
    table = result.to_frame()
    assert list(table.columns) == ["corruption", "severity", "feature", "group", "metric", "value", "lower",
                                   "upper", "count", "small"]
    for corruption, severity, data in (("clean", 0, X), ("feature_dropout", 5, dropout(X, 5, 0))):
        pred = model.predict(data)
        direct = evaluate_groups(y.to_numpy(), pred, sensitive_features=sf, metrics=["accuracy", "tpr"])
        rows = table[(table["corruption"] == corruption) & (table["severity"] == severity)].set_index(
            ["feature", "group", "metric"])["value"]
        assert rows[("overall", "all", "accuracy")] == pytest.approx(np.mean(pred == y.to_numpy()), abs=1e-12)
        for group in ("Female", "Male"):
            assert rows[("sex", group, "accuracy")] == pytest.approx(direct.by_group.loc[("sex", group), "accuracy"])
            assert rows[("sex", group, "tpr")] == pytest.approx(direct.by_group.loc[("sex", group), "tpr"])
    assert ((table["lower"] <= table["value"] + 1e-12) & (table["value"] <= table["upper"] + 1e-12)).all()
    assert result.mce is None and result.slices is None


def test_accuracy_only_curve_shares_one_table_per_corruption_and_equals_a_direct_recomputation(adult):
    # Accuracy alone takes the path where all severities of a corruption go through one grouped table
    # (as per-row "correct" values): every group and intersection must equal a table per sweep.
    model, X, y, sf = adult
    sf = sf.assign(race=np.where(np.arange(len(sf)) % 4 == 0, "r1", "r2"))
    noise = get_corruption("numeric_noise")
    severities = [1, 3, 5]
    result = robustness_curve(model, X, y, corruptions=[noise], severities=severities, sensitive_features=sf,
                              n_boot=100, random_state=0)
    table = result.to_frame()
    assert set(table["metric"]) == {"accuracy"}
    for k, severity in enumerate(severities):
        seed = int(np.random.default_rng([0, 0, severity]).integers(2**63 - 1))
        pred = model.predict(noise(X, severity, random_state=seed))
        direct = evaluate_groups(y.to_numpy(), pred, sensitive_features=sf, metrics=["accuracy"])
        rows = table[(table["corruption"] == "numeric_noise") & (table["severity"] == severity)].set_index(
            ["feature", "group"])
        assert rows.loc[("overall", "all"), "value"] == pytest.approx(direct.overall["accuracy"], abs=1e-12)
        for key, value in direct.by_group["accuracy"].items():
            assert rows.loc[(key[0], str(key[1])), "value"] == pytest.approx(value, abs=1e-12)
            assert rows.loc[(key[0], str(key[1])), "count"] == direct.by_group.loc[key, "count"]
        assert len(rows) == len(direct.by_group) + 1
    assert ((table["lower"] <= table["value"] + 1e-12) & (table["value"] <= table["upper"] + 1e-12)).all()
    assert (table["upper"] > table["lower"]).any()


def test_image_curve_overall_has_wilson_intervals_and_no_cache_growth(images):
    model, X, y, _ = images
    adapter = assay.wrap(model)
    adapter.predict_proba(X)
    cached = len(adapter._cache)
    result = robustness_curve(adapter, X, y, corruptions=["contrast", "gaussian_noise"], random_state=0)
    assert len(adapter._cache) == cached and adapter.cache
    table = result.table
    assert set(table["feature"]) == {"overall"} and len(table) == 1 + 2 * 5
    assert table.iloc[0]["value"] == 1.0  # labels are the clean predictions
    contrast = get_corruption("contrast")(X, 3, 0)
    with torch.no_grad():
        correct = int((model(contrast).argmax(1).numpy() == y).sum())
    row = table[(table["corruption"] == "contrast") & (table["severity"] == 3)].iloc[0]
    low, high = wilson_interval(correct, len(y))
    assert (row["value"], row["lower"], row["upper"]) == pytest.approx((correct / len(y), float(low), float(high)))


def test_seeded_sweeps_repeat_and_differ_by_seed(images):
    model, X, y, groups = images
    kwargs = {"corruptions": ["gaussian_noise", "impulse_noise"], "severities": [5], "sensitive_features": groups,
                  "n_boot": 20}
    a = robustness_curve(model, X, y, random_state=1, **kwargs).table
    b = robustness_curve(model, X, y, random_state=1, **kwargs).table
    c = robustness_curve(model, X, y, random_state=2, **kwargs).table
    pd.testing.assert_frame_equal(a, b)
    assert not a["value"].equals(c["value"])


def test_degradation_fastest_and_mce_by_hand():
    rows = []
    for corruption, severity, (overall, a, b) in [
            ("clean", 0, (0.9, 0.9, 0.9)), ("blur", 1, (0.8, 0.85, 0.75)), ("blur", 2, (0.6, 0.8, 0.4)),
            ("noise", 1, (0.9, 0.9, 0.9)), ("noise", 2, (0.7, 0.6, 0.8))]:
        for feature, group, value in (("overall", "all", overall), ("g", "a", a), ("g", "b", b)):
            rows.append((corruption, severity, feature, group, "accuracy", value, np.nan, np.nan, 100, False))
    table = pd.DataFrame(rows, columns=["corruption", "severity", "feature", "group", "metric", "value", "lower",
                                        "upper", "count", "small"])
    deg = degradation(table).set_index(["corruption", "feature", "group"])
    assert deg.loc[("blur", "g", "b"), "drop"] == pytest.approx(0.5)
    assert deg.loc[("blur", "g", "b"), "slope"] == pytest.approx(np.polyfit([0, 1, 2], [0.9, 0.75, 0.4], 1)[0])
    from assay.robustness.curves import _fastest

    fastest = _fastest(deg.reset_index()).set_index("corruption")
    assert fastest.loc["blur", "group"] == "b" and fastest.loc["blur", "gap"] == pytest.approx(0.4)
    assert fastest.loc["noise", "group"] == "a"
    base = table.assign(value=table["value"] - 0.1)  # a worse baseline: errors + 0.1
    mce = mean_corruption_error(table, base)
    blur = (0.2 + 0.4) / (0.3 + 0.5)
    noise = (0.1 + 0.3) / (0.2 + 0.4)
    assert mce.loc[("overall", "all"), "mce"] == pytest.approx((blur + noise) / 2)
    rel_blur, rel_noise = (0.1 + 0.3) / (0.1 + 0.3), (0.0 + 0.2) / (0.0 + 0.2)
    assert mce.loc[("overall", "all"), "relative_mce"] == pytest.approx((rel_blur + rel_noise) / 2)


def test_fastest_skips_small_groups_and_survives_a_metric_undefined_everywhere():
    rows = []
    # h / x: the clean metric undefined (NaN), so every drop of feature h is NaN
    for corruption, severity, values in [("clean", 0, (0.9, 0.9, 0.9, np.nan)), ("blur", 1, (0.5, 0.8, 0.2, 0.5)),
                                         ("noise", 1, (0.8, 0.7, 0.85, 0.6))]:
        for (feature, group, small), value in zip((("g", "a", False), ("g", "b", False), ("g", "tiny", True),
                                                  ("h", "x", False)), values):
            rows.append((corruption, severity, feature, group, "accuracy", value, np.nan, np.nan, 50, small))
    table = pd.DataFrame(rows, columns=["corruption", "severity", "feature", "group", "metric", "value", "lower",
                                        "upper", "count", "small"])
    from assay.robustness.curves import _fastest

    fastest = _fastest(degradation(table)).set_index(["corruption", "feature"])
    # the small group falls most under blur (0.7) but large groups exist: b (0.1) and a (0.4) -> a, gap 0.3
    assert fastest.loc[("blur", "g"), "group"] == "a" and fastest.loc[("blur", "g"), "gap"] == pytest.approx(0.3)
    assert fastest.loc[("noise", "g"), "group"] == "b"
    # a feature whose metric is NaN everywhere: a row with a NaN drop, not an error
    assert np.isnan(fastest.loc[("blur", "h"), "drop"]) and np.isnan(fastest.loc[("blur", "h"), "gap"])
    assert list(fastest.index.get_level_values(0)) == ["blur", "blur", "noise", "noise"]  # order of appearance


def test_baseline_model_and_slices(adult):
    model, X, y, sf = adult
    kwargs = {"corruptions": ["unit_error", "numeric_noise"], "severities": [1, 3], "sensitive_features": sf, "n_boot": 0}
    own = robustness_curve(model, X, y, **kwargs)
    assert robustness_curve(model, X, y, baseline=own, **kwargs).mce == pytest.approx(1.0)
    from sklearn.dummy import DummyClassifier

    dummy = DummyClassifier(strategy="most_frequent").fit(X, y)
    result = robustness_curve(model, X, y, baseline=dummy, slices="workclass", **kwargs)
    errors = own.table[(own.table["feature"] == "overall") & (own.table["corruption"] != "clean")]
    dummy_error = 1 - np.mean(y.to_numpy() == dummy.predict(X))
    expected = np.mean([(1 - errors[errors["corruption"] == c]["value"]).sum() / (2 * dummy_error)
                        for c in ("unit_error", "numeric_noise")])
    assert result.mce == pytest.approx(expected)
    slices = result.slices.set_index(["feature", "group", "metric"])
    private = X["workclass"].astype(object).fillna("missing").to_numpy() == "Private"
    assert slices.loc[("workclass", "Private", "accuracy"), "value"] == pytest.approx(
        np.mean(model.predict(X)[private] == y.to_numpy()[private]))
    assert ("workclass x sex", "Private x Female", "accuracy") in slices.index


def test_bad_arguments_are_refused(adult):
    model, X, y, _sf = adult
    with pytest.raises(AssayInputError, match="'severity'"):
        robustness_curve(model, X, y, corruptions=["unit_error"], severities=[0])
    with pytest.raises(AssayInputError, match="image corruptions"):
        robustness_curve(model, X, y, corruptions=["rotate"])
    with pytest.raises(AssayInputError, match="Unknown corruption"):
        robustness_curve(model, X, y, corruptions=["fog"])
    with pytest.raises(AssayInputError, match="'metrics'"):
        robustness_curve(model, X, y, corruptions=["unit_error"], metrics=["tpr"])
    with pytest.raises(AssayInputError, match="'slices'"):
        robustness_curve(model, X, y, corruptions=["unit_error"], slices="nope")
    with pytest.raises(AssayInputError, match="'X'"):
        robustness_curve(model, X.to_numpy(), y)
