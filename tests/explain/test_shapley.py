"""KernelSHAP and LIME: brute-force Shapley by hand, shap 0.51's KernelExplainer, efficiency, batch_size-free."""

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from assay import AssayInputError
from assay.explain import LIME, KernelSHAP
from assay.explain.shapley import exact_shapley, weighted_ridge
from assay.testing import check_component


def _gbm(d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, d))
    y = (X[:, 0] + X[:, 1] * X[:, 2] - X[:, 3] > 0).astype(int)
    return GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y), X


def test_brute_force_shapley_hand_case():
    # v(S) = f(x_S, 0): f = x0 * x1 + x2 -> phi0 = phi1 = x0 x1 / 2, phi2 = x2
    x = np.array([2.0, 3.0, -1.0])
    m = 3
    V = np.empty((1, 2 ** m))
    for code in range(2 ** m):
        z = x * ((code >> np.arange(m)) & 1)
        V[0, code] = z[0] * z[1] + z[2]
    np.testing.assert_allclose(exact_shapley(V, m)[0], [3.0, 3.0, -1.0], atol=1e-12)
    # the textbook formula, summed over subsets one by one
    f = lambda on: V[0, sum(1 << j for j in on)]
    for i in range(m):
        others = [j for j in range(m) if j != i]
        want = sum(math.factorial(len(S)) * math.factorial(m - len(S) - 1) / math.factorial(m) * (f(S + (i,)) - f(S))
                   for k in range(m) for S in itertools.combinations(others, k))
        assert exact_shapley(V, m)[0, i] == pytest.approx(want, abs=1e-12)


def test_exact_equals_shap_kernel_explainer_and_is_efficient():
    shap = pytest.importorskip("shap")
    model, X = _gbm()
    background, rows = X[:20], X[100:106]
    ours = KernelSHAP(model, output="probabilities").attribute(rows, target=1, baselines=background)
    explainer = shap.KernelExplainer(lambda z: model.predict_proba(z)[:, 1], background)
    want = explainer.shap_values(rows, nsamples=1000, silent=True)  # >= 2**6 - 2: shap enumerates every coalition
    np.testing.assert_allclose(ours.values, want, atol=1e-10)
    p = model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(ours.values.sum(1), p - model.predict_proba(background)[:, 1].mean(), atol=1e-12)
    np.testing.assert_allclose(ours.delta, 0, atol=1e-12)
    assert ours.method.startswith("KernelSHAP(exact, 6 features, 20 background rows")


def test_sampled_within_002_of_exact_and_seeded():
    model, X = _gbm()
    exact = KernelSHAP(model, output="probabilities").attribute(X[100:110], target=1, baselines=X[:20])
    sampled = KernelSHAP(model, output="probabilities", exact=False, n_samples=400, random_state=0)
    got = sampled.attribute(X[100:110], target=1, baselines=X[:20])
    assert np.abs(got.values - exact.values).max() < 0.02
    np.testing.assert_allclose(got.delta, 0, atol=1e-12)  # efficiency holds exactly when sampling too
    np.testing.assert_array_equal(sampled.attribute(X[100:110], target=1, baselines=X[:20]).values, got.values)
    assert "sampled, n_samples=400" in got.method


@pytest.mark.parametrize("explainer", [KernelSHAP, LIME])
def test_batch_size_does_not_change_results(explainer):
    model, X = _gbm()
    kw = {"random_state": 3} | ({"n_samples": 50} if explainer is LIME else {})
    full = explainer(model, **kw).attribute(X[:4], baselines=X[10:15])
    for size in (1, 7, 64):
        small = explainer(model, batch_size=size, **kw).attribute(X[:4], baselines=X[10:15])
        np.testing.assert_array_equal(small.values, full.values)


def test_torch_images_with_patches_and_logits():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)).double()
    X = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    patches = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 2, 0), 2, 1)[None]  # four 2x2 patches
    att = KernelSHAP(model, feature_groups=patches).attribute(X, target=1)
    # a linear logit: each patch's Shapley value is its contribution w . x over the patch, shared by its pixels
    contrib = (model[1].weight[1].detach().numpy().reshape(1, 4, 4) * X[:, 0].numpy())
    for g in range(4):
        cells = patches[0] == g
        np.testing.assert_allclose(att.values[:, 0][:, cells], np.repeat(contrib[:, cells].sum(1, keepdims=True),
                                                                          4, 1), atol=1e-12)
    assert att.values.shape == (3, 1, 4, 4)


def test_pipeline_with_one_hot_one_value_per_source_column():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"age": rng.normal(40, 10, 200), "job": rng.choice(["a", "b", "c"], 200),
                       "hours": rng.normal(40, 5, 200)})
    y = ((df["age"] > 40) ^ (df["job"] == "b")).astype(int)
    pre = ColumnTransformer([("num", StandardScaler(), ["age", "hours"]), ("cat", OneHotEncoder(), ["job"])])
    model = make_pipeline(pre, LogisticRegression()).fit(df, y)
    att = KernelSHAP(model, output="probabilities").attribute(df.iloc[:5], target=1, baselines=df.iloc[50:60])
    assert att.to_frame().columns.tolist() == ["age", "job", "hours"]
    p = model.predict_proba(df.iloc[:5])[:, 1] - model.predict_proba(df.iloc[50:60])[:, 1].mean()
    np.testing.assert_allclose(att.values.sum(1), p, atol=1e-12)
    grouped = KernelSHAP(model, feature_groups={"numbers": ["age", "hours"], "job": "job"}).attribute(
        df.iloc[:5], baselines=df.iloc[50:60])
    assert grouped.feature_names == ("numbers", "job") and grouped.values.shape == (5, 2)


def test_kernel_shap_exact_on_a_linear_logit_per_background_row():
    torch.manual_seed(0)
    lin = torch.nn.Linear(5, 3).double()
    X, bg = np.random.default_rng(1).normal(size=(4, 5)), np.random.default_rng(2).normal(size=(6, 5))
    att = KernelSHAP(lin).attribute(X, target=2, baselines=bg)
    w = lin.weight.detach().numpy()[2]
    np.testing.assert_allclose(att.values, w * (X - bg.mean(0)), atol=1e-12)


def test_weighted_ridge_equals_scikit_learn():
    rng = np.random.default_rng(0)
    Z = (rng.random((2, 40, 5)) < 0.5).astype(float)
    y, w = rng.normal(size=(2, 40)), rng.random((2, 40))
    coef, _ = weighted_ridge(Z, y, w, 1.0)
    for i in range(2):
        np.testing.assert_allclose(coef[i], Ridge(alpha=1.0).fit(Z[i], y[i], sample_weight=w[i]).coef_, atol=1e-10)


def test_lime_recovers_a_linear_model_and_states_its_kernel():
    lin = torch.nn.Linear(4, 2).double()
    X = np.random.default_rng(0).normal(size=(3, 4))
    base = np.full(4, 0.5)
    att = LIME(lin, output="logits", alpha=0.0, n_samples=200, random_state=0).attribute(X, target=1, baselines=base)
    np.testing.assert_allclose(att.values, lin.weight.detach().numpy()[1] * (X - base), atol=1e-10)
    np.testing.assert_allclose(att.delta, 0, atol=1e-10)  # R^2 = 1
    assert "kernel_width=1.5" in att.method  # 0.75 * sqrt(4)
    again = LIME(lin, output="logits", alpha=0.0, n_samples=200, random_state=0).attribute(X, target=1,
                                                                                           baselines=base)
    np.testing.assert_array_equal(again.values, att.values)


def test_bad_inputs():
    model, X = _gbm()
    with pytest.raises(AssayInputError, match="'baselines'.*columns"):
        KernelSHAP(model).attribute(pd.DataFrame(X[:3], columns=list("abcdef")),
                                    baselines=pd.DataFrame(X[:3], columns=list("abcdeg")))
    with pytest.raises(AssayInputError, match="'feature_groups'"):
        KernelSHAP(model, feature_groups=np.zeros(5, int)).attribute(X[:3])
    with pytest.raises(AssayInputError, match="'exact'"):
        KernelSHAP(lambda z: np.column_stack([z.sum(1), -z.sum(1)]), exact=True).attribute(np.zeros((1, 21)))
    with pytest.raises(AssayInputError, match="'n_samples'.*LIME"):
        LIME(model, n_samples=1).attribute(X[:3])


def test_components():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])
    assert "bad_params" in check_component(KernelSHAP(model))
    assert "bad_params" in check_component(LIME(model, n_samples=20))


def test_feature_ablation_equals_captum():
    captum_attr = pytest.importorskip("captum.attr")
    from assay.explain import FeatureAblation

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Tanh(), torch.nn.Flatten(),
                                torch.nn.Linear(2 * 6 * 6, 3)).double()
    X = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    patches = np.repeat(np.repeat(np.arange(16).reshape(4, 4), 2, 0), 2, 1)[None]
    target = np.array([0, 1, 2, 1])
    for baselines in (None, 0.5):
        ours = FeatureAblation(model, feature_groups=patches, batch_size=5).attribute(X, target=target,
                                                                                      baselines=baselines)
        want = captum_attr.FeatureAblation(model).attribute(X, target=torch.tensor(target), baselines=baselines,
                                                            feature_mask=torch.as_tensor(patches)[None])
        np.testing.assert_allclose(ours.values, want.numpy(), atol=1e-12, rtol=0)
    assert "bad_params" in check_component(FeatureAblation(torch.nn.Linear(4, 2)), skip=["pickle"])


def test_equal_values_are_evaluated_once_and_change_nothing():
    # columns 2..3 are 0 in both inputs and background (as Adult's capital gain/loss): the model sees each
    # distinct row x_S b_~S once; values equal the plain textbook sum over all 2**m coalitions
    model, X = _gbm(d=4)
    X = np.round(X, 1)
    X[:, 2:] = 0.0
    rows, background = X[:5], X[50:53].copy()
    background[0, 0] = rows[0, 0]  # one equal entry in a varying column too
    seen = []

    def f(Z):
        seen.append(len(Z))
        return model.predict_proba(Z)

    att = KernelSHAP(f, output="probabilities").attribute(rows, target=1, baselines=background)
    m = 4
    V = np.empty((5, 2 ** m))
    for code in range(2 ** m):
        keep = ((code >> np.arange(m)) & 1).astype(bool)
        Z = np.where(keep, rows[:, None, :], background[None])
        V[:, code] = model.predict_proba(Z.reshape(-1, m))[:, 1].reshape(5, 3).mean(1)
    np.testing.assert_allclose(att.values, exact_shapley(V, m), atol=1e-12)
    composed = np.where(((np.arange(2 ** m)[:, None] >> np.arange(m)) & 1).astype(bool)[None, :, None, :],
                        rows[:, None, None, :], background[None, None, :, :]).reshape(-1, m)
    distinct = len(np.unique(composed, axis=0))
    assert sum(seen[1:]) == distinct < 5 * 3 * 2 ** m / 4  # the first call picks the targets
    frame = pd.DataFrame(rows, columns=list("abcd"))
    att_df = KernelSHAP(lambda Z: model.predict_proba(np.asarray(Z, dtype=float)), output="probabilities").attribute(
        frame, target=1, baselines=pd.DataFrame(background, columns=list("abcd")))
    np.testing.assert_allclose(att_df.values, att.values, atol=1e-12)


def test_many_features_packed_keys_linear_model_exact():
    # 70 features (> 62: coalitions keyed as packed bits): a linear logit's Shapley values are w * (x - b),
    # which the sampled least squares recovers exactly; half the inputs' entries equal the baseline's
    rng = np.random.default_rng(0)
    w = rng.normal(size=70)
    X = np.where(rng.random((3, 70)) < 0.5, 0.0, rng.normal(size=(3, 70)))

    def f(Z):
        z = np.asarray(Z) @ w
        return np.column_stack([np.zeros_like(z), z])

    att = KernelSHAP(f, n_samples=400, random_state=0).attribute(X, target=1, baselines=0.0)
    np.testing.assert_allclose(att.values, w * X, atol=1e-8)
    lime = LIME(f, n_samples=300, output="logits", alpha=0.0, random_state=0).attribute(X, target=1, baselines=0.0)
    np.testing.assert_allclose(lime.values, w * X, atol=1e-8)


def test_missing_values_in_a_string_column():
    # pd.NA / None in an object column: compared by value codes (missing equal to missing), never by `==`
    frame = pd.DataFrame({"job": pd.array(["a", None, "b", "a", None], dtype="string").astype(object),
                          "age": [30.0, 40.0, np.nan, 50.0, 60.0]})

    def f(Z):
        job = Z["job"].astype(object)
        z = np.where(job.isna(), 2.0, np.where(job == "a", 1.0, 0.0)) + np.nan_to_num(Z["age"].to_numpy(float)) / 50
        return np.column_stack([np.zeros(len(Z)), z])

    att = KernelSHAP(f).attribute(frame, target=1, baselines=frame.iloc[[1, 2]])
    want = f(frame)[:, 1] - f(frame.iloc[[1, 2]])[:, 1].mean()
    np.testing.assert_allclose(att.values.sum(1), want, atol=1e-12)
    # additive model: each column's Shapley value is its own term minus its background mean
    job_term = lambda z: np.where(pd.isna(z), 2.0, np.where(z == "a", 1.0, 0.0))  # noqa: E731
    np.testing.assert_allclose(att.values[:, 0], job_term(frame["job"].to_numpy(object)) - job_term(
        frame["job"].to_numpy(object)[[1, 2]]).mean(), atol=1e-12)
