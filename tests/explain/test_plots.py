"""Plots of explanations: drawn from real results, with the numbers they show checked on the axes."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from assay import AssayInputError
from assay.explain import Attribution, IntegratedGradients, Saliency
from assay.explain.evaluate import deletion_insertion, randomization_test
from assay.explain.importance import group_attributions, mean_abs_attribution
from assay.report import (
    figure_to_png,
    plot_attribution_overlay,
    plot_attribution_summary,
    plot_deletion_insertion,
    plot_group_importance,
    plot_importance,
    plot_randomization,
)

from ._models import cnn as _cnn

X = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)


def _tabular(n=120):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(n, 3)) * [3.0, 1.0, 0.2]
    return Attribution(values=values, method="m", target=np.zeros(n, int), feature_names=("age", "hours", "edu"))


def test_overlay_and_summary():
    att = Saliency(_cnn(), abs=False).attribute(X, target=1)
    fig = plot_attribution_overlay(X, att.values, titles=["a", "b", "c", "d"], ncols=2)
    assert [ax.get_title() for ax in fig.axes[:4]] == ["a", "b", "c", "d"]
    assert figure_to_png(fig)[:4] == b"\x89PNG"
    tab = _tabular()
    fig = plot_attribution_summary(tab.values, np.abs(tab.values), feature_names=tab.feature_names)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["edu", "hours", "age"]  # most important on top
    plt.close(fig)


def test_importance_and_group_bars():
    tab = _tabular()
    frame = mean_abs_attribution(tab)
    fig = plot_importance(frame)
    widths = [p.get_width() for p in fig.axes[0].patches]
    np.testing.assert_allclose(widths, frame["mean_abs"].to_numpy()[::-1])
    plt.close(fig)
    sex = np.where(np.arange(120) % 2, "F", "M")
    groups = group_attributions(tab, {"sex": sex}, n_boot=20, random_state=0)
    fig = plot_group_importance(groups.table)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert len(heights) == 6  # 3 features x 2 groups
    assert heights[0] == pytest.approx(np.abs(tab.values[sex == "F", 0]).mean())
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["F", "M"]
    plt.close(fig)


def test_randomization_and_deletion_panels():
    model = _cnn()
    tests = {"Saliency": randomization_test(Saliency(model), X, 1)}
    fig = plot_randomization(tests)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), tests["Saliency"].table["mean"])
    plt.close(fig)
    att = IntegratedGradients(model, n_steps=8).attribute(X, target=1)
    curves = deletion_insertion(model, X, att, n_steps=4)
    fig = plot_deletion_insertion(curves.fractions, {"IG": curves})
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), curves.deletion.mean(0))
    assert f"AUC {curves.deletion_auc.mean():.3f}" in fig.axes[0].lines[0].get_label()
    plt.close(fig)


def test_bad_inputs():
    with pytest.raises(AssayInputError, match="'values'.*shape"):
        plot_attribution_overlay(np.zeros((2, 1, 4, 4)), np.zeros((2, 1, 3, 3)))
    with pytest.raises(AssayInputError, match="'frame'"):
        plot_importance([1, 2])
    with pytest.raises(AssayInputError, match="'feature_names'"):
        plot_attribution_summary(np.zeros((3, 2)), feature_names=["a"])
    with pytest.raises(AssayInputError, match="'tests'"):
        plot_randomization({})
    with pytest.raises(AssayInputError, match="'curves'"):
        plot_deletion_insertion([0, 1], {"m": (np.zeros((2, 3)), np.zeros((2, 3)))})
