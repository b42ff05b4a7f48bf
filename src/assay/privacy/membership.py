"""Membership inference attacks: every one returns member scores (higher = more likely a member).

* :func:`loss_attack`, :func:`confidence_attack` -- the threshold attacks of Yeom et al. (2018): the
  negated cross-entropy loss, and the confidence in the true (or top) class. No training.
* :class:`LiRA` -- the likelihood-ratio attack of Carlini et al. (2022) with reference models trained
  by a training function on random halves of the candidate rows (each row in exactly half of them).
  Offline (default): one-sided Gaussian test against the reference models that did *not* see the
  row; online: log-likelihood ratio of the "in" and "out" Gaussians.
* :class:`ShadowAttack` -- Shokri et al. (2017): shadow models trained on halves of shadow data; an
  attack classifier learns member vs non-member from their outputs.

All read the model black-box through :func:`assay.wrap` (its cached ``logits`` / ``predict_proba``).
Evaluate any of them with :func:`assay.privacy.evaluate_attack`. A training function is
``train_fn(X, y) -> model`` (anything :func:`assay.wrap` accepts); if it takes ``random_state`` it
receives one seed per reference model. Default: :func:`assay.models.train_tabular_mlp` (numeric X).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ..core.adapters import ModelAdapter, wrap
from ..core.component import Component, Interval, Options
from ..core.errors import AssayInputError
from ..core.validation import (
    as_array,
    check_consistent_length,
    check_is_fitted,
    describe,
)

__all__ = ["LiRA", "ShadowAttack", "confidence_attack", "example_loss", "lira_scores", "logit_confidence",
           "logit_loss", "loss_attack"]

_TINY = 1e-300


def _adapter(model: Any) -> ModelAdapter:
    return model if isinstance(model, ModelAdapter) else wrap(model)


def _class_indices(y: Any, n: int, n_classes: int, name: str = "y") -> np.ndarray:
    arr = as_array(y, name=name, ndim=1)
    if len(arr) != n:
        raise AssayInputError(f"'{name}' must have one label per row of X ({n}). Got {len(arr)} labels.")
    if arr.dtype.kind not in "iub" and not (arr.dtype.kind == "f" and np.all(np.mod(arr, 1) == 0)):
        raise AssayInputError(f"'{name}' must hold class indices 0..{n_classes - 1}. Got {describe(y)}.")
    arr = arr.astype(np.int64)
    if len(arr) and (arr.min() < 0 or arr.max() >= n_classes):
        raise AssayInputError(f"'{name}' must hold class indices 0..{n_classes - 1} (the model has {n_classes} "
                              f"classes). Got values in [{arr.min()}, {arr.max()}].")
    return arr


def example_loss(proba: Any, y: Any) -> np.ndarray:
    """Per-example cross-entropy ``-log p[y]`` from probabilities ``(n, k)`` and class indices ``(n,)``."""
    p = as_array(proba, name="proba", ndim=2, dtype=np.float64)
    labels = _class_indices(y, len(p), p.shape[1])
    return -np.log(np.maximum(p[np.arange(len(p)), labels], _TINY))


def logit_loss(logits: Any, y: Any) -> np.ndarray:
    """Per-example cross-entropy ``-log softmax(z)[y]`` from logits ``(n, k)``, as
    ``log(1 + exp(-phi))`` with ``phi = z_y - logsumexp(z_j, j != y)``: a confident prediction keeps
    a loss above 0 (``logsumexp(z) - z_y`` would round it to 0)."""
    return np.logaddexp(0.0, -logit_confidence(logits, y))


def loss_attack(model: Any, X: Any, y: Any) -> np.ndarray:
    """Yeom et al.'s loss attack: member score = ``-loss`` (a low loss suggests a member), shape (n,).

    The loss is read from the adapter's logits (``softmax(logits) == predict_proba``; log p for
    models that only give probabilities), so confident predictions keep their ranking."""
    return -logit_loss(_adapter(model).logits(X), y)


def confidence_attack(model: Any, X: Any, y: Any = None) -> np.ndarray:
    """Confidence attack: member score = probability of the true class (``y`` given) or of the top class."""
    proba = _adapter(model).predict_proba(X)
    if y is None:
        return proba.max(axis=1)
    labels = _class_indices(y, len(proba), proba.shape[1])
    return proba[np.arange(len(proba)), labels]


def logit_confidence(logits: Any, y: Any) -> np.ndarray:
    """LiRA's statistic ``log(p_y / (1 - p_y))`` from logits ``(n, k)``, computed stably:
    ``z_y - logsumexp(z_j, j != y)``."""
    z = as_array(logits, name="logits", ndim=2, dtype=np.float64)
    labels = _class_indices(y, len(z), z.shape[1])
    rows = np.arange(len(z))
    z_y = z[rows, labels]
    others = z.copy()
    others[rows, labels] = -np.inf
    return z_y - np.logaddexp.reduce(others, axis=1)


def _take(X: Any, index: np.ndarray) -> Any:
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[index]
    if hasattr(X, "__getitem__") and not isinstance(X, (list, tuple)):
        return X[index]
    return [X[i] for i in index]


def _default_train_fn(X: Any, y: Any, random_state: int = 0) -> Any:
    from ..models import train_tabular_mlp

    return train_tabular_mlp(X, y, random_state=random_state)


def _train(train_fn: Callable | None, X: Any, y: np.ndarray, seed: int, owner: str) -> Any:
    fn = train_fn or _default_train_fn
    try:
        takes_seed = "random_state" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        takes_seed = False
    model = fn(X, y, random_state=seed) if takes_seed else fn(X, y)
    if model is None:
        raise AssayInputError(f"'train_fn' of {owner} must return the trained model. Got None.")
    return model


def _n_rows(X: Any) -> int:
    try:
        return len(X)
    except TypeError:
        raise AssayInputError(f"'X' must be an array, tensor or DataFrame of rows. Got {describe(X)}.") from None


def _check_train_fn(train_fn: Any, owner: str) -> None:
    if train_fn is not None and not callable(train_fn):
        raise AssayInputError(f"'train_fn' of {owner} must be None or callable(X, y) -> model. "
                              f"Got {describe(train_fn)}.")


class LiRA(Component):
    """The likelihood-ratio membership attack (Carlini et al. 2022).

    ``fit(X, y)`` trains ``n_reference`` reference models with ``train_fn`` on random halves of the
    candidate rows ``X`` (each row in exactly half of the models) and records, for every model and
    row, the statistic ``phi = log(p_y / (1 - p_y))``. ``score(X, y)`` reads ``phi`` of the target
    ``model`` on the same rows and returns, per row:

    * offline: ``-log P(Z >= phi)`` with ``Z ~ N(mu_out, sigma_out^2)`` fitted on the models that
      did not see the row (a one-sided test; larger = less plausible as a non-member);
    * online: ``log N(phi; mu_in, sigma_in^2) - log N(phi; mu_out, sigma_out^2)``.

    ``variance="global"`` pools one standard deviation per side over all rows (the paper's choice
    for few reference models); ``"per_example"`` uses each row's own (needs >= 4 models).

    Parameters
    ----------
    model : the target model (anything :func:`assay.wrap` accepts)
    train_fn : callable(X, y[, random_state]) -> model, optional
    n_reference : even int >= 2
    online : bool
    variance : {"global", "per_example"}
    random_state : int or None
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": ["no_validation"],
        "train_fn": [None, "callable"],
        "n_reference": [Interval(int, 2, None)],
        "online": ["boolean"],
        "variance": [Options(str, ("global", "per_example"))],
        "random_state": ["random_state"],
    }

    def __init__(self, model: Any, *, train_fn: Callable | None = None, n_reference: int = 8, online: bool = False,
                 variance: str = "global", random_state: int | None = 0) -> None:
        self.model = model
        self.train_fn = train_fn
        self.n_reference = n_reference
        self.online = online
        self.variance = variance
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> LiRA:
        owner = type(self).__name__
        if self.n_reference % 2:
            raise AssayInputError(f"The 'n_reference' parameter of {owner} must be even (each row is in exactly "
                                  f"half of the reference models). Got {self.n_reference}.")
        if self.variance == "per_example" and self.n_reference < 4:
            raise AssayInputError(f"The 'n_reference' parameter of {owner} must be at least 4 with "
                                  f"variance='per_example'. Got {self.n_reference}.")
        n = _n_rows(X)
        labels = as_array(y, name="y", ndim=1)
        check_consistent_length(X=np.empty(n), y=labels)
        rng = np.random.default_rng(self.random_state)
        keep = np.argsort(rng.random((self.n_reference, n)), axis=0) < self.n_reference // 2
        phi = np.empty((self.n_reference, n))
        seeds = rng.integers(0, 2**31 - 1, size=self.n_reference)
        for j in range(self.n_reference):
            rows = np.flatnonzero(keep[j])
            reference = _adapter(_train(self.train_fn, _take(X, rows), labels[rows], int(seeds[j]), owner))
            phi[j] = logit_confidence(reference.logits(X), labels)
        self.keep_ = keep
        self.reference_phi_ = phi
        self.y_ = labels
        self.n_rows_ = n
        return self

    def score(self, X: Any, y: Any = None) -> np.ndarray:
        """Member scores of the rows given to ``fit`` (same rows, same order), shape (n,)."""
        check_is_fitted(self, ["reference_phi_"])
        n = _n_rows(X)
        if n != self.n_rows_:
            raise AssayInputError(f"'X' of LiRA.score must be the {self.n_rows_} rows given to fit (LiRA scores the "
                                  f"rows its reference models were trained on). Got {n} rows.")
        labels = self.y_ if y is None else as_array(y, name="y", ndim=1)
        phi = logit_confidence(_adapter(self.model).logits(X), labels)
        return lira_scores(phi, self.reference_phi_, self.keep_, online=self.online, variance=self.variance)


def _gaussian(phi: np.ndarray, mask: np.ndarray, variance: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per row of ``phi`` (n_ref, n) over the models where ``mask``."""
    count = mask.sum(axis=0)
    mean = np.where(mask, phi, 0.0).sum(axis=0) / np.maximum(count, 1)
    squares = np.where(mask, (phi - mean) ** 2, 0.0).sum(axis=0)
    if variance == "global":
        std = np.full(phi.shape[1], np.sqrt(squares.sum() / max(count.sum() - phi.shape[1], 1)))
    else:
        std = np.sqrt(squares / np.maximum(count - 1, 1))
    return mean, np.maximum(std, 1e-8)


def lira_scores(phi: Any, reference_phi: Any, keep: Any, *, online: bool = False,
                variance: str = "global") -> np.ndarray:
    """LiRA's member scores from the target's ``phi`` (n,), the reference models' ``phi`` (n_ref, n)
    and ``keep`` (n_ref, n), True where reference model j was trained on row i."""
    phi = np.asarray(phi, dtype=np.float64)
    reference_phi = np.asarray(reference_phi, dtype=np.float64)
    keep = np.asarray(keep, dtype=bool)
    mu_out, sd_out = _gaussian(reference_phi, ~keep, variance)
    if not online:
        return -stats.norm.logsf(phi, loc=mu_out, scale=sd_out)
    mu_in, sd_in = _gaussian(reference_phi, keep, variance)
    return stats.norm.logpdf(phi, loc=mu_in, scale=sd_in) - stats.norm.logpdf(phi, loc=mu_out, scale=sd_out)


def _shadow_features(proba: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    top = -np.sort(-proba, axis=1)
    if labels is None:
        return top
    rows = np.arange(len(proba))
    onehot = np.zeros_like(proba)
    onehot[rows, labels] = 1.0
    loss = -np.log(np.maximum(proba[rows, labels], _TINY))
    return np.column_stack([top, onehot, proba[rows, labels], loss])


class ShadowAttack(Component):
    """The shadow-model attack (Shokri et al. 2017).

    ``fit(X, y)`` takes shadow data (ideally disjoint from the target's training data, from the
    same distribution): each of ``n_shadow`` shadow models is trained with ``train_fn`` on a random
    half of it; the other half are its non-members. An attack classifier (``attack_model``, default
    scikit-learn's ``HistGradientBoostingClassifier``) learns member vs non-member from the shadow
    models' outputs: the probabilities sorted, and with ``features="label"`` the one-hot label, the
    true-class probability and the loss. ``score(X, y)`` applies it to the target model's outputs.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": ["no_validation"],
        "train_fn": [None, "callable"],
        "n_shadow": [Interval(int, 1, None)],
        "features": [Options(str, ("label", "sorted"))],
        "attack_model": ["no_validation"],
        "random_state": ["random_state"],
    }

    def __init__(self, model: Any, *, train_fn: Callable | None = None, n_shadow: int = 4, features: str = "label",
                 attack_model: Any = None, random_state: int | None = 0) -> None:
        self.model = model
        self.train_fn = train_fn
        self.n_shadow = n_shadow
        self.features = features
        self.attack_model = attack_model
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> ShadowAttack:
        from sklearn.base import clone as sk_clone
        from sklearn.ensemble import HistGradientBoostingClassifier

        owner = type(self).__name__
        n = _n_rows(X)
        labels = as_array(y, name="y", ndim=1)
        check_consistent_length(X=np.empty(n), y=labels)
        if n < 4:
            raise AssayInputError(f"'X' of {owner}.fit must have at least 4 rows of shadow data. Got {n}.")
        rng = np.random.default_rng(self.random_state)
        parts, targets = [], []
        for _ in range(self.n_shadow):
            order = rng.permutation(n)
            inside, outside = order[: n // 2], order[n // 2:]
            shadow = _adapter(_train(self.train_fn, _take(X, inside), labels[inside],
                                     int(rng.integers(0, 2**31 - 1)), owner))
            proba = shadow.predict_proba(X)
            y_idx = _class_indices(labels, n, proba.shape[1]) if self.features == "label" else None
            feats = _shadow_features(proba, y_idx)
            parts += [feats[inside], feats[outside]]
            targets += [np.ones(len(inside)), np.zeros(len(outside))]
        attack = (HistGradientBoostingClassifier(max_iter=100, random_state=int(rng.integers(0, 2**31 - 1)))
                  if self.attack_model is None else sk_clone(self.attack_model))
        self.attack_model_ = attack.fit(np.concatenate(parts), np.concatenate(targets).astype(int))
        self.n_features_ = parts[0].shape[1]
        return self

    def score(self, X: Any, y: Any = None) -> np.ndarray:
        """Member scores of the target model on ``X`` (``y`` needed with ``features="label"``), shape (n,)."""
        check_is_fitted(self, ["attack_model_"])
        proba = _adapter(self.model).predict_proba(X)
        if self.features == "label":
            if y is None:
                raise AssayInputError("'y' of ShadowAttack.score is needed with features='label' (the attack reads "
                                      "the true-class probability and loss).")
            labels = _class_indices(y, len(proba), proba.shape[1])
        else:
            labels = None
        feats = _shadow_features(proba, labels)
        if feats.shape[1] != self.n_features_:
            raise AssayInputError(f"The model gives {proba.shape[1]} classes; the shadow models gave "
                                  f"{self.n_features_} features. Train the shadow models like the target.")
        return self.attack_model_.predict_proba(feats)[:, 1]
