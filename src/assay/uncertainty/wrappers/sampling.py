"""Epistemic uncertainty by sampling: Monte Carlo dropout and deep ensembles."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import AssayInputError
from ...core.validation import check_bool, check_scalar, describe
from ._base import RiskOutput, RiskWrapper, as_risk, check_model, find_module, hooks, mean_of, module_loss, \
    sample_variance, seeded

__all__ = ["DeepEnsemble", "MCDropout"]

_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
                nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Hardtanh, nn.Hardswish)
_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if n and next(m.children(), None) is None]


_FUNCTIONAL = {nn.Dropout: F.dropout, nn.Dropout1d: F.dropout1d, nn.Dropout2d: F.dropout2d,
               nn.Dropout3d: F.dropout3d}


def _drop(x: torch.Tensor, p: float, kind: type, clean: int) -> torch.Tensor:
    """Dropout of ``kind`` on ``x`` (torch's fused kernel), its first ``clean`` rows left as they were."""
    out = _FUNCTIONAL[kind](x, p, training=True)
    if clean:
        out[:clean] = x[:clean]
    return out


class MCDropout(RiskWrapper):
    """Monte Carlo dropout (Gal & Ghahramani 2016): epistemic = variance of the output over dropout masks.

    Dropout is inserted (as forward hooks, the model's modules are not changed) after every hidden
    activation module that no dropout follows, or after the modules named in ``layers``; the
    model's own dropout modules are kept active at inference. The wrapper's call stacks a clean
    copy of the batch (no dropout: ``y_hat`` is the model's eval-mode output, unchanged) and
    ``n_samples`` masked copies into one batched pass (``sample_chunk`` masked copies per pass
    to bound memory). ``epistemic`` = unbiased variance over the samples, ``(n, outputs)``;
    ``aleatoric`` and ``bias`` are the inner wrapper's on the clean copy
    (``MCDropout(MeanVariance(model))`` gives both). In training mode the call is one dropout
    pass and :meth:`loss` is the inner task loss with dropout active. Masks are drawn by torch's fused
    dropout kernels from the global RNG, seeded with ``random_state`` inside ``fork_rng`` on every
    call (the caller's RNG state is restored): the same batch gives the same numbers.

    Known limit: MC dropout's variance grows with the activations' size, so it rises outside the
    training range but not in a gap *between* training regions (Foong et al. 2019, "'In-Between'
    Uncertainty in Bayesian Neural Networks"); on this package's toy regression the gap's
    epistemic is 0.3-0.5x that near the gap for p in 0.1-0.5 and widths 64-256 (a strict xfail
    test keeps this true). Prefer :class:`DeepEnsemble` or :class:`VAEEpistemic` for gaps.

    Parameters: ``model`` (nn.Module with parameters), ``p`` in (0, 1) for inserted dropout,
    ``n_samples`` >= 2, ``layers`` (names of modules to follow with dropout; None: automatic),
    ``sample_chunk`` (None: all samples in one pass), ``softmax`` (a classifier's epistemic as the
    variance of the sampled class probabilities, in probability², rather than of the logits;
    ``y_hat`` stays the logits), ``random_state`` (int >= 0).
    """

    def __init__(self, model: nn.Module, *, p: float = 0.1, n_samples: int = 20, layers: Any = None,
                 sample_chunk: int | None = None, softmax: bool = False, random_state: int = 0) -> None:
        super().__init__()
        owner = "MCDropout"
        check_model(model, owner)
        check_scalar(p, "p", owner=owner, kind=numbers.Real, low=0.0, high=1.0, closed="neither")
        check_scalar(n_samples, "n_samples", owner=owner, kind=numbers.Integral, low=2)
        if sample_chunk is not None:
            check_scalar(sample_chunk, "sample_chunk", owner=owner, kind=numbers.Integral, low=1)
        check_scalar(random_state, "random_state", owner=owner, kind=numbers.Integral, low=0)
        check_bool(softmax, "softmax", owner=owner)
        self.model = model
        self.p = p
        self.n_samples = n_samples
        self.layers = layers
        self.sample_chunk = sample_chunk
        self.softmax = softmax
        self.random_state = random_state
        self._insert, self._existing = self._plan(model, layers, owner)
        self._clean = 0
        self.train(model.training)

    @staticmethod
    def _plan(model: nn.Module, layers: Any, owner: str) -> tuple[list[str], list[str]]:
        leaves = _leaves(model)
        existing = [n for n, m in leaves if isinstance(m, _DROPOUTS)]
        if layers is not None:
            names = [layers] if isinstance(layers, str) else layers
            if not isinstance(names, (list, tuple)) or not names:
                raise AssayInputError(f"The 'layers' parameter of {owner} must be None, a module name or a "
                                      f"non-empty list of names. Got {describe(layers)} instead.")
            for name in names:
                find_module(model, name, owner, "layers")
            return list(names), existing
        insert = [n for i, (n, m) in enumerate(leaves) if isinstance(m, _ACTIVATIONS)
                  and not (i + 1 < len(leaves) and isinstance(leaves[i + 1][1], _DROPOUTS))]
        if not insert and not existing:
            weighted = [n for n, m in leaves if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]
            insert = weighted[:-1]
        if not insert and not existing:
            raise AssayInputError(f"'model' of {owner} has no hidden layer to follow with dropout (no activation "
                                  "module, dropout or second linear layer); name the modules in 'layers'.")
        return insert, existing

    def _hooks(self) -> list:
        modules = dict(self.model.named_modules())

        def inserted(_m, _inp, out):
            return _drop(out, self.p, nn.Dropout, 0 if self.training else self._clean)

        def existing(m, inp, out):
            return out if self.training else _drop(inp[0], m.p, type(m), self._clean)

        handles = [modules[n].register_forward_hook(inserted) for n in self._insert]
        handles += [modules[n].register_forward_hook(existing) for n in self._existing]
        return handles

    def forward(self, x: torch.Tensor) -> RiskOutput:
        if self.training:
            with hooks(self._hooks()):
                return as_risk(self.model(x))
        n, S = x.shape[0], int(self.n_samples)
        chunk = S if self.sample_chunk is None else min(S, int(self.sample_chunk))
        clean, samples, first = None, [], True
        try:
            with hooks(self._hooks()), seeded(int(self.random_state), x.device):
                done = 0
                while done < S:
                    k = min(chunk, S - done)
                    copies = k + 1 if first else k
                    self._clean = n if first else 0
                    out = as_risk(self.model(x.repeat(copies, *([1] * (x.ndim - 1)))))
                    y = torch.softmax(out.y_hat, dim=-1) if self.softmax else out.y_hat
                    if first:
                        clean = RiskOutput(y_hat=out.y_hat[:n], aleatoric=None if out.aleatoric is None else out.aleatoric[:n],
                                           bias=None if out.bias is None else out.bias[:n])
                        y = y[n:]
                    samples.append(y.reshape(k, n, *y.shape[1:]))
                    done += k
                    first = False
        finally:
            self._clean = 0
        clean.epistemic = sample_variance(torch.cat(samples) if len(samples) > 1 else samples[0])
        return clean

    def loss(self, x, y, base_loss: Callable | None = None) -> torch.Tensor:
        """The inner task loss (and the inner wrapper's own term) with dropout active."""
        with hooks(self._hooks()):
            return module_loss(self.model, x, y, base_loss)


class DeepEnsemble(RiskWrapper):
    """A deep ensemble (Lakshminarayanan et al. 2017): ``n_members`` networks from ``factory()``.

    Member ``i`` is built with torch's RNG seeded at ``random_state + i`` (independent,
    reproducible initialisations) and trained by the same :func:`fit_risk_model` loop
    (:meth:`loss` sums the members' losses, so each member gets its own task gradient).
    ``y_hat`` = mean of the members' outputs, ``epistemic`` = their unbiased variance
    ``(n, outputs)``, ``aleatoric`` / ``bias`` = the mean of the members' when they are wrappers
    (``DeepEnsemble(lambda: MeanVariance(Net()))``).
    """

    def __init__(self, factory: Callable[[], nn.Module], *, n_members: int = 5, random_state: int = 0) -> None:
        super().__init__()
        owner = "DeepEnsemble"
        if not callable(factory) or isinstance(factory, nn.Module):
            raise AssayInputError(f"'factory' of {owner} must be a callable returning a new nn.Module (e.g. "
                                  f"lambda: Net()). Got {describe(factory)} instead.")
        check_scalar(n_members, "n_members", owner=owner, kind=numbers.Integral, low=2)
        check_scalar(random_state, "random_state", owner=owner, kind=numbers.Integral, low=0)
        self.factory = factory
        self.n_members = n_members
        self.random_state = random_state
        members = []
        for i in range(int(n_members)):
            with seeded(int(random_state) + i):
                members.append(check_model(factory(), owner, "factory()"))
        self.members = nn.ModuleList(members)

    def inner_task(self) -> str | None:
        first = self.members[0]
        return first.inner_task() if isinstance(first, RiskWrapper) else None

    def forward(self, x: torch.Tensor) -> RiskOutput:
        outs = [as_risk(m(x)) for m in self.members]
        y = torch.stack([o.y_hat for o in outs])
        return RiskOutput(y_hat=y.mean(dim=0), aleatoric=mean_of([o.aleatoric for o in outs]),
                          epistemic=sample_variance(y), bias=mean_of([o.bias for o in outs]))

    def loss(self, x, y, base_loss: Callable | None = None) -> torch.Tensor:
        """The sum of the members' losses."""
        return sum(module_loss(m, x, y, base_loss) for m in self.members)
