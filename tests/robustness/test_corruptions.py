"""Corruptions: deterministic per seed, inside the valid range, dtypes and categories kept,
severity 5 further than severity 1, and hand-computed cases (blur = scipy's, DCT = scipy's)."""

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import scipy.fft
import scipy.ndimage
import torch

from assay import AssayInputError
from assay.robustness import (
    CORRUPTIONS,
    Corruption,
    get_corruption,
    image_corruptions,
    register_corruption,
    tabular_corruptions,
)
from assay.robustness.corruptions_image import _dct_matrix
from assay.testing import check_component

IMAGES = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame({
        "age": rng.integers(18, 90, n),
        "income": rng.lognormal(10, 1, n),
        "small_int": rng.integers(0, 5, n).astype(np.int16),
        "flag": rng.random(n) < 0.3,
        "colour": pd.Categorical(rng.choice(["red", "green", "blue", "grey"], n, p=[0.5, 0.3, 0.15, 0.05])),
        "city": rng.choice(["Paris", "Oslo", "Lima"], n).astype(object),
    })


def test_registry_lists_sixteen_image_and_five_tabular_corruptions():
    assert len(image_corruptions()) == 16 and len(tabular_corruptions()) == 5
    assert set(image_corruptions()) | set(tabular_corruptions()) == set(CORRUPTIONS)
    for name, cls in CORRUPTIONS.items():
        assert cls.name == name and len(cls.severities) == 5


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_every_corruption_passes_the_component_battery(name):
    check_component(get_corruption(name))


@pytest.mark.parametrize("name", image_corruptions())
def test_image_corruption_deterministic_in_range_and_monotone(name):
    corruption = get_corruption(name)
    before = IMAGES.clone()
    ones, fives = corruption(IMAGES, 1, 3), corruption(IMAGES, 5, 3)
    assert torch.equal(IMAGES, before)  # never in place
    assert torch.equal(ones, corruption(IMAGES, 1, 3))
    for out in (ones, fives):
        assert out.shape == IMAGES.shape and out.dtype == IMAGES.dtype
        assert float(out.min()) >= 0 and float(out.max()) <= 1
    d1, d5 = float((ones - IMAGES).abs().mean()), float((fives - IMAGES).abs().mean())
    assert d5 > d1 > 0, (d1, d5)
    if corruption.random:
        assert not torch.equal(corruption(IMAGES, 3, 1), corruption(IMAGES, 3, 2))


@pytest.mark.parametrize("name", image_corruptions())
def test_image_corruptions_keep_numpy_and_another_valid_range(name):
    x = (IMAGES[:2].numpy().astype(np.float64) * 255)
    out = get_corruption(name, valid_range=(0, 255))(x, 4, 0)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == x.shape
    assert out.min() >= 0 and out.max() <= 255


def test_grayscale_is_the_identity_on_one_channel():
    x = IMAGES[:, :1]
    assert torch.equal(get_corruption("grayscale")(x, 5, 0), x)
    gray = get_corruption("grayscale")(IMAGES, 5, 0)
    expected = (IMAGES * torch.tensor([0.299, 0.587, 0.114])[None, :, None, None]).sum(1, keepdim=True)
    torch.testing.assert_close(gray, expected.expand_as(gray))


def test_gaussian_blur_equals_scipy_with_nearest_edges():
    out = get_corruption("gaussian_blur")(IMAGES.double(), 3, 0)  # sigma 1 pixel
    expected = scipy.ndimage.gaussian_filter(IMAGES.double().numpy(), sigma=(0, 0, 1, 1), mode="nearest", truncate=3)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)


def test_dct_matrix_is_scipys_orthonormal_dct():
    d = _dct_matrix(8, torch.zeros(1, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(d, scipy.fft.dct(np.eye(8), type=2, norm="ortho", axis=0), atol=1e-12)


def test_jpeg_keeps_a_constant_block_and_quantises_a_hand_computed_one():
    flat = torch.full((1, 1, 8, 8), 128 / 255, dtype=torch.float64)
    torch.testing.assert_close(get_corruption("jpeg")(flat, 5, 0), flat)
    # a DC-only block: value v -> DC coefficient 8 * (255 v - 128), quantised by the quality-7 DC step
    v = torch.full((1, 1, 8, 8), 200 / 255, dtype=torch.float64)
    step = np.floor((16 * (5000 / 7) + 50) / 100)
    dc = np.round(8 * (200 - 128) / step) * step
    torch.testing.assert_close(get_corruption("jpeg")(v, 5, 0), torch.full_like(v, (dc / 8 + 128) / 255))


def test_contrast_pixelate_brightness_by_hand():
    x = torch.arange(16, dtype=torch.float64).reshape(1, 1, 4, 4) / 15
    torch.testing.assert_close(get_corruption("contrast")(x, 1, 0), (x - x.mean()) * 0.4 + x.mean())
    pooled = get_corruption("pixelate")(x, 2, 0)  # keep half of each side: 2x2 means
    expected = torch.tensor([[2.5, 4.5], [10.5, 12.5]], dtype=torch.float64) / 15
    torch.testing.assert_close(pooled[0, 0], expected.repeat_interleave(2, 0).repeat_interleave(2, 1))
    torch.testing.assert_close(get_corruption("brightness")(x, 3, 0), (x + 0.3).clamp(0, 1))


def test_geometric_corruptions_of_a_constant_image_fill_with_the_lower_bound():
    x = torch.ones(2, 1, 8, 8, dtype=torch.float64)
    for name in ("rotate", "translate", "shear"):
        out = get_corruption(name)(x, 5, 0)
        assert float(out.min()) < 1 and float(out.max()) == pytest.approx(1.0)
        assert float(out[:, :, 3:5, 3:5].min()) == pytest.approx(1.0)  # the centre stays


@pytest.mark.parametrize("name", tabular_corruptions())
def test_tabular_corruption_deterministic_keeps_dtypes_categories_and_monotone(frame, name):
    corruption = get_corruption(name)
    before = frame.copy()
    ones, fives = corruption(frame, 1, 0), corruption(frame, 5, 0)
    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_frame_equal(ones, corruption(frame, 1, 0))
    for out in (ones, fives):
        assert list(out.columns) == list(frame.columns) and out.index.equals(frame.index)
        for column in frame.columns:
            if name == "missing_values" and pd.api.types.is_integer_dtype(frame[column]):
                assert out[column].dtype == np.float64
            elif name == "missing_values" and frame[column].dtype == bool:
                assert out[column].dropna().isin([True, False]).all()
            else:
                assert out[column].dtype == frame[column].dtype, column
        assert out["colour"].cat.categories.equals(frame["colour"].cat.categories)
        assert set(out["city"].dropna()) <= set(frame["city"])
    changed = [(out.astype(object) != frame.astype(object)).to_numpy().mean() for out in (ones, fives)]
    assert changed[1] > changed[0] > 0, changed


def test_numeric_noise_scales_with_each_columns_sd(frame):
    out = get_corruption("numeric_noise", columns=["income"])(frame, 5, 0)
    noise = out["income"] - frame["income"]
    assert noise.std() == pytest.approx(0.8 * frame["income"].std(ddof=0), rel=0.1)
    assert (out.drop(columns="income") == frame.drop(columns="income")).all().all()


def test_feature_dropout_uses_the_reference_median_and_mode(frame):
    reference = frame.iloc[:100]
    out = get_corruption("feature_dropout", columns=["age"], reference=reference)(frame, 1, 0)
    assert (out.drop(columns="age") == frame.drop(columns="age")).all().all()
    assert (out["age"] == round(np.median(reference["age"]))).all()
    out = get_corruption("feature_dropout", columns=["colour"], reference=reference)(frame, 1, 0)
    assert (out["colour"] == reference["colour"].value_counts().index[0]).all()


def test_category_swap_frequency_moves_to_the_neighbour_in_frequency(frame):
    out = get_corruption("category_swap", strategy="frequency", columns=["colour"])(frame, 5, 0)
    moved = out["colour"] != frame["colour"]
    ranking = list(frame["colour"].value_counts().index)
    neighbour = {c: ranking[i + 1] if i + 1 < len(ranking) else ranking[i - 1] for i, c in enumerate(ranking)}
    assert moved.mean() == pytest.approx(0.5, abs=0.08)
    assert (out["colour"][moved].astype(str) == frame["colour"][moved].map(neighbour).astype(str)).all()


def test_unit_error_multiplies_by_ten_or_a_tenth(frame):
    out = get_corruption("unit_error", columns=["income"])(frame, 5, 0)
    ratio = (out["income"] / frame["income"]).round(9)
    assert set(ratio.unique()) <= {0.1, 1.0, 10.0}
    assert (ratio != 1).mean() == pytest.approx(0.5, abs=0.08)


def test_bad_inputs_are_refused():
    with pytest.raises(AssayInputError, match="'severity'.*\\[1, 5\\]"):
        get_corruption("gaussian_noise")(IMAGES, 6, 0)
    with pytest.raises(AssayInputError, match="Unknown corruption 'fog'"):
        get_corruption("fog")
    with pytest.raises(AssayInputError, match="outside the declared 'valid_range'"):
        get_corruption("contrast")(IMAGES * 2, 1, 0)
    with pytest.raises(AssayInputError, match="'valid_range'"):
        get_corruption("contrast", valid_range=(1, 0))(IMAGES, 1, 0)
    with pytest.raises(AssayInputError, match="DataFrame"):
        get_corruption("unit_error")(IMAGES, 1, 0)
    with pytest.raises(AssayInputError, match="register"):
        register_corruption(int)


def test_a_corruption_from_outside_registers_by_name():
    class Invert(Corruption):
        name, kind, severities = "test_invert", "image", (1, 1, 1, 1, 1)
        _parameter_constraints: ClassVar[dict] = {}

        def _corrupt(self, X, parameter, severity, random_state):
            return 1 - X

    try:
        register_corruption(Invert)
        torch.testing.assert_close(get_corruption("test_invert")(IMAGES, 2), 1 - IMAGES)
    finally:
        CORRUPTIONS.pop("test_invert", None)
