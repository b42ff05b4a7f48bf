"""Black-box attacks for any model :func:`assay.wrap` accepts: only its scores are read.

:class:`SquareAttack` (Andriushchenko et al. 2020), score-based, L-inf, and :class:`HopSkipJump`
(Chen et al. 2020), decision-based (labels only), L2 or L-inf. Queries go through the
adapter's batch loop without caching (every query is new data).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from ..core.adapters import uncached_logits
from ..core.component import Interval, Options
from ..core.validation import check_random_state
from .attacks import Attack

__all__ = ["HopSkipJump", "SquareAttack"]


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
        loss = _margin(uncached_logits(adapter, adv.reshape(x.shape)), labels, targeted)
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
            new_loss = _margin(uncached_logits(adapter, candidate.reshape(m, *x.shape[1:])), labels[active], targeted)
            queries[active] += 1
            better = new_loss < loss[active]
            adv[active[better]] = candidate[better]
            loss[active[better]] = new_loss[better]
        return adv.reshape(x.shape), queries


class HopSkipJump(Attack):
    """HopSkipJump (Chen, Jordan & Wainwright 2020): decision-based, L2 or L-inf; only the
    model's predicted label is read.

    From a random adversarial start (``init_tries`` uniform draws in ``clip``), each of ``steps``
    iterations: a binary search to the boundary (threshold ``d^-3/2`` for L2, ``d^-2`` for
    L-inf), a Monte-Carlo estimate of the boundary's normal from ``init_evals * sqrt(t)``
    (at most ``max_evals``) labelled random probes, and a geometric step along it of
    ``dist / sqrt(t)`` halved until adversarial. The L2 and L-inf distance of every row after each
    iteration are kept in :attr:`history` (``{"l2": (n, steps), "linf": (n, steps)}``, NaN where a
    row never became adversarial). Rows with no adversarial start fail and keep their input.
    """

    white_box = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "norm": [Options(str, ("2", "inf"))], "steps": [Interval(Integral, 1, None)],
        "init_evals": [Interval(Integral, 1, None)], "max_evals": [Interval(Integral, 1, None)],
        "init_tries": [Interval(Integral, 1, None)], "random_state": ["random_state"]}

    def __init__(self, model: Any = None, *, norm: str = "2", steps: int = 40, init_evals: int = 100,
                 max_evals: int = 1000, init_tries: int = 100, random_state: Any = None,
                 clip: Any = (0.0, 1.0)) -> None:
        self.model = model
        self.norm = norm
        self.steps = steps
        self.init_evals = init_evals
        self.max_evals = max_evals
        self.init_tries = init_tries
        self.random_state = random_state
        self.clip = clip

    def _attack(self, adapter, x, labels, targeted):
        rng = check_random_state(self.random_state, name="random_state")
        lo, hi = self._bounds()
        shape = x.shape
        x0 = x.reshape(len(x), -1).astype(np.float64)
        n, d = x0.shape
        queries = np.zeros(n, dtype=np.int64)
        clamp = (lambda a: a) if lo is None else (lambda a: np.clip(a, lo, hi))

        def adversarial(points, rows):
            """Decision of the model on ``points`` (m, d) for rows ``rows`` (m,)."""
            pred = uncached_logits(adapter, points.astype(np.float32).reshape(-1, *shape[1:])).argmax(axis=1)
            np.add.at(queries, rows, 1)
            return pred == labels[rows] if targeted else pred != labels[rows]

        # ---- a random adversarial start per row
        adv, found = x0.copy(), np.zeros(n, dtype=bool)
        spread = 1.0 if lo is None else hi - lo
        for _ in range(self.init_tries):
            rows = np.flatnonzero(~found)
            if not len(rows):
                break
            if lo is None:
                draw = x0[rows] + rng.normal(scale=spread * (1 + np.abs(x0[rows]).max(axis=1, keepdims=True)),
                                             size=(len(rows), d))
            else:
                draw = rng.uniform(lo, hi, size=(len(rows), d))
            ok = adversarial(draw, rows)
            adv[rows[ok]], found[rows[ok]] = draw[ok], True
        theta = 1.0 / (d * np.sqrt(d)) if self.norm == "2" else 1.0 / d ** 2
        history = {"l2": np.full((n, self.steps), np.nan), "linf": np.full((n, self.steps), np.nan)}
        rows = np.flatnonzero(found)
        if not len(rows):
            return x0.reshape(shape), queries, history
        base = x0[rows]
        cur = self._boundary(base, adv[rows], rows, theta, adversarial)
        for t in range(1, self.steps + 1):
            diff = cur - base
            dist = np.linalg.norm(diff, axis=1) if self.norm == "2" else np.abs(diff).max(axis=1)
            if t == 1:
                delta = np.full(len(rows), 0.1 * spread)
            else:
                delta = (np.sqrt(d) if self.norm == "2" else d) * theta * dist
            evals = int(min(self.init_evals * np.sqrt(t), self.max_evals))
            direction = self._normal(cur, delta, rows, evals, rng, clamp, adversarial)
            size = dist / np.sqrt(t)
            step = cur + size[:, None] * direction
            pending = np.ones(len(rows), dtype=bool)
            for _ in range(30):
                idx = np.flatnonzero(pending)
                if not len(idx):
                    break
                trial = clamp(cur[idx] + size[idx, None] * direction[idx])
                ok = adversarial(trial, rows[idx])
                step[idx[ok]] = trial[ok]
                pending[idx[ok]] = False
                size[idx[~ok]] /= 2
            step[pending] = cur[pending]
            cur = self._boundary(base, step, rows, theta, adversarial)
            diff = cur - base
            history["l2"][rows, t - 1] = np.linalg.norm(diff, axis=1)
            history["linf"][rows, t - 1] = np.abs(diff).max(axis=1)
        out = x0.copy()
        out[rows] = cur
        return out.reshape(shape), queries, history

    def _blend(self, base, adv, alpha):
        if self.norm == "2":
            return (1 - alpha[:, None]) * base + alpha[:, None] * adv
        reach = alpha[:, None] * np.abs(adv - base).max(axis=1, keepdims=True)
        return base + np.clip(adv - base, -reach, reach)

    def _boundary(self, base, adv, rows, theta, adversarial):
        """Binary search between each row's input (not adversarial) and ``adv`` (adversarial)."""
        low, high = np.zeros(len(rows)), np.ones(len(rows))
        scale = 1.0 if self.norm == "2" else np.maximum(np.abs(adv - base).max(axis=1), 1e-12)
        for _ in range(60):
            open_ = np.flatnonzero((high - low) * scale > theta)
            if not len(open_):
                break
            mid = (low[open_] + high[open_]) / 2
            ok = adversarial(self._blend(base[open_], adv[open_], mid), rows[open_])
            high[open_[ok]] = mid[ok]
            low[open_[~ok]] = mid[~ok]
        return self._blend(base, adv, high)

    def _normal(self, cur, delta, rows, evals, rng, clamp, adversarial):
        """Monte-Carlo estimate of the boundary's normal at ``cur`` (unit L2, or its sign for L-inf)."""
        m, d = cur.shape
        grads = np.empty_like(cur)
        block = max(1, 2_000_000 // (evals * d))
        for start in range(0, m, block):  # blocks of rows, all their probes in one model call
            sl = slice(start, start + block)
            k = len(cur[sl])
            u = rng.normal(size=(k, evals, d)) if self.norm == "2" else rng.uniform(-1, 1, size=(k, evals, d))
            u /= np.linalg.norm(u, axis=2, keepdims=True)
            probes = clamp(cur[sl, None, :] + delta[sl, None, None] * u)
            u = (probes - cur[sl, None, :]) / delta[sl, None, None]
            phi = np.where(adversarial(probes.reshape(k * evals, d), np.repeat(rows[sl], evals)).reshape(k, evals),
                           1.0, -1.0)
            mean = phi.mean(axis=1, keepdims=True)
            centred = np.where(np.abs(mean) == 1, phi, phi - mean)
            grads[sl] = (centred[:, :, None] * u).mean(axis=1)
        if self.norm == "inf":
            return np.sign(grads)
        return grads / np.maximum(np.linalg.norm(grads, axis=1, keepdims=True), 1e-12)
