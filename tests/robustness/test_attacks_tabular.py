"""The constraint-aware tabular attack: constraints kept on every row, a closed-form case, reports."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from assay import AssayInputError
from assay.robustness import TabularAttack, attack_report
from assay.testing import check_component


def _frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "income": rng.normal(50.0, 15.0, n).astype(np.float32),
        "hours": rng.integers(10, 60, n),
        "job": pd.Categorical(rng.choice(["a", "b", "c", "d"], n)),
        "city": rng.choice(["x", "y", "z"], n).astype(object),
        "member": rng.random(n) < 0.5,
    })


@pytest.fixture(scope="module")
def fitted():
    X = _frame()
    score = 0.05 * (X["income"] - 50) + 0.08 * (X["hours"] - 35) + (X["job"] == "a") * 1.5 - (X["city"] == "z")
    y = np.where(score + np.random.default_rng(1).normal(0, 0.5, len(X)) > 0, "yes", "no")
    encode = ColumnTransformer([("num", StandardScaler(), ["age", "income", "hours"]),
                                ("cat", OneHotEncoder(handle_unknown="ignore"), ["job", "city"])])
    model = make_pipeline(encode, LogisticRegression(max_iter=500)).fit(X, y)
    return model, X, y


def test_constraints_hold_on_every_row(fitted):
    model, X, y = fitted
    test = _frame(200, seed=5)
    attack = TabularAttack(model, eps=0.5, max_changes=2, immutable=["age"], reference=X, max_queries=60,
                           random_state=0)
    result = attack.generate(test, None)
    adv = result.adversarial
    assert list(adv.columns) == list(test.columns) and (adv.dtypes == test.dtypes).all()
    assert adv.index.equals(test.index)
    np.testing.assert_array_equal(adv["age"], test["age"])  # immutable
    np.testing.assert_array_equal(adv["member"], test["member"])  # booleans are kept
    for column in ("income", "hours"):
        sd = X[column].astype(float).std(ddof=0)
        moved = np.abs(adv[column].astype(float) - test[column].astype(float))
        assert (moved <= 0.5 * sd + 1e-4).all()
        assert adv[column].between(X[column].min(), X[column].max()).all()
    assert (adv["hours"] == np.round(adv["hours"])).all()
    assert set(adv["job"]) <= set(X["job"]) and set(adv["city"]) <= set(X["city"])
    changed = (adv != test).sum(axis=1).to_numpy()
    np.testing.assert_array_equal(changed, result.n_changed)
    assert (result.n_changed <= 2).all()
    assert 0.1 < result.success_rate < 1.0
    assert (result.linf <= 0.5 + 1e-4).all()
    # the success flags are the model's own verdict on the returned rows
    clean = model.predict(test)
    np.testing.assert_array_equal(result.success, model.predict(adv) != clean)
    again = TabularAttack(model, eps=0.5, max_changes=2, immutable=["age"], reference=X, max_queries=60,
                          random_state=0).generate(test, None)
    pd.testing.assert_frame_equal(again.adversarial, adv)


def test_one_feature_closed_form():
    # y = 1 exactly when x > 0; a row at distance d from the boundary breaks iff d < eps * sd.
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(0, 1, 2000)})
    model = LogisticRegression(C=1e6).fit(train, (train["x"] > 0).astype(int))
    boundary = -model.intercept_[0] / model.coef_[0, 0]
    sd = train["x"].std(ddof=0)
    X = pd.DataFrame({"x": boundary + np.array([-0.25, -0.15, 0.05, 0.15, 0.25, 0.4]) * sd})
    result = TabularAttack(model, eps=0.2, reference=train, max_queries=40, random_state=0).generate(X)
    np.testing.assert_array_equal(result.success, [False, True, True, True, False, False])
    assert (result.linf[result.success] <= 0.2 + 1e-9).all()
    np.testing.assert_array_less(np.abs(np.array([0.15, 0.05, 0.15])) - 1e-9, result.linf[result.success])


def test_targeted_and_report_per_group(fitted):
    model, X, y = fitted
    test = _frame(150, seed=7)
    aimed = TabularAttack(model, eps=1.0, reference=X, max_queries=50, random_state=0).generate(test, target="yes")
    assert (aimed.adversarial_pred[aimed.success] == "yes").all()
    assert (aimed.target == "yes").all()
    labels = model.predict(test)
    report = attack_report(model, test, labels, TabularAttack(eps=0.5, reference=X, max_queries=30, random_state=0),
                           sensitive_features=test["city"], n_boot=50, random_state=0)
    frame = report.by_group
    assert set(frame.index.get_level_values(1)) == {"x", "y", "z"}
    per_group = pd.Series(report.result.success).groupby(test["city"].to_numpy()).mean()
    np.testing.assert_allclose(frame["success_rate"].to_numpy(), per_group.loc[frame.index.get_level_values(1)])
    assert "n_changed" in report.result.to_frame()


def test_on_an_adult_pipeline_keeps_the_sensitive_features():
    from assay.datasets import load_adult
    from assay.models import train_sklearn_model

    data = load_adult()
    train = data.train.X.iloc[:3000]
    model = train_sklearn_model(train, data.train.y[:3000], categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features)
    test = data.test.X.iloc[:200]
    kept = ["sex", "race", "age", "native_country"]
    result = TabularAttack(model, eps=0.3, max_changes=3, immutable=kept, reference=train, max_queries=40,
                           random_state=0).generate(test, data.test.y[:200])
    pd.testing.assert_frame_equal(result.adversarial[kept], test[kept])
    assert (result.adversarial.dtypes == test.dtypes).all()
    assert result.success_rate > 0.2


def test_passes_check_component(fitted):
    ran = check_component(TabularAttack(fitted[0], reference=fitted[1], random_state=0), skip=["pickle"])
    assert {"params_declared", "init_stores_params", "bad_params", "clone"} <= set(ran)


@pytest.mark.parametrize("call, words", [
    (lambda m, X: TabularAttack(m).generate(X.to_numpy()), ["'X'", "DataFrame"]),
    (lambda m, X: TabularAttack(m, immutable=["salary"]).generate(X), ["'immutable'", "salary"]),
    (lambda m, X: TabularAttack(m, eps=-1).generate(X), ["'eps'", "TabularAttack"]),
    (lambda m, X: TabularAttack(m, max_changes=0).generate(X), ["'max_changes'"]),
    (lambda m, X: TabularAttack(m, reference=X[["age"]]).generate(X), ["'reference'", "income"]),
])
def test_refuses_bad_input(fitted, call, words):
    model, X, _ = fitted
    with pytest.raises(AssayInputError) as info:
        call(model, X)
    for word in words:
        assert word in str(info.value)
