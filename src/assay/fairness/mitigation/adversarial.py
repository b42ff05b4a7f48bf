"""Adversarial debiasing (Zhang, Lemoine & Mitchell 2018), a plain PyTorch loop.

An adversary predicts the group from the predictor's score (and the label, for equalized odds);
the predictor's gradient has its projection on the adversary's gradient removed and the
adversary's gradient subtracted (weight ``alpha``), so each step moves away from what tells the
groups apart.
"""

from __future__ import annotations

import copy
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from ...core.component import Component, Interval, Options
from ...core.errors import AssayInputError
from ...core.validation import as_array, check_consistent_length, check_is_fitted, describe
from ._groups import group_codes

__all__ = ["AdversarialDebiasing"]


class AdversarialDebiasing(Component):
    """Train ``module`` (a torch classifier returning logits (n, 2)) against an adversary of the group.

    The adversary is a linear model on the predictor's logit difference ``z`` (demographic
    parity) or on ``(z, z * y, y)`` (equalized odds), predicting the cell of the sensitive
    features (several columns = their intersection) by cross-entropy. Each step: one Adam step of
    the adversary on the detached scores; then the predictor's gradient ``g_P - proj_{g_A} g_P -
    alpha g_A`` (Zhang et al.'s update), applied by Adam. A copy of ``module`` is trained (seed
    before building it: its initial weights are used as given); the batches, the adversary's
    initial weights and torch's RNG inside the loop come from ``random_state``.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained predictor (in eval mode).
    adversary_ : torch.nn.Module
    history_ : dict
        Per epoch: ``predictor_loss`` and ``adversary_loss`` (mean over batches).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "module": ["no_validation"],
        "constraint": [Options(str, {"demographic_parity", "equalized_odds"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "epochs": [Interval(Integral, 1, None)],
        "batch_size": [Interval(Integral, 1, None)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "adversary_lr": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, module: Any = None, *, constraint: str = "demographic_parity", alpha: float = 1.0,
                 epochs: int = 10, batch_size: int = 256, lr: float = 3e-3, adversary_lr: float = 1e-2,
                 random_state: Any = 0) -> None:
        self.module = module
        self.constraint = constraint
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.adversary_lr = adversary_lr
        self.random_state = random_state

    def _features(self, z: Any, y: Any) -> Any:
        import torch

        if self.constraint == "demographic_parity":
            return z[:, None]
        yf = y.to(z.dtype)
        return torch.stack([z, z * yf, yf], dim=1)

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> AdversarialDebiasing:
        """Train on ``X`` (n, d) and binary labels ``y`` (n,) against the groups of ``sensitive_features``."""
        import torch

        if not isinstance(self.module, torch.nn.Module):
            raise AssayInputError(f"'module' must be a torch.nn.Module returning logits (n, 2). Got "
                                  f"{describe(self.module)}.")
        labels = as_array(y, name="y", ndim=1)
        values = set(np.unique(labels).tolist())
        if not values <= {0, 1}:
            raise AssayInputError(f"'y' must hold binary labels in {{0, 1}}. Got values {sorted(map(str, values))}.")
        X_t = torch.as_tensor(np.asarray(X, dtype=np.float32))
        check_consistent_length(X=X_t, y=labels)
        codes, cells = group_codes(sensitive_features, len(labels), owner="AdversarialDebiasing")
        if len(cells) < 2:
            raise AssayInputError(f"'sensitive_features' must hold at least two groups. Got {len(cells)}.")
        seed = int(np.random.default_rng(self.random_state).integers(2**31 - 1))
        y_t = torch.as_tensor(labels.astype(np.int64))
        g_t = torch.as_tensor(codes)
        module = copy.deepcopy(self.module)  # the parameter stays as given; module_ is trained
        params = [p for p in module.parameters() if p.requires_grad]
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            n_in = 1 if self.constraint == "demographic_parity" else 3
            adversary = torch.nn.Linear(n_in, len(cells))
            opt_p = torch.optim.Adam(params, lr=self.lr)
            opt_a = torch.optim.Adam(adversary.parameters(), lr=self.adversary_lr)
            generator = torch.Generator().manual_seed(seed)
            history: dict[str, list[float]] = {"predictor_loss": [], "adversary_loss": []}
            module.train()
            for _ in range(self.epochs):
                order = torch.randperm(len(y_t), generator=generator)
                sums = [0.0, 0.0]
                batches = 0
                for start in range(0, len(order), self.batch_size):
                    idx = order[start:start + self.batch_size]
                    xb, yb, gb = X_t[idx], y_t[idx], g_t[idx]
                    logits = module(xb)
                    z = logits[:, 1] - logits[:, 0]
                    # adversary step on the detached score
                    loss_a = torch.nn.functional.cross_entropy(adversary(self._features(z.detach(), yb)), gb)
                    opt_a.zero_grad()
                    loss_a.backward()
                    opt_a.step()
                    # predictor step: g_P minus its projection on g_A, minus alpha g_A
                    loss_p = torch.nn.functional.cross_entropy(logits, yb)
                    loss_adv = torch.nn.functional.cross_entropy(adversary(self._features(z, yb)), gb)
                    g_p = torch.autograd.grad(loss_p, params, retain_graph=True)
                    g_a = torch.autograd.grad(loss_adv, params)
                    flat_a = torch.cat([g.reshape(-1) for g in g_a])
                    unit = flat_a / (flat_a.norm() + 1e-12)
                    dot = sum((gp.reshape(-1) * u).sum() for gp, u in zip(g_p, _split_like(unit, g_a)))
                    for p, gp, ga, u in zip(params, g_p, g_a, _split_like(unit, g_a)):
                        p.grad = gp - dot * u.reshape(gp.shape) - self.alpha * ga
                    opt_p.step()
                    sums[0] += float(loss_p.detach())
                    sums[1] += float(loss_a.detach())
                    batches += 1
                history["predictor_loss"].append(sums[0] / batches)
                history["adversary_loss"].append(sums[1] / batches)
        module.eval()
        self.module_ = module
        self.adversary_ = adversary
        self.groups_ = cells
        self.history_ = history
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, 2) softmax of the trained module's logits."""
        import torch

        check_is_fitted(self, ["module_"])
        with torch.no_grad():
            logits = self.module_(torch.as_tensor(np.asarray(X, dtype=np.float32)))
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)


def _split_like(flat: Any, like: tuple) -> list:
    out, start = [], 0
    for g in like:
        out.append(flat[start:start + g.numel()])
        start += g.numel()
    return out
