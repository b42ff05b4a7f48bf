"""Superpixels without extra packages, and LIME / KernelSHAP with each image's own segments."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from assay import AssayInputError
from assay.explain import LIME, KernelSHAP, superpixels


@pytest.fixture(scope="module")
def digits():
    from assay.datasets import load_digits_split

    return load_digits_split().test.X[:20].double()


def test_two_flat_halves_are_two_segments():
    image = np.zeros((6, 8))
    image[:, 4:] = 1.0
    seg = superpixels(image, n_segments=2, compactness=0.01)
    want = np.zeros((6, 8), dtype=np.int64)
    want[:, 4:] = 1
    np.testing.assert_array_equal(seg, want)
    # compactness large: a grid regardless of intensity (2 x 2 cells for 4 segments)
    grid = superpixels(np.random.default_rng(0).random((8, 8)), n_segments=4, compactness=100.0)
    np.testing.assert_array_equal(grid, np.kron(np.arange(4).reshape(2, 2), np.ones((4, 4), dtype=np.int64)))


def test_digits_segments_cover_the_image_connected_and_deterministic(digits):
    for image in digits.numpy():
        seg = superpixels(image, n_segments=16)
        assert seg.shape == image.shape and seg.dtype == np.int64
        labels = np.unique(seg)
        np.testing.assert_array_equal(labels, np.arange(len(labels)))  # every pixel labelled, ids 0..k-1
        assert 6 <= len(labels) <= 24
        for value in labels:  # each segment one connected piece
            assert ndimage.label(seg[0] == value)[1] == 1
        np.testing.assert_array_equal(superpixels(image, n_segments=16), seg)
        np.testing.assert_array_equal(superpixels(np.moveaxis(image, 0, -1), n_segments=16, channel_axis=-1),
                                      np.moveaxis(seg, 0, -1))
        np.testing.assert_array_equal(superpixels(image[0], n_segments=16, channel_axis=None), seg[0])


def test_lime_with_superpixels_recovers_a_planted_region(digits):
    # class 1's logit is 5 x the sum of the top-left 4 x 4 pixels: only segments there matter
    region = torch.zeros(1, 8, 8, dtype=torch.float64)
    region[:, :4, :4] = 1.0

    def model(x):
        x = torch.as_tensor(x)
        s = 5.0 * (x * region).flatten(1).sum(1)
        return torch.stack([torch.zeros_like(s), s], 1)

    X = digits[:6]
    att = LIME(model, feature_groups="superpixels", n_samples=300, output="logits", random_state=0).attribute(
        X, target=1)
    again = LIME(model, feature_groups="superpixels", n_samples=300, output="logits", random_state=0).attribute(
        X, target=1)
    np.testing.assert_array_equal(att.values, again.values)
    assert att.values.shape == X.shape and "per-image superpixels" in att.method
    inside = region.numpy().astype(bool)
    for i in range(len(X)):
        v = att.values[i]
        seg = superpixels(X[i].numpy(), n_segments=16)
        # a segment's coefficient is ~5 x its pixel sum inside the region (LIME fits a linear model exactly)
        want = {g: 5.0 * X[i].numpy()[(seg == g) & inside].sum() for g in np.unique(seg)}
        scale = max(abs(w) for w in want.values())
        for g, w in want.items():  # ridge (alpha=1) shrinks a little: within 5% of the largest value
            assert np.all(v[seg == g] == v[seg == g][0]) and v[seg == g][0] == pytest.approx(w, abs=0.05 * scale)
        outside = ~np.isin(seg, np.unique(seg[inside]))  # segments wholly outside the region: ~0
        assert np.abs(v[outside]).max() <= 0.05 * np.abs(v).max()
        top = np.unravel_index(np.argmax(v), v.shape)
        assert seg[top] in seg[inside]  # the most important segment overlaps the region


def test_kernel_shap_with_superpixels_is_exact_per_segment(digits):
    torch.manual_seed(0)
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3)).double()
    X = digits[:3]
    att = KernelSHAP(lin, feature_groups=lambda img: superpixels(img, n_segments=9)).attribute(X, target=2)
    w = lin[1].weight[2].detach().numpy().reshape(1, 8, 8)
    for i in range(3):
        seg = superpixels(X[i].numpy(), n_segments=9)
        for g in np.unique(seg):
            cells = seg == g
            np.testing.assert_allclose(att.values[i][cells], (w * X[i].numpy())[cells].sum(), atol=1e-10)
    np.testing.assert_allclose(att.delta, 0, atol=1e-10)
    assert "per-image segments" in att.method


def test_bad_inputs(digits):
    with pytest.raises(AssayInputError, match="'n_segments'"):
        superpixels(np.zeros((4, 4)), n_segments=0)
    with pytest.raises(AssayInputError, match="'image'"):
        superpixels(np.zeros(5))
    with pytest.raises(AssayInputError, match="'feature_groups'"):
        LIME(lambda x: np.zeros((len(x), 2)), feature_groups=lambda img: np.zeros(3, dtype=int)).attribute(
            digits[:2].numpy())
    with pytest.raises(AssayInputError, match="'feature_groups'"):
        LIME(lambda x: np.zeros((len(x), 2)), feature_groups="patches").attribute(digits[:2].numpy())
