"""ROC AUC, log loss and Brier score in grouped tables: equal to scikit-learn per group and per
intersection, identical from arrays, batches, merges and Dask, exact bootstrap from histograms."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from assay import AssayInputError, UndefinedMetricWarning
from assay.metrics import (
    METRICS,
    GroupedStats,
    brier_score,
    evaluate_groups,
    evaluate_groups_batches,
    log_loss_score,
)
from assay.metrics import roc_auc_score as assay_roc_auc_score
from assay.metrics.scores import RankStats, roc_auc_by_group

SCORE_METRICS = ["roc_auc", "log_loss", "brier"]


def _case(seed, k=1, n=None):
    """Scores of a k-class problem (k=1: 1-D binary, k=2: two columns) with sex x race."""
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(500, 900))
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2])})
    classes = max(k, 2)
    y = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes)) + 1.5 * np.eye(classes)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if seed % 2:  # coarse scores: many ties, within and across cells
        p = np.round(p, 1)
        p[:, -1] = 1.0 - p[:, :-1].sum(axis=1)
        p = np.clip(p, 0.0, 1.0)
        p /= p.sum(axis=1, keepdims=True)
    if k == 1:
        p = p[:, 1]
    w = rng.integers(1, 6, n).astype(float)
    return y, p, sf, w


def _reference(metric, y, p, w, k):
    if metric == "roc_auc":
        if k > 2:
            return roc_auc_score(y, p, multi_class="ovr", average="macro", sample_weight=w)
        return roc_auc_score(y, p if p.ndim == 1 else p[:, 1], sample_weight=w)
    if metric == "log_loss":
        return log_loss(y, p, sample_weight=w, labels=list(range(max(k, 2))))
    return brier_score_loss(y, p, sample_weight=w, labels=list(range(max(k, 2))))


def _masks(sf):
    """(feature, group label, row mask) of every group of the table, overall first."""
    yield "overall", "all", np.ones(len(sf), dtype=bool)
    for feature, columns in [("sex", ["sex"]), ("race", ["race"]), ("sex x race", ["sex", "race"])]:
        keys = sf[columns].astype(str).agg(" x ".join, axis=1).to_numpy()
        for label in np.unique(keys):
            yield feature, label, keys == label


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("weighted", [False, True])
def test_equal_sklearn_per_group_and_intersection(seed, k, weighted):
    y, p, sf, w = _case(seed, k)
    weights = w if weighted else None
    result = evaluate_groups(y, y_score=p, sensitive_features=sf, metrics=SCORE_METRICS, sample_weight=weights)
    frame = result.to_frame()
    checked = 0
    for feature, label, mask in _masks(sf):
        wg = None if weights is None else weights[mask]
        for metric in SCORE_METRICS:
            expected = _reference(metric, y[mask], p[mask], wg, k)
            assert frame.loc[metric, (feature, label)] == pytest.approx(expected, abs=1e-12, rel=0), (feature, label)
            checked += 1
    assert checked == 3 * (1 + 2 + 3 + 6)


def test_plain_functions_equal_sklearn():
    for k in (1, 2, 4):
        y, p, _, w = _case(3, k)
        for metric, function in (("roc_auc", assay_roc_auc_score), ("log_loss", log_loss_score),
                                 ("brier", brier_score)):
            for weights in (None, w):
                assert function(y, p, sample_weight=weights) == pytest.approx(
                    _reference(metric, y, p, weights, k), abs=1e-12, rel=0)


def test_hand_worked_values_with_ties():
    # positives 0.8, 0.4; negatives 0.4, 0.1: pairs won 1, 1, 1, and one tie (1/2) -> 3.5 / 4
    y, p = np.array([1, 1, 0, 0]), np.array([0.8, 0.4, 0.4, 0.1])
    assert assay_roc_auc_score(y, p) == 3.5 / 4
    assert brier_score(y, p) == pytest.approx((0.2**2 + 0.6**2 + 0.4**2 + 0.1**2) / 4, abs=1e-15)
    assert log_loss_score(y, p) == pytest.approx(-(np.log(0.8) + np.log(0.4) + np.log(0.6) + np.log(0.9)) / 4)
    # multiclass Brier is the sum over classes (not halved): one row, p = (0.5, 0.5, 0), y = 0
    assert brier_score([0, 1, 2], [[0.5, 0.5, 0.0], [0, 1, 0], [0, 0, 1]]) == pytest.approx(0.5 / 3)


def test_registry_directions_and_worst_group():
    assert METRICS["roc_auc"].higher_is_better is True
    assert METRICS["log_loss"].higher_is_better is False and METRICS["brier"].higher_is_better is False
    assert {METRICS[m].needs for m in SCORE_METRICS} == {"scores"}
    y, p, sf, _ = _case(0)
    result = evaluate_groups(y, y_score=p, sensitive_features=sf, metrics=SCORE_METRICS)
    worst = result.worst_group()
    for feature in ("sex", "race", "sex x race"):
        values = result.by_group.loc[feature]
        assert worst.loc[(feature, "roc_auc"), "group"] == values["roc_auc"].idxmin()
        assert worst.loc[(feature, "log_loss"), "group"] == values["log_loss"].idxmax()
        assert worst.loc[(feature, "brier"), "group"] == values["brier"].idxmax()
        for metric in SCORE_METRICS:
            column = values[metric]
            assert result.difference().loc[feature, metric] == column.max() - column.min()
            assert result.ratio().loc[feature, metric] == column.min() / column.max()


def test_single_class_group_is_nan_with_a_warning_naming_metric_and_group():
    y, p, sf, _ = _case(2)
    only_negatives = ((sf["sex"] == "M") & (sf["race"] == "C")).to_numpy()
    y[only_negatives] = 0
    with pytest.warns(UndefinedMetricWarning) as record:
        result = evaluate_groups(y, y_score=p, sensitive_features=sf, metrics=SCORE_METRICS)
    messages = [str(w.message) for w in record]
    assert any(m.startswith("'roc_auc' is undefined for group(s) 'M x C'") for m in messages)
    assert np.isnan(result.by_group.loc[("sex x race", "M x C"), "roc_auc"])
    assert result.by_group["roc_auc"].isna().sum() == 1  # only that group
    assert np.isfinite(result.by_group.loc[("sex x race", "M x C"), "log_loss"])  # losses stay defined
    # multiclass: a group lacking one class is NaN as well (sklearn refuses it)
    y, p, sf, _ = _case(4, k=3)
    y[(sf["race"] == "C").to_numpy() & (y == 2)] = 0
    with pytest.warns(UndefinedMetricWarning) as record:
        result = evaluate_groups(y, y_score=p, sensitive_features=sf, metrics=["roc_auc"])
    messages = {str(w.message) for w in record}
    assert "'roc_auc' is undefined for group(s) 'C' (y_true does not hold every class); its value is NaN." in messages
    assert np.isnan(result.by_group.loc[("race", "C"), "roc_auc"])
    assert result.by_group["roc_auc"].isna().sum() == 3  # C, F x C, M x C


def _json(result):
    return json.dumps(result.to_dict(), sort_keys=True)


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return function(*args, **kwargs)


@pytest.mark.parametrize("k", [1, 4])
def test_arrays_batches_merges_and_dask_give_identical_numbers(k):
    y, p, sf, _ = _case(5, k, n=1500)
    order = np.argsort(sf["race"].to_numpy(), kind="stable")  # the first batch lacks race C
    y, p, sf = y[order], p[order], sf.iloc[order].reset_index(drop=True)
    options = dict(metrics=[*SCORE_METRICS, "ece"], n_boot=40, random_state=11, min_group_size=10)
    whole = _quiet(evaluate_groups, y, y_score=p, sensitive_features=sf, **options)
    parts = np.array_split(np.arange(len(y)), 5)
    batches = [{"y_true": y[i], "y_score": p[i], "sensitive_features": sf.iloc[i]} for i in parts]
    assert _json(_quiet(evaluate_groups_batches, batches, **options)) == _json(whole)
    stats = [GroupedStats(keep_ranks=True).update(y[i], y_score=p[i], sensitive_features=sf.iloc[i]) for i in parts]
    merged = (stats[4] + stats[0]) + (stats[2] + (stats[3] + stats[1]))
    assert merged == GroupedStats(keep_ranks=True).update(y, y_score=p, sensitive_features=sf)
    assert _json(_quiet(merged.compute, **options)) == _json(whole)
    # another seed gives other intervals (the comparison above can fail)
    assert _json(_quiet(merged.compute, **{**options, "random_state": 12})) != _json(whole)

    dd = pytest.importorskip("dask.dataframe")
    import dask

    from assay.metrics import evaluate_groups_dask

    columns = [f"p{j}" for j in range(k)] if k > 1 else ["p0"]
    frame = pd.DataFrame({"y": y, **dict(zip(columns, p.reshape(len(y), -1).T)), **sf})
    with dask.config.set(scheduler="sync"):
        result = _quiet(evaluate_groups_dask, dd.from_pandas(frame, npartitions=6), y_true="y",
                        y_score=columns if k > 1 else "p0", sensitive_features=["sex", "race"],
                        split_every=2, **options)
    assert _json(result) == _json(whole)


def test_weighted_batches_agree():
    y, p, sf, w = _case(6, 4, n=1200)
    whole = evaluate_groups(y, y_score=p, sensitive_features=sf, sample_weight=w, metrics=SCORE_METRICS)
    batches = [(y[i], None, p[i], sf.iloc[i], w[i]) for i in np.array_split(np.arange(len(y)), 4)]
    parts = evaluate_groups_batches(batches, metrics=SCORE_METRICS)
    # integer weights: the histograms' weights are exact sums, so AUC is identical
    assert_array_equal(parts.by_group["roc_auc"].to_numpy(), whole.by_group["roc_auc"].to_numpy())
    # the loss sums are float sums of w * loss: equal to rounding
    np.testing.assert_allclose(parts.by_group[["log_loss", "brier"]].to_numpy(),
                               whole.by_group[["log_loss", "brier"]].to_numpy(), rtol=1e-13)


def test_seeded_bootstrap_is_identical_twice_and_leaves_other_intervals_unchanged():
    y, p, sf, w = _case(7)
    y_pred = (p > 0.5).astype(int)
    run = lambda metrics, seed=3, **kw: _quiet(evaluate_groups, y, y_pred, y_score=p, sensitive_features=sf,  # noqa: E731
                                               metrics=metrics, n_boot=60, random_state=seed, **kw)
    first, second = run(["tpr", "ece", *SCORE_METRICS]), run(["tpr", "ece", *SCORE_METRICS])
    assert _json(first) == _json(second)
    assert_array_equal(first.resamples, second.resamples)
    assert not np.array_equal(first.resamples, run(["tpr", "ece", *SCORE_METRICS], seed=4).resamples)
    # the score draws come last: tpr and ece intervals are those of a table without them
    alone = run(["tpr", "ece"])
    pd.testing.assert_frame_equal(first.ci[["tpr", "ece"]], alone.ci[["tpr", "ece"]])
    # every score interval holds its point estimate here, and is not degenerate
    for metric in SCORE_METRICS:
        lower, upper = first.ci[(metric, "lower")], first.ci[(metric, "upper")]
        assert (lower < upper).all()
        assert ((lower <= first.by_group[metric]) & (first.by_group[metric] <= upper)).all()
    # weighted: deterministic as well
    weighted = run(SCORE_METRICS, sample_weight=w)
    assert_array_equal(weighted.resamples, run(SCORE_METRICS, sample_weight=w).resamples)
    assert not np.array_equal(weighted.resamples, first.resamples[:, :, 2:])


def test_bootstrap_from_histograms_is_the_row_bootstrap_in_distribution():
    """Stratified row bootstrap (rows drawn with replacement within each cell) vs the draws
    from the histograms: the same spread of AUC, log loss and Brier, overall and per group."""
    y, p, sf, _ = _case(9, n=300)
    n_boot = 2000
    table = evaluate_groups(y, y_score=p, sensitive_features=sf, metrics=SCORE_METRICS, n_boot=n_boot,
                            random_state=0)
    cells = sf["sex"].to_numpy() + sf["race"].to_numpy()
    rng = np.random.default_rng(1)
    female = (sf["sex"] == "F").to_numpy()
    row_loss = -np.log(np.clip(np.where(y == 1, p, 1 - p), np.finfo(float).eps, 1))  # as sklearn
    members = [np.flatnonzero(cells == c) for c in np.unique(cells)]
    rows_auc, rows_loss, rows_auc_f = [], [], []
    for _ in range(n_boot):
        idx = np.concatenate([rng.choice(rows, len(rows)) for rows in members])
        # AUC of the resampled rows, overall (group 0) and for the women (group 1)
        auc = roc_auc_by_group(np.tile(y[idx], 2), np.tile(p[idx], 2),
                               np.concatenate([np.zeros(len(idx), int), np.where(female[idx], 1, 2)]), 3)
        rows_auc.append(auc[0])
        rows_auc_f.append(auc[1])
        rows_loss.append(row_loss[idx].mean())
    ours = table.resamples
    sex_f = 1 + list(table.by_group.index).index(("sex", "F"))
    for values, expected in ((ours[:, 0, 0], rows_auc), (ours[:, 0, 1], rows_loss), (ours[:, sex_f, 0], rows_auc_f)):
        assert np.std(values) == pytest.approx(np.std(expected), rel=0.08)
        assert np.mean(values) == pytest.approx(np.mean(expected), abs=0.1 * np.std(expected))


def test_ranks_are_required_and_checked():
    y, p, sf, _ = _case(0)
    stats = GroupedStats().update(y, y_score=p, sensitive_features=sf)
    assert stats.compute(["log_loss", "brier"]).by_group["log_loss"].notna().all()
    with pytest.raises(AssayInputError, match="'roc_auc' needs the per-cell score histograms: .*keep_ranks=True"):
        stats.compute(["roc_auc"])
    with pytest.raises(AssayInputError, match=r"bootstrap of \['log_loss'\] needs the per-cell score histograms"):
        stats.compute(["log_loss"], n_boot=10)
    with pytest.raises(AssayInputError, match="'other' must have the same keep_ranks"):
        stats.merge(GroupedStats(keep_ranks=True).update(y, y_score=p, sensitive_features=sf))
    with pytest.raises(AssayInputError, match="keep_ranks"):
        GroupedStats(keep_ranks="yes")
    ranked = GroupedStats(keep_ranks=True).update(y, y_score=p, sensitive_features=sf)
    with pytest.raises(AssayInputError, match="'y_score' must have the same kind of columns"):
        ranked.update(np.zeros(3, dtype=int), y_score=np.full((3, 3), 1 / 3), sensitive_features=sf.iloc[:3])
    with pytest.raises(AssayInputError, match="'y_score' is required for the metric"):
        evaluate_groups(y, (p > 0.5).astype(int), sensitive_features=sf, metrics=["roc_auc"])


def test_rank_stats_merge_and_aggregate_equal_direct_computation():
    y, p, sf, w = _case(1, k=3)
    codes = pd.factorize(sf["race"])[0]
    whole = RankStats(3).update(y, p, codes, w)
    halves = RankStats(3).update(y[:200], p[:200], codes[:200], w[:200]) + RankStats(3).update(
        y[200:], p[200:], codes[200:], w[200:])
    assert halves == whole
    assert whole.n_entries <= len(y) and int(whole.rows.sum()) == len(y)
    total = whole.total()
    assert total.roc_auc()[0] == pytest.approx(
        roc_auc_score(y, p, multi_class="ovr", average="macro", sample_weight=w), abs=1e-12)
    pooled = whole.aggregate(np.array([0, 0, 1]), ["first two", "last"])
    mask = codes < 2
    assert pooled.roc_auc()[0] == pytest.approx(
        roc_auc_score(y[mask], p[mask], multi_class="ovr", average="macro", sample_weight=w[mask]), abs=1e-12)
    with pytest.raises(AssayInputError, match="Cannot merge RankStats objects with different group labels"):
        whole.merge(RankStats(2))
