"""Feature visualization: the digits CNN's class visualizations are classified as their class, total-variation
regularisation lowers total variation, layer objectives equal the layer read directly, the transforms and the
blur equal their references, entanglement and naturalness equal hand/scipy computations."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.ndimage import gaussian_filter
from scipy.stats import spearmanr

from assay import AssayInputError
from assay.explain import FeatureVisualization, VisualizationResult, class_entanglement, naturalness, total_variation
from assay.explain.visualization import _blur, _transform, _tv_torch

from ._models import cnn


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: threads only contend
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    from assay.datasets import load_digits_split
    from assay.models import train_digits_cnn

    data = load_digits_split()
    return train_digits_cnn(data.train.X, data.train.y, epochs=5, random_state=0), data


def test_every_digit_visualization_is_classified_as_its_digit(digits):
    model, _ = digits
    vis = FeatureVisualization(model, input_shape=(1, 8, 8), objective="log_prob", steps=60, random_state=0)
    result = vis.visualize(np.arange(10))
    frame = result.to_frame()
    assert (frame["predicted"] == np.arange(10)).all()
    assert frame["target_probability"].min() >= 0.9, frame
    assert result.images.min() >= 0 and result.images.max() <= 1  # clip=(0, 1)
    assert (result.history[:, -1] > result.history[:, 0]).all()
    # the reported numbers are the model's on the returned images
    with torch.no_grad():
        logits = model.eval()(torch.as_tensor(result.images)).double()
    assert np.allclose(result.activation, torch.log_softmax(logits, 1).numpy()[np.arange(10), np.arange(10)],
                       atol=1e-4)
    assert np.allclose(result.probabilities, torch.softmax(logits, 1).numpy(), atol=1e-5)
    # total-variation regularisation lowers the images' total variation
    smooth = vis.set_params(tv=1.0).visualize(np.arange(10))
    assert (smooth.total_variation < result.total_variation).all()
    assert smooth.total_variation.mean() < 0.8 * result.total_variation.mean()
    assert np.allclose(smooth.total_variation, total_variation(smooth.images))


def test_logit_objective_and_entanglement(digits):
    model, _ = digits
    vis = FeatureVisualization(model, input_shape=(1, 8, 8), steps=40, random_state=0)
    ent = vis.entanglement()
    result = vis.visualize(np.arange(10))
    assert np.allclose(ent.probability.to_numpy(), result.probabilities)
    assert np.allclose(ent.probability.sum(axis=1), 1.0)
    # optimising a digit's logit raises it, and (for most digits) more than any other logit
    gain = ent.logit_gain.to_numpy()
    assert (np.diag(gain) > 0).all() and (gain.argmax(1) == np.arange(10)).mean() >= 0.8
    off = ~np.eye(10, dtype=bool)
    assert ent.off_diagonal == pytest.approx(result.probabilities[off].mean())


def test_fourier_blur_and_transforms_stay_in_range_and_work(digits):
    model, _ = digits
    vis = FeatureVisualization(model, input_shape=(1, 8, 8), objective="log_prob", steps=60, fourier=True, blur=0.5,
                               jitter=1, scales=(0.9, 1.0, 1.1), rotation=10.0, clip=(0.1, 0.9), random_state=1)
    result = vis.visualize([3, 7])
    assert result.images.min() >= 0.1 and result.images.max() <= 0.9
    assert (result.probabilities[[0, 1], [3, 7]] > 0.9).all()
    again = vis.set_params(batch_size=1).visualize([3, 7])  # seeded, and batch_size never changes the images
    assert np.allclose(again.images, result.images, atol=1e-5)
    unbounded = vis.set_params(clip=None, fourier=False, blur=0.0, l2=0.1).visualize([3])
    assert unbounded.images.shape == (1, 1, 8, 8)


def test_layer_objectives_equal_the_layer_read_directly(digits):
    model, _ = digits
    base = FeatureVisualization(model, input_shape=(1, 8, 8), steps=30, random_state=0)
    captured = {}
    modules = dict(model.named_modules())
    hooks = [modules[name].register_forward_hook(lambda _m, _i, out, name=name: captured.__setitem__(name, out))
             for name in ("relu2", "penultimate.1")]
    try:
        channel = base.set_params(objective="channel", layer="relu2").visualize([0, 5])
        with torch.no_grad():
            model.eval()(torch.as_tensor(channel.images))
        assert np.allclose(channel.activation, captured["relu2"][[0, 1], [0, 5]].mean((1, 2)).numpy(), atol=1e-5)
        neuron = base.set_params(objective="neuron", layer="penultimate.1").visualize([3, 40])
        with torch.no_grad():
            model(torch.as_tensor(neuron.images))
        assert np.allclose(neuron.activation, captured["penultimate.1"][[0, 1], [3, 40]].numpy(), atol=1e-5)
        assert (neuron.history[:, -1] > neuron.history[:, 0]).all()
        d = np.random.default_rng(0).normal(size=32)
        direction = base.set_params(objective="direction", layer="relu2").visualize(d)
        with torch.no_grad():
            model(torch.as_tensor(direction.images))
        unit = torch.as_tensor(d / np.linalg.norm(d), dtype=torch.float32)
        expected = (captured["relu2"] * unit.view(1, -1, 1, 1)).sum(1).mean((1, 2))
        assert np.allclose(direction.activation, expected.numpy(), atol=1e-5)
        assert direction.to_frame()["target"].iloc[0] == pytest.approx((d / np.linalg.norm(d)).tolist())
    finally:
        for hook in hooks:
            hook.remove()


def test_total_variation_hand_case():
    image = np.array([[[0.0, 1.0], [1.0, 0.0]]])  # two vertical and two horizontal jumps of 1
    assert total_variation(image).tolist() == [4.0]
    x = np.random.default_rng(0).random((3, 2, 5, 4))
    assert np.allclose(_tv_torch(torch.as_tensor(x)).numpy(), total_variation(x))
    assert np.allclose(total_variation(x), [np.abs(np.diff(v, axis=1)).sum() + np.abs(np.diff(v, axis=2)).sum()
                                            for v in x])


def test_blur_equals_scipy_and_transforms_are_exact():
    x = torch.as_tensor(np.random.default_rng(1).random((2, 3, 9, 8)))
    sigma = 1.0
    offsets = np.arange(-3, 4)
    kernel = np.exp(-offsets ** 2 / 2)
    ours = _blur(x, torch.as_tensor(kernel / kernel.sum())).numpy()
    reference = gaussian_filter(x.numpy(), sigma=(0, 0, sigma, sigma), mode="mirror", truncate=3.0)
    assert np.allclose(ours, reference, atol=1e-12)
    zero = torch.zeros(2, dtype=torch.float64)
    assert torch.allclose(_transform(x, zero, zero, torch.ones(2, dtype=torch.float64), zero), x, atol=1e-12)
    shifted = _transform(x, torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 2.0],
                                                                                        dtype=torch.float64),
                         torch.ones(2, dtype=torch.float64), zero)
    assert torch.allclose(shifted[0, :, 1:], x[0, :, :-1], atol=1e-12)  # down one row
    assert torch.allclose(shifted[1, :, :, 2:], x[1, :, :, :-2], atol=1e-12)  # right two columns
    square = torch.as_tensor(np.random.default_rng(2).random((1, 1, 6, 6)))
    quarter = _transform(square, zero[:1], zero[:1], torch.ones(1, dtype=torch.float64),
                         torch.tensor([np.pi / 2], dtype=torch.float64))
    assert any(torch.allclose(quarter, torch.rot90(square, k, (2, 3)), atol=1e-6) for k in (1, 3))


def test_entanglement_and_naturalness_hand_cases():
    probs = np.array([[0.7, 0.3], [0.9, 0.1], [0.2, 0.8]])
    logits = np.log(probs)
    result = VisualizationResult(images=np.zeros((3, 1, 2, 2)), objective="class", layer=None,
                                 target=np.array([0, 0, 1]), activation=np.zeros(3), probabilities=probs,
                                 logits=logits, initial_logits=np.zeros((3, 2)), history=np.zeros((3, 1)),
                                 total_variation=np.zeros(3))
    ent = class_entanglement(result)
    assert np.allclose(ent.probability.to_numpy(), [[0.8, 0.2], [0.2, 0.8]])
    assert np.allclose(ent.logit_gain.to_numpy(), [[(np.log(0.7) + np.log(0.9)) / 2, (np.log(0.3) + np.log(0.1)) / 2],
                                                   [np.log(0.2), np.log(0.8)]])
    assert ent.off_diagonal == pytest.approx(0.2)
    assert ent.to_frame().shape == (4, 4)

    model = cnn()
    rng = np.random.default_rng(0)
    X = rng.random((12, 1, 8, 8))
    y = np.arange(12) % 3
    images = rng.random((4, 1, 8, 8))
    target = np.array([0, 2, 2, 1])
    table = naturalness(model, images, X, y, layers=["1", "3"], target=target).to_frame()
    assert len(table) == 8 and list(table["layer"][:2]) == ["1", "3"]
    modules = {"1": lambda t: model[1](model[0](t)), "3": lambda t: model(t)}
    for row in table.itertuples():
        act = modules[row.layer]
        with torch.no_grad():
            real = act(torch.as_tensor(X[y == row.target])).flatten(1).numpy()
            seen = act(torch.as_tensor(images[row.image:row.image + 1])).flatten(1).numpy()[0]
        assert row.spearman == pytest.approx(spearmanr(seen, real.mean(0)).statistic, abs=1e-9)
        assert row.reference == pytest.approx(np.median([spearmanr(r, real.mean(0)).statistic for r in real]),
                                              abs=1e-9)


def test_bad_input(digits):
    model, _ = digits
    vis = FeatureVisualization(model, input_shape=(1, 8, 8), steps=2)
    with pytest.raises(AssayInputError, match=r"'target'.*\[0, 9\]"):
        vis.visualize([10])
    with pytest.raises(AssayInputError, match="'layer'.*'conv9'"):
        FeatureVisualization(model, input_shape=(1, 8, 8), objective="channel", layer="conv9").visualize([0])
    with pytest.raises(AssayInputError, match="'input_shape'"):
        FeatureVisualization(model).visualize([0])
    with pytest.raises(AssayInputError, match="'tv'"):
        FeatureVisualization(torch.nn.Linear(4, 2), input_shape=(4,), tv=1.0).visualize([0])
    with pytest.raises(AssayInputError, match="'result'"):
        class_entanglement(FeatureVisualization(model, input_shape=(1, 8, 8), objective="channel", layer="relu2",
                                                steps=1).visualize([0]))
    with pytest.raises(AssayInputError, match="'y'.*class"):
        naturalness(model, np.zeros((1, 1, 8, 8)), np.zeros((2, 1, 8, 8)), [0, 1], layers=["pool"], target=[5])
    assert isinstance(vis.visualize(0).to_frame(), pd.DataFrame)


def test_conformance():
    from assay.testing import check_component

    ran = check_component(FeatureVisualization(torch.nn.Linear(4, 2), input_shape=(4,), steps=2), skip=["pickle"])
    assert "bad_params" in ran  # a torch module's parameters compare by identity: pickling cannot round-trip them


def test_tabular_inputs_unbounded():
    from ._models import mlp

    model = mlp()
    result = FeatureVisualization(model, input_shape=(5,), clip=None, l2=0.05, steps=50).visualize([0, 2])
    assert result.images.shape == (2, 5) and np.isnan(result.total_variation).all()
    assert (result.history[:, -1] > result.history[:, 0]).all()
    with torch.no_grad():
        logits = model(torch.as_tensor(result.images, dtype=torch.float64)).numpy()
    assert np.allclose(result.activation, logits[[0, 1], [0, 2]], atol=1e-6)
    assert "target_probability" in result.to_frame()
