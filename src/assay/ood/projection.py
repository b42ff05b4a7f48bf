"""2-D projections of inputs or embeddings, to look at in-distribution against OOD data.

The computation lives here; :func:`assay.report.plot_projection` and
:func:`assay.report.plot_embedding_projection` draw it (they compute nothing).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import as_array, check_option, check_scalar

PROJECTIONS = ("pca", "tsne", "umap")


@dataclasses.dataclass(frozen=True)
class Projection(Result):
    """Points in two dimensions.

    Attributes
    ----------
    points : ndarray of shape (n, 2)
        One row per input row, in the input's order.
    method : "pca", "tsne" or "umap"
    axis_labels : (str, str)
        E.g. ``("PC 1 (41% of variance)", "PC 2 (12%)")``.
    rows : ndarray of int or None
        With ``max_points``: the (sorted) input rows that were projected, one per point.
    """

    points: np.ndarray
    method: str
    axis_labels: tuple[str, str]
    rows: np.ndarray | None = None


def project_embeddings(embeddings: Any, *, method: str = "pca", fit_rows: Any = None,
                       random_state: int = 0, max_points: int | None = None) -> Projection:
    """Project ``(n, d)`` features to two dimensions.

    Parameters
    ----------
    embeddings : array-like of shape (n, d)
        Finite feature vectors, ``n >= 3``, ``d >= 2`` (penultimate-layer activations, encoded
        tabular inputs, ...).
    method : {"pca", "tsne", "umap"}, default "pca"
        scikit-learn PCA or t-SNE; UMAP needs the ``umap-learn`` package (the ``umap`` extra).
    fit_rows : array-like of bool of shape (n,) or of row indices, optional
        PCA only: fit the components on these rows (e.g. the in-distribution ones) and project
        every row on them, so OOD points show where they fall against in-distribution variation.
    random_state : int, default 0
        Seed of PCA's solver, t-SNE and UMAP, and of the subsample.
    max_points : int, optional
        Project at most this many rows: a seeded uniform subsample (``rows`` of the result);
        not with ``fit_rows``.
    """
    owner = "project_embeddings"
    X = as_array(embeddings, name="embeddings", ndim=2, dtype=np.float64, min_samples=3)
    if X.shape[1] < 2:
        raise AssayInputError(f"'embeddings' must have at least 2 columns. Got shape {X.shape}.")
    check_option(method, "method", owner=owner, options=PROJECTIONS)
    check_scalar(random_state, "random_state", owner=owner, kind=(int, np.integer), low=0)
    if max_points is not None:
        check_scalar(max_points, "max_points", owner=owner, kind=(int, np.integer), low=3)
        if fit_rows is not None:
            raise AssayInputError("'max_points' and 'fit_rows' cannot be combined: subsample the rows first.")
        rows = np.arange(len(X))
        if len(X) > max_points:
            rows = np.sort(np.random.default_rng(random_state).choice(len(X), size=int(max_points), replace=False))
        projection = project_embeddings(X[rows], method=method, random_state=random_state)
        return dataclasses.replace(projection, rows=rows)
    fit = _fit_rows(fit_rows, len(X), method)
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=random_state).fit(X if fit is None else X[fit])
        share = pca.explained_variance_ratio_
        return Projection(pca.transform(X), method, (f"PC 1 ({share[0]:.0%} of variance)", f"PC 2 ({share[1]:.0%})"))
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, (len(X) - 1) / 3.0))
        points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=random_state).fit_transform(X)
        return Projection(points, method, ("t-SNE 1", "t-SNE 2"))
    try:
        import umap
    except ImportError:
        raise AssayInputError(
            "method='umap' needs the umap-learn package, which is not installed: "
            "pip install umap-learn (or use method='pca' or 'tsne')."
        ) from None
    points = umap.UMAP(n_components=2, random_state=random_state, n_jobs=1).fit_transform(X)  # seeded: serial
    return Projection(np.asarray(points, dtype=np.float64), method, ("UMAP 1", "UMAP 2"))


def _fit_rows(fit_rows: Any, n: int, method: str) -> np.ndarray | None:
    if fit_rows is None:
        return None
    if method != "pca":
        raise AssayInputError(f"'fit_rows' applies to method='pca' only (t-SNE and UMAP embed every row "
                              f"together). Got method={method!r}.")
    rows = np.asarray(fit_rows)
    if rows.dtype == bool:
        if rows.shape != (n,):
            raise AssayInputError(f"'fit_rows' as a mask must have shape ({n},). Got {rows.shape}.")
        rows = np.flatnonzero(rows)
    elif rows.ndim != 1 or rows.dtype.kind not in "iu" or (len(rows) and (rows.min() < 0 or rows.max() >= n)):
        raise AssayInputError(f"'fit_rows' must be a boolean mask of length {n} or row indices in [0, {n}).")
    if len(rows) < 2:
        raise AssayInputError(f"'fit_rows' selects {len(rows)} row(s); PCA needs at least 2.")
    return rows
