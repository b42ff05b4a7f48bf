"""Attack plots: what is drawn is the data given (images, perturbations, curves)."""

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.report import (
    PALETTE,
    figure_to_png,
    plot_adversarial_examples,
    plot_certified_accuracy,
    plot_perturbation_heatmap,
)


def _images():
    rng = np.random.default_rng(0)
    clean = rng.uniform(0, 1, size=(5, 1, 8, 8))
    adv = np.clip(clean + rng.choice([-0.1, 0.1], size=clean.shape), 0, 1)
    return clean, adv


def test_adversarial_examples_titles_and_images():
    clean, adv = _images()
    fig = plot_adversarial_examples(clean, adv, [1, 2, 3, 4, 5], [1, 7, 3, 9, 5], [0.9] * 5, [0.5] * 5, n=4)
    axes = fig.axes
    assert len(axes) == 8
    np.testing.assert_allclose(axes[4].images[0].get_array(), adv[0, 0])
    assert axes[5].get_title() == "7 (0.50)" and axes[0].get_title() == "1 (0.90)"
    assert axes[5].title.get_color() == PALETTE[1] and axes[4].title.get_color() == "black"
    assert figure_to_png(fig)[:4] == b"\x89PNG"


def test_perturbation_heatmap_is_the_signed_difference():
    clean, adv = _images()
    fig = plot_perturbation_heatmap(clean, adv, n=3)
    image = fig.axes[1].images[0]
    np.testing.assert_allclose(image.get_array(), adv[1, 0] - clean[1, 0])
    assert image.get_clim() == (-0.1, 0.1) or np.allclose(image.get_clim(), (-0.1, 0.1))
    figure_to_png(fig)
    with pytest.raises(AssayInputError, match="'clean' and 'adversarial'"):
        plot_perturbation_heatmap(clean, adv[:, :, :4])
    with pytest.raises(AssayInputError, match="'clean'"):
        plot_perturbation_heatmap(np.zeros((2, 5)), np.zeros((2, 5)))


def test_certified_accuracy_curve_lines():
    curve = pd.DataFrame({"certified_accuracy": [0.9, 0.6, 0.2]}, index=pd.Index([0.0, 0.25, 0.5], name="radius"))
    groups = pd.DataFrame([[0.95, 0.7, 0.3, 50], [0.85, 0.5, 0.1, 50]], columns=[0.0, 0.25, 0.5, "count"],
                          index=pd.MultiIndex.from_tuples([("sex", "F"), ("sex", "M")]))
    fig = plot_certified_accuracy(curve, groups)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3
    np.testing.assert_allclose(lines[0].get_ydata(), [0.9, 0.6, 0.2])
    np.testing.assert_allclose(lines[2].get_ydata(), [0.85, 0.5, 0.1])
    assert lines[1].get_label() == "sex: F"
    figure_to_png(fig)
    with pytest.raises(AssayInputError, match="'curve'"):
        plot_certified_accuracy(pd.DataFrame({"x": [1]}))
