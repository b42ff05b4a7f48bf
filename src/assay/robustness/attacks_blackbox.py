"""Black-box attacks for any model :func:`assay.wrap` accepts: only its scores are read.

:class:`SquareAttack` (Andriushchenko et al. 2020), score-based, L-inf. Queries go through the
adapter's batch loop without caching (every query is new data).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from ..core.component import Interval
from ..core.validation import check_random_state
from .attacks import Attack, _logits_uncached

__all__ = ["SquareAttack"]


def _margin(logits: np.ndarray, aim: np.ndarray, targeted: bool) -> np.ndarray:
    """``Z_y - max_{j != y} Z_j`` (untargeted) or ``max_{j != t} Z_j - Z_t``: below 0 is success."""
    rows = np.arange(len(aim))
    chosen = logits[rows, aim]
    others = logits.copy()
    others[rows, aim] = -np.inf
    best_other = others.max(axis=1)
    return best_other - chosen if targeted else chosen - best_other


def _square_fraction(p_init: float, query: int, max_queries: int) -> float:
    """The schedule of the original implementation, rescaled to ``max_queries``."""
    i = int(query / max_queries * 10000)
    halvings = sum(i > b for b in (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000))
    return p_init / 2 ** halvings


def _as_images(x: np.ndarray) -> np.ndarray:
    """View rows as ``(n, c, h, w)``: 2-D rows are one line of ``d`` pixels, 3-D one channel."""
    if x.ndim == 2:
        return x.reshape(len(x), 1, 1, x.shape[1])
    if x.ndim == 3:
        return x.reshape(len(x), 1, *x.shape[1:])
    return x.reshape(*x.shape[:2], x.shape[2], -1)


class SquareAttack(Attack):
    """Square attack, L-inf (Andriushchenko et al. 2020): random search with square updates.

    Starts from vertical stripes of ``+-eps``; each iteration redraws a random square window
    (side from the original ``p_init`` schedule) of each row still unbroken to ``+-eps`` per
    channel and keeps it if the margin loss decreases. Stops a row at success; at most
    ``max_queries`` model evaluations per row (recorded in ``queries``). Works on any model
    (scores only); 2-D inputs are treated as one line of pixels.
    """

    white_box = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "eps": [Interval(Real, 0, None)], "max_queries": [Interval(Integral, 1, None)],
        "p_init": [Interval(Real, 0, 1, closed="right")], "random_state": ["random_state"]}

    def __init__(self, model: Any = None, *, eps: float = 0.05, max_queries: int = 1000, p_init: float = 0.1,
                 random_state: Any = None, clip: Any = (0.0, 1.0)) -> None:
        self.model = model
        self.eps = eps
        self.max_queries = max_queries
        self.p_init = p_init
        self.random_state = random_state
        self.clip = clip

    def _attack(self, adapter, x, labels, targeted):
        rng = check_random_state(self.random_state, name="random_state")
        lo, hi = self._bounds()
        clamp = (lambda a: a) if lo is None else (lambda a: np.clip(a, lo, hi))
        img = _as_images(x)
        n, c, h, w = img.shape
        eps = np.float32(self.eps)
        stripes = rng.choice(np.array([-eps, eps], dtype=np.float32), size=(n, c, 1, w))
        adv = clamp(img + stripes).astype(np.float32)
        loss = _margin(_logits_uncached(adapter, adv.reshape(x.shape)), labels, targeted)
        queries = np.ones(n, dtype=np.int64)
        rows_h, rows_w = np.arange(h), np.arange(w)
        for query in range(1, self.max_queries):
            active = np.flatnonzero(loss >= 0)
            if not len(active):
                break
            side = max(1, round(float(np.sqrt(_square_fraction(self.p_init, query, self.max_queries) * h * w))))
            sh, sw = min(side, h), min(side, w)
            m = len(active)
            top = rng.integers(0, h - sh + 1, size=m)
            left = rng.integers(0, w - sw + 1, size=m)
            window = (((rows_h >= top[:, None]) & (rows_h < top[:, None] + sh))[:, None, :, None]
                      & ((rows_w >= left[:, None]) & (rows_w < left[:, None] + sw))[:, None, None, :])
            signs = rng.choice(np.array([-eps, eps], dtype=np.float32), size=(m, c, 1, 1))
            base = img[active]
            delta = np.where(window, signs, adv[active] - base)
            candidate = clamp(base + delta).astype(np.float32)
            new_loss = _margin(_logits_uncached(adapter, candidate.reshape(m, *x.shape[1:])), labels[active], targeted)
            queries[active] += 1
            better = new_loss < loss[active]
            adv[active[better]] = candidate[better]
            loss[active[better]] = new_loss[better]
        return adv.reshape(x.shape), queries
