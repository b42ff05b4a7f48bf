"""Linear probes: sex decodable from the Adult MLP's hidden layers, digits from the CNN's; controls at chance."""

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.explain import LinearProbe
from assay.testing import check_component


@pytest.fixture(scope="module")
def adult_mlp():
    from assay.datasets import load_adult
    from assay.models import make_tabular_preprocessor, train_tabular_mlp

    data = load_adult()
    rows = np.random.default_rng(0).permutation(len(data.train.y))[:4000]
    X, y = data.train.X.iloc[rows], np.asarray(data.train.y)[rows]
    pre = make_tabular_preprocessor(data.categorical_features, data.numeric_features).fit(X)
    features = np.asarray(pre.transform(X), dtype=np.float32)
    model = train_tabular_mlp(features, y, epochs=5, random_state=0)
    return model, features, data.train.sensitive_features.iloc[rows]["sex"].to_numpy()


def test_sex_is_decodable_from_the_hidden_layers(adult_mlp):
    model, X, sex = adult_mlp
    probe = LinearProbe(model, layers=["body.1", "penultimate.1"], random_state=0).fit(X, sex)
    table = probe.result_.to_frame()
    assert list(table.index) == ["body.1", "penultimate.1"]
    assert (table["accuracy"] > table["majority"] + 0.05).all()  # above chance: the features carry sex
    assert (table["control_accuracy"] < table["majority"] + 0.03).all()  # permuted sex: nothing to learn
    np.testing.assert_allclose(table["selectivity"], table["accuracy"] - table["control_accuracy"])
    assert (table["accuracy_lower"] <= table["accuracy"]).all() and (table["accuracy"] <= table["accuracy_upper"]).all()
    again = LinearProbe(model, layers=["body.1", "penultimate.1"], random_state=0).fit(X, sex).result_.to_frame()
    pd.testing.assert_frame_equal(again, table)


def test_probe_accuracy_equals_a_direct_logistic_regression(adult_mlp):
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model, X, sex = adult_mlp
    table = LinearProbe(model, layers=["penultimate.1"], random_state=3).fit(X, sex).result_.to_frame()
    captured = {}

    def keep(module, inputs, output):
        captured["h"] = output.detach().numpy().astype(np.float64)  # returns None: the output is unchanged

    hook = dict(model.named_modules())["penultimate.1"].register_forward_hook(keep)
    with torch.no_grad():
        model.eval()(torch.from_numpy(X))
    hook.remove()
    codes = np.unique(sex, return_inverse=True)[1]
    rng = np.random.default_rng(3)
    train, test = train_test_split(np.arange(len(codes)), test_size=0.3, stratify=codes,
                                   random_state=int(rng.integers(2**31 - 1)))
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(captured["h"][train], codes[train])
    assert table.loc["penultimate.1", "accuracy"] == pytest.approx(np.mean(probe.predict(captured["h"][test])
                                                                           == codes[test]))


def test_digits_cnn_layers_encode_the_digit():
    from assay.datasets import load_digits_split
    from assay.models import train_digits_cnn

    data = load_digits_split()
    model = train_digits_cnn(data.train.X, data.train.y, epochs=5, random_state=0)
    table = LinearProbe(model, layers=["pool", "penultimate.1"], random_state=0).fit(
        data.test.X, np.asarray(data.test.y)).result_.to_frame()
    assert (table["accuracy"] > 0.8).all() and (table["control_accuracy"] < 0.3).all()
    assert (table["selectivity"] > 0.5).all()


def test_conformance_and_bad_input(adult_mlp):
    model, X, sex = adult_mlp
    check_component(LinearProbe(model, layers=["body.1"]), skip=["pickle", "deterministic", "fit_returns_self",
                                                                  "not_fitted"])
    with pytest.raises(AssayInputError, match="'property'.*two values"):
        LinearProbe(model, layers=["body.1"]).fit(X, np.zeros(len(X)))
    with pytest.raises(AssayInputError, match="property"):
        LinearProbe(model, layers=["body.1"]).fit(X, sex[:10])
    with pytest.raises(AssayInputError, match="no_such_layer"):
        LinearProbe(model, layers=["no_such_layer"]).fit(X, sex)
    with pytest.raises(AssayInputError, match="'layers'"):
        LinearProbe(model).fit(X, sex)
