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


# ---------------------------------------------------------------- gradient counterfactuals (torch)
def _linear_torch(weights, bias):
    """A torch model with logits (0, w . x + b): class 1 iff w . x + b > 0."""
    import torch

    layer = torch.nn.Linear(len(weights), 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weights], dtype=torch.float32))
        layer.bias.fill_(bias)

    class TwoLogits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.score = layer

        def forward(self, x):
            return torch.cat([torch.zeros_like(x[:, :1]), self.score(x)], dim=1)

    return TwoLogits().eval()


def test_gradient_reaches_the_cheapest_column_on_a_linear_model():
    # score = 2 a + 0.5 b - 1 at (0, 0) is -1: moving a to 0.5 costs 0.5 sd, b to 2 costs 2 sd (equal sds)
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.choice([-1.0, 1.0], 400), "b": rng.choice([-1.0, 1.0], 400)})
    X = pd.DataFrame({"a": [0.0, 0.0], "b": [0.0, -0.2]})
    model = _linear_torch([2.0, 0.5], -1.0)
    result = Counterfactuals(model, data=data, method="gradient", refine_steps=12, random_state=0).generate(X, n=1)
    lines = result.counterfactuals
    assert lines["valid"].all() and (lines["changed"] == "a").all()
    np.testing.assert_allclose(lines["a"], [0.5, 0.55], atol=2e-3)  # on the boundary 2a + 0.5b = 1
    assert result.validity == 1.0


def test_gradient_respects_immutable_monotone_ranges_and_integers():
    import torch

    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(0, 1, n),
                      "years": rng.integers(0, 20, n), "debt": rng.normal(0, 1, n)})
    score = 0.03 * (X["age"] - 50) + X["income"] + 0.2 * (X["years"] - 10) - X["debt"]
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    features = torch.tensor(((X - X.mean()) / X.std()).to_numpy(), dtype=torch.float32)
    optimiser = torch.optim.Adam(net.parameters(), lr=0.05)
    labels = torch.tensor((score > 0).to_numpy().astype(np.int64))
    for _ in range(200):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(net(features), labels).backward()
        optimiser.step()
    mean, sd = torch.tensor(X.mean().to_numpy(), dtype=torch.float32), torch.tensor(X.std().to_numpy(),
                                                                                      dtype=torch.float32)

    class Standardised(torch.nn.Module):  # the model takes X's raw columns
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net((x - mean) / sd)

    model = Standardised().eval()
    predicted = model(torch.tensor(X.to_numpy(), dtype=torch.float32)).argmax(1).numpy()
    rejected = X[predicted == 0].iloc[:80]
    search = Counterfactuals(model, immutable=["age"], monotone={"years": "increasing", "debt": "decreasing"},
                             ranges={"income": (-1.5, 1.5)}, data=X, method="gradient", random_state=0)
    result = search.generate(rejected, n=2)
    assert result.validity >= 0.9
    lines = result.counterfactuals[result.counterfactuals["valid"]]
    original = rejected.loc[lines["row"]].reset_index(drop=True)
    lines = lines.reset_index(drop=True)
    np.testing.assert_array_equal(lines["age"], original["age"])  # immutable: never changed
    assert (lines["years"] >= original["years"]).all() and (lines["debt"] <= original["debt"] + 1e-12).all()
    assert lines["years"].dtype.kind == "i" and (lines["years"] % 1 == 0).all()
    moved = lines["income"] != original["income"]
    low, high = np.minimum(-1.5, original["income"]), np.maximum(1.5, original["income"])
    assert lines.loc[moved, "income"].between(low[moved], high[moved]).all()  # in range, or moved towards it
    again = search.generate(rejected, n=2)  # seeded
    pd.testing.assert_frame_equal(again.counterfactuals, result.counterfactuals)
    assert (result.rows.loc[result.rows["needed"], "found"] <= 2).all()


def test_gradient_on_an_adult_torch_mlp():
    from assay.datasets import load_adult
    from assay.models import make_tabular_preprocessor, train_tabular_mlp

    data = load_adult()
    rows = np.random.default_rng(0).permutation(len(data.train.y))[:4000]
    X, y = data.train.X.iloc[rows], np.asarray(data.train.y)[rows]
    pre = make_tabular_preprocessor(data.categorical_features, data.numeric_features).fit(X)
    names = [str(c) for c in pre.get_feature_names_out()]
    frame = pd.DataFrame(np.asarray(pre.transform(X), dtype=np.float32), columns=names)
    model = train_tabular_mlp(frame.to_numpy(), y, epochs=5, random_state=0)
    import torch

    with torch.no_grad():
        rejected = frame[model(torch.from_numpy(frame.to_numpy())).argmax(1).numpy() == 0].iloc[:150]
    fixed = [c for c in names if c.startswith("categorical__")] + ["numeric__age"]  # one-hot: not continuous
    education = next(c for c in names if "education_num" in c)
    result = Counterfactuals(model, immutable=fixed, monotone={education: "increasing"}, data=frame,
                             method="gradient", random_state=0).generate(rejected, n=1)
    assert result.validity >= 0.95
    lines = result.counterfactuals[result.counterfactuals["valid"]]
    original = rejected.loc[lines["row"]].reset_index(drop=True)
    np.testing.assert_array_equal(lines[fixed].to_numpy(), original[fixed].to_numpy())
    assert (lines[education].to_numpy() >= original[education].to_numpy()).all()


def test_gradient_bad_input(fitted):
    model, X = fitted
    with pytest.raises(AssayInputError, match="'method'.*torch"):
        Counterfactuals(model, method="gradient").generate(X.iloc[:5])
    with pytest.raises(AssayInputError, match="'X'.*non-numeric.*level"):
        Counterfactuals(_linear_torch([1.0] * 6, 0.0), method="gradient").generate(X.iloc[:5])
    with pytest.raises(AssayInputError, match="'method'"):
        Counterfactuals(model, method="adam").generate(X.iloc[:5])
