"""Cross-checks against Fairlearn and AIF360 on real predictions: a logistic model on Adult."""

import json
import logging
import warnings

import fairlearn.metrics as flm
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from numpy.testing import assert_allclose

import assay.fairness as af
from assay.datasets import load_adult
from assay.models import train_sklearn_model

TOL = 1e-12
METHODS = ["between_groups", "to_overall"]
FEATURES = ["sex", "race", "sex x race"]


@pytest.fixture(scope="module")
def adult():
    data = load_adult()
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    y_true = data.test.y.to_numpy()
    y_pred = model.predict(data.test.X)
    y_score = model.predict_proba(data.test.X)[:, 1]
    sf = data.test.sensitive_features[["sex", "race"]].astype(str).reset_index(drop=True)
    weights = np.random.default_rng(0).integers(1, 6, size=len(y_true)).astype(float)
    return {"y_true": y_true, "y_pred": y_pred, "y_score": y_score, "sf": sf, "w": weights,
            "X": data.test.X}


def _sf(adult, feature):
    """One column for a feature, the DataFrame of both (an intersection for Fairlearn) otherwise."""
    return adult["sf"] if feature == "sex x race" else adult["sf"][feature]


#: Fairlearn's named functions are slow (a pandas groupby per call): they are checked on each
#: (method, weights) combination once, over single features and the intersection; every
#: combination on every feature is checked against MetricFrame's difference()/ratio() below.
NAMED_CASES = [
    ("sex", "between_groups", False), ("race", "to_overall", True),
    ("sex x race", "between_groups", True), ("sex x race", "to_overall", False),
]


@pytest.mark.parametrize("feature,method,weighted", NAMED_CASES)
def test_fairlearn_named_functions_equal(adult, feature, method, weighted):
    y, p = adult["y_true"], adult["y_pred"]
    kw = {"sensitive_features": _sf(adult, feature), "method": method,
          "sample_weight": adult["w"] if weighted else None}
    for name in ["demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference",
                 "equalized_odds_ratio", "equal_opportunity_difference"]:
        expected = getattr(flm, name)(y, p, **kw)
        assert getattr(af, name)(y, p, **kw) == pytest.approx(expected, abs=TOL), name


def _error_rate(y_true, y_pred, sample_weight=None):
    return 1 - skm.accuracy_score(y_true, y_pred, sample_weight=sample_weight)


def _base_rate(y_true, y_pred, sample_weight=None):
    return np.average(np.asarray(y_true) == 1, weights=sample_weight)


FRAME_METRICS = {
    "selection_rate": flm.selection_rate, "base_rate": _base_rate, "tpr": flm.true_positive_rate,
    "fpr": flm.false_positive_rate, "fnr": flm.false_negative_rate, "ppv": skm.precision_score,
    "error_rate": _error_rate,
}


@pytest.fixture(scope="module")
def frames(adult):
    """Fairlearn MetricFrames by (feature, weighted), built once."""
    cache = {}

    def get(feature, weighted):
        if (feature, weighted) not in cache:
            params = {k: {"sample_weight": adult["w"]} for k in FRAME_METRICS} if weighted else None
            frame = flm.MetricFrame(metrics=FRAME_METRICS, y_true=adult["y_true"], y_pred=adult["y_pred"],
                                    sensitive_features=_sf(adult, feature), sample_params=params)
            cache[feature, weighted] = frame
        return cache[feature, weighted]

    return get


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("feature", FEATURES)
def test_measures_equal_metricframe_aggregates(adult, frames, feature, method, weighted):
    y, p = adult["y_true"], adult["y_pred"]
    frame = frames(feature, weighted)
    diff, ratio = frame.difference(method=method), frame.ratio(method=method)
    kw = {"sensitive_features": _sf(adult, feature), "method": method,
          "sample_weight": adult["w"] if weighted else None}
    expected = {
        af.demographic_parity_difference: diff["selection_rate"],
        af.demographic_parity_ratio: ratio["selection_rate"],
        af.equalized_odds_difference: max(diff["tpr"], diff["fpr"]),
        af.equalized_odds_ratio: min(ratio["tpr"], ratio["fpr"]),
        af.equal_opportunity_difference: diff["tpr"],
        af.equal_opportunity_ratio: ratio["tpr"],
        af.predictive_parity_difference: diff["ppv"],
        af.predictive_parity_ratio: ratio["ppv"],
        af.error_rate_difference: diff["error_rate"],
        af.false_negative_rate_difference: diff["fnr"],
        af.false_positive_rate_difference: diff["fpr"],
    }
    for function, value in expected.items():
        assert function(y, p, **kw) == pytest.approx(value, abs=TOL), function.__name__
    assert af.equalized_odds_difference(y, p, agg="mean", **kw) == pytest.approx(
        (diff["tpr"] + diff["fpr"]) / 2, abs=TOL)
    assert af.equalized_odds_ratio(y, p, agg="mean", **kw) == pytest.approx((ratio["tpr"] + ratio["fpr"]) / 2, abs=TOL)
    assert af.metric_difference(y, p, metric="base_rate", **kw) == pytest.approx(diff["base_rate"], abs=TOL)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_report_by_group_and_measures_equal_fairlearn(adult, frames, weighted):
    w = adult["w"] if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny intersections: undefined metrics are expected
        report = af.fairness_report(adult["y_true"], adult["y_pred"], sensitive_features=adult["sf"],
                                    sample_weight=w, privileged_groups={"sex": "Male", "race": "White"})
    for feature in FEATURES:
        frame = frames(feature, weighted)
        ours = report.by_group.xs(feature, level="feature")
        theirs = frame.by_group.copy()
        if isinstance(theirs.index, pd.MultiIndex):
            theirs.index = [" x ".join(map(str, key)) for key in theirs.index]
        theirs = theirs.loc[ours.index]
        for metric in FRAME_METRICS:
            assert_allclose(ours[metric].to_numpy(), theirs[metric].to_numpy(np.float64), rtol=0, atol=TOL,
                            err_msg=f"{feature} {metric}")
        assert_allclose(report.overall[list(FRAME_METRICS)].to_numpy(),
                        frame.overall[list(FRAME_METRICS)].to_numpy(np.float64), rtol=0, atol=TOL)
        table = report.table.xs(feature, level="feature")["value"]
        diff, ratio = frame.difference(), frame.ratio()
        assert table["demographic_parity_difference"] == pytest.approx(diff["selection_rate"], abs=TOL)
        assert table["demographic_parity_ratio"] == pytest.approx(ratio["selection_rate"], abs=TOL)
        assert table["equalized_odds_difference"] == pytest.approx(max(diff["tpr"], diff["fpr"]), abs=TOL)
        assert table["equalized_odds_ratio"] == pytest.approx(min(ratio["tpr"], ratio["fpr"]), abs=TOL)
        assert table["equal_opportunity_difference"] == pytest.approx(diff["tpr"], abs=TOL)
        assert table["base_rate_ratio"] == pytest.approx(ratio["base_rate"], abs=TOL)
    assert json.dumps(report.to_dict(), allow_nan=False)


def test_report_rows_equal_the_plain_functions(adult):
    y, p, s, sf = adult["y_true"], adult["y_pred"], adult["y_score"], adult["sf"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = af.fairness_report(y, p, sensitive_features=sf, y_score=s, method="to_overall",
                                    privileged_groups={"sex": "Male", "race": "White"})
        for feature, privileged in [("sex", "Male"), ("race", "White"), ("sex x race", ("Male", "White"))]:
            values = report.table.xs(feature, level="feature")["value"]
            kw = {"sensitive_features": _sf(adult, feature)}
            assert values["predictive_parity_difference"] == af.predictive_parity_difference(
                y, p, method="to_overall", **kw)
            assert values["treatment_equality_difference"] == af.treatment_equality_difference(
                y, p, method="to_overall", **kw)
            assert values["calibration_difference"] == pytest.approx(
                af.calibration_difference(y, s, method="to_overall", **kw), abs=TOL)
            kw["privileged_group"] = privileged
            assert values["disparate_impact"] == af.disparate_impact(y, p, **kw)
            assert values["disparate_impact_score"] == af.disparate_impact_score(y, p, **kw)
            assert values["statistical_parity_difference"] == af.statistical_parity_difference(y, p, **kw)
            assert values["average_odds_difference"] == af.average_odds_difference(y, p, **kw)
            assert values["label_disparate_impact"] == af.label_disparate_impact(y, **kw)
    overall = report.table.xs("overall", level="feature")["value"]
    assert overall["theil_index"] == pytest.approx(af.theil_index(y, p), abs=TOL)
    assert overall["generalized_entropy_index"] == pytest.approx(af.generalized_entropy_index(y, p), abs=TOL)


def test_calibration_by_group_equals_per_group_masks(adult):
    from assay.metrics import expected_calibration_error

    y, s, sex = adult["y_true"], adult["y_score"], adult["sf"]["sex"].to_numpy()
    series = af.calibration_by_group(y, s, sensitive_features=adult["sf"]["sex"], sample_weight=adult["w"])
    for group in ["Female", "Male"]:
        mask = sex == group
        expected = expected_calibration_error(y[mask], s[mask], sample_weight=adult["w"][mask])
        assert series[group] == pytest.approx(expected, abs=TOL)
    assert series["overall"] == pytest.approx(expected_calibration_error(y, s, sample_weight=adult["w"]), abs=TOL)


@pytest.fixture(scope="module")
def aif360_metrics():
    pytest.importorskip("aif360")
    logging.disable(logging.WARNING)  # aif360 logs optional-dependency notices on import
    try:
        from aif360.sklearn import metrics
    finally:
        logging.disable(logging.NOTSET)
    return metrics


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("feature,privileged", [("sex", "Male"), ("race", "White")])
def test_aif360_measures_equal(adult, aif360_metrics, feature, privileged, weighted):
    am = aif360_metrics
    w = adult["w"] if weighted else None
    y, p = adult["y_true"], adult["y_pred"]
    y_indexed = pd.Series(y, index=pd.Index(adult["sf"][feature].to_numpy(), name=feature))
    theirs = {"prot_attr": feature, "priv_group": privileged, "sample_weight": w}
    ours = {"sensitive_features": adult["sf"][feature], "privileged_group": privileged, "sample_weight": w}
    di = af.disparate_impact(y, p, **ours)
    assert di == pytest.approx(am.disparate_impact_ratio(y_indexed, p, **theirs), abs=TOL)
    assert af.disparate_impact_score(y, p, **ours) == pytest.approx(1 - min(di, 1 / di), abs=TOL)
    assert af.statistical_parity_difference(y, p, **ours) == pytest.approx(
        am.statistical_parity_difference(y_indexed, p, **theirs), abs=TOL)
    assert af.average_odds_difference(y, p, **ours) == pytest.approx(
        am.average_odds_difference(y_indexed, p, **theirs), abs=TOL)
    assert af.privileged_difference(y, p, metric="tpr", **ours) == pytest.approx(
        am.equal_opportunity_difference(y_indexed, p, **theirs), abs=TOL)
    assert af.label_disparate_impact(y, **ours) == pytest.approx(
        am.disparate_impact_ratio(y_indexed, **theirs), abs=TOL)


def test_aif360_inequality_indices_and_consistency_equal(adult, aif360_metrics):
    am = aif360_metrics
    y, p = adult["y_true"], adult["y_pred"]
    for alpha in [2, 1, 0.5, 3]:
        assert af.generalized_entropy_index(y, p, alpha=alpha) == pytest.approx(
            am.generalized_entropy_error(y, p, alpha=alpha), rel=1e-12)
    assert af.theil_index(y, p) == pytest.approx(am.theil_index(p - y + 1.0), rel=1e-12)
    # Consistency on the numeric Adult features (scaled; a small jitter breaks distance ties,
    # which the two neighbour searches may order differently).
    numeric = adult["X"][["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]]
    X = ((numeric - numeric.mean()) / numeric.std()).to_numpy()[:3000]
    X = X + np.random.default_rng(0).normal(scale=1e-6, size=X.shape)
    assert af.consistency_score(X, p[:3000], n_neighbors=5) == pytest.approx(
        am.consistency_score(X, p[:3000], n_neighbors=5), abs=TOL)
