"""Membership inference: every number against a hand-computed case or scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import assay
from assay.core.errors import AssayInputError, UndefinedMetricWarning
from assay.privacy import (
    LiRA,
    ShadowAttack,
    attack_report,
    confidence_attack,
    evaluate_attack,
    lira_scores,
    logit_confidence,
    logit_loss,
    loss_attack,
)
from assay.testing import check_component, default_data


def _train_logreg(X, y):
    return LogisticRegression(C=100.0, max_iter=500).fit(X, y)


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + rng.normal(scale=1.5, size=200) > 0).astype(int)
    model = _train_logreg(X[:100], y[:100])
    return X, y, model


def test_evaluate_attack_hand_case():
    non = np.arange(100.0)
    member = np.array([99.5, 98.5, 50.0])
    r = evaluate_attack(member, non, n_boot=0)
    assert r.auc == pytest.approx((1 + 0.99 + 0.505) / 3)  # 50 beats 0..49 and ties 50
    assert r.tpr_at_fpr(0.01) == pytest.approx(2 / 3)
    assert r.tpr_at_fpr(0.001) == pytest.approx(1 / 3)
    assert r.advantage == pytest.approx(2 / 3 - 0.01)
    # risk: share of non-member scores below, ties 1/2
    np.testing.assert_allclose(r.risk[:3], [1.0, 0.99, 0.505])
    assert r.risk[3 + 10] == pytest.approx(10.5 / 100)


def test_auc_and_advantage_match_sklearn_with_ties():
    rng = np.random.default_rng(3)
    member = rng.integers(0, 20, 300).astype(float) + 2
    non = rng.integers(0, 20, 500).astype(float)
    r = evaluate_attack(member, non, n_boot=0)
    labels = np.r_[np.ones(300), np.zeros(500)]
    scores = np.r_[member, non]
    assert r.auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    assert r.advantage == pytest.approx(np.max(tpr - fpr), abs=1e-12)
    assert r.tpr_at_fpr(0.01) == pytest.approx(tpr[fpr <= 0.01].max(), abs=1e-12)


def test_loss_attack_auc_equals_roc_auc_of_negated_losses(toy):
    X, y, model = toy
    proba = model.predict_proba(X)
    losses = -np.log(proba[np.arange(len(y)), y])
    scores = loss_attack(model, X, y)
    np.testing.assert_allclose(-scores, losses, rtol=1e-9)
    r = evaluate_attack(scores[:100], scores[100:], n_boot=0)
    is_member = np.r_[np.ones(100), np.zeros(100)]
    assert r.auc == pytest.approx(roc_auc_score(is_member, -losses), abs=1e-12)
    np.testing.assert_allclose(confidence_attack(model, X, y), proba[np.arange(len(y)), y])
    np.testing.assert_allclose(confidence_attack(model, X), proba.max(axis=1))


def test_logit_loss_keeps_confident_rows_apart():
    logits = np.array([[0.0, 40.0], [0.0, 45.0], [1.0, -1.0]])
    losses = logit_loss(logits, [1, 1, 0])
    assert losses[0] > losses[1] > 0
    assert losses[2] == pytest.approx(math.log1p(math.exp(-2.0)))
    np.testing.assert_allclose(logit_confidence(logits, [1, 1, 0]), [40.0, 45.0, 2.0])


def _normal_logpdf(x, mu, sd):
    return -0.5 * math.log(2 * math.pi * sd * sd) - (x - mu) ** 2 / (2 * sd * sd)


def test_lira_score_equals_hand_computed_gaussian_likelihood_ratio():
    ref = np.array([[1.0, 0.0], [3.0, 2.0], [2.0, 1.0], [6.0, -1.0]])
    keep = np.array([[True, False], [True, True], [False, False], [False, True]])
    phi = np.array([2.5, 0.5])
    online = lira_scores(phi, ref, keep, online=True, variance="per_example")
    # row 0: in = {1, 3} (mean 2, sd sqrt(2)), out = {2, 6} (mean 4, sd sqrt(8))
    expected0 = _normal_logpdf(2.5, 2.0, math.sqrt(2)) - _normal_logpdf(2.5, 4.0, math.sqrt(8))
    # row 1: in = {2, -1} (mean 0.5, sd sqrt(4.5)), out = {0, 1} (mean 0.5, sd sqrt(0.5))
    expected1 = _normal_logpdf(0.5, 0.5, math.sqrt(4.5)) - _normal_logpdf(0.5, 0.5, math.sqrt(0.5))
    np.testing.assert_allclose(online, [expected0, expected1], rtol=1e-12)
    offline = lira_scores(phi, ref, keep, online=False, variance="per_example")
    sf0 = 0.5 * math.erfc((2.5 - 4.0) / math.sqrt(8) / math.sqrt(2))
    sf1 = 0.5 * math.erfc((0.5 - 0.5) / math.sqrt(0.5) / math.sqrt(2))
    np.testing.assert_allclose(offline, [-math.log(sf0), -math.log(sf1)], rtol=1e-12)
    # global variance: one sd per side pooled over rows (sum of squares / (count - rows))
    sd_out = math.sqrt(((2 - 4) ** 2 + (6 - 4) ** 2 + (0 - 0.5) ** 2 + (1 - 0.5) ** 2) / (4 - 2))
    glob = lira_scores(phi, ref, keep, online=False, variance="global")
    assert glob[0] == pytest.approx(-math.log(0.5 * math.erfc((2.5 - 4.0) / sd_out / math.sqrt(2))), rel=1e-12)


def test_lira_end_to_end(toy):
    X, y, model = toy
    lira = LiRA(model, train_fn=_train_logreg, n_reference=4, online=True, random_state=0).fit(X, y)
    assert lira.keep_.sum(axis=0).tolist() == [2] * len(X)  # each row in exactly half of the models
    scores = lira.score(X)
    phi = logit_confidence(assay.wrap(model).logits(X), y)
    np.testing.assert_allclose(scores, lira_scores(phi, lira.reference_phi_, lira.keep_, online=True))
    r = evaluate_attack(scores[:100], scores[100:], n_boot=0)
    assert r.auc > 0.5
    again = LiRA(model, train_fn=_train_logreg, n_reference=4, online=True, random_state=0).fit(X, y).score(X)
    np.testing.assert_array_equal(scores, again)
    with pytest.raises(AssayInputError, match="rows given to fit"):
        lira.score(X[:10])
    with pytest.raises(AssayInputError, match="n_reference"):
        LiRA(model, train_fn=_train_logreg, n_reference=3).fit(X, y)


def test_shadow_attack_runs_and_separates(toy):
    X, y, model = toy
    shadow = ShadowAttack(model, train_fn=_train_logreg, n_shadow=2, attack_model=LogisticRegression(), random_state=0).fit(X[100:], y[100:])
    scores = shadow.score(X, y)
    assert scores.shape == (200,) and np.all((scores >= 0) & (scores <= 1))
    with pytest.raises(AssayInputError, match="'y'"):
        shadow.score(X)


def test_components_pass_the_battery():
    X, y = default_data()
    model = _train_logreg(X, y)
    check_component(LiRA(model, train_fn=_train_logreg, n_reference=2), X=X, y=y)
    check_component(ShadowAttack(model, train_fn=_train_logreg, n_shadow=1, features="sorted",
                                 attack_model=LogisticRegression()), X=X, y=y)


def test_per_group_metrics_equal_the_subsets_and_risk_goes_through_the_grouped_table():
    rng = np.random.default_rng(1)
    member = rng.normal(0.5, 1, 400)
    non = rng.normal(0, 1, 600)
    sex = np.where(rng.random(1000) < 0.4, "F", "M")
    race = np.where(rng.random(1000) < 0.5, "a", "b")
    sf = pd.DataFrame({"sex": sex, "race": race})
    r = evaluate_attack(member, non, sf, n_boot=50, random_state=0)
    is_member = np.r_[np.ones(400, bool), np.zeros(600, bool)]
    scores = np.r_[member, non]
    for group in ("F", "M"):
        rows = sex == group
        assert r.by_group.loc[("sex", group), "auc"] == pytest.approx(roc_auc_score(is_member[rows], scores[rows]))
    rows = (sex == "F") & (race == "b")
    assert r.by_group.loc[("sex x race", "F x b"), "auc"] == pytest.approx(
        roc_auc_score(is_member[rows], scores[rows]))
    assert r.risk_table.by_group.loc[("sex", "F"), "mean:risk"] == pytest.approx(
        r.risk[:400][sex[:400] == "F"].mean())
    lo, hi = r.ci.loc[("sex", "F"), ("auc", "lower")], r.ci.loc[("sex", "F"), ("auc", "upper")]
    assert lo <= r.by_group.loc[("sex", "F"), "auc"] <= hi
    assert r.overall_ci.loc["auc", "lower"] <= r.auc <= r.overall_ci.loc["auc", "upper"]
    assert set(r.roc["feature"]) == {"overall", "sex", "race"}
    same = evaluate_attack(member, non, sf, n_boot=50, random_state=0)
    assert same == r
    assert r.worst_group("auc").loc["sex", "group"] in ("F", "M")
    rep = attack_report(scores[::-1], is_member[::-1], sf.iloc[::-1], n_boot=50, random_state=0)
    assert rep.auc == pytest.approx(r.auc)
    assert rep.by_group.loc[("sex", "F"), "auc"] == pytest.approx(r.by_group.loc[("sex", "F"), "auc"])


def test_group_without_nonmembers_is_nan_with_warning():
    sf = np.array(["a"] * 5 + ["b"] * 5 + ["a"] * 5)
    with pytest.warns(UndefinedMetricWarning, match="sensitive_feature_0=b|=b"):
        r = evaluate_attack(np.arange(10.0), np.arange(5.0), sf, n_boot=0)
    assert np.isnan(r.by_group["auc"].iloc[1])


def test_acceptance_loss_attack_on_overfit_adult_mlp(adult_overfit):
    model, Xtr, ytr, Xte, yte, sex = adult_overfit
    r = evaluate_attack(loss_attack(model, Xtr, ytr), loss_attack(model, Xte, yte), {"sex": sex.astype(str)},
                        n_boot=100, random_state=0)
    # 50 members, 2,000 non-members; measured: AUC 0.679, TPR@1%FPR 2.0%, advantage 0.42. Over seeds 0..7
    # (benchmarks/bench_privacy.py --seeds 8) the AUC is 0.609-0.697 on every seed; TPR at 1% FPR is 2% (one member
    # of 50) on seeds 0, 3, 5 and 0 on the others: the loss attack's low-FPR tail is ruled by easy non-members.
    assert r.auc > 0.6
    assert r.tpr_at_fpr(0.01) > 0.01
    assert r.by_group.loc[("sex", "Male"), "n_members"] + r.by_group.loc[("sex", "Female"), "n_members"] == 50
