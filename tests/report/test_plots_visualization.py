"""Plots of feature visualizations, class entanglement and prototypes: drawn from real results, with the
numbers they show read back from the axes."""

import numpy as np
import pandas as pd
import pytest
import torch

from assay import AssayInputError
from assay.explain import FeatureVisualization, MMDCritic, class_entanglement
from assay.report import figure_to_png, plot_entanglement, plot_feature_visualizations, plot_prototypes


def _cnn():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(3 * 6 * 6, 4))


@pytest.fixture(scope="module")
def visualization():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return FeatureVisualization(_cnn(), input_shape=(1, 8, 8), steps=20).visualize(np.arange(4))
    finally:
        torch.set_num_threads(threads)


def test_feature_visualization_grid(visualization):
    fig = plot_feature_visualizations(visualization.images, visualization.target, visualization.probabilities,
                                      ncols=2)
    p = visualization.probabilities
    assert [ax.get_title() for ax in fig.axes] == [f"{c}: p={p[c, c]:.2f}" for c in range(4)]
    assert figure_to_png(fig)[:4] == b"\x89PNG"
    fig = plot_feature_visualizations(visualization.images[:3], [0, 1, 2], ncols=2)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["class 0", "class 1", "class 2"]
    with pytest.raises(AssayInputError, match="'target'"):
        plot_feature_visualizations(visualization.images, [0, 1])
    with pytest.raises(AssayInputError, match="'probabilities'"):
        plot_feature_visualizations(visualization.images, [0, 1, 2, 7], visualization.probabilities)


def test_entanglement_heat_map(visualization):
    ent = class_entanglement(visualization)
    fig = plot_entanglement(ent)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == [f"{v:.2f}" for v in ent.probability.to_numpy().ravel()]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["0", "1", "2", "3"]
    fig = plot_entanglement(ent, value="logit_gain")
    assert [t.get_text() for t in fig.axes[0].texts][5] == f"{ent.logit_gain.to_numpy()[1, 1]:.2f}"
    assert figure_to_png(fig)[:4] == b"\x89PNG"
    with pytest.raises(AssayInputError, match="'matrix'"):
        plot_entanglement(np.eye(3))


def test_prototype_grid_and_tabular_rows():
    rng = np.random.default_rng(0)
    images = rng.random((30, 1, 6, 6))
    y = np.arange(30) % 2
    result = MMDCritic(3, 2).fit(images, y, sensitive_features=np.where(np.arange(30) < 15, "a", "b")).result_
    fig = plot_prototypes(images, result)
    assert len(fig.axes) == 4 * 3  # per class: a prototype row and a criticism row, 3 columns
    first = result.prototypes.iloc[0]
    assert np.allclose(fig.axes[0].images[0].get_array(), images[int(first["position"]), 0])
    assert fig.axes[0].get_title() == f"MMD²={first['mmd2']:.3f}"
    assert fig.axes[0].get_ylabel() == "0: prototypes"
    fig = plot_prototypes(images, result.to_frame(), feature="sensitive_feature", group="b", max_per_row=2)
    assert "sensitive_feature = b" in fig._suptitle.get_text()
    with pytest.raises(AssayInputError, match="'feature'/'group'"):
        plot_prototypes(images, result, feature="sex")
    with pytest.raises(AssayInputError, match="'images'"):
        plot_prototypes(images[:5], result)
    X = pd.DataFrame({"age": rng.integers(20, 60, 30), "income": rng.normal(size=30), "city": "x"})
    tab = MMDCritic(2, 1, standardize=True).fit(X).result_
    rows = tab.with_rows(X)
    assert rows["age"].tolist() == X["age"].iloc[tab.to_frame()["position"]].tolist() and "city" in rows
