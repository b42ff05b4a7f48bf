"""Drift of text columns through their sentence embeddings.

A text column is not tested value by value (every sentence is its own category): its sentences are
embedded (all-MiniLM-L6-v2 through :func:`assay.datasets.text.embed_sentences`, the ``text`` extra,
offline; or any ``embed`` callable ``texts -> (n, d)`` array) and the two windows' embeddings are
compared with two multivariate two-sample tests:

* a **domain classifier**: a standardised logistic regression telling current rows (positive) from
  reference rows, scored out of fold (stratified ``n_folds``-fold cross-validation) -- its AUC, and
  the one-sided Mann-Whitney p-value of the held-out scores (AUC > 0.5). This is the row's test;
  its effect size is ``2 * (AUC - 0.5)`` clipped at 0 (0 = indistinguishable, 1 = separable), so the
  drift report's ``effect_threshold`` of 0.1 means an AUC of at least 0.55;
* **MMD** with a Gaussian kernel and a permutation test (:func:`assay.monitor.mmd_test` on the
  embedding matrices), reported next to it (``mmd``, ``mmd_pvalue``).

Sentences are embedded once per distinct sentence over both windows (``embed_texts``); the model is
loaded once per process, and MiniLM vectors of up to :data:`CACHE_SIZE` distinct sentences are kept
for the process (a reference window tested against many current windows is embedded once).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import check_random_state, describe

MIN_ROWS = 10  # per side: fewer and the cross-validated classifier has too few rows per fold
CACHE_SIZE = 20_000  # MiniLM vectors kept per process (384 float32 each: about 30 MB)
_CACHE: dict[str, np.ndarray] = {}


def _minilm(items: list[str]) -> np.ndarray:
    from ..datasets.text import EMBEDDING_DIM, embed_sentences

    todo = [t for t in items if t not in _CACHE]
    if todo:
        fresh = embed_sentences(todo, progress=False)
        if len(_CACHE) + len(todo) > CACHE_SIZE:
            _CACHE.clear()
        if len(todo) <= CACHE_SIZE:
            _CACHE.update(zip(todo, fresh))
        found = dict(zip(todo, fresh))
    else:
        found = {}
    out = np.empty((len(items), EMBEDDING_DIM), dtype=np.float32)
    for i, t in enumerate(items):
        out[i] = found[t] if t in found else _CACHE[t]
    return out


def embed_texts(texts: list[str], embed: Callable[[list[str]], Any] | None = None, *, name: str = "texts"
                ) -> np.ndarray:
    """Embeddings ``(n, d)`` float32 of ``texts``, each distinct sentence embedded once.

    ``embed`` defaults to MiniLM (:func:`assay.datasets.text.embed_sentences`)."""
    if embed is None:
        embed = _minilm
    unique, inverse = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
    vectors = np.asarray(embed(list(unique)), dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(unique):
        raise AssayInputError(f"'embed' must return a 2-D array with one row per sentence ({len(unique)} here). "
                              f"Got {describe(vectors)} instead.")
    if not np.isfinite(vectors).all():
        raise AssayInputError(f"'embed' returned non-finite values for {name!r}.")
    return vectors[inverse.ravel()]


def embedding_drift(reference: np.ndarray, current: np.ndarray, *, n_permutations: int = 200,
                    max_samples: int = 2000, n_folds: int = 5, random_state: Any = None) -> dict[str, float]:
    """Domain-classifier and MMD tests between two embedding matrices ``(m, d)`` and ``(n, d)``.

    Returns ``domain_auc``, ``p_value`` (Mann-Whitney of the out-of-fold scores), ``effect_size``
    (``max(0, 2 * (auc - 0.5))``), ``mmd`` (biased MMD^2), ``mmd_pvalue``; NaN everywhere when a side
    has fewer than :data:`MIN_ROWS` rows.
    """
    from scipy.stats import mannwhitneyu
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .multivariate import mmd_test

    nan = float("nan")
    if min(len(reference), len(current)) < MIN_ROWS:
        return {"domain_auc": nan, "p_value": nan, "effect_size": nan, "mmd": nan, "mmd_pvalue": nan}
    rng = check_random_state(random_state)
    seed = int(rng.integers(2 ** 31 - 1))
    pick = np.random.default_rng(seed)
    ref = reference[np.sort(pick.choice(len(reference), max_samples, replace=False))] \
        if len(reference) > max_samples else reference
    cur = current[np.sort(pick.choice(len(current), max_samples, replace=False))] \
        if len(current) > max_samples else current
    X = np.vstack([ref, cur]).astype(np.float64)
    y = np.r_[np.zeros(len(ref), dtype=int), np.ones(len(cur), dtype=int)]
    folds = StratifiedKFold(n_splits=min(n_folds, len(ref), len(cur)), shuffle=True, random_state=seed)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    scores = cross_val_predict(model, X, y, cv=folds, method="decision_function")
    auc = float(roc_auc_score(y, scores))
    p_value = float(mannwhitneyu(scores[y == 1], scores[y == 0], alternative="greater").pvalue)
    mmd = mmd_test(ref, cur, n_permutations=n_permutations, max_samples=max_samples, random_state=seed)
    return {"domain_auc": auc, "p_value": p_value, "effect_size": max(0.0, 2.0 * (auc - 0.5)),
            "mmd": mmd.statistic, "mmd_pvalue": mmd.p_value}
