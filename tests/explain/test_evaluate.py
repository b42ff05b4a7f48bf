"""Sanity checks and faithfulness: infidelity and max-sensitivity equal Captum 0.9's; curves and ranks by hand."""

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from assay import AssayInputError
from assay.core.errors import UndefinedMetricWarning
from assay.explain import (
    Attribution,
    Explainer,
    IntegratedGradients,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from assay.explain._base import resolve_targets
from assay.explain.evaluate import (
    data_randomization_test,
    deletion_insertion,
    infidelity,
    randomization_test,
    rank_correlation,
    sensitivity_max,
)

from ._models import cnn as _cnn
from ._models import mlp as _mlp

captum_metrics = pytest.importorskip("captum.metrics")
captum_attr = pytest.importorskip("captum.attr")

X = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
TARGET = np.array([0, 1, 2, 3, 1])


class InputItself(Explainer):
    """A degenerate explainer: the input is its own map, whatever the model."""

    def __init__(self, model, *, batch_size=None):
        self.model = model
        self.batch_size = batch_size

    def _attribute(self, adapter, inputs, target, baselines):
        values = np.asarray(inputs, dtype=np.float64)
        return Attribution(values=values, method="InputItself", target=resolve_targets(target, adapter.logits(inputs)))


@pytest.mark.parametrize("normalize", [False, True])
def test_infidelity_equals_captum(normalize):
    model = _cnn()
    att = IntegratedGradients(model, n_steps=10).attribute(X, target=TARGET)
    ours = infidelity(model, X, att, n_perturb_samples=7, stdevs=0.2, normalize=normalize, random_state=3)
    torch.manual_seed(3)

    def perturb(inputs):
        noise = torch.normal(0, torch.tensor(0.2).repeat(inputs.shape))
        return noise, inputs - noise

    want = captum_metrics.infidelity(model, perturb, X, torch.tensor(att.values), target=torch.tensor(TARGET),
                                     n_perturb_samples=7, normalize=normalize)
    np.testing.assert_allclose(ours, want.numpy(), atol=1e-12, rtol=1e-9)


def test_infidelity_is_zero_for_a_linear_model_and_its_gradient():
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 3).double()
    Xl = torch.randn(6, 4, dtype=torch.float64)
    att = Saliency(lin, abs=False).attribute(Xl, target=1)
    np.testing.assert_allclose(infidelity(lin, Xl, att, random_state=0), 0, atol=1e-20)


def test_sensitivity_max_equals_captum():
    model = _cnn()
    ours = sensitivity_max(Saliency(model), X, TARGET, n_perturb_samples=6, perturb_radius=0.1, random_state=4)
    torch.manual_seed(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = captum_metrics.sensitivity_max(captum_attr.Saliency(model).attribute, X, perturb_radius=0.1,
                                              n_perturb_samples=6, target=torch.tensor(TARGET))
    np.testing.assert_allclose(ours, want.numpy(), atol=1e-12, rtol=1e-9)


def test_rank_correlation_equals_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 10)), rng.normal(size=(4, 10))
    b[0] = np.round(b[0])  # ties
    got = rank_correlation(a, b, absolute=False)
    np.testing.assert_allclose(got, [spearmanr(a[i], b[i]).statistic for i in range(4)], atol=1e-12)
    np.testing.assert_allclose(rank_correlation(a, b)[1], spearmanr(np.abs(a[1]), np.abs(b[1])).statistic)
    b[2] = 1.0
    with pytest.warns(UndefinedMetricWarning, match="1 of 4"):
        rho = rank_correlation(a, b)
    assert np.isnan(rho[2])


def test_randomization_gradients_pass_and_the_input_itself_fails():
    model = _cnn()
    for mode in ("cascading", "independent"):
        test = randomization_test(Saliency(model), X, TARGET, mode=mode)
        assert test.passed and test.final < 0.3, test.table
        assert test.table["step"].tolist() == ["original", "3", "0"]  # from the top layer down
        assert test.table["mean"].iloc[0] == 1.0
    assert test.verdict.startswith("passes the parameter randomisation test: rank correlation")
    degenerate = randomization_test(InputItself(model), X, TARGET)
    assert not degenerate.passed and degenerate.final == 1.0
    assert degenerate.verdict == ("fails the parameter randomisation test: rank correlation 1.00 after randomising "
                                  "every layer (at least 0.5)")
    # the model is untouched; the tunnel's inner model is the one randomised
    before = [p.detach().clone() for p in model.parameters()]
    tunnel = randomization_test(NoiseTunnel(Saliency(model), nt_samples=3, stdevs=0.1, random_state=0), X, TARGET)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert tunnel.passed
    np.testing.assert_array_equal(randomization_test(Saliency(model), X, TARGET).table["mean"],
                                  randomization_test(Saliency(model), X, TARGET).table["mean"])


def test_data_randomization_against_another_model():
    model, other = _mlp(), _mlp()
    Xm = torch.randn(6, 5, dtype=torch.float64)
    same = data_randomization_test(Saliency(model), other, Xm, target=1)
    assert same.final == pytest.approx(1.0) and not same.passed  # identical weights: identical maps
    torch.manual_seed(5)
    changed = data_randomization_test(Saliency(model), torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double(), Xm, target=1)
    assert changed.final < 0.9


def test_deletion_insertion_by_hand():
    lin = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]]))
        lin.bias.zero_()
    x = np.array([[2.0, 1.0, 4.0]])
    curves = deletion_insertion(lin, x, np.array([[3.0, 1.0, 2.0]]), target=1, n_steps=3, output="logits")
    np.testing.assert_allclose(curves.fractions, [0, 1 / 3, 2 / 3, 1])
    # order x0, x2, x1; the target logit is 2 - 2 + 2 = 2 with all, 0 with none
    np.testing.assert_allclose(curves.deletion[0], [2.0, 0.0, -2.0, 0.0])
    np.testing.assert_allclose(curves.insertion[0], [0.0, 2.0, 4.0, 2.0])
    np.testing.assert_allclose(curves.deletion_auc, [(2 + 0) / 6 + (0 - 2) / 6 + (-2 + 0) / 6])
    np.testing.assert_allclose(curves.insertion_auc, [(0 + 2) / 6 + (2 + 4) / 6 + (4 + 2) / 6])
    np.testing.assert_allclose(curves.aopc, [(0 + 2 + 4 + 2) / 4])
    probs = deletion_insertion(lin, x, np.array([[3.0, 1.0, 2.0]]), target=1, n_steps=3, batch_size=1)
    np.testing.assert_allclose(probs.deletion[0], 1 / (1 + np.exp(-np.array([2.0, 0.0, -2.0, 0.0]))))


def test_faithful_attributions_delete_faster_than_random_ones():
    model = _cnn()
    att = Occlusion(model, sliding_window_shapes=(1, 2, 2)).attribute(X, target=TARGET)
    shuffled = np.random.default_rng(0).permuted(att.values.reshape(5, -1), axis=1).reshape(att.values.shape)
    good = deletion_insertion(model, X, att, n_steps=16, output="logits")
    bad = deletion_insertion(model, X, shuffled, TARGET, n_steps=16, output="logits")
    assert good.deletion_auc.mean() < bad.deletion_auc.mean()
    assert good.insertion_auc.mean() > bad.insertion_auc.mean()


def test_bad_inputs():
    model = _cnn()
    with pytest.raises(AssayInputError, match="'mode'.*randomization_test"):
        randomization_test(Saliency(model), X, mode="all")
    with pytest.raises(AssayInputError, match="'layers'"):
        randomization_test(Saliency(model), X, layers=["fc9"])
    with pytest.raises(AssayInputError, match="'explainer'.*torch model"):
        from sklearn.linear_model import LogisticRegression
        randomization_test(Occlusion(LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])), np.eye(4))
    with pytest.raises(AssayInputError, match="'attribution'.*shape"):
        deletion_insertion(model, X, np.zeros((5, 64)))
    with pytest.raises(AssayInputError, match="'n_perturb_samples'"):
        infidelity(model, X, np.zeros(X.shape), n_perturb_samples=0)
    with pytest.raises(AssayInputError, match="'explainer'"):
        sensitivity_max(model, X)
