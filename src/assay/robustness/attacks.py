"""Adversarial attacks: one call shape, ``Attack(model, ...).generate(X, y=None, target=None)``.

White-box attacks (torch models, gradients through the adapter's batch loop): :class:`FGSM`,
:class:`PGD` (L-inf / L2, random start, restarts), :class:`MomentumIterativeFGSM`,
:class:`DeepFool`, :class:`CarliniWagnerL2`. Black-box (any model :func:`assay.wrap` accepts,
scores or labels only): :class:`SquareAttack`, :class:`HopSkipJump` (in :mod:`.attacks_blackbox`).

Every attack returns an :class:`AttackResult`. Inputs are clipped to ``clip=(low, high)``
(default ``(0, 1)``; ``None`` for unbounded inputs) and must lie in it. Untargeted attacks push
each row away from its label ``y`` (the model's prediction when ``y`` is None); targeted attacks
(``target=`` one class or one class per row) pull it towards the target. A row *succeeds* when
the adversarial prediction differs from ``y`` (untargeted; a row the model already gets wrong
succeeds with no perturbation) or equals the target (targeted).
"""

from __future__ import annotations

import dataclasses
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import uncached_logits, wrap
from ..core.component import Component, Interval, Options
from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import as_array, check_random_state, describe

__all__ = ["FGSM", "PGD", "Attack", "AttackResult", "CarliniWagnerL2", "DeepFool", "MomentumIterativeFGSM"]


# ---------------------------------------------------------------------- the result
@dataclasses.dataclass(frozen=True, eq=False)
class AttackResult(Result):
    """What an attack did to each row.

    Attributes
    ----------
    attack : str
        The attack's ``repr``.
    adversarial : ndarray, shape and dtype (float32) of ``X``
    success : bool ndarray (n,)
    linf, l2 : float ndarray (n,)
        Norms of ``adversarial - X`` per row (flattened).
    original_pred, adversarial_pred : ndarray (n,)
        Predicted labels (the model's classes) before and after.
    original_confidence, adversarial_confidence : float ndarray (n,)
        Probability of the predicted class before and after.
    labels : ndarray (n,)
        What an untargeted attack moved away from (``y``, else the clean prediction).
    target : ndarray (n,) or None
        Target labels of a targeted attack.
    queries : int ndarray (n,) or None
        Model evaluations per row (black-box attacks).
    history : dict of str -> ndarray (n, steps), or None
        Per-step distances of iterative black-box attacks (HopSkipJump: ``"l2"``, ``"linf"``).
    n_changed : int ndarray (n,) or None
        Columns changed per row (tabular attacks; their ``adversarial`` is a DataFrame and the
        norms are in units of each numeric column's reference standard deviation).
    """

    attack: str
    adversarial: np.ndarray
    success: np.ndarray
    linf: np.ndarray
    l2: np.ndarray
    original_pred: np.ndarray
    adversarial_pred: np.ndarray
    original_confidence: np.ndarray
    adversarial_confidence: np.ndarray
    labels: np.ndarray
    target: np.ndarray | None = None
    queries: np.ndarray | None = None
    history: dict | None = None
    n_changed: np.ndarray | None = None

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.success))

    def to_frame(self) -> pd.DataFrame:
        """One row per input: success, norms, predictions, confidences (and queries, target)."""
        frame = pd.DataFrame({
            "success": self.success, "linf": self.linf, "l2": self.l2, "label": self.labels,
            "original_pred": self.original_pred, "adversarial_pred": self.adversarial_pred,
            "original_confidence": self.original_confidence, "adversarial_confidence": self.adversarial_confidence,
        })
        if self.target is not None:
            frame["target"] = self.target
        if self.queries is not None:
            frame["queries"] = self.queries
        if self.n_changed is not None:
            frame["n_changed"] = self.n_changed
        return frame


# ---------------------------------------------------------------------- the base class
_CLIP = "clip"


class Attack(Component):
    """Base of the attacks: ``model`` and ``clip`` parameters, :meth:`generate`.

    Subclasses implement ``_attack(adapter, x, labels, targeted) -> (adversarial, queries[, history])``
    where ``x`` is a float32 array, ``labels`` class *indices* (the target's when ``targeted``).
    """

    _validated_methods: ClassVar[tuple[str, ...]] = ("fit", "run", "generate")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": ["no_validation"], "clip": [None, tuple, list]}
    #: Whether the attack needs gradients (a torch model).
    white_box: ClassVar[bool] = True
    #: Whether ``target=`` is supported.
    supports_target: ClassVar[bool] = True

    def generate(self, X: Any, y: Any = None, target: Any = None) -> AttackResult:
        """Attack every row of ``X``.

        Parameters
        ----------
        X : array or tensor, shape (n, ...) (e.g. images (n, c, h, w)), inside ``clip``.
        y : labels (n,), optional. Default: the model's predictions.
        target : a class label or labels (n,), optional: a targeted attack.
        """
        owner = type(self).__name__
        adapter = wrap(self.model)
        if self.white_box and getattr(adapter, "kind", None) != "torch":
            raise AssayInputError(
                f"'model' of {owner} must be a PyTorch module (the attack needs gradients). Got "
                f"{describe(self.model)}; use SquareAttack for any other model.")
        x = _as_float_input(X)
        lo, hi = self._bounds()
        if lo is not None and (x.min() < lo or x.max() > hi):
            raise AssayInputError(
                f"'X' must lie in the declared valid range clip=({lo:g}, {hi:g}) of {owner}. Got values in "
                f"[{float(x.min()):g}, {float(x.max()):g}]; rescale X or pass clip=None for unbounded inputs.")
        clean = adapter.logits(x)
        classes = np.asarray(adapter.classes_)
        clean_idx = clean.argmax(axis=1)
        labels_idx = clean_idx if y is None else _class_indices(y, classes, "y", len(x))
        targeted = target is not None
        if targeted:
            if not self.supports_target:
                raise AssayInputError(f"'target' is not supported by {owner} (an untargeted attack). Got "
                                      f"{describe(target)}; pass target=None.")
            shaped = np.full(len(x), target, dtype=object) if np.ndim(target) == 0 else target
            aim = _class_indices(shaped, classes, "target", len(x))
        else:
            aim = labels_idx
        adv, queries, *more = self._attack(adapter, x, aim, targeted)
        adv = adv.astype(np.float32, copy=False)
        if lo is not None:
            np.clip(adv, lo, hi, out=adv)
        adv_logits = uncached_logits(adapter, adv)
        adv_idx = adv_logits.argmax(axis=1)
        success = adv_idx == aim if targeted else adv_idx != labels_idx
        diff = (adv.astype(np.float64) - x).reshape(len(x), -1)
        return AttackResult(
            attack=repr(self), adversarial=adv, success=success,
            linf=np.abs(diff).max(axis=1), l2=np.sqrt((diff ** 2).sum(axis=1)),
            original_pred=classes[clean_idx], adversarial_pred=classes[adv_idx],
            original_confidence=_softmax(clean).max(axis=1), adversarial_confidence=_softmax(adv_logits).max(axis=1),
            labels=classes[labels_idx], target=classes[aim] if targeted else None, queries=queries,
            history=more[0] if more else None)

    # ---- helpers for subclasses
    def _bounds(self) -> tuple[float | None, float | None]:
        clip = self.clip
        if clip is None:
            return None, None
        ok = (len(clip) == 2 and all(isinstance(v, Real) and not isinstance(v, bool) for v in clip)
              and np.isfinite(clip).all() and clip[0] < clip[1])
        if not ok:
            raise AssayInputError(f"The 'clip' parameter of {type(self).__name__} must be None or (low, high) with "
                                  f"finite low < high. Got {clip!r} instead.")
        return float(clip[0]), float(clip[1])

    def _attack(self, adapter, x: np.ndarray, labels: np.ndarray, targeted: bool):  # pragma: no cover - abstract
        raise NotImplementedError


def _as_float_input(X: Any) -> np.ndarray:
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    x = as_array(X, name="X", dtype=np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise AssayInputError(f"'X' must be an array of shape (n, ...) with n >= 1 rows and at least 2 dimensions. "
                              f"Got {describe(X)} instead.")
    if not np.isfinite(x).all():
        raise AssayInputError(f"'X' must be finite. Got {int((~np.isfinite(x)).sum())} NaN or infinite values.")
    return x


def _class_indices(values: Any, classes: np.ndarray, name: str, n: int) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise AssayInputError(f"'{name}' must be one label per row of X, shape ({n},). Got {describe(values)}.")
    index = pd.Index(classes).get_indexer(pd.Index(arr.tolist()))
    if (index < 0).any():
        unknown = sorted({str(v) for v in arr[index < 0].tolist()})[:5]
        raise AssayInputError(f"'{name}' holds classes the model does not have: {unknown}. The model's classes "
                              f"are {list(classes.tolist())[:20]}.")
    return index.astype(np.int64)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------- torch helpers
def _bounds_tensor(lo, hi):
    return (lambda t: t) if lo is None else (lambda t: t.clamp(lo, hi))


def _row_norm(t, p: str):
    flat = t.flatten(1)
    norms = flat.abs().amax(dim=1) if p == "inf" else flat.norm(dim=1)
    return norms.view(-1, *([1] * (t.ndim - 1)))


def _loss_grad(adapter, xa, lab, targeted: bool):
    """Gradient of the summed cross-entropy (ascent direction: minus it when targeted) and logits."""
    import torch
    import torch.nn.functional as F

    xa = xa.detach().requires_grad_(True)
    logits = adapter.forward_batch(xa)
    (g,) = torch.autograd.grad(F.cross_entropy(logits, lab, reduction="sum"), xa)
    return (-g if targeted else g), logits.detach()


def _project(x0, xa, eps: float, norm: str, clamp):
    delta = xa - x0
    if norm == "inf":
        delta = delta.clamp(-eps, eps)
    else:
        delta = delta * (eps / (_row_norm(delta, "2") + 1e-12)).clamp(max=1.0)
    return clamp(x0 + delta)


def _step(g, size: float, norm: str):
    if norm == "inf":
        return size * g.sign()
    return size * g / (_row_norm(g, "2") + 1e-12)


def _random_start(x0, eps: float, norm: str, rng: np.random.Generator):
    import torch

    shape = tuple(x0.shape)
    if norm == "inf":
        noise = rng.uniform(-eps, eps, size=shape)
    else:
        direction = rng.normal(size=shape).reshape(shape[0], -1)
        direction /= np.linalg.norm(direction, axis=1, keepdims=True) + 1e-12
        radius = eps * rng.uniform(size=(shape[0], 1)) ** (1.0 / direction.shape[1])
        noise = (direction * radius).reshape(shape)
    return x0 + torch.as_tensor(noise, dtype=x0.dtype, device=x0.device)


def _hit(logits, lab, targeted: bool):
    pred = logits.argmax(dim=1)
    return pred == lab if targeted else pred != lab


def _map(adapter, x: np.ndarray, labels: np.ndarray, body) -> np.ndarray:
    """``body(x0, lab, index)`` -> adversarial batch, over the adapter's batch loop."""
    import torch

    def fn(batch, index):
        lab = torch.as_tensor(labels[index], device=batch.device)
        return body(batch.detach(), lab, index).detach()

    return adapter.map_batches(fn, x, grad=True, desc=type(adapter.model).__name__ + " attack")


_NORMS = ("inf", "2")
_EPS = [Interval(Real, 0, None)]


# ---------------------------------------------------------------------- FGSM and PGD
class FGSM(Attack):
    """Fast gradient sign method (Goodfellow et al. 2015): one step of size ``eps``.

    ``norm="inf"``: ``x + eps * sign(grad)``; ``norm="2"``: ``x + eps * grad / ||grad||_2``
    (grad of the cross-entropy of ``y``; minus it towards a target), then clipped.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"eps": _EPS, "norm": [Options(str, _NORMS)]}

    def __init__(self, model: Any = None, *, eps: float = 0.05, norm: str = "inf", clip: Any = (0.0, 1.0)) -> None:
        self.model = model
        self.eps = eps
        self.norm = norm
        self.clip = clip

    def _attack(self, adapter, x, labels, targeted):
        clamp = _bounds_tensor(*self._bounds())

        def body(x0, lab, _index):
            g, _ = _loss_grad(adapter, x0, lab, targeted)
            return clamp(x0 + _step(g, self.eps, self.norm))

        return _map(adapter, x, labels, body), None


class PGD(Attack):
    """Projected gradient descent (Madry et al. 2018), L-inf or L2.

    ``steps`` steps of ``step_size`` (default ``2.5 * eps / steps``) along the sign (L-inf) or the
    L2-normalised gradient, each followed by projection on the ``eps``-ball around ``x`` and
    clipping. ``random_start`` starts from a uniform point of the ball; with ``restarts > 1``
    each row keeps the first run that succeeds (else the last one).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "eps": _EPS, "norm": [Options(str, _NORMS)], "steps": [Interval(Integral, 1, None)],
        "step_size": [None, Interval(Real, 0, None, closed="neither")], "random_start": ["boolean"],
        "restarts": [Interval(Integral, 1, None)], "random_state": ["random_state"]}

    def __init__(self, model: Any = None, *, eps: float = 0.05, norm: str = "inf", steps: int = 10,
                 step_size: float | None = None, random_start: bool = False, restarts: int = 1,
                 random_state: Any = None, clip: Any = (0.0, 1.0)) -> None:
        self.model = model
        self.eps = eps
        self.norm = norm
        self.steps = steps
        self.step_size = step_size
        self.random_start = random_start
        self.restarts = restarts
        self.random_state = random_state
        self.clip = clip

    def _attack(self, adapter, x, labels, targeted):
        clamp = _bounds_tensor(*self._bounds())
        size = 2.5 * self.eps / self.steps if self.step_size is None else self.step_size
        rng = check_random_state(self.random_state, name="random_state")

        def run(x0, lab):
            xa = clamp(_random_start(x0, self.eps, self.norm, rng)) if self.random_start else x0
            for _ in range(self.steps):
                g, _ = _loss_grad(adapter, xa, lab, targeted)
                xa = _project(x0, xa + _step(g, size, self.norm), self.eps, self.norm, clamp)
            return xa

        def body(x0, lab, _index):
            best = run(x0, lab)
            for _ in range(self.restarts - 1):
                import torch

                with torch.no_grad():
                    done = _hit(adapter.forward_batch(best), lab, targeted)
                if bool(done.all()):
                    break
                again = run(x0, lab)
                best = torch.where(done.view(-1, *([1] * (x0.ndim - 1))), best, again)
            return best

        return _map(adapter, x, labels, body), None


class MomentumIterativeFGSM(Attack):
    """Momentum iterative FGSM (Dong et al. 2018), L-inf.

    ``g <- decay * g + grad / mean|grad|``; ``x <- proj(x + step_size * sign(g))`` for ``steps``
    steps (``step_size`` default ``eps / steps``).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "eps": _EPS, "steps": [Interval(Integral, 1, None)],
        "step_size": [None, Interval(Real, 0, None, closed="neither")], "decay": [Interval(Real, 0, None)]}

    def __init__(self, model: Any = None, *, eps: float = 0.05, steps: int = 10, step_size: float | None = None,
                 decay: float = 1.0, clip: Any = (0.0, 1.0)) -> None:
        self.model = model
        self.eps = eps
        self.steps = steps
        self.step_size = step_size
        self.decay = decay
        self.clip = clip

    def _attack(self, adapter, x, labels, targeted):
        import torch

        clamp = _bounds_tensor(*self._bounds())
        size = self.eps / self.steps if self.step_size is None else self.step_size

        def body(x0, lab, _index):
            xa, momentum = x0, torch.zeros_like(x0)
            for _ in range(self.steps):
                g, _ = _loss_grad(adapter, xa, lab, targeted)
                scale = g.abs().flatten(1).mean(dim=1).view(-1, *([1] * (x0.ndim - 1)))
                momentum = self.decay * momentum + g / (scale + 1e-12)
                xa = _project(x0, xa + size * momentum.sign(), self.eps, "inf", clamp)
            return xa

        return _map(adapter, x, labels, body), None


# ---------------------------------------------------------------------- minimal-perturbation attacks
class DeepFool(Attack):
    """DeepFool (Moosavi-Dezfooli et al. 2016): the smallest L2 step to the nearest linearised
    decision boundary, repeated until the prediction leaves ``y`` (at most ``steps`` times), then
    scaled by ``1 + overshoot``. Untargeted only.
    """

    supports_target = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "steps": [Interval(Integral, 1, None)], "overshoot": [Interval(Real, 0, None)]}

    def __init__(self, model: Any = None, *, steps: int = 50, overshoot: float = 0.02,
                 clip: Any = (0.0, 1.0)) -> None:
        self.model = model
        self.steps = steps
        self.overshoot = overshoot
        self.clip = clip

    def _attack(self, adapter, x, labels, targeted):
        import torch

        clamp = _bounds_tensor(*self._bounds())

        def body(x0, lab, _index):
            n = x0.shape[0]
            rows = torch.arange(n, device=x0.device)
            r_tot = torch.zeros_like(x0)
            xa = x0
            for _ in range(self.steps):
                xg = xa.detach().requires_grad_(True)
                logits = adapter.forward_batch(xg)
                active = logits.argmax(dim=1) == lab
                if not bool(active.any()):
                    break
                k = logits.shape[1]
                grads = torch.stack([torch.autograd.grad(logits[:, j].sum(), xg, retain_graph=j < k - 1)[0]
                                     for j in range(k)], dim=1).flatten(2)
                logits = logits.detach()
                f = logits - logits[rows, lab].unsqueeze(1)
                w = grads - grads[rows, lab].unsqueeze(1)
                w_norm = w.norm(dim=2)
                ratio = f.abs() / (w_norm + 1e-8)
                ratio[rows, lab] = float("inf")
                best = ratio.argmin(dim=1)
                step = ((f[rows, best].abs() + 1e-4) / (w_norm[rows, best] ** 2 + 1e-12)).unsqueeze(1) * w[rows, best]
                r_tot = r_tot + step.view_as(x0) * active.view(-1, *([1] * (x0.ndim - 1)))
                xa = clamp(x0 + (1 + self.overshoot) * r_tot)
            return xa

        return _map(adapter, x, labels, body), None


class CarliniWagnerL2(Attack):
    """Carlini & Wagner (2017) L2 attack with its binary search on the constant ``c``.

    Minimises ``||x' - x||_2^2 + c * max(Z_y - max_{j != y} Z_j + confidence, 0)`` (targeted:
    ``max(max_{j != t} Z_j - Z_t + confidence, 0)``) with Adam, in tanh space when ``clip`` is
    set; per row, ``c`` starts at ``initial_const``, is multiplied by 10 until an adversarial
    input is found, then bisected (``binary_search_steps`` rounds of ``steps`` steps). Each row
    keeps the smallest successful perturbation found (else its input unchanged).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "confidence": [Interval(Real, 0, None)], "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "steps": [Interval(Integral, 1, None)], "binary_search_steps": [Interval(Integral, 1, None)],
        "initial_const": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, model: Any = None, *, confidence: float = 0.0, learning_rate: float = 0.1, steps: int = 50,
                 binary_search_steps: int = 6, initial_const: float = 0.1, clip: Any = (0.0, 1.0)) -> None:
        self.model = model
        self.confidence = confidence
        self.learning_rate = learning_rate
        self.steps = steps
        self.binary_search_steps = binary_search_steps
        self.initial_const = initial_const
        self.clip = clip

    def _attack(self, adapter, x, labels, targeted):
        import torch

        lo, hi = self._bounds()

        def body(x0, lab, _index):
            n = x0.shape[0]
            shape = (-1, *([1] * (x0.ndim - 1)))
            if lo is None:
                w0, to_x = torch.zeros_like(x0), (lambda w: x0 + w)
            else:
                unit = ((x0 - lo) / (hi - lo) * 2 - 1).clamp(-1 + 1e-3, 1 - 1e-3)
                w0, to_x = torch.atanh(unit), (lambda w: lo + (hi - lo) * (torch.tanh(w) + 1) / 2)
            const = torch.full((n,), float(self.initial_const), device=x0.device, dtype=x0.dtype)
            lower = torch.zeros_like(const)
            upper = torch.full_like(const, float("inf"))
            best_l2 = torch.full_like(const, float("inf"))
            best = x0.clone()
            onehot = torch.nn.functional.one_hot(lab, num_classes=adapter.n_classes_).bool()
            for _ in range(self.binary_search_steps):
                w = w0.clone().requires_grad_(True)
                optimizer = torch.optim.Adam([w], lr=self.learning_rate)
                found = torch.zeros(n, dtype=torch.bool, device=x0.device)
                for _ in range(self.steps):
                    xa = to_x(w)
                    logits = adapter.forward_batch(xa)
                    chosen = logits[onehot]
                    other = logits.masked_fill(onehot, float("-inf")).amax(dim=1)
                    margin = (other - chosen) if targeted else (chosen - other)
                    l2sq = (xa - x0).flatten(1).pow(2).sum(dim=1)
                    loss = (l2sq + const * (margin + self.confidence).clamp(min=0)).sum()
                    optimizer.zero_grad()
                    (w.grad,) = torch.autograd.grad(loss, w)
                    optimizer.step()
                    with torch.no_grad():
                        ok = _hit(logits, lab, targeted) & (margin <= -self.confidence)
                        better = ok & (l2sq < best_l2)
                        best_l2 = torch.where(better, l2sq.detach(), best_l2)
                        best = torch.where(better.view(shape), xa.detach(), best)
                        found |= ok
                upper = torch.where(found, torch.minimum(upper, const), upper)
                lower = torch.where(found, lower, torch.maximum(lower, const))
                const = torch.where(torch.isfinite(upper), (lower + upper) / 2, const * 10)
            return best

        return _map(adapter, x, labels, body), None

