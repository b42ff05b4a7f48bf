"""OOD detectors computed from a network's embeddings (the output of a named layer).

With a torch model, the features are the flattened output of ``layer`` (default
``"penultimate"``, the embedding of :class:`assay.models.DigitsCNN` and
:class:`assay.models.TabularMLP`), captured by the adapter's forward hooks in the same cached
pass as the logits. With ``model=None``, ``X`` is the features, shape ``(n, d)``; float32 input
stays float32 in memory and is promoted to float64 block by block.

All scores: shape ``(n,)``, float64, higher = more out-of-distribution. The work is done in row
blocks, so memory stays bounded (no ``n x n`` matrix).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse
from scipy.special import logsumexp

from ..core.batching import iter_slices, progress_bar
from ..core.component import Interval, SequenceOf
from ..core.errors import AssayInputError
from ..core.validation import as_array, check_random_state, check_scalar
from ._base import OODDetector, check_features

__all__ = ["KNN", "Mahalanobis", "ReAct", "RelativeMahalanobis", "ViM"]

#: Rows per block in the array-level loops (float64 blocks of at most ~32 MB for d = 512).
_BLOCK_ROWS = 8192
#: Bytes of the similarity block of KNN (rows x fit rows, float32).
_KNN_BLOCK_BYTES = 128 * 2**20


# ====================================================================== Gaussian statistics
#: Above this many classes the per-block class sums use a sparse indicator (O(rows x d));
#: below, a dense ``(C, rows)`` indicator times the block (one small multi-threaded GEMM).
_DENSE_SUMS_MAX_CLASSES = 64


def _promote(source: np.ndarray, buffer: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
    """``source - shift`` (or ``source``) in float64, written into ``buffer[:len(source)]``.

    One pass, no allocation: the float32 -> float64 promotion is exact, so this equals
    ``source.astype(np.float64) - shift`` bit for bit. Reusing one buffer for every block keeps
    it in cache and avoids fresh pages (on some machines a page fault per 4 kB costs more than
    the arithmetic).
    """
    out = buffer[: len(source)]
    if shift is None:
        np.copyto(out, source, casting="same_kind")
    else:
        np.subtract(source, shift, out=out)
    return out


def class_gaussian_stats(features: np.ndarray, codes: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """Class means, the shared (tied) covariance and the background Gaussian, in one pass.

    ``features`` ``(n, d)`` (any float dtype, promoted to float64 per block), ``codes`` ``(n,)``
    in ``[0, n_classes)``. Returns ``means (C, d)``, ``covariance (d, d)`` (within-class scatter
    / n, the maximum-likelihood tied covariance of Lee et al., 2018), ``mean (d,)`` and
    ``background_covariance (d, d)`` (all rows, one class). Every class must have a row.

    All arithmetic is float64 (float32 products are exact in float64): per block of rows, the
    scatter about a fixed shift (the mean of the first rows, against cancellation) by one
    ``syrk`` and the class sums by one indicator product; the class means are then removed from
    the scatter in closed form. One reused float64 buffer; no copy of ``features``.
    """
    n, d = features.shape
    shift = features[: min(n, 1024)].astype(np.float64).mean(axis=0)
    scatter = np.zeros((d, d))
    sums = np.zeros((n_classes, d))
    rows = min(n, _BLOCK_ROWS)
    buffer = np.empty((rows, d))
    dense = n_classes <= _DENSE_SUMS_MAX_CLASSES
    indicator = np.zeros((n_classes, rows)) if dense else None
    for index in iter_slices(n, rows):
        block = _promote(features[index], buffer, shift)
        scatter += block.T @ block  # symmetric rank-k update (numpy calls syrk for a.T @ a)
        part = codes[index]
        m = len(part)
        if dense:
            ind = indicator[:, :m]
            ind[part, np.arange(m)] = 1.0
            sums += ind @ block
            ind[part, np.arange(m)] = 0.0
        else:
            one_hot = scipy.sparse.csr_matrix(
                (np.ones(m), (part, np.arange(m))), shape=(n_classes, m))
            sums += one_hot @ block
    counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
    shifted_means = sums / counts[:, None]
    total_mean = sums.sum(axis=0) / n
    within = (scatter - (shifted_means.T * counts) @ shifted_means) / n
    background = scatter / n - np.outer(total_mean, total_mean)
    return {
        "means": shifted_means + shift,
        "covariance": (within + within.T) / 2,
        "mean": total_mean + shift,
        "background_covariance": (background + background.T) / 2,
    }


def whitening(covariance: np.ndarray) -> np.ndarray:
    """``W (d, r)`` with ``W W^T = covariance^-1`` (pseudo-inverse where singular).

    ``(x - m)^T S^-1 (x - m) = ||(x - m) W||^2``. A positive definite ``S = L L^T`` gives
    ``W = L^-T`` (Cholesky, scipy.linalg); a singular one (e.g. dead ReLU units) the
    eigen-whitening ``V diag(1 / sqrt(lambda))`` over the eigenvalues above
    ``d * eps * max eigenvalue``, as ``scipy.linalg.pinvh`` (the pseudo-inverse distance).
    """
    d = covariance.shape[0]
    try:
        lower = scipy.linalg.cholesky(covariance, lower=True, check_finite=False)
        diagonal = np.diag(lower)
        if diagonal.min() > np.sqrt(d * np.finfo(np.float64).eps) * diagonal.max():
            inverse = scipy.linalg.solve_triangular(lower, np.eye(d), lower=True, check_finite=False)
            return np.ascontiguousarray(inverse.T)
    except np.linalg.LinAlgError:
        pass
    values, vectors = scipy.linalg.eigh(covariance, check_finite=False)
    cutoff = d * np.finfo(np.float64).eps * max(float(values.max()), 0.0)
    keep = values > cutoff
    if not keep.any():
        raise AssayInputError(
            "'X' has no variance within classes: the covariance of the fit features is zero."
        )
    return vectors[:, keep] / np.sqrt(values[keep])


def min_squared_mahalanobis(features: np.ndarray, means: np.ndarray, white: np.ndarray,
                            center: np.ndarray) -> np.ndarray:
    """``min_c (x - mu_c)^T S^+ (x - mu_c)`` per row: ``(n, d)`` -> ``(n,)``, float64.

    ``white`` from :func:`whitening`; all class distances with matrix products in row blocks:
    ``||z - m_c||^2 = ||z||^2 - 2 z.m_c + ||m_c||^2`` with ``z = (x - center) W``. The
    float64 blocks (input, ``z`` and the ``(rows, C)`` distances) live in buffers reused
    across blocks.
    """
    m = (means - center) @ white  # (C, r)
    m_sq = np.einsum("ij,ij->i", m, m)
    minus_2m = -2.0 * m.T
    n = len(features)
    rows = max(1, min(n, _BLOCK_ROWS))
    buffer = np.empty((rows, features.shape[1]))
    z_buffer = np.empty((rows, white.shape[1]))
    d2_buffer = np.empty((rows, len(m)))
    out = np.empty(n)
    for index in iter_slices(n, rows):
        block = _promote(features[index], buffer, center)
        z = np.matmul(block, white, out=z_buffer[: len(block)])
        d2 = np.matmul(z, minus_2m, out=d2_buffer[: len(block)])
        d2 += m_sq
        d2 += np.einsum("ij,ij->i", z, z)[:, None]
        out[index] = np.maximum(d2.min(axis=1), 0.0)
    return out


def squared_mahalanobis(features: np.ndarray, mean: np.ndarray, white: np.ndarray) -> np.ndarray:
    """``(x - mu)^T S^+ (x - mu)`` per row, ``(n, d)`` -> ``(n,)``, in row blocks."""
    n = len(features)
    rows = max(1, min(n, _BLOCK_ROWS))
    buffer = np.empty((rows, features.shape[1]))
    z_buffer = np.empty((rows, white.shape[1]))
    out = np.empty(n)
    for index in iter_slices(n, rows):
        block = _promote(features[index], buffer, mean)
        z = np.matmul(block, white, out=z_buffer[: len(block)])
        out[index] = np.einsum("ij,ij->i", z, z)
    return out


# ====================================================================== shared base
class _FeatureDetector(OODDetector):
    uses = "features"
    reads = "features"
    needs_fit = True
    _parameter_constraints = {"layer": [str, SequenceOf(str)]}

    def _layers(self) -> list[str]:
        layer = self.layer
        return [layer] if isinstance(layer, str) else list(layer) if isinstance(layer, Sequence) else []

    def _layer_names(self) -> list[str]:
        layer = self.layer
        if isinstance(layer, str):
            return [layer]
        if isinstance(layer, Sequence) and layer and all(isinstance(n, str) for n in layer):
            return list(layer)
        raise AssayInputError(
            f"The 'layer' parameter of {type(self).__name__} must be a module name or a non-empty "
            f"list of module names. Got {layer!r} instead."
        )

    def _single_layer(self) -> str:
        names = self._layer_names()
        if len(names) != 1:
            raise AssayInputError(
                f"The 'layer' parameter of {type(self).__name__} must be one module name. Got "
                f"{self.layer!r} instead."
            )
        return names[0]

    def _features(self, X: Any, *, with_logits: bool = False) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """``({layer: (n, d) features}, logits or None)``; with model=None, ``{None: X}``."""
        if self.model is None:
            return {None: check_features(X)}, None
        names = self._layer_names()
        out = self._outputs(X, names)
        return {name: out[name] for name in names}, out["logits"]

    def _check_width(self, features: np.ndarray, expected: int, layer: str | None) -> None:
        if features.shape[1] != expected:
            where = "'X'" if layer is None else f"'X' (the output of layer {layer!r})"
            raise AssayInputError(
                f"{where} has {features.shape[1]} features per row but {type(self).__name__} was "
                f"fitted on {expected}."
            )


# ====================================================================== Mahalanobis
class Mahalanobis(_FeatureDetector):
    """Mahalanobis distance to the closest class (Lee, Lee, Lee & Shin, 2018).

    ``fit``: class means ``mu_c`` and one shared (tied) covariance ``S`` of the features (the
    within-class scatter / n). ``score(x) = min_c (x - mu_c)^T S^-1 (x - mu_c)`` (the
    pseudo-inverse where ``S`` is singular). With a list of layers, the scores of the layers
    are summed (each layer has its own means and covariance). No input preprocessing.

    Features ``(n, d)`` -> scores ``(n,)``. Labels default to the model's predicted classes; with
    ``model=None`` pass ``y`` to ``fit``.

    Attributes
    ----------
    classes_ : (C,) class labels.
    means_ : (C, d) class means (a dict layer -> array for a list of layers).
    covariance_ : (d, d) shared covariance (dict for a list of layers).
    n_features_in_ : d (dict for a list of layers).
    """

    _fitted_attrs = ("means_",)
    _relative = False

    def __init__(self, model: Any = None, *, layer: str | Sequence[str] = "penultimate",
                 batch_size: int | None = None, progress: bool | None = None) -> None:
        self.layer = layer
        super().__init__(model, batch_size=batch_size, progress=progress)

    def _fit(self, X: Any, y: Any) -> None:
        features, logits = self._features(X, with_logits=True)
        first = next(iter(features.values()))
        classes, codes = self._labels(y, len(first), logits)
        stats = {}
        for name, value in features.items():
            s = class_gaussian_stats(value, codes, len(classes))
            s["white"] = whitening(s["covariance"])
            if self._relative:
                s["background_white"] = whitening(s["background_covariance"])
            s["n_features"] = value.shape[1]
            stats[name] = s
        self._stats = stats
        self.classes_ = classes
        single = self.model is None or isinstance(self.layer, str)
        pick = (lambda key: next(iter(stats.values()))[key]) if single else (
            lambda key: {n: s[key] for n, s in stats.items()})
        self.means_ = pick("means")
        self.covariance_ = pick("covariance")
        self.n_features_in_ = pick("n_features")
        if self._relative:
            self.background_mean_ = pick("mean")
            self.background_covariance_ = pick("background_covariance")

    def _score(self, X: Any) -> np.ndarray:
        features, _ = self._features(X)
        total = None
        for name, value in features.items():
            if name not in self._stats:
                raise AssayInputError(
                    f"'X' must be the features (model=None) for {type(self).__name__} fitted with "
                    "model=None; the model was changed after fit: refit the detector."
                )
            s = self._stats[name]
            self._check_width(value, s["n_features"], name)
            score = min_squared_mahalanobis(value, s["means"], s["white"], s["mean"])
            if self._relative:
                score -= squared_mahalanobis(value, s["mean"], s["background_white"])
            total = score if total is None else total + score
        return total


class RelativeMahalanobis(Mahalanobis):
    """Relative Mahalanobis distance (Ren, Fort, Liu, Roy, Padhy & Lakshminarayanan, 2021).

    ``score(x) = min_c [MD_c(x) - MD_0(x)]`` where ``MD_c`` is the squared Mahalanobis distance
    to class ``c`` with the shared covariance (as :class:`Mahalanobis`) and
    ``MD_0(x) = (x - mu_0)^T S_0^-1 (x - mu_0)`` the one to a single "background" Gaussian
    fitted to all fit features. Features ``(n, d)`` -> scores ``(n,)``.

    Attributes: as :class:`Mahalanobis`, plus ``background_mean_`` (d,) and
    ``background_covariance_`` (d, d).
    """

    _relative = True


# ====================================================================== KNN
def _normalise(block: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, float64 (zero rows stay zero)."""
    block = np.asarray(block, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", block, block))
    norms[norms == 0] = 1.0
    return block / norms[:, None]


def kth_neighbour_distance(queries: np.ndarray, bank: np.ndarray, k: int, *,
                           progress: bool | None = False, block_bytes: int = _KNN_BLOCK_BYTES) -> np.ndarray:
    """Euclidean distance from each L2-normalised query to its ``k``-th nearest row of ``bank``.

    Parameters
    ----------
    queries : (m, d) features (normalised here, in float64).
    bank : (N, d) float32, rows of unit norm (as :class:`KNN` stores them); ``N >= k``.
    k : int in [1, N].

    Returns
    -------
    (m,) float64: the exact distance (computed in float64 from the stored float32 vectors).

    Method: per block of query rows, the similarities with all of ``bank`` in one float32 matrix
    product (``rows x N``, bounded by ``block_bytes``), the ``k + margin`` largest with
    ``torch.topk``, then the candidates whose float32 similarity lies within the rounding-error
    bound of the ``k``-th are recomputed exactly in float64. Rows where the window does not fit
    in the ``k + margin`` candidates are redone from a full mask.
    """
    import torch

    n_bank, d = bank.shape
    m = len(queries)
    kk = min(n_bank, k + max(k, 32))
    # |fl32(q.b) - q.b| <= d u / (1 - d u) for unit vectors (Cauchy-Schwarz), plus the rounding
    # of the query to float32 and the deviation of the stored rows' norms from 1.
    u = 2.0 ** -24
    norms_dev = 3 * (d + 2) * u
    err = 1.05 * ((d + 2) * u / max(1e-3, 1 - (d + 2) * u) + 2 * u) + norms_dev
    rows = int(max(1, min(m, block_bytes // max(1, 4 * n_bank), 4096)))
    out = np.empty(m)
    slices = list(iter_slices(m, rows))
    with progress_bar(m, desc="KNN distances", progress=progress, n_batches=len(slices)) as bar:
        for index in slices:
            q64 = _normalise(queries[index])
            sims = q64.astype(np.float32) @ bank.T  # (b, N) float32
            values, positions = torch.topk(torch.from_numpy(sims), kk, dim=1, sorted=True)
            values, positions = values.numpy(), positions.numpy()
            kth = values[:, k - 1].astype(np.float64)
            low, high = kth - 2 * err, kth + 2 * err
            sure = (values > high[:, None]).sum(axis=1)
            fits = (values[:, -1] < low) | (kk == n_bank)
            result = np.empty(len(q64))
            good = np.flatnonzero(fits)
            if good.size:
                in_window = (values[good] >= low[good, None]) & (values[good] <= high[good, None])
                r, c = np.nonzero(in_window)
                result[good] = _exact_kth(q64[good], bank, r, positions[good][r, c], k - sure[good])
            for i in np.flatnonzero(~fits):  # rare: many ties near the k-th similarity
                row = sims[i].astype(np.float64)
                sure_i = int((row > high[i]).sum())
                cols = np.flatnonzero((row >= low[i]) & (row <= high[i]))
                result[i] = _exact_kth(q64[i:i + 1], bank, np.zeros(len(cols), dtype=np.int64),
                                       cols, np.array([k - sure_i]))[0]
            out[index] = result
            bar.update(index.stop - index.start)
    return out


def _exact_kth(q64: np.ndarray, bank: np.ndarray, rows: np.ndarray, cols: np.ndarray,
               rank: np.ndarray) -> np.ndarray:
    """Per query row ``i``: the ``rank[i]``-th smallest exact distance among its candidates."""
    diff = q64[rows] - bank[cols].astype(np.float64)
    d2 = np.einsum("ij,ij->i", diff, diff)
    order = np.lexsort((d2, rows))
    rows_sorted, d2_sorted = rows[order], d2[order]
    starts = np.searchsorted(rows_sorted, np.arange(len(q64)))
    return np.sqrt(d2_sorted[starts + rank - 1])


class KNN(_FeatureDetector):
    """Deep nearest neighbours (Sun, Ming, Zhu & Li, 2022).

    ``fit`` stores the L2-normalised fit features ``z_i = h_i / ||h_i||`` (optionally a random
    share ``fit_fraction`` of them). ``score(x) = ||z - z_(k)||``, the Euclidean distance from
    the normalised feature ``z`` of ``x`` to its ``k``-th nearest stored feature (the paper's
    ID score is its negative). Features ``(n, d)`` -> scores ``(n,)``.

    Exact and memory bounded: similarities ``z . z_i`` in float32 matrix products over blocks of
    query rows, then the candidates near the ``k``-th are recomputed in float64 (see
    :func:`kth_neighbour_distance`); no ``n x N`` matrix is held. The stored features are kept
    in float32 (half the memory); distances are exact for these stored vectors (they differ from
    a float64 copy's by about 1e-7).

    Parameters
    ----------
    layer : str, default "penultimate"
    k : int >= 1, default 50
        The paper's choice for CIFAR-10's 50,000 training images. It scales ``k`` with the
        number of stored rows (``k = 50 * fit_fraction``), so small banks want small ``k``:
        on the digits benchmark (~900 rows) ``k=1`` separates held-out classes best.
    fit_fraction : float in (0, 1], default 1.0
        Share of the fit rows stored (the paper's alpha), drawn without replacement.
    random_state : int, Generator or None, default 0
        Seeds the subsample.

    Attributes
    ----------
    bank_ : (N, d) float32, the stored normalised features.
    n_features_in_ : d.
    """

    _fitted_attrs = ("bank_",)

    _parameter_constraints = {"k": [Interval(numbers.Integral, 1, None)],
                              "fit_fraction": [Interval(numbers.Real, 0, 1, closed="right")],
                              "random_state": ["random_state"]}

    def __init__(self, model: Any = None, *, layer: str = "penultimate", k: int = 50,
                 fit_fraction: float = 1.0, random_state: Any = 0, batch_size: int | None = None,
                 progress: bool | None = None) -> None:
        self.layer = layer
        self.k = k
        self.fit_fraction = fit_fraction
        self.random_state = random_state
        super().__init__(model, batch_size=batch_size, progress=progress)

    @classmethod
    def _audit_params(cls, n_fit: int) -> dict[str, Any]:
        # Sun et al. use k=50 for 50,000 training images and scale k with the bank's size.
        return {"k": max(1, round(50 * n_fit / 50000))}

    def fit_features(self, features: np.ndarray) -> KNN:
        owner = type(self).__name__
        n = len(features)
        if self.fit_fraction < 1:
            size = max(1, int(round(self.fit_fraction * n)))
            rng = check_random_state(self.random_state, name="random_state")
            keep = np.sort(rng.choice(n, size=size, replace=False))
            features = features[keep]
        if len(features) < self.k:
            raise AssayInputError(
                f"The 'k' parameter of {owner} must be at most the number of stored fit rows "
                f"({len(features)}). Got {self.k!r} instead."
            )
        bank = np.empty(features.shape, dtype=np.float32)
        for index in iter_slices(len(features), _BLOCK_ROWS):
            bank[index] = _normalise(features[index])
        self.bank_ = bank
        self.n_features_in_ = features.shape[1]
        return self

    def score_features(self, features: np.ndarray) -> np.ndarray:
        self._check_width(features, self.n_features_in_, None if self.model is None else self.layer)
        return kth_neighbour_distance(features, self.bank_, int(self.k), progress=self.progress)

    def _fit(self, X: Any, y: Any) -> None:
        self._single_layer()
        features, _ = self._features(X)
        self.fit_features(next(iter(features.values())))

    def _score(self, X: Any) -> np.ndarray:
        features, _ = self._features(X)
        return self.score_features(next(iter(features.values())))


# ====================================================================== detectors with the head
class _HeadDetector(_FeatureDetector):
    """Detectors that also need the final linear layer ``logits = W h + b``."""

    _parameter_constraints = {"head": [str, None], "weight": ["array-like", None], "bias": ["array-like", None]}

    def _head(self) -> tuple[np.ndarray, np.ndarray]:
        owner = type(self).__name__
        if self.model is None:
            if self.weight is None:
                raise AssayInputError(
                    f"'weight' is needed by {owner} with model=None: the (k, d) weight of the final "
                    "linear layer. Got None."
                )
            W = as_array(self.weight, name="weight", ndim=2, dtype=np.float64)
            if self.bias is None:
                b = np.zeros(len(W))
            else:
                b = as_array(self.bias, name="bias", ndim=1, dtype=np.float64)
                if len(b) != len(W):
                    raise AssayInputError(
                        f"'bias' must have shape ({len(W)},) to match 'weight' {W.shape}. Got "
                        f"shape {b.shape} instead."
                    )
            return W, b
        import torch

        adapter = self._require_torch("the final linear layer's weights")
        modules = dict(adapter.model.named_modules())
        linears = [n for n, mod in modules.items() if isinstance(mod, torch.nn.Linear)]
        if self.head is None:
            if not linears:
                raise AssayInputError(
                    f"'model' of {owner} has no nn.Linear module to use as the head; pass 'head'. "
                    f"Got {type(adapter.model).__name__}."
                )
            name = linears[-1]
        elif self.head not in linears:
            raise AssayInputError(
                f"'head' names {self.head!r}, which is not an nn.Linear module of "
                f"{type(adapter.model).__name__}. Expected one of: {', '.join(linears) or '(none)'}."
            )
        else:
            name = self.head
        module = modules[name]
        W = module.weight.detach().to("cpu", torch.float64).numpy()
        b = (np.zeros(len(W)) if module.bias is None
             else module.bias.detach().to("cpu", torch.float64).numpy())
        return W, b

    def _head_features(self, X: Any, W: np.ndarray) -> np.ndarray:
        features, _ = self._features(X)
        value = next(iter(features.values()))
        if value.shape[1] != W.shape[1]:
            where = "'X'" if self.model is None else f"'layer' ({self.layer!r})"
            raise AssayInputError(
                f"{where} must give the input of the final linear layer, {W.shape[1]} features per "
                f"row; got {value.shape[1]}."
            )
        return value


class ViM(_HeadDetector):
    """Virtual-logit matching (Wang, Li, Feng & Zhang, 2022).

    With the head ``logits = W h + b``: origin ``o = -pinv(W) b``; ``R`` the eigenvectors of the
    fit features' (uncentered, about ``o``) covariance beyond the ``dim`` largest eigenvalues
    (the residual space); virtual logit ``v(x) = alpha ||(h - o) R||`` with
    ``alpha = mean_fit(max_j logit_j) / mean_fit(||(h - o) R||)``. The paper's ID score is
    ``-v(x) + logsumexp(logits)``; here ``score(x) = v(x) - logsumexp(W h + b)`` (higher = OOD).
    Features ``(n, d)`` -> scores ``(n,)``.

    Parameters
    ----------
    layer : str, default "penultimate"
        The layer whose output is the head's input.
    dim : int, optional
        Dimension ``D`` of the principal space; default as in the paper: 1000 if d >= 2048,
        512 if d >= 768, else d // 2. Must be < d.
    head : str, optional
        Name of the final ``nn.Linear`` (default: the model's last ``nn.Linear``).
    weight, bias : arrays ``(k, d)`` and ``(k,)``, with ``model=None`` only.

    Attributes
    ----------
    origin_ (d,), residual_ (d, d - D), alpha_ float, dim_ int, n_features_in_ int.
    """

    _fitted_attrs = ("residual_",)

    _parameter_constraints = {"dim": [Interval(numbers.Integral, 1, None), None]}

    def __init__(self, model: Any = None, *, layer: str = "penultimate", dim: int | None = None,
                 head: str | None = None, weight: Any = None, bias: Any = None,
                 batch_size: int | None = None, progress: bool | None = None) -> None:
        self.layer = layer
        self.dim = dim
        self.head = head
        self.weight = weight
        self.bias = bias
        super().__init__(model, batch_size=batch_size, progress=progress)

    def _fit(self, X: Any, y: Any) -> None:
        self._single_layer()
        W, b = self._head()
        h = self._head_features(X, W)
        d = h.shape[1]
        owner = type(self).__name__
        if self.dim is None:
            dim = 1000 if d >= 2048 else 512 if d >= 768 else d // 2
        else:
            check_scalar(self.dim, "dim", owner=owner, kind=numbers.Integral, low=1, high=d - 1)
            dim = int(self.dim)
        if dim < 1:
            raise AssayInputError(f"'X' must have at least 2 features for {owner}. Got {d}.")
        origin = -np.linalg.pinv(W) @ b
        second = np.zeros((d, d))
        for index in iter_slices(len(h), _BLOCK_ROWS):
            block = h[index].astype(np.float64) - origin
            second += block.T @ block
        second /= len(h)
        values, vectors = scipy.linalg.eigh((second + second.T) / 2, driver="evd")
        order = np.argsort(values)[::-1]
        residual = np.ascontiguousarray(vectors[:, order[dim:]])
        norms, logits_max = self._parts(h, W, b, origin, residual, want="fit")
        self.origin_ = origin
        self.residual_ = residual
        self.alpha_ = float(logits_max.mean() / norms.mean())
        self.dim_ = dim
        self.n_features_in_ = d
        self._head_params = (W, b)

    @staticmethod
    def _parts(h, W, b, origin, residual, *, want):
        norms = np.empty(len(h))
        other = np.empty(len(h))
        for index in iter_slices(len(h), _BLOCK_ROWS):
            block = h[index].astype(np.float64)
            r = (block - origin) @ residual
            norms[index] = np.sqrt(np.einsum("ij,ij->i", r, r))
            logits = block @ W.T + b
            other[index] = logits.max(axis=1) if want == "fit" else logsumexp(logits, axis=1)
        return norms, other

    def _score(self, X: Any) -> np.ndarray:
        W, b = self._head_params
        h = self._head_features(X, W)
        norms, energy_ = self._parts(h, W, b, self.origin_, self.residual_, want="score")
        return self.alpha_ * norms - energy_


class ReAct(_HeadDetector):
    """ReAct: rectified activations (Sun, Guo & Li, 2021).

    ``fit``: ``c`` = the ``percentile``-th percentile of all fit activations ``h`` (the head's
    input). ``score(x) = -logsumexp(W min(h, c) + b)``: the energy score (T = 1) of the logits
    recomputed from the clipped activations. Features ``(n, d)`` -> scores ``(n,)``.

    Parameters
    ----------
    layer : str, default "penultimate"
        The layer whose output is the head's input.
    percentile : float in (0, 100], default 90.0
    head : str, optional
        Name of the final ``nn.Linear`` (default: the model's last ``nn.Linear``).
    weight, bias : arrays ``(k, d)`` and ``(k,)``, with ``model=None`` only.

    Attributes
    ----------
    clip_ : float, the threshold ``c``; n_features_in_ int.
    """

    _fitted_attrs = ("clip_",)

    _parameter_constraints = {"percentile": [Interval(numbers.Real, 0, 100, closed="right")]}

    def __init__(self, model: Any = None, *, layer: str = "penultimate", percentile: float = 90.0,
                 head: str | None = None, weight: Any = None, bias: Any = None,
                 batch_size: int | None = None, progress: bool | None = None) -> None:
        self.layer = layer
        self.percentile = percentile
        self.head = head
        self.weight = weight
        self.bias = bias
        super().__init__(model, batch_size=batch_size, progress=progress)

    def _fit(self, X: Any, y: Any) -> None:
        self._single_layer()
        W, b = self._head()
        h = self._head_features(X, W)
        self.clip_ = float(np.percentile(h, float(self.percentile)))
        self.n_features_in_ = h.shape[1]
        self._head_params = (W, b)

    def _score(self, X: Any) -> np.ndarray:
        W, b = self._head_params
        h = self._head_features(X, W)
        out = np.empty(len(h))
        for index in iter_slices(len(h), _BLOCK_ROWS):
            clipped = np.minimum(h[index].astype(np.float64), self.clip_)
            out[index] = -logsumexp(clipped @ W.T + b, axis=1)
        return out

