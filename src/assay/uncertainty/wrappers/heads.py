"""Heads trained beside the model: a variance head (aleatoric) and a VAE on a layer's features (epistemic)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import AssayInputError, NotFittedError
from ...core.validation import check_option, check_scalar, describe
from ._base import RiskOutput, RiskWrapper, as_risk, check_model, find_module, hooks, module_loss, seeded

__all__ = ["MeanVariance", "VAEEpistemic", "gaussian_kl", "reparameterize"]


def _check_class_targets(y: torch.Tensor, owner: str) -> torch.Tensor:
    if y.is_floating_point() and not torch.equal(y, torch.round(y)):
        raise AssayInputError(
            f"'y' passed to {owner}(task='classification') must hold integer class indices; got non-integer "
            "values. For a regression variance build the wrapper with task='regression'.")
    return y.long()


class MeanVariance(RiskWrapper):
    """A variance head beside the model's output layer (Nix & Weigend 1994): aleatoric = predicted variance.

    The head is an ``nn.Linear`` with the shape of ``layer`` (default: the model's last
    ``nn.Linear``), fed with that layer's input; ``aleatoric = softplus(head) + min_variance``
    ``(n, outputs)``. ``y_hat`` is the model's own output, unchanged. :meth:`loss` adds to the
    task loss the wrapper's term, computed with the mean detached (the task loss fits the mean,
    the term fits the variance): for ``task="regression"`` the Gaussian negative log-likelihood
    ``0.5 * (log var + (y - y_hat)² / var)`` (constant dropped); for ``task="classification"``
    the sampled-logits loss (Kendall & Gal 2017) ``-log mean_t softmax(y_hat + sqrt(var) * eps_t)[y]``
    over ``n_logit_samples`` draws, with ``aleatoric`` the logits' variance.
    """

    def __init__(self, model: nn.Module, *, task: str = "regression", layer: str | None = None,
                 n_logit_samples: int = 20, min_variance: float = 1e-6, random_state: int = 0) -> None:
        super().__init__()
        owner = "MeanVariance"
        check_model(model, owner)
        if isinstance(model, RiskWrapper):
            raise AssayInputError(f"'model' of {owner} must be a plain network, not the wrapper "
                                  f"{type(model).__name__}: put {owner} inside, e.g. MCDropout({owner}(model)).")
        check_option(task, "task", owner=owner, options=("regression", "classification"))
        check_scalar(n_logit_samples, "n_logit_samples", owner=owner, kind=numbers.Integral, low=1)
        check_scalar(min_variance, "min_variance", owner=owner, kind=numbers.Real, low=0.0, closed="neither")
        check_scalar(random_state, "random_state", owner=owner, kind=numbers.Integral, low=0)
        if layer is None:
            linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
            if not linears:
                raise AssayInputError(f"'model' of {owner} has no nn.Linear output layer; name the output layer "
                                      "in 'layer'.")
            layer_name = linears[-1]
        else:
            layer_name = layer
        out_layer = find_module(model, layer_name, owner)
        if not isinstance(out_layer, nn.Linear):
            raise AssayInputError(f"The 'layer' parameter of {owner} must name an nn.Linear output layer. "
                                  f"Got {layer_name!r}, a {type(out_layer).__name__}.")
        self.model = model
        self.task = task
        self.layer = layer
        self.n_logit_samples = n_logit_samples
        self.min_variance = min_variance
        self.random_state = random_state
        self._layer_name = layer_name
        with seeded(random_state):
            self.variance_head = nn.Linear(out_layer.in_features, out_layer.out_features).to(
                out_layer.weight.device, out_layer.weight.dtype)
        self.train(model.training)

    def _run(self, x: torch.Tensor) -> tuple[RiskOutput, torch.Tensor]:
        captured = {}
        module = dict(self.model.named_modules())[self._layer_name]
        handle = module.register_forward_pre_hook(lambda _m, inp: captured.__setitem__("h", inp[0]))
        with hooks([handle]):
            out = as_risk(self.model(x))
        if "h" not in captured:
            raise AssayInputError(f"The layer {self._layer_name!r} did not run in the model's forward pass; "
                                  "name the output layer in 'layer'.")
        var = F.softplus(self.variance_head(captured["h"])) + float(self.min_variance)
        if var.shape != out.y_hat.shape:
            raise AssayInputError(f"The layer {self._layer_name!r} gives {tuple(var.shape)} but the model's output "
                                  f"is {tuple(out.y_hat.shape)}: name the layer that produces the output in 'layer'.")
        out.aleatoric = var
        return out, var

    def forward(self, x: torch.Tensor) -> RiskOutput:
        return self._run(x)[0]

    def loss(self, x, y, base_loss: Callable | None = None) -> torch.Tensor:
        out, var = self._run(x)
        mu = out.y_hat
        from ._base import default_loss

        if self.task == "regression":
            target = y.to(mu.dtype).reshape(mu.shape)
            task_loss = (base_loss or default_loss)(mu, target)
            own = 0.5 * (torch.log(var) + (target - mu.detach()) ** 2 / var).mean()
            return task_loss + own
        target = _check_class_targets(y, "MeanVariance")
        task_loss = (base_loss or default_loss)(mu, target)
        T = int(self.n_logit_samples)
        eps = torch.randn((T, *mu.shape), device=mu.device, dtype=mu.dtype)
        logp = torch.log_softmax(mu.detach() + var.sqrt() * eps, dim=-1)
        picked = logp.gather(-1, target.view(1, -1, 1).expand(T, -1, 1)).squeeze(-1)
        own = -(torch.logsumexp(picked, dim=0) - math.log(T)).mean()
        return task_loss + own


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """A draw from N(mu, sigma²) with ``logvar = log sigma²``: ``mu + exp(0.5 * logvar) * eps``."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row, the same ``logvar = log sigma²`` as :func:`reparameterize`."""
    return -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(dim=1)


class VAEEpistemic(RiskWrapper):
    """A VAE on the features of a named layer: epistemic = reconstruction error of those features.

    The features (flattened, standardised by a ``BatchNorm1d`` without affine parameters whose
    running statistics are the training set's) are encoded by ``Linear(d, hidden) -> ReLU ->
    (mean, log-variance)`` of size ``latent_dim`` and decoded by the mirror image (or the user's
    ``decoder``, a module ``latent_dim -> d``). ``epistemic`` = mean squared error of the
    reconstruction from the latent mean, ``(n,)`` (not a variance of ``y_hat``). ``y_hat`` and
    any inner risk are the model's, unchanged; the VAE never trains the model (features are
    detached). Train it alone with :meth:`fit` (model frozen) or jointly through
    :func:`fit_risk_model` (:meth:`loss` = task loss + reconstruction + ``beta`` * KL).

    One log-variance parameterisation, on purpose: the encoder's ``v`` is ``log sigma²``; sampling
    uses ``sigma = exp(0.5 v)`` and the KL term ``-0.5 * sum(1 + v - mu² - exp(v))`` uses the same
    ``sigma² = exp(v)``. The reference implementation (capsa) samples with ``exp(0.5 v)`` but
    computes the KL with ``exp(v)²``, i.e. as if ``v`` were ``log sigma``: the two disagree.
    """

    def __init__(self, model: nn.Module, *, layer: str, latent_dim: int = 2, hidden: int = 32,
                 decoder: nn.Module | None = None, beta: float = 1.0, random_state: int = 0) -> None:
        super().__init__()
        owner = "VAEEpistemic"
        check_model(model, owner)
        find_module(model, layer, owner)
        check_scalar(latent_dim, "latent_dim", owner=owner, kind=numbers.Integral, low=1)
        check_scalar(hidden, "hidden", owner=owner, kind=numbers.Integral, low=1)
        check_scalar(beta, "beta", owner=owner, kind=numbers.Real, low=0.0)
        check_scalar(random_state, "random_state", owner=owner, kind=numbers.Integral, low=0)
        if decoder is not None and not isinstance(decoder, nn.Module):
            raise AssayInputError(f"'decoder' of {owner} must be None or an nn.Module latent_dim -> features. "
                                  f"Got {describe(decoder)} instead.")
        self.model = model
        self.layer = layer
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.decoder = decoder
        self.beta = beta
        self.random_state = random_state
        self.encoder = None
        self.norm = None
        self.train(model.training)

    # ---- building
    def _build(self, d: int, device, dtype) -> None:
        h, k = int(self.hidden), int(self.latent_dim)
        with seeded(self.random_state):
            self.norm = nn.BatchNorm1d(d, affine=False, momentum=None).to(device, dtype)
            self.encoder = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, 2 * k)).to(device, dtype)
            if self.decoder is None:
                self.decoder = nn.Sequential(nn.Linear(k, h), nn.ReLU(), nn.Linear(h, d)).to(device, dtype)

    def _features(self, x: torch.Tensor, call: Callable) -> tuple[Any, torch.Tensor]:
        captured = {}
        module = dict(self.model.named_modules())[self.layer]
        handle = module.register_forward_hook(lambda _m, _i, out: captured.__setitem__("f", out))
        with hooks([handle]):
            result = call()
        f = captured["f"]
        f = f[0] if isinstance(f, (tuple, list)) else f
        return result, f.detach().reshape(len(f), -1)

    def prepare(self, x: torch.Tensor) -> None:
        if self.encoder is None:
            _, f = self._features(x, lambda: self.model(x))
            self._build(f.shape[1], f.device, f.dtype)

    def _encode(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = self.norm(f)
        mu, logvar = self.encoder(z).chunk(2, dim=1)
        return z, mu, logvar

    def _vae_loss(self, f: torch.Tensor) -> torch.Tensor:
        target, mu, logvar = self._encode(f)
        recon = ((self.decoder(reparameterize(mu, logvar)) - target) ** 2).sum(dim=1).mean()
        return recon + float(self.beta) * gaussian_kl(mu, logvar).mean()

    # ---- use
    def forward(self, x: torch.Tensor) -> RiskOutput:
        if self.encoder is None:
            raise NotFittedError("VAEEpistemic is not fitted yet: call its fit(X) or fit_risk_model(wrapper, ...).")
        out, f = self._features(x, lambda: as_risk(self.model(x)))
        target, mu, _ = self._encode(f)
        error = ((self.decoder(mu) - target) ** 2).mean(dim=1)
        return RiskOutput(y_hat=out.y_hat, aleatoric=out.aleatoric, epistemic=error, bias=out.bias)

    def loss(self, x, y, base_loss: Callable | None = None) -> torch.Tensor:
        task_loss, f = self._features(x, lambda: module_loss(self.model, x, y, base_loss))
        if self.encoder is None:
            self._build(f.shape[1], f.device, f.dtype)
        return task_loss + self._vae_loss(f)

    def fit(self, X: Any, *, epochs: int = 50, batch_size: int = 128, lr: float = 1e-2) -> VAEEpistemic:
        """Train the VAE alone on the frozen model's features of ``X`` (read through the adapter)."""
        from ...core.adapters import TorchAdapter

        owner = "VAEEpistemic.fit"
        check_scalar(epochs, "epochs", owner=owner, kind=numbers.Integral, low=1)
        check_scalar(batch_size, "batch_size", owner=owner, kind=numbers.Integral, low=1)
        check_scalar(lr, "lr", owner=owner, kind=numbers.Real, low=0.0, closed="neither")
        feats = TorchAdapter(self.model).embeddings(X, self.layer, flatten=True)
        p = next(self.model.parameters())
        f = torch.from_numpy(np.ascontiguousarray(feats)).to(p.device, p.dtype)
        self._build(f.shape[1], f.device, f.dtype)
        self.norm.running_mean.copy_(f.mean(dim=0))
        self.norm.running_var.copy_(f.var(dim=0, correction=1))
        params = list(self.encoder.parameters()) + list(self.decoder.parameters())
        optimizer = torch.optim.Adam(params, lr=float(lr))
        self.norm.eval()
        with seeded(self.random_state):
            shuffle = torch.Generator().manual_seed(int(self.random_state))
            for _ in range(int(epochs)):
                order = torch.randperm(len(f), generator=shuffle)
                for s in range(0, len(f), int(batch_size)):
                    optimizer.zero_grad(set_to_none=True)
                    loss = self._vae_loss(f[order[s:s + int(batch_size)]])
                    loss.backward()
                    optimizer.step()
        self.eval()
        self._state_count += 1
        return self
