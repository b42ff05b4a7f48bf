"""Adversarial training as a loss for a plain PyTorch loop: PGD-AT (Madry et al. 2018) and TRADES
(Zhang et al. 2019)::

    attack = PGD(eps=0.1, steps=7, step_size=0.025)
    for xb, yb in loader:
        loss = adversarial_loss(model, xb, yb, attack)          # or kind="trades", beta=6.0
        optimizer.zero_grad(); loss.backward(); optimizer.step()
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from ..core.adapters import wrap
from ..core.errors import AssayInputError
from ..core.validation import check_option, check_scalar, describe
from .attacks import FGSM, PGD, _bounds_tensor, _loss_grad, _project, _step

__all__ = ["adversarial_loss"]


def _budget(attack: Any) -> tuple[str, float, int, float]:
    if isinstance(attack, PGD):
        size = 2.5 * attack.eps / attack.steps if attack.step_size is None else attack.step_size
        return attack.norm, attack.eps, attack.steps, size
    if isinstance(attack, FGSM):
        return attack.norm, attack.eps, 1, attack.eps
    raise AssayInputError(f"'attack' must be a PGD or FGSM instance (its eps, norm, steps and step size set the "
                          f"inner maximisation). Got {describe(attack)} instead.")


def adversarial_loss(model: Any, x: Any, y: Any, attack: Any, kind: str = "pgd", beta: float = 6.0):
    """The adversarial training loss of one batch (a scalar tensor to ``backward()``).

    Parameters
    ----------
    model : torch ``nn.Module`` returning logits, in the mode the loop trains it in.
    x : float tensor (m, ...), inside ``attack.clip``; y : int64 tensor (m,) of class indices.
    attack : :class:`PGD` or :class:`FGSM` whose ``eps``, ``norm``, ``steps``, ``step_size`` and
        ``clip`` define the inner maximisation (crafted in eval mode, no random start for PGD-AT
        unless ``attack.random_start``; TRADES always starts at ``x + 0.001 N(0, 1)``).
    kind : "pgd": mean cross-entropy on the adversarial batch (Madry et al.); "trades":
        ``CE(f(x), y) + beta * KL(softmax f(x) || softmax f(x'))`` with ``x'`` maximising the KL.
    beta : TRADES trade-off (>= 0).
    """
    import torch
    import torch.nn.functional as F

    check_option(kind, "kind", owner="adversarial_loss", options=("pgd", "trades"))
    check_scalar(beta, "beta", owner="adversarial_loss", kind=Real, low=0)
    norm, eps, steps, size = _budget(attack)
    attack._validate_params()
    if not isinstance(model, torch.nn.Module):
        raise AssayInputError(f"'model' must be a torch nn.Module. Got {describe(model)} instead.")
    if not (isinstance(x, torch.Tensor) and x.is_floating_point()):
        raise AssayInputError(f"'x' must be a floating torch tensor. Got {describe(x)} instead.")
    lo, hi = attack._bounds()
    if lo is not None and (float(x.min()) < lo or float(x.max()) > hi):
        raise AssayInputError(f"'x' must lie in the attack's clip range ({lo:g}, {hi:g}). Got values in "
                              f"[{float(x.min()):g}, {float(x.max()):g}].")
    adapter = wrap(model)
    clamp = _bounds_tensor(lo, hi)
    x0 = x.detach()
    y = torch.as_tensor(y, device=x0.device)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        if kind == "pgd":
            xa = x0
            if isinstance(attack, PGD) and attack.random_start:
                if norm == "inf":
                    noise = (torch.rand_like(x0) * 2 - 1) * eps
                else:
                    noise = torch.randn_like(x0)
                    noise = noise * (eps / noise.flatten(1).norm(dim=1)).view(-1, *([1] * (x0.ndim - 1)))
                    noise = noise * torch.rand(len(x0), *([1] * (x0.ndim - 1)), device=x0.device)
                xa = clamp(x0 + noise)
            for _ in range(steps):
                g, _ = _loss_grad(adapter, xa, y, False)
                xa = _project(x0, xa + _step(g, size, norm), eps, norm, clamp)
        else:
            with torch.no_grad():
                clean_p = F.softmax(adapter.forward_batch(x0), dim=1)
            xa = clamp(x0 + 0.001 * torch.randn_like(x0))
            for _ in range(steps):
                xg = xa.detach().requires_grad_(True)
                kl = F.kl_div(F.log_softmax(adapter.forward_batch(xg), dim=1), clean_p, reduction="sum")
                (g,) = torch.autograd.grad(kl, xg)
                xa = _project(x0, xa + _step(g, size, norm), eps, norm, clamp)
    finally:
        for module, training in modes:
            module.training = training
    xa = xa.detach()
    if kind == "pgd":
        return F.cross_entropy(adapter.forward_batch(xa), y)
    logits = adapter.forward_batch(x0)
    robust = F.kl_div(F.log_softmax(adapter.forward_batch(xa), dim=1), F.softmax(logits, dim=1), reduction="batchmean")
    return F.cross_entropy(logits, y) + beta * robust
