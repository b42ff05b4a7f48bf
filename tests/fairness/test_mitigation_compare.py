"""compare_mitigations: one audited table, its numbers equal to direct computations."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

import assay.fairness as af
from assay import AssayInputError
from assay.datasets import load_german_credit
from assay.fairness.mitigation import compare_mitigations
from assay.metrics import accuracy_score, balanced_accuracy_score, expected_calibration_error
from assay.models import make_tabular_preprocessor


@pytest.fixture(scope="module")
def german():
    return load_german_credit()


def _pipeline(d):
    return Pipeline([("pre", make_tabular_preprocessor(categorical_features=d.categorical_features,
                                                       numeric_features=d.numeric_features)),
                     ("clf", LogisticRegression(solver="liblinear"))])


def _synthetic(n, seed):
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    x = rng.normal(size=(n, 2)) + np.where(g == "a", 0.8, -0.8)[:, None]
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=1.0, size=n) > 0).astype(int)
    return pd.DataFrame(x, columns=["x0", "x1"]), y, pd.DataFrame({"g": g})


def test_table_equals_direct_computations(german):
    d = german
    data = {"train": d.train, "val": (d.train.X, d.train.y, d.train.sensitive_features), "test": d.test}
    result = compare_mitigations(_pipeline(d), {"rw": af.Reweighing(), "gt": af.GroupThresholds()}, data,
                                 sensitive_features=["sex", "age_group"], n_boot=50, random_state=0)
    assert list(result.table.index) == ["none", "rw", "gt"]
    base = _pipeline(d).fit(d.train.X, d.train.y)
    pred = base.predict(d.test.X)
    proba = base.predict_proba(d.test.X)[:, 1]
    y = d.test.y.to_numpy()
    sf = d.test.sensitive_features[["sex", "age_group"]].astype(str).reset_index(drop=True)
    row = result.table.loc["none"]
    assert row["accuracy"] == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    assert row["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred), abs=1e-12)
    assert row["ece"] == pytest.approx(expected_calibration_error(y, np.c_[1 - proba, proba]), abs=1e-12)
    assert row["accuracy_lower"] < row["accuracy"] < row["accuracy_upper"]
    for feature in ("sex", "age_group"):
        assert row[f"demographic_parity_difference[{feature}]"] == pytest.approx(
            af.demographic_parity_difference(y, pred, sensitive_features=sf[feature]), abs=1e-12)
        assert row[f"equalized_odds_difference[{feature}]"] == pytest.approx(
            af.equalized_odds_difference(y, pred, sensitive_features=sf[feature]), abs=1e-12)
    # reweighing: the same pipeline fitted with the weights
    w = af.Reweighing().fit(d.train.X, d.train.y,
                            sensitive_features=d.train.sensitive_features[["sex", "age_group"]].astype(str)).sample_weight_
    rw = _pipeline(d).fit(d.train.X, d.train.y, clf__sample_weight=w).predict(d.test.X)
    assert result.table.loc["rw", "accuracy"] == pytest.approx(accuracy_score(y, rw), abs=1e-12)
    assert np.isnan(result.table.loc["gt", "ece"]) and result.table.loc["gt", "stage"] == "post-processing"
    diff = result.differences.loc[("rw", "accuracy")]
    assert diff["difference"] == pytest.approx(accuracy_score(y, rw) - accuracy_score(y, pred), abs=1e-12)
    got = result.by_group[(result.by_group["model"] == "none") & (result.by_group["feature"] == "sex")]
    assert set(got.columns) >= {"count", "selection_rate", "tpr", "fpr"}


def test_identical_model_differs_by_exactly_zero(german):
    d = german
    result = compare_mitigations(_pipeline(d), {"same": af.SensitiveFeatureRemover(proxies=False)}, d,
                                 sensitive_features="sex", n_boot=30, random_state=1)
    diffs = result.differences.loc["same"]
    assert (diffs["difference"] == 0).all() and (diffs["ci_lower"] == 0).all() and not diffs["significant"].any()
    assert result.params["n_val"] == 175 and result.params["n_train"] == 525  # 25% of 700 held out


def test_thresholds_significantly_close_a_large_parity_gap():
    X, y, g = _synthetic(6000, 0)
    data = {"train": (X.iloc[:3000], y[:3000], g.iloc[:3000]), "val": (X.iloc[3000:4500], y[3000:4500], g.iloc[3000:4500]),
            "test": (X.iloc[4500:], y[4500:], g.iloc[4500:])}
    result = compare_mitigations(LogisticRegression(), [af.GroupThresholds()], data, sensitive_features="g",
                                 n_boot=100, random_state=0)
    gap = result.differences.loc[("GroupThresholds", "demographic_parity_difference[g]")]
    assert result.table.loc["none", "demographic_parity_difference[g]"] > 0.4
    assert gap["significant"] and gap["ci_upper"] < 0 and gap["ci_lower"] <= gap["difference"] <= gap["ci_upper"]
    assert result.to_dict()["table"]["index"] == ["none", "GroupThresholds"]


@pytest.mark.parametrize("call,words", [
    (lambda d: compare_mitigations(LogisticRegression(), [object()], d, sensitive_features="sex"),
     ["mitigations", "object"]),
    (lambda d: compare_mitigations(LogisticRegression(), [af.Reweighing()], d, sensitive_features="nope"),
     ["sensitive_features", "nope"]),
    (lambda d: compare_mitigations(LogisticRegression(), [af.Reweighing()], {"train": d.train},
                                   sensitive_features="sex"), ["data", "test"]),
    (lambda d: compare_mitigations(LogisticRegression(), {"none": af.Reweighing()}, d, sensitive_features="sex"),
     ["mitigations", "none"]),
], ids=["not a mitigation", "unknown feature", "no test split", "reserved name"])
def test_refuses_bad_input(german, call, words):
    with pytest.raises(AssayInputError) as info:
        call(german)
    for word in words:
        assert word in str(info.value)


def test_pareto_front_and_plot(german):
    from assay.report import plot_mitigation_pareto
    from assay.report.plots_mitigation import pareto_front

    # (accuracy, gap): b dominates a; c trades accuracy for a lower gap; d is dominated by c
    front = pareto_front(np.array([.80, .82, .78, .77, np.nan]), np.array([.20, .15, .05, .06, .01]))
    assert front.tolist() == [False, True, True, False, False]
    result = compare_mitigations(_pipeline(german), {"rw": af.Reweighing(), "gt": af.GroupThresholds()}, german,
                                 sensitive_features="sex", n_boot=20, random_state=0)
    fig = plot_mitigation_pareto(result, gap="demographic_parity_difference[sex]")
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("demographic_parity_difference[sex]")
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"none (baseline)", "rw", "gt"}
    with pytest.raises(AssayInputError, match="'gap'"):
        plot_mitigation_pareto(result, gap="demographic_parity_difference[race]")


def test_torch_and_new_post_processing_entries(german):
    import torch

    from assay.fairness.mitigation.mindiff import default_module

    d = german
    data = {"train": d.train, "val": (d.train.X, d.train.y, d.train.sensitive_features), "test": d.test}

    def net(n_features):
        return default_module(n_features, 7)

    torch.set_num_threads(1)
    mitigations = {"mlp": af.MinDiffClassifier(weight=0.0, epochs=3),
                   "mindiff": af.MinDiffLoss(["a", "b"], weight=2.0),
                   "adversarial": af.AdversarialDebiasing(epochs=3),
                   "roc": af.RejectOptionClassifier(tolerance=0.1),
                   "cost": af.CostSensitiveThreshold(cost_matrix=d.cost_matrix)}
    result = compare_mitigations(_pipeline(d), mitigations, data, sensitive_features="age_group", n_boot=20,
                                 random_state=0, torch_module=net)
    table = result.table
    assert list(table.index) == ["none", "mlp", "mindiff", "adversarial", "roc", "cost"]
    assert table["error"].isna().all(), table["error"]
    assert table.loc[["mlp", "mindiff", "adversarial"], "stage"].eq("in-processing").all()
    assert table.loc[["roc", "cost"], "stage"].eq("post-processing").all()
    assert np.isfinite(table.loc[["mlp", "mindiff", "adversarial"], "ece"]).all()
    # the torch row equals the same network trained directly on the pipeline's encoded features
    pre = _pipeline(d).steps[0][1].fit(d.train.X)
    X, X_test = pre.transform(d.train.X), pre.transform(d.test.X)
    X, X_test = [np.asarray(a.toarray() if hasattr(a, "toarray") else a, dtype=np.float32) for a in (X, X_test)]
    y = d.test.y.to_numpy()
    direct = af.MinDiffClassifier(net(X.shape[1]), weight=0.0, epochs=3).fit(
        X, d.train.y, sensitive_features=d.train.sensitive_features["age_group"].astype(str))
    pred = (direct.predict_proba(X_test)[:, 1] >= 0.5).astype(int)
    assert table.loc["mlp", "accuracy"] == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    # the post-processing rows equal the estimators fitted on the baseline's validation scores
    base = _pipeline(d).fit(d.train.X, d.train.y)
    s_val, s_test = base.predict_proba(d.train.X)[:, 1], base.predict_proba(d.test.X)[:, 1]
    cost = af.CostSensitiveThreshold(cost_matrix=d.cost_matrix).fit(s_val, d.train.y).predict(s_test)
    assert table.loc["cost", "accuracy"] == pytest.approx(accuracy_score(y, cost), abs=1e-12)
    sf_val = d.train.sensitive_features[["age_group"]].astype(str).reset_index(drop=True)
    sf_test = d.test.sensitive_features[["age_group"]].astype(str).reset_index(drop=True)
    roc = af.RejectOptionClassifier(tolerance=0.1).fit(s_val, d.train.y, sensitive_features=sf_val)
    roc_pred = roc.predict(s_test, sensitive_features=sf_test)
    assert table.loc["roc", "accuracy"] == pytest.approx(accuracy_score(y, roc_pred), abs=1e-12)
    assert ("mindiff", "demographic_parity_difference[age_group]") in result.differences.index


def test_prefit_baseline_is_used_as_it_is():
    X, y, g = _synthetic(4100, 1)
    # fitted on 100 rows outside the splits: not what retraining on the train split gives
    model = LogisticRegression(C=0.01).fit(X.iloc[4000:], y[4000:])
    X, y, g = X.iloc[:4000], y[:4000], g.iloc[:4000]
    data = {"train": (X.iloc[:2000], y[:2000], g.iloc[:2000]),
            "val": (X.iloc[2000:3000], y[2000:3000], g.iloc[2000:3000]),
            "test": (X.iloc[3000:], y[3000:], g.iloc[3000:])}
    cost = [[0, 2], [1, 0]]
    result = compare_mitigations(model, {"cost": af.CostSensitiveThreshold(cost_matrix=cost, method="empirical"),
                                         "rw": af.Reweighing()}, data, sensitive_features="g",
                                 n_boot=20, random_state=0, prefit=True)
    y_test = y[3000:]
    assert result.table.loc["none", "accuracy"] == pytest.approx(accuracy_score(y_test, model.predict(X.iloc[3000:])),
                                                                 abs=1e-12)
    # post-processing fitted on the prefit model's validation scores
    est = af.CostSensitiveThreshold(cost_matrix=cost, method="empirical").fit(
        model.predict_proba(X.iloc[2000:3000])[:, 1], y[2000:3000])
    pred = est.predict(model.predict_proba(X.iloc[3000:])[:, 1])
    assert result.table.loc["cost", "accuracy"] == pytest.approx(accuracy_score(y_test, pred), abs=1e-12)
    assert result.params["prefit"]
    # Reweighing retrains a clone on the train split (not the prefit rows)
    w = af.Reweighing().fit(X.iloc[:2000], y[:2000], sensitive_features=g.iloc[:2000]).sample_weight_
    rw = LogisticRegression(C=0.01).fit(X.iloc[:2000], y[:2000], sample_weight=w).predict(X.iloc[3000:])
    assert result.table.loc["rw", "accuracy"] == pytest.approx(accuracy_score(y_test, rw), abs=1e-12)
    with pytest.raises(AssayInputError, match="prefit"):
        compare_mitigations(object(), [af.GroupThresholds()], data, sensitive_features="g", prefit=True)


def test_a_mitigation_warning_becomes_a_note():
    import warnings

    X, y, g = _synthetic(3000, 2)
    data = {"train": (X.iloc[:1500], y[:1500], g.iloc[:1500]),
            "val": (X.iloc[1500:2200], y[1500:2200], g.iloc[1500:2200]),
            "test": (X.iloc[2200:], y[2200:], g.iloc[2200:])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing escapes
        roc = af.RejectOptionClassifier(tolerance=0.0, widths=[0.0])
        result = compare_mitigations(LogisticRegression(), {"roc": roc,
                                                            "gt": af.GroupThresholds()}, data, sensitive_features="g",
                                     n_boot=10, random_state=0)
    assert "tolerance" in result.table.loc["roc", "note"] and pd.isna(result.table.loc["gt", "note"])
    assert result.table["error"].isna().all()
