"""Counterfactuals and counterfactual fairness: constraints on every line, a closed form, Adult validity."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from assay import AssayInputError
from assay.explain import Counterfactuals, recourse_cost, sensitive_flip_rate
from assay.testing import check_component

LEVELS = ["low", "mid", "high"]


def _frame(n=500, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "income": rng.normal(50.0, 15.0, n),
        "hours": rng.integers(10, 60, n),
        "level": pd.Categorical(rng.choice(LEVELS, n), categories=LEVELS, ordered=True),
        "city": rng.choice(["x", "y", "z"], n).astype(object),
        "sex": rng.choice(["F", "M"], n).astype(object),
    })


def _pipeline(X, y, numeric=("age", "income", "hours"), categorical=("level", "city")):
    encode = ColumnTransformer([("num", StandardScaler(), list(numeric)),
                                ("cat", OneHotEncoder(handle_unknown="ignore"), list(categorical))])
    return make_pipeline(encode, LogisticRegression(max_iter=1000)).fit(X, y)


@pytest.fixture(scope="module")
def fitted():
    X = _frame()
    score = 0.08 * (X["income"] - 50) + 0.1 * (X["hours"] - 35) + X["level"].cat.codes - 1 - (X["city"] == "z")
    y = (score + np.random.default_rng(1).normal(0, 0.3, len(X)) > 0).astype(int)
    return _pipeline(X, y), X


def test_constraints_hold_on_every_counterfactual(fitted):
    model, X = fitted
    test = _frame(120, seed=3).set_index(pd.RangeIndex(1000, 1120))
    search = Counterfactuals(model, immutable=["age", "sex"], monotone={"hours": "increasing", "level": "increasing"},
                             data=X, random_state=0)
    result = search.generate(test, n=3)
    lines = result.counterfactuals
    valid = lines[lines["valid"]]
    original = test.loc[valid["row"]].reset_index(drop=True)
    features = valid[test.columns].reset_index(drop=True)
    np.testing.assert_array_equal(features["age"], original["age"])
    np.testing.assert_array_equal(features["sex"], original["sex"])
    assert (features["hours"] >= original["hours"]).all()
    assert (features["level"].cat.codes >= original["level"].cat.codes).all()
    assert set(features["city"]) <= {"x", "y", "z"}
    assert features["income"].between(X["income"].min(), X["income"].max()).all()
    assert (features["hours"] == np.round(features["hours"])).all()
    assert (features.dtypes == test.dtypes).all()
    # valid = the model predicts the other class; changed columns counted and named
    np.testing.assert_array_equal(model.predict(features), 1 - model.predict(original))
    np.testing.assert_array_equal((features != original).sum(axis=1), valid["n_changed"])
    assert all(len(c.split(", ")) == k for c, k in zip(valid["changed"], valid["n_changed"]))
    assert result.validity > 0.95
    assert (result.rows["found"] <= 3).all() and set(lines["row"]) <= set(test.index)
    rows = result.rows.set_index("row")
    nearest = valid.groupby("row")["distance"].min()
    np.testing.assert_allclose(rows.loc[nearest.index, "distance"], nearest)
    again = Counterfactuals(model, immutable=["age", "sex"], monotone={"hours": "increasing", "level": "increasing"},
                            data=X, random_state=0).generate(test, n=3)
    pd.testing.assert_frame_equal(again.counterfactuals, lines)


def test_nearest_counterfactual_of_a_threshold_model_is_near_the_boundary():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(0, 1, 2000), "noise": rng.normal(0, 1, 2000)})
    model = LogisticRegression(C=1e6).fit(train[["x"]], (train["x"] > 0).astype(int))
    wrapped = lambda frame: model.predict_proba(frame[["x"]])  # noqa: E731 - ignores 'noise'
    boundary = -model.intercept_[0] / model.coef_[0, 0]
    sd = train["x"].std(ddof=0)
    gaps = np.array([-0.6, -0.3, 0.2, 0.5])
    X = pd.DataFrame({"x": boundary + gaps * sd, "noise": 0.0})
    result = Counterfactuals(wrapped, data=train, refine_steps=6, random_state=0).generate(X, n=1)
    rows = result.rows
    assert rows["found"].tolist() == [1, 1, 1, 1]
    # only x can flip the decision; sparsify reverts the noise column; bisection ends within 1/64 of the segment
    assert (rows["n_changed"] == 1).all()
    assert (rows["distance"] >= np.abs(gaps) - 1e-9).all()
    assert (rows["distance"] <= np.abs(gaps) + 0.15).all()


def test_diverse_counterfactuals_differ(fitted):
    model, X = fitted
    result = Counterfactuals(model, data=X, random_state=0).generate(_frame(40, seed=9), n=3)
    several = result.rows[result.rows["found"] >= 2]
    assert len(several) > 10 and (several["diversity"] > 0).all()
    lines = result.counterfactuals[result.counterfactuals["valid"]]
    assert not lines.duplicated(subset=["row", *X.columns]).any()
    assert result.diversity == pytest.approx(several["diversity"].mean())


def test_rows_the_random_search_misses_take_projected_reference_rows(fitted, monkeypatch):
    # Radii too small for numeric moves to flip a decision: the rows left without a candidate take
    # reference rows the model predicts as desired, projected onto the allowed moves.
    model, X = fitted
    rows = X.iloc[:40]
    served = []
    original_method = Counterfactuals._from_reference

    def spy(self, *args, **kwargs):
        out = original_method(self, *args, **kwargs)
        served.append(np.unique(out[0]))
        return out

    monkeypatch.setattr(Counterfactuals, "_from_reference", spy)
    tiny = Counterfactuals(model, radii=(1e-6,), n_candidates=5, immutable=["age", "sex"],
                           monotone={"hours": "increasing"}, data=X, random_state=0).generate(rows, n=2)
    assert served and len(served[0]) >= 5  # the fallback found candidates for rows the search missed
    assert tiny.validity >= 0.95
    valid = tiny.counterfactuals[tiny.counterfactuals["valid"]]
    original = rows.loc[valid["row"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(valid[["age", "sex"]].reset_index(drop=True), original[["age", "sex"]])
    assert (valid["hours"].to_numpy() >= original["hours"].to_numpy()).all()
    assert (model.predict(valid[X.columns]) != model.predict(original)).all()


def test_adult_validity_with_immutable_people():
    from assay.datasets import load_adult
    from assay.models import train_sklearn_model

    data = load_adult()
    train = data.train.X.iloc[:3000]
    model = train_sklearn_model(train, data.train.y[:3000], categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features)
    test = data.test.X.iloc[:120]
    fixed = ["sex", "race", "age", "native_country", "marital_status", "relationship"]
    result = Counterfactuals(model, immutable=fixed, monotone={"education_num": "increasing"}, data=data.train.X,
                             random_state=0).generate(test, n=2)
    assert result.validity >= 0.95
    valid = result.counterfactuals[result.counterfactuals["valid"]]
    original = test.loc[valid["row"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(valid[fixed].reset_index(drop=True), original[fixed])
    assert (valid["education_num"].to_numpy() >= original["education_num"].to_numpy()).all()


def test_flip_only_the_sensitive_attribute():
    X = _frame(600, seed=4)
    rng = np.random.default_rng(5)
    y = ((X["income"] - 50) / 15 + (X["sex"] == "M") * 1.5 + rng.normal(0, 0.5, len(X)) > 0.7).astype(int)
    blind = _pipeline(X, y)  # never sees sex
    uses = _pipeline(X, y, categorical=("level", "city", "sex"))
    none = sensitive_flip_rate(blind, X, "sex", n_boot=0)
    assert none.rate == 0.0 and not none.flipped.any()
    some = sensitive_flip_rate(uses, X, "sex", n_boot=50, random_state=0)
    swapped = X.assign(sex=np.where(X["sex"] == "F", "M", "F"))
    direct = uses.predict(swapped) != uses.predict(X)
    np.testing.assert_array_equal(some.flipped, direct)
    assert some.rate == pytest.approx(direct.mean()) and some.rate > 0.05
    assert some.lower <= some.rate <= some.upper
    by_sex = some.by_group.xs("sex", level=0)["flip_rate"]
    for sex in ("F", "M"):
        assert by_sex[sex] == pytest.approx(direct[(X["sex"] == sex).to_numpy()].mean())
    # a model that reads sex only through a proxy: flipping sex alone changes nothing; with the proxy it does
    X2 = X.assign(proxy=np.where(X["sex"] == "M", "pm", "pf").astype(object))
    proxied = _pipeline(X2, y, categorical=("level", "city", "proxy"))
    assert sensitive_flip_rate(proxied, X2, "sex", n_boot=0).rate == 0.0
    assert sensitive_flip_rate(proxied, X2, "sex", proxies=["proxy"], n_boot=0, random_state=0).rate > 0.05


def test_recourse_cost_per_group_equals_a_direct_computation(fitted):
    model, X = fitted
    test = _frame(200, seed=11)
    result = recourse_cost(model, test, sensitive_features=test[["city"]],
                           counterfactuals=Counterfactuals(immutable=["age"], data=X), n_boot=50, random_state=0)
    rejected = model.predict(test) != 1
    np.testing.assert_array_equal(result.rejected, rejected)
    cities = test["city"].to_numpy()[rejected]
    frame = pd.DataFrame({"city": cities, "cost": result.cost, "found": result.found})
    by_city = result.by_group.xs("city", level=0)
    direct = frame[frame["found"]].groupby("city")["cost"].mean()
    np.testing.assert_allclose(by_city.loc[direct.index, "mean_cost"], direct)
    np.testing.assert_allclose(by_city.loc[direct.index, "found_rate"], frame.groupby("city")["found"].mean()
                               .loc[direct.index])
    assert result.mean_cost == pytest.approx(frame.loc[frame["found"], "cost"].mean())
    shown = by_city[~by_city["small"]]["mean_cost"]
    if len(shown) >= 2:
        assert result.gap["city"]["gap"] == pytest.approx(shown.max() - shown.min())


def test_passes_check_component(fitted):
    ran = check_component(Counterfactuals(fitted[0], data=fitted[1], random_state=0), skip=["pickle"])
    assert {"params_declared", "init_stores_params", "bad_params", "clone"} <= set(ran)


@pytest.mark.parametrize("call, words", [
    (lambda m, X: Counterfactuals(m, immutable=["salary"]).generate(X), ["'immutable'", "salary"]),
    (lambda m, X: Counterfactuals(m, desired=7).generate(X), ["'desired'", "7"]),
    (lambda m, X: Counterfactuals(m).generate(X, n=0), ["'n'", ">= 1"]),
    (lambda m, X: Counterfactuals(m, monotone={"hours": "up"}).generate(X), ["'monotone'", "increasing"]),
    (lambda m, X: Counterfactuals(m, monotone={"city": "increasing"}).generate(X), ["'monotone'", "city", "order"]),
    (lambda m, X: Counterfactuals(m).generate(X.to_numpy()), ["'X'", "DataFrame"]),
    (lambda m, X: sensitive_flip_rate(m, X, "gender"), ["'sensitive'", "gender"]),
    (lambda m, X: recourse_cost(m, X, sensitive_features=X[["city"]], favorable=5), ["'favorable'", "5"]),
])
def test_refuses_bad_input(fitted, call, words):
    model, X = fitted
    with pytest.raises(AssayInputError) as info:
        call(model, X)
    for word in words:
        assert word in str(info.value)
