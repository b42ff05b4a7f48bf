"""Randomized smoothing (hand-computed radius, Clopper-Pearson = scipy) and adversarial training."""

from statistics import NormalDist

import numpy as np
import pytest
import torch

from assay import AssayInputError
from assay.robustness import (
    PGD,
    SmoothedClassifier,
    adversarial_loss,
    certified_accuracy,
)
from assay.robustness.smoothing import clopper_pearson_lower
from assay.testing import check_component


class _Constant(torch.nn.Module):
    """Always class 0, whatever the noise: every noisy copy counts for class 0."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.stack([torch.ones(len(x)), torch.zeros(len(x))], dim=1) + 0 * self.w


def _threshold():
    """Class 1 iff the first feature > 0: the exact L2 distance to the boundary is |x_0|."""
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[-50.0, 0.0], [50.0, 0.0]]))
        model.bias.zero_()
    return model


def test_certified_radius_hand_computed():
    # all n copies vote class 0: p_lower = alpha ** (1 / n) (Clopper-Pearson with k = n)
    smoothed = SmoothedClassifier(_Constant(), sigma=0.5, n0=10, n=100, alpha=0.001, random_state=0)
    cert = smoothed.certify(np.zeros((3, 2), dtype=np.float32))
    p_lower = 0.001 ** (1 / 100)
    assert p_lower == pytest.approx(0.933254, abs=1e-6)
    np.testing.assert_allclose(cert.p_lower, p_lower)
    np.testing.assert_allclose(cert.radius, 0.5 * NormalDist().inv_cdf(p_lower))
    assert cert.prediction.tolist() == [0, 0, 0] and cert.count.tolist() == [100] * 3


def test_clopper_pearson_equals_scipy_binomtest():
    from scipy.stats import binomtest

    for k, n in [(1, 10), (37, 50), (990, 1000), (5, 5)]:
        lower = binomtest(k, n).proportion_ci(confidence_level=0.98, method="exact").low  # one-sided 0.99
        assert clopper_pearson_lower(k, n, 0.01) == pytest.approx(lower, rel=1e-9)
    assert clopper_pearson_lower(0, 10, 0.01) == 0


def test_radius_of_a_linear_boundary_approaches_the_distance():
    x = np.array([[0.3, 0.0], [-0.6, 1.0], [0.01, 0.0]], dtype=np.float32)
    cert = SmoothedClassifier(_threshold(), sigma=0.5, n0=100, n=20000, alpha=0.001, random_state=0).certify(x)
    assert cert.prediction[:2].tolist() == [1, 0]
    np.testing.assert_allclose(cert.radius[:2], [0.3, 0.6], atol=0.03)
    assert (cert.radius[:2] < [0.3, 0.6]).all()  # a lower bound
    assert cert.prediction[2] == -1 and cert.radius[2] == 0  # p ~ 0.508: abstains
    pred = SmoothedClassifier(_threshold(), sigma=0.5, n=2000, random_state=0).predict(x)
    assert pred.tolist() == [1, 0, -1]


def test_certified_accuracy_curve_and_groups():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(200, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    y[:20] = 1 - y[:20]
    smoothed = SmoothedClassifier(_threshold(), sigma=0.25, n0=50, n=500, random_state=0)
    cert = smoothed.certify(x)
    groups = np.where(np.arange(200) % 2 == 0, "even", "odd")
    curve = certified_accuracy(cert, y, radii=[0.0, 0.2, 0.5], sensitive_features={"parity": groups})
    expected = [((cert.prediction == y) & (cert.radius >= r)).mean() for r in (0.0, 0.2, 0.5)]
    np.testing.assert_allclose(curve.curve["certified_accuracy"], expected)
    assert np.all(np.diff(curve.curve["certified_accuracy"]) <= 0)
    even = groups == "even"
    assert curve.by_group.loc[("parity", "even"), 0.2] == pytest.approx(
        ((cert.prediction == y) & (cert.radius >= 0.2))[even].mean())
    # certified accuracy at radius 0 is at most the smoothed classifier's clean accuracy
    assert curve.curve["certified_accuracy"].iloc[0] <= (smoothed.predict(x) == y).mean() + 0.02


def test_smoothed_classifier_component():
    ran = check_component(SmoothedClassifier(_threshold(), n0=5, n=20, random_state=0), X=np.zeros((4, 2)),
                          skip=["pickle"])  # a torch module equals only itself (see test_attacks)
    assert "bad_params" in ran and "deterministic" in ran


def test_adversarial_loss_shapes_and_gradients():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    x, y = torch.rand(8, 4), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    attack = PGD(eps=0.1, steps=3)
    model.train()
    for kind in ("pgd", "trades"):
        loss = adversarial_loss(model, x, y, attack, kind=kind)
        assert loss.ndim == 0 and torch.isfinite(loss)
        loss.backward()
        assert model[1].weight.grad is not None and model.training
    clean = torch.nn.functional.cross_entropy(model(x), y)
    assert adversarial_loss(model, x, y, attack) > clean  # the adversary raises the loss
    with pytest.raises(AssayInputError, match="'kind'"):
        adversarial_loss(model, x, y, attack, kind="mart")
    with pytest.raises(AssayInputError, match="'attack'"):
        adversarial_loss(model, x, y, "pgd")
    with pytest.raises(AssayInputError, match="'x'"):
        adversarial_loss(model, x + 2, y, attack)

