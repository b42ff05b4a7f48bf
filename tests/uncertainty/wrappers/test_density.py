"""HistogramBias log-densities and DB-VAE resampling probabilities against direct NumPy computations."""

import numpy as np
import pytest
import torch
from torch import nn

from assay import AssayInputError
from assay.testing import check_component
from assay.uncertainty.wrappers import HistogramBias, RepresentationResampler, fit_risk_model, predict_risk


def identity_net(d):
    """Features = the inputs themselves (layer "0" is an identity-initialised linear layer)."""
    model = nn.Sequential(nn.Linear(d, d), nn.Linear(d, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(d))
        model[0].bias.zero_()
    return model.eval()


def direct_log_density(train, query, n_bins, a):
    """sum_d log of (count + a) / (N + n_bins * a) / width, with np.histogram's bins; outside: count 0."""
    total = np.zeros(len(query))
    for j in range(train.shape[1]):
        counts, edges = np.histogram(train[:, j], bins=n_bins)
        width = edges[1] - edges[0]
        b = np.clip(np.searchsorted(edges, query[:, j], side="right") - 1, 0, n_bins - 1)
        inside = (query[:, j] >= edges[0]) & (query[:, j] <= edges[-1])
        c = np.where(inside, counts[b], 0.0)
        total += np.log((c + a) / (len(train) + n_bins * a) / width)
    return total


def test_log_density_equals_a_direct_numpy_computation_on_a_hand_case():
    train = np.array([[0.0, 10.0], [1.0, 10.5], [1.5, 11.0], [3.9, 13.0], [4.0, 14.0]])
    query = np.array([[0.5, 10.2], [2.2, 12.9], [3.95, 13.1], [-1.0, 10.2], [0.7, 20.0]])
    bias = HistogramBias(identity_net(2), layer="0", n_bins=4, pseudo_count=0.5).fit(train)
    got = bias.log_density_representations(query)
    # by hand, dim 0: edges 0,1,2,3,4 (width 1), counts 1,2,0,2; dim 1: edges 10,11,12,13,14 (width 1), counts 2,1,0,2
    norm = 5 + 4 * 0.5
    hand = np.log([1.5 / norm * 2.5 / norm, 0.5 / norm * 0.5 / norm, 2.5 / norm * 2.5 / norm,
                   0.5 / norm * 2.5 / norm, 1.5 / norm * 0.5 / norm])
    np.testing.assert_allclose(got, hand, rtol=1e-12)
    np.testing.assert_allclose(got, direct_log_density(train, query, 4, 0.5), rtol=1e-12)
    np.testing.assert_allclose(bias.log_density(query.astype(np.float32)),
                               direct_log_density(train, query.astype(np.float32), 4, 0.5), rtol=1e-6)
    out = predict_risk(bias, query.astype(np.float32))
    np.testing.assert_allclose(out.bias, -bias.log_density(query.astype(np.float32)), rtol=1e-6)


def test_no_training_input_scores_zero_or_minus_infinity_in_64_dimensions():
    rng = np.random.default_rng(0)
    train = rng.standard_t(3, size=(2000, 64)).astype(np.float32)
    bias = HistogramBias(identity_net(64), layer="0", n_bins=30, pseudo_count=0.0).fit(train)
    log_density = bias.log_density(train)
    assert np.isfinite(log_density).all()
    assert (np.exp(log_density.astype(np.float32)) == 0).mean() > 0.9  # the product underflows in float32
    np.testing.assert_allclose(log_density, direct_log_density(train.astype(np.float64), train, 30, 0.0), rtol=1e-6)
    far = bias.log_density_representations(train[:5] + 1000)
    assert np.all(far == -np.inf)  # outside every range and no pseudo-count


def test_ring_buffer_uses_only_the_filled_rows_and_keeps_the_last_ones():
    model = identity_net(2)
    bias = HistogramBias(model, layer="0", n_bins=5, queue_size=100)
    rows = np.arange(60, dtype=np.float64).reshape(30, 2)
    bias.fit_representations(rows)
    assert bias.filled_ == 30 and bias.n_seen_ == 30
    np.testing.assert_allclose(bias.lo_, rows.min(0))  # no zero-filled rows at the edge
    more = rows + 1000
    bias.fit_representations(np.concatenate([more] * 4))
    assert bias.filled_ == 100
    np.testing.assert_array_equal(np.sort(bias.buffer_[:, 0]), np.sort(np.r_[rows[-10:, 0] + 1000,
                                                                         np.tile(more[:, 0], 3)]))
    # during training every batch goes through the queue
    x = np.random.default_rng(1).normal(size=(40, 2)).astype(np.float32)
    wrapper = HistogramBias(model, layer="0", queue_size=64)
    fit_risk_model(wrapper, (x, x[:, 0]), epochs=2, batch_size=16, lr=1e-9)
    assert wrapper.filled_ == 64
    assert np.isfinite(predict_risk(wrapper, x).bias).all()


def test_kde_option_is_smoother_and_finite_outside_the_range():
    rng = np.random.default_rng(2)
    train = rng.normal(size=(500, 3))
    hist = HistogramBias(identity_net(3), layer="0", n_bins=40, pseudo_count=0.0).fit(train.astype(np.float32))
    kde = HistogramBias(identity_net(3), layer="0", n_bins=40, density="kde", pseudo_count=0.0).fit(
        train.astype(np.float32))
    grid = np.zeros((200, 3))
    grid[:, 0] = np.linspace(-2, 2, 200)
    roughness = [np.abs(np.diff(b.log_density_representations(grid), 2)).sum() for b in (hist, kde)]
    assert roughness[1] < roughness[0]
    edge = np.array([[train[:, 0].max() + 0.3, 0.0, 0.0]])
    assert np.isfinite(kde.log_density_representations(edge)).all()
    # the KDE integrates to ~1 per dimension
    lo, w, table = kde.lo_[0], kde.width_[0], np.exp(kde.log_table_[0, 1:])
    assert abs(table.sum() * w - 1) < 1e-9 and lo < train[:, 0].min()


def reference_db_vae(mu, bins, smoothing_fac):
    """The DB-VAE reference (Amini et al. 2019, MIT 6.S191 lab 2) get_training_sample_probabilities."""
    training_sample_p = np.zeros(mu.shape[0])
    for i in range(mu.shape[1]):
        hist_density, bin_edges = np.histogram(mu[:, i], density=True, bins=bins)
        bin_edges[0] = -float("inf")
        bin_edges[-1] = float("inf")
        bin_idx = np.digitize(mu[:, i], bin_edges)
        hist_smoothed_density = hist_density + smoothing_fac
        hist_smoothed_density = hist_smoothed_density / np.sum(hist_smoothed_density)
        p = 1.0 / (hist_smoothed_density[bin_idx - 1])
        p = p / np.sum(p)
        training_sample_p = np.maximum(p, training_sample_p)
    return training_sample_p / np.sum(training_sample_p)


def test_resampler_equals_the_db_vae_reference():
    rng = np.random.default_rng(3)
    Z = np.c_[rng.normal(size=300), rng.exponential(size=300), rng.uniform(size=300)]
    Z[:5, 1] += 8  # a rare tail
    resampler = RepresentationResampler(alpha=0.01, n_bins=10).fit(Z)
    np.testing.assert_allclose(resampler.probabilities_, reference_db_vae(Z, 10, 0.01), rtol=1e-12)
    np.testing.assert_allclose(resampler.score(Z), resampler.probabilities_, rtol=1e-12)
    assert resampler.probabilities_[:5].mean() > 5 * resampler.probabilities_[5:].mean()
    check_component(RepresentationResampler(alpha=0.1, n_bins=5))


@pytest.mark.parametrize("call, words", [
    (lambda: HistogramBias(identity_net(2), layer="0", n_bins=0), ["'n_bins'", "[1, inf)"]),
    (lambda: HistogramBias(identity_net(2), layer="0", queue_size=1), ["'queue_size'"]),
    (lambda: HistogramBias(identity_net(2), layer="0", density="gmm"), ["'density'", "'kde'"]),
    (lambda: HistogramBias(identity_net(2), layer="0").log_density_representations(np.zeros((2, 2))),
     ["HistogramBias", "fit"]),
    (lambda: HistogramBias(identity_net(2), layer="0").fit_representations(np.array([[np.nan, 1.0]])),
     ["'Z'", "finite"]),
    (lambda: HistogramBias(identity_net(2), layer="0").fit_representations(np.zeros((3, 2)))
     .log_density_representations(np.zeros((3, 5))), ["'Z'", "2 columns", "5"]),
    (lambda: RepresentationResampler(alpha=-1).fit(np.zeros((3, 2))), ["'alpha'", "RepresentationResampler"]),
])
def test_bad_inputs_are_refused(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value), str(info.value)
