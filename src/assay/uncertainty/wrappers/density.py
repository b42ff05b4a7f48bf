"""Representation bias: latent density from per-dimension histograms, and DB-VAE resampling."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ...core.component import Component, Interval
from ...core.errors import AssayInputError
from ...core.validation import as_array, check_is_fitted, check_option, check_scalar
from ._base import RiskOutput, RiskWrapper, as_risk, check_model, find_module, hooks, module_loss

__all__ = ["HistogramBias", "RepresentationResampler", "histogram_log_density"]

_CHUNK = 16384


def _as_features(Z: Any, name: str = "Z") -> np.ndarray:
    arr = as_array(Z, name=name, dtype=np.float64 if not isinstance(Z, np.ndarray) or Z.dtype != np.float32
                   else np.float32)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or len(arr) == 0 or arr.shape[1] == 0:
        raise AssayInputError(f"'{name}' must be a non-empty (n, d) array of representations. Got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise AssayInputError(f"'{name}' must be finite; it holds NaN or infinite values.")
    return arr


def _bin_index(Z: np.ndarray, lo: np.ndarray, hi: np.ndarray, width: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each value in the padded table: 1..n_bins inside ``[lo, hi]``, 0 outside."""
    inside = (Z >= lo) & (Z <= hi)
    scaled = (Z - lo) / width
    idx = np.clip(scaled, 0, n_bins - 1, out=scaled).astype(np.int64) + 1
    idx[~inside] = 0
    return idx


def histogram_log_density(Z: Any, lo: np.ndarray, hi: np.ndarray, width: np.ndarray,
                          log_table: np.ndarray) -> np.ndarray:
    """``sum_d log p_d(Z[:, d])`` with ``p_d`` piecewise constant on equal-width bins, ``(n,)``.

    ``log_table`` (d, n_bins + 1): column 0 is the log-density outside the range, columns
    1..n_bins the bins' of width ``width`` from ``lo`` (a value equal to ``hi`` is in the last bin). Computed in
    row blocks: one subtraction, division, truncation and table lookup per value.
    """
    Z = _as_features(Z)
    d, n_bins = log_table.shape[0], log_table.shape[1] - 1
    if Z.shape[1] != d:
        raise AssayInputError(f"'Z' must have {d} columns (the fitted representation). Got {Z.shape[1]}.")
    flat = np.ascontiguousarray(log_table).ravel()
    offsets = np.arange(d, dtype=np.int64) * (n_bins + 1)
    out = np.empty(len(Z), dtype=np.float64)
    for s in range(0, len(Z), _CHUNK):
        idx = _bin_index(Z[s:s + _CHUNK], lo, hi, width, n_bins)
        idx += offsets
        out[s:s + _CHUNK] = flat.take(idx).sum(axis=1)
    return out


class HistogramBias(RiskWrapper):
    """Representation bias: density of an input's latent representation (the output of ``layer``).

    ``fit(X_train)`` reads the representations of the whole training set through the adapter
    and builds one histogram per dimension (``n_bins`` equal-width bins over its range); the
    density of a representation is the product of its marginals, computed as a **sum of log
    densities**: in 64 dimensions a product of marginals of ~0.01 is 1e-128, which is 0 in
    float32 (the features' dtype; below ~1e-45) and reaches float64's limit (~1e-308) at ~150
    dimensions: a batch of zeros cannot be ranked, and its log is -inf. Each bin's probability is
    ``(count + pseudo_count) / (N + n_bins * pseudo_count)`` divided by its width; values
    outside the training range get ``pseudo_count / (N + n_bins * pseudo_count) / width``
    (``-inf`` when ``pseudo_count=0``). ``density="kde"`` smooths the counts with a Gaussian
    kernel (Silverman's bandwidth per dimension, or ``bandwidth``; a binned KDE on ``n_bins``
    bins widened by 3 bandwidths each side). Scores are absolute (not normalised over the batch):
    ``bias = -log density`` in nats, ``(n,)``; higher = more under-represented.

    With ``queue_size``, the histograms come from a ring buffer of the last ``queue_size``
    representations seen (:meth:`fit`, or each training batch of :func:`fit_risk_model`), and
    only from its filled part: no zero-filled rows bias the edges.

    Learned state: ``lo_`` / ``hi_`` / ``width_`` (d,), ``log_table_`` (d, n_bins + 1), ``n_seen_``;
    with a queue, ``buffer_`` and ``filled_``.
    """

    def __init__(self, model: nn.Module, *, layer: str, n_bins: int = 20, queue_size: int | None = None,
                 density: str = "histogram", pseudo_count: float = 0.5, bandwidth: float | None = None) -> None:
        super().__init__()
        owner = "HistogramBias"
        check_model(model, owner)
        find_module(model, layer, owner)
        check_scalar(n_bins, "n_bins", owner=owner, kind=numbers.Integral, low=1)
        if queue_size is not None:
            check_scalar(queue_size, "queue_size", owner=owner, kind=numbers.Integral, low=2)
        check_option(density, "density", owner=owner, options=("histogram", "kde"))
        check_scalar(pseudo_count, "pseudo_count", owner=owner, kind=numbers.Real, low=0.0)
        if bandwidth is not None:
            check_scalar(bandwidth, "bandwidth", owner=owner, kind=numbers.Real, low=0.0, closed="neither")
        self.model = model
        self.layer = layer
        self.n_bins = n_bins
        self.queue_size = queue_size
        self.density = density
        self.pseudo_count = pseudo_count
        self.bandwidth = bandwidth
        self._stale = False
        self.train(model.training)

    # ---- fitting
    def fit(self, X: Any, y: Any = None) -> HistogramBias:
        """Histograms of the representations of ``X`` (through the adapter, batched)."""
        from ...core.adapters import TorchAdapter

        Z = TorchAdapter(self.model).embeddings(X, self.layer, flatten=True)
        return self.fit_representations(Z)

    def fit_representations(self, Z: Any) -> HistogramBias:
        """Histograms of given representations ``Z`` (n, d) (or, with a queue, push them into it)."""
        Z = _as_features(Z)
        if self.queue_size is not None:
            self._push(Z)
            Z = self.buffer_[:self.filled_]
        self._fit_table(Z)
        return self

    def _push(self, Z: np.ndarray) -> None:
        size = int(self.queue_size)
        if getattr(self, "buffer_", None) is None or self.buffer_.shape[1] != Z.shape[1]:
            self.buffer_ = np.zeros((size, Z.shape[1]), dtype=np.float64)
            self.filled_, self._head = 0, 0
        Z = Z[-size:]
        positions = (self._head + np.arange(len(Z))) % size
        self.buffer_[positions] = Z
        self._head = int((self._head + len(Z)) % size)
        self.filled_ = min(size, self.filled_ + len(Z))

    def _fit_table(self, Z: np.ndarray) -> None:
        n, d = Z.shape
        k = int(self.n_bins)
        lo, hi = Z.min(axis=0).astype(np.float64), Z.max(axis=0).astype(np.float64)
        if self.density == "kde":
            std = Z.std(axis=0, ddof=1) if n > 1 else np.zeros(d)
            h = np.full(d, float(self.bandwidth)) if self.bandwidth is not None else 1.06 * std * n ** (-0.2)
            h = np.where(h > 0, h, 1.0)
            lo, hi = lo - 3 * h, hi + 3 * h
        span = hi - lo
        flat = span <= 0
        lo = np.where(flat, lo - 0.5, lo)
        hi = np.where(flat, lo + 1.0, hi)
        width = np.where(flat, 1.0, span) / k
        counts = np.zeros((d, k + 1))
        for s in range(0, n, _CHUNK):
            idx = _bin_index(Z[s:s + _CHUNK], lo, hi, width, k) + np.arange(d) * (k + 1)
            counts += np.bincount(idx.ravel(), minlength=d * (k + 1)).reshape(d, k + 1)
        counts = counts[:, 1:]
        if self.density == "kde":
            smoothed = np.stack([_smooth(counts[j], h[j] / width[j]) for j in range(d)])
            counts = smoothed * n / np.maximum(1e-300, smoothed.sum(axis=1, keepdims=True))
        a = float(self.pseudo_count)
        total = n + k * a
        with np.errstate(divide="ignore"):
            inside = np.log(counts + a) - np.log(total) - np.log(width)[:, None]
            outside = np.log(np.full(d, a)) - np.log(total) - np.log(width)
        self.lo_, self.hi_, self.width_ = lo, hi, width
        self.log_table_ = np.column_stack([outside, inside])
        self.n_seen_ = n
        self._stale = False
        self._state_count += 1

    def observe(self, x: torch.Tensor) -> None:
        """Push a training batch's representations into the ring buffer (``queue_size`` only)."""
        if self.queue_size is None:
            return
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                _, f = self._features(x)
        finally:
            self.train(was)
        Z = _as_features(f.cpu().numpy())
        self._push(Z)
        self._stale = True

    # ---- scoring
    def _features(self, x: torch.Tensor):
        captured = {}
        module = dict(self.model.named_modules())[self.layer]
        handle = module.register_forward_hook(lambda _m, _i, out: captured.__setitem__("f", out))
        with hooks([handle]):
            out = as_risk(self.model(x))
        f = captured["f"]
        f = f[0] if isinstance(f, (tuple, list)) else f
        return out, f.detach().reshape(len(f), -1)

    def log_density_representations(self, Z: Any) -> np.ndarray:
        """Log density (nats) of given representations ``Z`` (n, d), ``(n,)``."""
        if self._stale:
            self._fit_table(self.buffer_[:self.filled_])
        check_is_fitted(self, ["log_table_"], fit="'fit'")
        return histogram_log_density(Z, self.lo_, self.hi_, self.width_, self.log_table_)

    def log_density(self, X: Any) -> np.ndarray:
        """Log density (nats) of the representations of inputs ``X``, ``(n,)``, through the adapter."""
        from ...core.adapters import TorchAdapter

        check_is_fitted(self, ["log_table_"], fit="'fit'")
        return self.log_density_representations(TorchAdapter(self.model).embeddings(X, self.layer, flatten=True))

    def forward(self, x: torch.Tensor) -> RiskOutput:
        out, f = self._features(x)
        bias = -self.log_density_representations(f.float().cpu().numpy())
        out.bias = torch.as_tensor(bias, dtype=out.y_hat.dtype, device=out.y_hat.device)
        return out

    def loss(self, x, y, base_loss: Callable | None = None) -> torch.Tensor:
        return module_loss(self.model, x, y, base_loss)


def _smooth(counts: np.ndarray, h_bins: float) -> np.ndarray:
    """Counts convolved with a Gaussian kernel of ``h_bins`` bins' standard deviation (same length)."""
    half = int(np.ceil(4 * h_bins))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / h_bins) ** 2)
    return np.convolve(counts, kernel / kernel.sum(), mode="full")[half:half + len(counts)]


class RepresentationResampler(Component):
    """Sampling probabilities by inverse latent density (DB-VAE, Amini et al. 2019).

    Per latent dimension: a density histogram of ``n_bins`` equal-width bins (``np.histogram``,
    outer edges opened to ±inf when scoring), smoothed by adding ``alpha`` and renormalised;
    each row's weight is ``1 / smoothed density`` of its bin, normalised over the rows; the rows'
    probabilities are the maximum over dimensions, normalised to sum 1 (the paper's rule).
    ``fit(Z)`` stores the histograms and ``probabilities_`` of the rows of ``Z``; ``score(Z)``
    gives the same probabilities for other rows (normalised over them). :func:`fit_risk_model`
    refits it each epoch on the current model's representations (``resample=...``).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "alpha": [Interval(numbers.Real, 0, None, closed="left")], "n_bins": [Interval(numbers.Integral, 1, None)]}

    def __init__(self, *, alpha: float = 0.01, n_bins: int = 10) -> None:
        self.alpha = alpha
        self.n_bins = n_bins

    def fit(self, Z: Any, y: Any = None) -> RepresentationResampler:
        self._validate_params()
        Z = _as_features(Z)
        edges, smoothed = [], []
        for j in range(Z.shape[1]):
            density, e = np.histogram(Z[:, j], bins=int(self.n_bins), density=True)
            s = density + float(self.alpha)
            smoothed.append(s / s.sum())
            edges.append(e)
        self.edges_ = np.stack(edges)
        self.smoothed_density_ = np.stack(smoothed)
        self.probabilities_ = self._probabilities(Z)
        return self

    def _probabilities(self, Z: np.ndarray) -> np.ndarray:
        p = np.zeros(len(Z))
        for j in range(Z.shape[1]):
            inner = self.edges_[j, 1:-1]
            weight = 1.0 / self.smoothed_density_[j][np.searchsorted(inner, Z[:, j], side="right")]
            np.maximum(p, weight / weight.sum(), out=p)
        return p / p.sum()

    def score(self, Z: Any) -> np.ndarray:
        """Sampling probabilities of the rows of ``Z`` under the fitted histograms, ``(n,)``, summing to 1."""
        check_is_fitted(self, ["edges_"])
        Z = _as_features(Z)
        if Z.shape[1] != self.edges_.shape[0]:
            raise AssayInputError(f"'Z' must have {self.edges_.shape[0]} columns (as fitted). Got {Z.shape[1]}.")
        return self._probabilities(Z)
