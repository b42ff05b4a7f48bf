"""OOD detectors computed from a classifier's logits.

With ``model=None``, ``X`` is the logits, shape ``(n, k)``, ``k >= 2``. With a model, the logits
come from :func:`assay.wrap` (any model kind; :class:`ODIN` needs a torch model for its input
perturbation). All scores: shape ``(n,)``, float64, higher = more out-of-distribution.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy.special import logsumexp

from ..core.errors import AssayInputError
from ..core.component import Interval
from ..core.validation import describe
from ._base import OODDetector, energy, softmax

__all__ = ["GEN", "ODIN", "Energy", "Entropy", "KLMatching", "MaxLogit", "MaxSoftmax"]


_TEMPERATURE = [Interval(numbers.Real, 0, None, closed="neither")]


class MaxSoftmax(OODDetector):
    """Maximum softmax probability (Hendrycks & Gimpel, 2017).

    ``score(x) = -max_j softmax(f(x))_j``; logits ``(n, k)`` -> scores ``(n,)``.
    """

    uses = "logits"
    reads = "probabilities"
    needs_fit = False

    def score_logits(self, logits: np.ndarray) -> np.ndarray:
        return -softmax(logits).max(axis=1)

    def _score(self, X: Any) -> np.ndarray:
        return self.score_logits(self._logits(X))


class MaxLogit(OODDetector):
    """Maximum logit (Hendrycks et al., 2022, "Scaling out-of-distribution detection for
    real-world settings").

    ``score(x) = -max_j f_j(x)``; logits ``(n, k)`` -> scores ``(n,)``.
    """

    uses = "logits"
    needs_fit = False

    def score_logits(self, logits: np.ndarray) -> np.ndarray:
        return -np.asarray(logits, dtype=np.float64).max(axis=1)

    def _score(self, X: Any) -> np.ndarray:
        return self.score_logits(self._logits(X))


class Energy(OODDetector):
    """Free energy (Liu, Wang, Owens & Li, 2020, "Energy-based out-of-distribution detection").

    ``score(x) = E(x; T) = -T * log sum_j exp(f_j(x) / T)``; logits ``(n, k)`` -> scores ``(n,)``.

    Parameters
    ----------
    temperature : float > 0, default 1.0
    """

    uses = "logits"
    needs_fit = False
    _parameter_constraints = {"temperature": _TEMPERATURE}

    def __init__(self, model: Any = None, *, temperature: float = 1.0, batch_size: int | None = None,
                 progress: bool | None = None) -> None:
        super().__init__(model, batch_size=batch_size, progress=progress)
        self.temperature = temperature

    def score_logits(self, logits: np.ndarray) -> np.ndarray:
        return energy(logits, float(self.temperature))

    def _score(self, X: Any) -> np.ndarray:
        return self.score_logits(self._logits(X))


class Entropy(OODDetector):
    """Shannon entropy of the softmax: ``score(x) = -sum_j p_j log p_j`` with ``p = softmax(f(x))``.

    Computed stably as ``logsumexp(z) - sum_j p_j z_j``. Logits ``(n, k)`` -> scores ``(n,)``.
    """

    uses = "logits"
    reads = "probabilities"
    needs_fit = False

    def score_logits(self, logits: np.ndarray) -> np.ndarray:
        z = np.asarray(logits, dtype=np.float64)
        p = softmax(z)
        return np.maximum(logsumexp(z, axis=1) - np.einsum("ij,ij->i", p, z), 0.0)

    def _score(self, X: Any) -> np.ndarray:
        return self.score_logits(self._logits(X))


class GEN(OODDetector):
    """Generalized entropy (Liu, Lochman & Zach, 2023, "GEN: Pushing the limits of softmax-based
    out-of-distribution detection").

    ``score(x) = G_gamma(p) = sum_{j=1}^{M} p_(j)^gamma * (1 - p_(j))^gamma`` over the ``M``
    largest softmax probabilities ``p_(1) >= ... >= p_(M)``. Logits ``(n, k)`` -> scores ``(n,)``.

    Parameters
    ----------
    gamma : float in (0, 1], default 0.1
    top_m : int >= 1, default 100
        Number of top classes ``M`` (all ``k`` when ``k < top_m``).
    """

    uses = "logits"
    needs_fit = False
    _parameter_constraints = {"gamma": [Interval(numbers.Real, 0, 1, closed="right")],
                              "top_m": [Interval(numbers.Integral, 1, None)]}

    def __init__(self, model: Any = None, *, gamma: float = 0.1, top_m: int = 100,
                 batch_size: int | None = None, progress: bool | None = None) -> None:
        super().__init__(model, batch_size=batch_size, progress=progress)
        self.gamma = gamma
        self.top_m = top_m

    def score_logits(self, logits: np.ndarray) -> np.ndarray:
        p = softmax(logits)
        m = min(int(self.top_m), p.shape[1])
        if m < p.shape[1]:
            p = np.partition(p, p.shape[1] - m, axis=1)[:, p.shape[1] - m:]
        g = float(self.gamma)
        return (p ** g * np.clip(1.0 - p, 0.0, None) ** g).sum(axis=1)

    def _score(self, X: Any) -> np.ndarray:
        return self.score_logits(self._logits(X))


class KLMatching(OODDetector):
    """KL matching (Hendrycks et al., 2022, "Scaling out-of-distribution detection for
    real-world settings").

    ``fit``: one template per class ``c``, ``d_c = mean of softmax(f(x))`` over the fit inputs of
    class ``c`` (default: the predicted class). ``score(x) = min_c KL(p || d_c)`` with
    ``p = softmax(f(x))`` and ``KL(p || d) = sum_j p_j log(p_j / d_j)``.
    Logits ``(n, k)`` -> scores ``(n,)``.

    Attributes
    ----------
    classes_ : (C,) the class labels with a template.
    templates_ : (C, k) the templates ``d_c``.
    n_logits_ : int, ``k``.
    """

    uses = "logits"
    reads = "probabilities"
    needs_fit = True
    _fitted_attrs = ("templates_",)

    def fit_logits(self, logits: np.ndarray, y: Any = None) -> KLMatching:
        logits = np.asarray(logits, dtype=np.float64)
        classes, codes = self._labels(y, len(logits), logits)
        p = softmax(logits)
        counts = np.bincount(codes, minlength=len(classes)).astype(np.float64)
        sums = np.zeros((len(classes), p.shape[1]))
        np.add.at(sums, codes, p)
        self.classes_ = classes
        self.templates_ = sums / counts[:, None]
        self.n_logits_ = p.shape[1]
        return self

    def score_logits(self, logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(logits, dtype=np.float64)
        if logits.shape[1] != self.n_logits_:
            raise AssayInputError(
                f"'X' gives {logits.shape[1]} logits per row but {type(self).__name__} was fitted "
                f"on {self.n_logits_}."
            )
        p = softmax(logits)
        tiny = np.finfo(np.float64).tiny
        with np.errstate(divide="ignore"):
            log_p = np.where(p > 0, np.log(np.maximum(p, tiny)), 0.0)
        neg_entropy = np.einsum("ij,ij->i", p, log_p)
        cross = p @ np.log(np.maximum(self.templates_, tiny)).T  # (n, C)
        return np.maximum((neg_entropy[:, None] - cross).min(axis=1), 0.0)

    def _fit(self, X: Any, y: Any) -> None:
        self.fit_logits(self._logits(X), y)

    def _score(self, X: Any) -> np.ndarray:
        return self.score_logits(self._logits(X))


class ODIN(OODDetector):
    """ODIN: temperature scaling and input perturbation (Liang, Li & Srikant, 2018).

    ``x' = x - epsilon * sign(-grad_x log S_yhat(x; T))`` with ``S(x; T) = softmax(f(x) / T)`` and
    ``yhat = argmax_j f_j(x)``; ``score(x) = -max_j S_j(x'; T)``.

    The perturbation needs a torch model (inputs ``(n, ...)`` floating point, run in eval mode in
    batches of ``batch_size``). With ``model=None``, ``X`` is logits ``(n, k)`` and only the
    temperature scaling applies (``epsilon`` must then be 0). Unlike the paper's code, the
    gradient is not divided by a per-channel input normalisation: ``epsilon`` is in the units of
    the model's input.

    Parameters
    ----------
    temperature : float > 0, default 1000.0
    epsilon : float >= 0, default 0.0014
    """

    uses = "gradients"
    reads = "gradients"
    needs_fit = False
    _parameter_constraints = {"temperature": _TEMPERATURE, "epsilon": [Interval(numbers.Real, 0, None)]}

    def __init__(self, model: Any = None, *, temperature: float = 1000.0, epsilon: float = 0.0014,
                 batch_size: int | None = None, progress: bool | None = None) -> None:
        super().__init__(model, batch_size=batch_size, progress=progress)
        self.temperature = temperature
        self.epsilon = epsilon

    def score_logits(self, logits: np.ndarray) -> np.ndarray:
        """``-max softmax(logits / T)`` of (already perturbed) logits."""
        t = float(self.temperature)
        return -softmax(np.asarray(logits, dtype=np.float64) / t).max(axis=1)

    def perturbed_logits(self, X: Any) -> np.ndarray:
        """Logits ``(n, k)`` of the perturbed inputs ``x'`` (float64), cached per ``X``."""
        import torch

        owner = type(self).__name__
        t, eps = float(self.temperature), float(self.epsilon)
        adapter = self._require_torch("input gradients (autograd)")

        def perturbed(batch, _index):
            if not batch.is_floating_point():
                raise AssayInputError(
                    f"'X' must be floating point for {owner}'s input perturbation. Got {describe(X)}."
                )
            if eps > 0:
                logits = adapter.forward_batch(batch).double()
                log_s = torch.log_softmax(logits / t, dim=1)
                chosen = log_s.gather(1, logits.argmax(dim=1, keepdim=True)).sum()
                (grad,) = torch.autograd.grad(-chosen, batch)
                # -grad log S is the gradient of the loss: step against it.
                batch = (batch - eps * torch.sign(grad)).detach()
            with torch.no_grad():
                return adapter.forward_batch(batch).double()

        return adapter.map_batches(perturbed, X, grad=eps > 0, cache_key=("odin", t, eps),
                                   desc=f"{owner} perturbation")

    def _score(self, X: Any) -> np.ndarray:
        if self.model is None:
            if self.epsilon != 0:
                raise AssayInputError(
                    f"'model' is needed by {type(self).__name__} for its input perturbation "
                    f"(epsilon={self.epsilon!r}); with model=None, X holds logits and only "
                    "epsilon=0 (temperature scaling alone) is possible. Got model=None."
                )
            return self.score_logits(self._logits(X))
        return self.score_logits(self.perturbed_logits(X))
