"""Grouped and intersectional tables, cross-checked against Fairlearn's MetricFrame."""

import json
import warnings
from functools import partial

import fairlearn.metrics as flm
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from numpy.testing import assert_allclose

from assay import AssayInputError, Result, UndefinedMetricWarning
from assay.metrics import GroupedMetrics, evaluate_groups, make_groups

LABEL_METRICS = [
    "accuracy", "error_rate", "balanced_accuracy", "selection_rate", "tpr", "fpr", "fnr", "tnr",
    "ppv", "npv", "fdr", "f1", "base_rate", "count",
]


def _nan_unless(has_rows):
    """Fairlearn's rate functions return 0 where the rate is 0/0; assay returns NaN."""

    def wrap(function):
        def metric(y_true, y_pred, sample_weight=None):
            mask = has_rows(np.asarray(y_true))
            weight = mask.sum() if sample_weight is None else np.asarray(sample_weight)[mask].sum()
            if weight == 0:
                return np.nan
            return function(y_true, y_pred, sample_weight=sample_weight, pos_label=1)

        return metric

    return wrap


def _one_minus(function):
    return lambda y_true, y_pred, sample_weight=None: 1 - function(y_true, y_pred, sample_weight=sample_weight)


def _base_rate(y_true, y_pred, sample_weight=None):
    return np.average(np.asarray(y_true) == 1, weights=sample_weight)


REFERENCE = {
    "accuracy": skm.accuracy_score,
    "error_rate": _one_minus(skm.accuracy_score),
    "balanced_accuracy": skm.balanced_accuracy_score,
    "selection_rate": flm.selection_rate,
    "tpr": partial(skm.recall_score, zero_division=np.nan),
    "fpr": _nan_unless(lambda y: y == 0)(flm.false_positive_rate),
    "fnr": _nan_unless(lambda y: y == 1)(flm.false_negative_rate),
    "tnr": _nan_unless(lambda y: y == 0)(flm.true_negative_rate),
    "ppv": partial(skm.precision_score, zero_division=np.nan),
    "npv": partial(skm.precision_score, pos_label=0, zero_division=np.nan),
    "fdr": _one_minus(partial(skm.precision_score, zero_division=np.nan)),
    "f1": partial(skm.f1_score, zero_division=np.nan),
    "base_rate": _base_rate,
    "count": flm.count,
}


def _random_case(seed):
    """Random binary data with sex (2) x race (3); every row of 'M x C' is negative."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 300))
    sf = pd.DataFrame({
        "sex": rng.choice(["F", "M"], n, p=[0.4, 0.6]),
        "race": rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2]),
    })
    sf.loc[:3, ["sex", "race"]] = [["F", "A"], ["M", "C"], ["F", "C"], ["M", "B"]]  # every cell present
    y_true = (rng.random(n) < rng.uniform(0.2, 0.7)).astype(int)
    y_true[((sf["sex"] == "M") & (sf["race"] == "C")).to_numpy()] = 0  # a group with no positives
    y_pred = np.where(rng.random(n) < 0.75, y_true, 1 - y_true)
    weights = rng.uniform(0.2, 3.0, n)
    return y_true, y_pred, sf, weights


def _metric_frame(y_true, y_pred, sf, weights):
    params = None
    if weights is not None:
        params = {m: {"sample_weight": weights} for m in REFERENCE if m != "count"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's own warnings on single-class groups
        return flm.MetricFrame(
            metrics=REFERENCE, y_true=y_true, y_pred=y_pred, sensitive_features=sf, sample_params=params
        )


def _ours_for(result, feature, reference_index):
    """Our rows of one feature, in the order of Fairlearn's index (tuples for intersections)."""
    labels = [" x ".join(k) if isinstance(k, tuple) else str(k) for k in reference_index]
    return result.by_group.loc[feature].loc[labels, LABEL_METRICS]


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_fairlearn_metric_frame(seed, weighted):
    y_true, y_pred, sf, weights = _random_case(seed)
    w = weights if weighted else None
    with pytest.warns(UndefinedMetricWarning) as record:
        result = evaluate_groups(y_true, y_pred, sensitive_features=sf, metrics=LABEL_METRICS, sample_weight=w)
    undefined = {str(w.message) for w in record}
    for metric in ("tpr", "fnr"):
        assert any(m.startswith(f"'{metric}' is undefined for group(s) ") and "'M x C'" in m for m in undefined)
    assert result.features == ("sex", "race", "sex x race")

    for feature, columns in [("sex", "sex"), ("race", "race"), ("sex x race", ["sex", "race"])]:
        mf = _metric_frame(y_true, y_pred, sf[columns], w)
        expected = mf.by_group.dropna(subset=["count"])
        ours = _ours_for(result, feature, expected.index)
        assert len(ours) == len(result.by_group.loc[feature])  # same set of groups
        assert_allclose(ours.to_numpy(float), expected[LABEL_METRICS].to_numpy(float), rtol=0, atol=1e-12)
        assert_allclose(result.overall[LABEL_METRICS].to_numpy(float),
                        mf.overall[LABEL_METRICS].to_numpy(float), rtol=0, atol=1e-12)
        for method in ("between_groups", "to_overall"):
            assert_allclose(result.difference(method).loc[feature, LABEL_METRICS].to_numpy(float),
                            mf.difference(method=method)[LABEL_METRICS].to_numpy(float),
                            rtol=0, atol=1e-12, err_msg=f"difference {method} {feature}")
            assert_allclose(result.ratio(method).loc[feature, LABEL_METRICS].to_numpy(float),
                            mf.ratio(method=method)[LABEL_METRICS].to_numpy(float),
                            rtol=0, atol=1e-12, err_msg=f"ratio {method} {feature}")
        assert_allclose(result.group_min().loc[feature, LABEL_METRICS].to_numpy(float),
                        mf.group_min()[LABEL_METRICS].to_numpy(float), rtol=0, atol=1e-12)
        assert_allclose(result.group_max().loc[feature, LABEL_METRICS].to_numpy(float),
                        mf.group_max()[LABEL_METRICS].to_numpy(float), rtol=0, atol=1e-12)

    # the group without positives is NaN, not 0
    row = result.by_group.loc[("sex x race", "M x C")]
    assert np.isnan(row["tpr"]) and np.isnan(row["fnr"]) and row["base_rate"] == 0


def test_ece_by_group_matches_per_group_computation():
    from assay.metrics import expected_calibration_error

    rng = np.random.default_rng(0)
    n = 500
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["A", "B"], n)})
    prob = rng.dirichlet(np.ones(3), n)
    y_true = rng.integers(0, 3, n)
    w = rng.uniform(0.5, 2.0, n)
    result = evaluate_groups(y_true, y_score=prob, sensitive_features=sf, metrics="ece", sample_weight=w, n_bins=10)
    for (feature, group), value in result.by_group["ece"].items():
        columns = feature.split(" x ")
        mask = np.all([sf[c].to_numpy() == g for c, g in zip(columns, group.split(" x "))], axis=0)
        assert_allclose(value, expected_calibration_error(y_true[mask], prob[mask], n_bins=10, sample_weight=w[mask]),
                        rtol=0, atol=1e-12)
    assert_allclose(result.overall["ece"], expected_calibration_error(y_true, prob, n_bins=10, sample_weight=w),
                    rtol=0, atol=1e-12)
    assert result.by_group["count"].loc["sex"].sum() == n


# ---------------------------------------------------------------------------------------------
# make_groups
# ---------------------------------------------------------------------------------------------


def test_make_groups_codes_labels_and_order():
    sf = pd.DataFrame({"sex": ["M", "F", "M", "F", "M"], "race": ["B", "B", "A", "A", "B"], "age": [2, 1, 1, 1, 2]})
    groups = make_groups(sf)
    assert groups.names == ("sex", "race", "age", "sex x race", "sex x age", "race x age", "sex x race x age")
    sex = groups["sex"]
    assert sex.labels == ("F", "M") and sex.codes.tolist() == [1, 0, 1, 0, 1]
    inter = groups["sex x race"]
    assert inter.labels == (("F", "A"), ("F", "B"), ("M", "A"), ("M", "B"))
    assert inter.label_strings == ("F x A", "F x B", "M x A", "M x B")
    assert inter.codes.tolist() == [3, 1, 2, 0, 3]
    # only present combinations; cells are the 3-way intersection
    assert groups["sex x race x age"].labels == (("F", "A", "1"), ("F", "B", "1"), ("M", "A", "1"), ("M", "B", "2"))
    assert groups.cells.n_groups == 4
    for grouping in groups:  # every grouping is a union of cells
        assert np.array_equal(grouping.cell_map[groups.cells.codes], grouping.codes)
    assert make_groups(sf, intersections=False).names == ("sex", "race", "age")


def test_make_groups_rejects_single_group_and_bad_flag():
    with pytest.raises(AssayInputError, match="'sensitive_features' column 'sex' has a single group"):
        make_groups({"sex": ["F", "F"], "race": ["A", "B"]})
    with pytest.raises(AssayInputError, match="'intersections' parameter of make_groups must be a bool"):
        make_groups({"sex": ["F", "M"]}, intersections="yes")


# ---------------------------------------------------------------------------------------------
# GroupedMetrics
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def small_result():
    # sex F: rows 0-3, M: rows 4-9; race A/B alternating
    y_true = np.array([1, 1, 0, 0, 1, 1, 1, 0, 0, 0])
    y_pred = np.array([1, 0, 0, 1, 1, 1, 1, 0, 0, 1])
    sf = {"sex": ["F"] * 4 + ["M"] * 6, "race": ["A", "B"] * 5}
    return evaluate_groups(y_true, y_pred, sensitive_features=sf, metrics=["accuracy", "fpr", "selection_rate"],
                           min_group_size=3)


def test_result_layout(small_result):
    r = small_result
    assert isinstance(r, Result) and isinstance(r, GroupedMetrics)
    assert list(r.by_group.index.names) == ["feature", "group"]
    assert list(r.by_group.columns) == ["accuracy", "fpr", "selection_rate", "count", "small"]
    assert list(r.by_group.index) == [
        ("sex", "F"), ("sex", "M"), ("race", "A"), ("race", "B"),
        ("sex x race", "F x A"), ("sex x race", "F x B"), ("sex x race", "M x A"), ("sex x race", "M x B"),
    ]
    assert r.by_group["count"].tolist() == [4, 6, 5, 5, 2, 2, 3, 3]
    assert r.by_group["small"].tolist() == [False, False, False, False, True, True, False, False]
    assert r.overall["accuracy"] == pytest.approx(0.7) and r.overall["count"] == 10
    assert r.higher_is_better == {"accuracy": True, "fpr": False, "selection_rate": None}


def test_aggregates_by_hand(small_result):
    r = small_result
    # accuracy: F 2/4, M 5/6; fpr: F 1/2, M 1/3
    assert r.difference().loc["sex", "accuracy"] == pytest.approx(5 / 6 - 1 / 2)
    assert r.ratio().loc["sex", "fpr"] == pytest.approx((1 / 3) / (1 / 2))
    assert r.difference("to_overall").loc["sex", "accuracy"] == pytest.approx(0.7 - 0.5)
    worst = r.worst_group()
    assert worst.loc[("sex", "accuracy"), "group"] == "F"  # higher is better: the lowest
    assert worst.loc[("sex", "fpr"), "group"] == "F"  # lower is better: the highest
    assert ("sex", "selection_rate") not in worst.index  # no direction
    assert list(r.difference(feature="sex").index) == ["sex"]
    # accuracy by sex x race: F x A 1, F x B 0 (2 rows each: small), M x A 1, M x B 2/3.
    # Small groups can be left out of aggregates, never out of by_group.
    assert r.group_min(feature="sex x race").loc["sex x race", "accuracy"] == 0
    assert r.group_min(feature="sex x race", include_small=False).loc["sex x race", "accuracy"] == pytest.approx(2 / 3)
    assert worst.loc[("sex x race", "accuracy")].tolist() == ["F x B", 0.0, 2, True]
    assert r.worst_group(include_small=False).loc[("sex x race", "accuracy")].tolist() == ["M x B", 2 / 3, 3, False]


def test_to_frame_is_gender_shades_layout_and_to_dict_is_json(small_result):
    frame = small_result.to_frame()
    assert list(frame.index) == ["accuracy", "fpr", "selection_rate", "count"]
    assert frame.columns[0] == ("overall", "all") and frame.columns[-1] == ("sex x race", "M x B")
    assert frame.loc["accuracy", ("sex", "M")] == pytest.approx(5 / 6)
    record = json.loads(json.dumps(small_result.to_dict()))
    assert record["type"] == "GroupedMetrics"
    assert record["by_group"]["index"][4] == ["sex x race", "F x A"]
    assert record["overall"]["count"] == 10


def test_intersections_off():
    r = evaluate_groups([0, 1, 1, 0], [0, 1, 0, 0], sensitive_features={"a": [0, 0, 1, 1], "b": [0, 1, 0, 1]},
                        intersections=False, metrics="accuracy")
    assert r.features == ("a", "b")


# ---------------------------------------------------------------------------------------------
# Bad inputs name the argument
# ---------------------------------------------------------------------------------------------

Y = np.array([0, 1, 1, 0, 1, 0])
P = np.array([0, 1, 0, 0, 1, 1])
SF = {"sex": ["F", "M"] * 3}


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"metrics": ["accuracy", "acuracy"]}, r"'metrics' must name metrics among \[.*'accuracy'.*'tpr'.*\]. Got unknown name\(s\) \['acuracy'\]"),
        ({"metrics": []}, r"'metrics' must name at least one metric"),
        ({"y_true": [0, np.nan, 1, 0, 1, 0]}, r"'y_true' must contain only finite values"),
        ({"y_true": np.array([0, None, 1, 0, 1, 0], dtype=object)}, r"'y_true' must not contain missing values"),
        ({"y_pred": P[:5]}, r"y_true: 6, y_pred: 5"),
        ({"y_score": np.array([0.1, 0.2, 1.3, 0.4, 0.5, 0.6]), "metrics": "ece"}, r"'y_score' must hold probabilities"),
        ({"metrics": "ece"}, r"'y_score' is required for the metric\(s\) \['ece'\]"),
        ({"y_pred": None}, r"'y_pred' is required for the metric\(s\)"),
        ({"sensitive_features": {"sex": ["F"] * 6}}, r"'sensitive_features' column 'sex' has a single group"),
        ({"sensitive_features": {"sex": ["F", "M"] * 2}}, r"sensitive_features: 4, expected 6"),
        ({"y_true": [0, 1, 2, 0, 1, 0]}, r"'y_true' must hold at most two distinct labels.*binary-only"),
        ({"pos_label": 2}, r"'pos_label' must be one of the labels"),
        ({"y_pred": [0.1, 0.9, 0.3, 0.2, 0.8, 0.6]}, r"'y_pred' must hold at most two.*go in 'y_score'"),
        ({"sample_weight": [1, 1, -1, 1, 1, 1]}, r"'sample_weight' must hold non-negative"),
        ({"min_group_size": -1}, r"'min_group_size' parameter of evaluate_groups"),
        ({"n_bins": 0}, r"'n_bins' parameter of evaluate_groups"),
        ({"intersections": "no"}, r"'intersections' parameter of evaluate_groups must be a bool"),
        ({"y_score": np.full((6, 3), 1 / 3), "metrics": "ece", "y_true": [0, 1, 2, 3, 1, 0]},
         r"'y_true' must hold class indices 0..2 \(the columns of 'y_score'"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(kwargs, pattern):
    args = {"y_true": Y, "y_pred": P, "sensitive_features": SF, **kwargs}
    y_true, y_pred = args.pop("y_true"), args.pop("y_pred")
    with pytest.raises(AssayInputError, match=pattern):
        evaluate_groups(y_true, y_pred, **args)


def test_bad_aggregate_arguments(small_result):
    with pytest.raises(AssayInputError, match="'method' parameter of GroupedMetrics.difference"):
        small_result.difference("between")
    with pytest.raises(AssayInputError, match=r"'feature' must be one of \['sex', 'race', 'sex x race'\]"):
        small_result.ratio(feature="age")


# ---------------------------------------------------------------------------------------------
# relative_change: dense vs compressed
# ---------------------------------------------------------------------------------------------


def test_relative_change_layout_and_values(small_result):
    from assay.metrics import relative_change

    y_true = np.array([1, 1, 0, 0, 1, 1, 1, 0, 0, 0])
    pruned_pred = np.array([1, 1, 0, 1, 0, 1, 1, 0, 0, 1])
    sf = {"sex": ["F"] * 4 + ["M"] * 6, "race": ["A", "B"] * 5}
    pruned = evaluate_groups(y_true, pruned_pred, sensitive_features=sf,
                             metrics=["accuracy", "fpr", "selection_rate"], min_group_size=3)
    change = relative_change(small_result, pruned)
    assert change.index[0] == ("overall", "all") and list(change.index[1:]) == list(small_result.by_group.index)
    assert list(change.columns[:4]) == [("accuracy", q) for q in ("baseline", "other", "change", "relative_change")]
    assert list(change.columns[-2:]) == [("count", "baseline"), ("count", "other")]
    row = change.loc[("sex", "F")]
    # accuracy F: dense 2/4, pruned 3/4
    assert row[("accuracy", "baseline")] == pytest.approx(0.5) and row[("accuracy", "other")] == pytest.approx(0.75)
    assert row[("accuracy", "change")] == pytest.approx(0.25)
    assert row[("accuracy", "relative_change")] == pytest.approx(0.5)
    # a baseline of 0 has no relative change
    zero = change[change[("fpr", "baseline")] == 0]
    assert len(zero) and zero[("fpr", "relative_change")].isna().all()
    assert change.shape == (1 + len(small_result.by_group), 4 * 3 + 2)


def test_relative_change_refuses_tables_that_do_not_match(small_result):
    from assay.metrics import relative_change

    y_true = np.array([1, 1, 0, 0, 1, 1, 1, 0, 0, 0])
    sf = {"sex": ["F"] * 4 + ["M"] * 6, "race": ["A", "B"] * 5}
    other_metrics = evaluate_groups(y_true, y_true, sensitive_features=sf, metrics=["accuracy"])
    with pytest.raises(AssayInputError, match=r"'other' must have the same metrics as 'baseline'"):
        relative_change(small_result, other_metrics)
    other_groups = evaluate_groups(y_true, y_true, sensitive_features={"sex": sf["sex"]},
                                   metrics=["accuracy", "fpr", "selection_rate"])
    with pytest.raises(AssayInputError, match=r"'other' must have the same groups as 'baseline'. Missing groups"):
        relative_change(small_result, other_groups)
    with pytest.raises(AssayInputError, match=r"'baseline' must be a GroupedMetrics"):
        relative_change(small_result.by_group, small_result)


def test_evaluate_groups_is_grouped_stats_then_compute():
    from assay.metrics import GroupedStats

    y_true, y_pred, sf, weights = _random_case(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        direct = evaluate_groups(y_true, y_pred, sensitive_features=sf, metrics=LABEL_METRICS, sample_weight=weights)
        stats = GroupedStats().update(y_true, y_pred, sensitive_features=sf, sample_weight=weights)
        computed = stats.compute(LABEL_METRICS)
    assert json.dumps(direct.to_dict()) == json.dumps(computed.to_dict())
    assert direct.params["n_boot"] == 0 and direct.params["weighted"] is True


def test_a_gap_needs_two_defined_groups():
    import warnings as _warnings

    from assay.metrics import evaluate_groups as _evaluate

    # group B has no positives: its TPR is NaN, so the TPR gap between A and B is undefined
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        table = _evaluate([1, 0, 1, 0, 0, 0], [1, 0, 0, 1, 0, 1], sensitive_features={"g": list("AAABBB")},
                          metrics=["tpr", "accuracy"])
    assert np.isnan(table.difference().loc["g", "tpr"]) and np.isnan(table.ratio().loc["g", "tpr"])
    assert table.difference().loc["g", "accuracy"] == pytest.approx(2 / 3 - 1 / 3)  # A 2/3, B 1/3
