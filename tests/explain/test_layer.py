"""GradCAM (plain and guided) and GradientShap: equal to Captum 0.9's on the seeded CNN; batch_size-free."""

import warnings

import numpy as np
import pytest
import torch

from assay import AssayInputError
from assay.explain import GradCAM, GradientShap
from assay.testing import check_component

from ._models import cnn as _cnn

captum_attr = pytest.importorskip("captum.attr")

X = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
TARGET = np.array([0, 1, 2, 3, 1])


@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_gradcam_equals_captum_layer_gradcam_upsampled(relu, mode):
    model = _cnn()
    ours = GradCAM(model, layer="0", relu=relu, interpolate_mode=mode).attribute(X, target=TARGET)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cam = captum_attr.LayerGradCam(model, model[0]).attribute(X, target=torch.tensor(TARGET),
                                                                  relu_attributions=relu)
    want = captum_attr.LayerAttribution.interpolate(cam, (8, 8), interpolate_mode=mode).detach().numpy()
    np.testing.assert_allclose(ours.values, want, atol=1e-12, rtol=0)
    assert ours.values.shape == tuple(X.shape)
    if not relu:
        assert (want < 0).any()  # the ReLU matters on this layer


def test_guided_gradcam_equals_captum_and_batch_size_free():
    model = _cnn()
    ours = GradCAM(model, layer="0", guided=True).attribute(X, target=TARGET)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = captum_attr.GuidedGradCam(model, model[0]).attribute(X, target=torch.tensor(TARGET)).detach().numpy()
    np.testing.assert_allclose(ours.values, want, atol=1e-12, rtol=0)
    for size in (1, 2):
        np.testing.assert_array_equal(GradCAM(model, layer="0", guided=True, batch_size=size).attribute(
            X, target=TARGET).values, ours.values)
    assert ours.method.startswith("GuidedGradCAM(layer='0'")


@pytest.mark.parametrize("stdevs", [0.0, 0.3])
def test_gradient_shap_equals_captum(stdevs):
    model = _cnn()
    background = torch.randn(10, 1, 8, 8, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    ours = GradientShap(model, n_samples=6, stdevs=stdevs, random_state=5).attribute(X, target=TARGET,
                                                                                     baselines=background)
    np.random.seed(5)
    torch.manual_seed(5)
    want, delta = captum_attr.GradientShap(model).attribute(X, baselines=background, n_samples=6, stdevs=stdevs,
                                                            target=torch.tensor(TARGET),
                                                            return_convergence_delta=True)
    np.testing.assert_allclose(ours.values, want.detach().numpy(), atol=1e-12, rtol=0)
    np.testing.assert_allclose(ours.delta, delta.reshape(5, 6).mean(1).numpy(), atol=1e-12)
    small = GradientShap(model, n_samples=6, stdevs=stdevs, random_state=5, batch_size=4).attribute(
        X, target=TARGET, baselines=background)
    np.testing.assert_array_equal(small.values, ours.values)


def test_gradient_shap_is_exact_on_a_linear_model():
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 3).double()
    Xl = torch.randn(3, 4, dtype=torch.float64)
    att = GradientShap(lin, n_samples=3, random_state=0).attribute(Xl, target=2, baselines=np.zeros((1, 4)))
    np.testing.assert_allclose(att.values, lin.weight.detach().numpy()[2] * Xl.numpy(), atol=1e-12)
    np.testing.assert_allclose(att.delta, 0, atol=1e-12)


def test_bad_inputs_and_components():
    model = _cnn()
    with pytest.raises(AssayInputError, match="'layer'.*'conv9'"):
        GradCAM(model, layer="conv9").attribute(X)
    with pytest.raises(AssayInputError, match="'layer'.*feature maps"):
        GradCAM(model, layer="3").attribute(X)
    with pytest.raises(AssayInputError, match="'baselines'.*GradientShap"):
        GradientShap(model).attribute(X, baselines=np.zeros((2, 1, 4, 4)))
    assert "bad_params" in check_component(GradCAM(torch.nn.Linear(4, 2)), skip=["pickle"])
    assert "bad_params" in check_component(GradientShap(torch.nn.Linear(4, 2), random_state=0), skip=["pickle"])
