"""The one output type of the risk wrappers, their base class, and the training/inference helpers.

Units, said once for the whole package
--------------------------------------
* ``y_hat``: the model's output (regression targets, or logits for a classifier), ``(n, outputs)``.
* ``aleatoric`` and ``epistemic``: **variances** in the squared units of ``y_hat`` (logits² for a
  classifier), ``(n, outputs)``; take ``sqrt`` for standard deviations. Variances add: for one
  Gaussian output, total predictive variance = aleatoric + epistemic. The one exception is
  :class:`~assay.uncertainty.wrappers.VAEEpistemic`, whose epistemic is a reconstruction error
  ``(n,)`` (mean squared error of the standardised features), not a variance of ``y_hat``.
* ``bias``: representation bias, ``-log density`` of the example's latent representation in nats,
  ``(n,)``. Like the two others, higher means more risk (more under-represented).
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import AssayInputError
from ...core.validation import NOT_GIVEN, as_array, check_consistent_length, check_scalar, describe, renamed_seed

__all__ = ["RiskOutput", "RiskWrapper", "fit_risk_model", "predict_risk"]

RISKS = ("aleatoric", "epistemic", "bias")


@dataclass
class RiskOutput:
    """What a risk wrapper returns: the prediction and up to three per-example risks.

    ``y_hat`` (n, outputs); ``aleatoric`` / ``epistemic`` variances (n, outputs) (VAE epistemic:
    (n,)); ``bias`` = -log latent density (n,) in nats. None where the wrapper does not measure
    that risk. Tensors from ``wrapper(x)``, numpy arrays from :func:`predict_risk`. Higher = more risk.
    """

    y_hat: Any
    aleatoric: Any = None
    epistemic: Any = None
    bias: Any = None

    def scores(self) -> dict[str, np.ndarray]:
        """Each measured risk as one number per example, ``(n,)``: the mean over output columns."""
        out = {}
        for name in RISKS:
            value = getattr(self, name)
            if value is None:
                continue
            value = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
            out[name] = value.reshape(len(value), -1).mean(axis=1).astype(np.float64)
        return out


def as_risk(out: Any) -> RiskOutput:
    """A module's output as a :class:`RiskOutput` (a plain model's tensor becomes ``y_hat``)."""
    if isinstance(out, RiskOutput):
        return out
    if not isinstance(out, torch.Tensor):
        raise AssayInputError(f"The model must return a tensor (or a RiskOutput). It returned {describe(out)}.")
    return RiskOutput(y_hat=out)


def check_model(model: Any, owner: str, name: str = "model") -> nn.Module:
    """A torch module with at least one trainable parameter."""
    if not isinstance(model, nn.Module):
        raise AssayInputError(f"'{name}' of {owner} must be a torch nn.Module. Got {describe(model)} instead.")
    if next(model.parameters(), None) is None:
        raise AssayInputError(f"'{name}' of {owner} must have parameters (a trained or trainable network). "
                              f"Got {type(model).__name__} with no parameters.")
    return model


def find_module(model: nn.Module, layer: Any, owner: str, name: str = "layer") -> nn.Module:
    """The submodule named ``layer`` (a name from ``model.named_modules()``)."""
    modules = dict(model.named_modules())
    if not isinstance(layer, str) or layer == "" or layer not in modules:
        available = [n for n in modules if n]
        shown = ", ".join(available[:20]) + (", ..." if len(available) > 20 else "")
        raise AssayInputError(f"The '{name}' parameter of {owner} names {layer!r}, which is not a module of "
                              f"{type(model).__name__}. Expected one of: {shown}.")
    return modules[layer]


def seeded(seed: int, device: torch.device | None = None):
    """Seed torch's global RNG (and ``device``'s) inside ``fork_rng`` (the caller's state is restored)."""
    from ...models.training import _seeded_rng

    return _seeded_rng(int(seed), device)


def sample_variance(samples: torch.Tensor) -> torch.Tensor:
    """Unbiased variance over the first axis (samples), ``(S, n, ...) -> (n, ...)``."""
    return samples.var(dim=0, correction=1)


def mean_of(values: list[Any]) -> Any:
    values = [v for v in values if v is not None]
    return None if not values else torch.stack(values).mean(dim=0)


class RiskWrapper(nn.Module):
    """Base of the risk wrappers: an ``nn.Module`` whose call returns a :class:`RiskOutput`.

    Parameters are stored under their own names in ``__init__`` (as components do); the wrapped
    network is the submodule ``model`` (or ``members`` for an ensemble). Subclasses implement
    ``forward(x) -> RiskOutput`` and may override :meth:`loss` (default: the task loss of the
    wrapped module, through its own ``loss`` if it is a wrapper).
    """

    #: "regression" / "classification" where the wrapper's own term depends on it, else None.
    task: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self._state_count = 0

    def loss(self, x: torch.Tensor, y: torch.Tensor, base_loss: Callable | None = None) -> torch.Tensor:
        """The task loss ``base_loss(y_hat, y)`` plus the wrapper's own term (scalar tensor)."""
        return module_loss(self.model, x, y, base_loss)

    def inner_task(self) -> str | None:
        inner = getattr(self, "model", None)
        return self.task or (inner.inner_task() if isinstance(inner, RiskWrapper) else None)

    def risk_token(self) -> tuple:
        """Changes whenever state outside the parameters (histograms, buffers) is refitted."""
        inner = [m._state_count for m in self.modules() if isinstance(m, RiskWrapper)]
        return (type(self).__name__, tuple(inner))

    def prepare(self, x: torch.Tensor) -> None:
        """Create lazily sized parameters (run before an optimiser is built); default: nothing."""
        for m in self.modules():
            if m is not self and isinstance(m, RiskWrapper):
                m.prepare(x)

    def observe(self, x: torch.Tensor) -> None:
        """Called by :func:`fit_risk_model` on every training batch (ring buffers); default: nothing."""

    def __getstate__(self) -> dict:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        state.pop("_risk_adapter", None)  # the inference cache is not part of the wrapper
        state.pop("_risk_layouts", None)
        return state


def default_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for integer targets and a (n, k >= 2) output; mean squared error otherwise."""
    if not y.is_floating_point() and y_hat.ndim == 2 and y_hat.shape[1] >= 2:
        return F.cross_entropy(y_hat, y.long())
    return F.mse_loss(y_hat, y.to(y_hat.dtype).reshape(y_hat.shape))


def module_loss(module: nn.Module, x, y, base_loss: Callable | None) -> torch.Tensor:
    """``module.loss`` for a wrapper, ``base_loss(module(x), y)`` for a plain network."""
    if isinstance(module, RiskWrapper):
        return module.loss(x, y, base_loss)
    return (base_loss or default_loss)(module(x), y)


# ------------------------------------------------------------------------------------ training
_FIT_OWNER = "fit_risk_model"


def _device_dtype(module: nn.Module) -> tuple[torch.device, torch.dtype]:
    p = next((p for p in module.parameters() if p.is_floating_point()), None)
    return (p.device, p.dtype) if p is not None else (torch.device("cpu"), torch.float32)


def _as_tensor(values: Any, name: str, dtype: torch.dtype | None) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        t = values.detach()
        return t.to(dtype) if dtype is not None and t.is_floating_point() else t
    arr = as_array(values, name=name)
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number):
        raise AssayInputError(f"'{name}' must be numeric. Got {describe(arr)} instead.")
    t = torch.from_numpy(np.ascontiguousarray(arr))
    return t.to(dtype) if dtype is not None and t.is_floating_point() else t


def _check_task(wrapper: RiskWrapper, task: Any, y: torch.Tensor) -> None:
    if task is None:
        return
    if task not in ("regression", "classification"):
        raise AssayInputError(f"The 'task' parameter of {_FIT_OWNER} must be 'regression' or 'classification'. "
                              f"Got {task!r} instead.")
    own = wrapper.inner_task() if isinstance(wrapper, RiskWrapper) else None
    if own is not None and own != task:
        raise AssayInputError(
            f"'task' is {task!r} but {type(wrapper).__name__} was built for {own}: a {own} wrapper cannot give "
            f"{task} variances; build it with task={task!r} (e.g. MeanVariance(model, task={task!r})).")


def fit_risk_model(
    wrapper: nn.Module,
    data: Any,
    *,
    epochs: int = 20,
    random_state: int = 0,
    lr: float = 1e-3,
    batch_size: int = 64,
    weight_decay: float = 0.0,
    base_loss: Callable | None = None,
    task: str | None = None,
    resample: Any = None,
    resample_layer: str | None = None,
    seed: Any = NOT_GIVEN,
) -> nn.Module:
    """Train ``wrapper`` (and the network inside it) with Adam on ``wrapper.loss``; returns it in eval mode.

    ``data`` is ``(X, y)`` (arrays or tensors; shuffled with a generator seeded by
    ``random_state``) or any iterable of ``(x, y)`` batches (a DataLoader; used as it comes).
    ``base_loss(y_hat, y)`` defaults to cross-entropy for integer targets, else mean squared error.
    ``task`` ("regression"/"classification") is checked against the wrapper's own.
    ``resample``: a :class:`~assay.uncertainty.wrappers.RepresentationResampler` (rows drawn each
    epoch by inverse density of ``resample_layer``'s output, recomputed from the current model) or
    ``"epistemic"`` (rows drawn in proportion to the wrapper's epistemic risk); ``(X, y)`` data only.
    Dropout and sampling draw from torch's global RNG seeded inside ``fork_rng``: the caller's
    RNG state is unchanged and the same seed gives the same weights on CPU.
    """
    random_state = renamed_seed(random_state, seed, owner=_FIT_OWNER, default=0)
    if not isinstance(wrapper, nn.Module):
        raise AssayInputError(f"'wrapper' of {_FIT_OWNER} must be a risk wrapper or torch nn.Module. "
                              f"Got {describe(wrapper)} instead.")
    check_model(wrapper, _FIT_OWNER, "wrapper")
    check_scalar(epochs, "epochs", owner=_FIT_OWNER, kind=numbers.Integral, low=1)
    check_scalar(random_state, "random_state", owner=_FIT_OWNER, kind=numbers.Integral, low=0)
    check_scalar(lr, "lr", owner=_FIT_OWNER, kind=numbers.Real, low=0.0, closed="neither")
    check_scalar(batch_size, "batch_size", owner=_FIT_OWNER, kind=numbers.Integral, low=1)
    check_scalar(weight_decay, "weight_decay", owner=_FIT_OWNER, kind=numbers.Real, low=0.0)
    if base_loss is not None and not callable(base_loss):
        raise AssayInputError(f"'base_loss' of {_FIT_OWNER} must be None or a callable (y_hat, y) -> loss. "
                              f"Got {describe(base_loss)} instead.")
    device, dtype = _device_dtype(wrapper)
    arrays = isinstance(data, tuple) and len(data) == 2
    if arrays:
        X = _as_tensor(data[0], "X", dtype)
        y = _as_tensor(data[1], "y", None)
        check_consistent_length(X=X, y=y)
        if len(X) == 0:
            raise AssayInputError("'data' must hold at least one row. Got 0 rows.")
        batches: Iterable = ()
        first_x, first_y = X[:2], y[:2]
    else:
        if resample is not None:
            raise AssayInputError("'resample' needs 'data' as an (X, y) tuple, to draw rows from it; "
                                  f"got {describe(data)}.")
        try:
            batches = list(data) if not isinstance(data, (str, bytes)) else None
        except TypeError:
            batches = None
        if not batches or not all(isinstance(b, (tuple, list)) and len(b) == 2 for b in batches):
            raise AssayInputError(f"'data' of {_FIT_OWNER} must be an (X, y) tuple or an iterable of (x, y) "
                                  f"batches. Got {describe(data)} instead.")
        first_x, first_y = (_as_tensor(batches[0][0], "x", dtype), _as_tensor(batches[0][1], "y", None))
    _check_task(wrapper, task, first_y)
    sampler = _resampler(resample, resample_layer, wrapper)

    wrapper.train()
    with seeded(random_state):
        with torch.no_grad():
            if isinstance(wrapper, RiskWrapper):
                wrapper.prepare(first_x.to(device))
        optimizer = torch.optim.Adam(wrapper.parameters(), lr=float(lr), weight_decay=float(weight_decay))
        shuffle = torch.Generator().manual_seed(int(random_state))
        losses = []
        for epoch in range(int(epochs)):
            if arrays:
                if sampler is not None:
                    order = sampler(wrapper, X, len(X), int(random_state) + epoch)
                    wrapper.train()
                else:
                    order = torch.randperm(len(X), generator=shuffle)
                epoch_batches = ((X[order[s:s + batch_size]], y[order[s:s + batch_size]])
                                 for s in range(0, len(X), int(batch_size)))
            else:
                epoch_batches = ((_as_tensor(xb, "x", dtype), _as_tensor(yb, "y", None)) for xb, yb in batches)
            total, rows = 0.0, 0
            for xb, yb in epoch_batches:
                xb, yb = xb.to(device), yb.to(device)
                if isinstance(wrapper, RiskWrapper):
                    for m in wrapper.modules():
                        if isinstance(m, RiskWrapper):
                            m.observe(xb)
                optimizer.zero_grad(set_to_none=True)
                loss = module_loss(wrapper, xb, yb, base_loss)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(xb)
                rows += len(xb)
            losses.append(total / max(rows, 1))
    wrapper.eval()
    wrapper.train_loss_ = losses
    for m in wrapper.modules():
        if isinstance(m, RiskWrapper):
            m._state_count += 1
    return wrapper


def _resampler(resample: Any, layer: str | None, wrapper: nn.Module):
    """``f(wrapper, X, n, seed) -> row order`` drawing ``n`` rows with replacement, or None."""
    if resample is None:
        return None
    from .density import RepresentationResampler

    if isinstance(resample, str) and resample == "epistemic":
        def by_epistemic(w, X, n, seed):
            risk = predict_risk(w, X, cache=False).scores().get("epistemic")
            if risk is None:
                raise AssayInputError(f"resample='epistemic' needs a wrapper that measures epistemic risk; "
                                      f"{type(w).__name__} does not.")
            return _draw(np.clip(risk, 0, None) + 1e-12, n, seed)
        return by_epistemic
    if not isinstance(resample, RepresentationResampler):
        raise AssayInputError(f"'resample' must be None, 'epistemic' or a RepresentationResampler. "
                              f"Got {describe(resample)} instead.")
    from ...core.adapters import TorchAdapter

    network = getattr(wrapper, "model", wrapper)
    find_module(network, layer, _FIT_OWNER, "resample_layer")

    def by_density(w, X, n, seed):
        features = TorchAdapter(network, cache=False).embeddings(X, layer, flatten=True)
        return _draw(resample.fit(features).probabilities_, n, seed)
    return by_density


def _draw(weights: np.ndarray, n: int, seed: int) -> torch.Tensor:
    p = np.asarray(weights, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.choice(len(p), size=n, replace=True, p=p / p.sum()))


# ------------------------------------------------------------------------------------ inference
def predict_risk(wrapper: nn.Module, X: Any, *, batch_size: int | None = None, cache: bool = True) -> RiskOutput:
    """``wrapper(X)`` in batches through the adapter's loop (eval mode, no grad), as numpy arrays.

    Results are cached per content of ``X`` and the wrapper's state (parameters and refitted
    histograms), like every model output in assay.
    """
    from ...core.adapters import TorchAdapter

    if not isinstance(wrapper, nn.Module):
        raise AssayInputError(f"'wrapper' must be a risk wrapper (torch nn.Module). Got {describe(wrapper)}.")
    adapter = wrapper.__dict__.get("_risk_adapter")
    if adapter is None or adapter.batch_size != (batch_size or adapter.default_batch_size):
        adapter = TorchAdapter(wrapper, batch_size=batch_size)
        wrapper.__dict__["_risk_adapter"] = adapter
    adapter.cache = bool(cache)
    layout: list[tuple[str, tuple[int, ...]]] = []

    def fn(batch, _index):
        out = as_risk(wrapper(batch))
        parts, shapes = [], []
        for f in fields(RiskOutput):
            value = getattr(out, f.name)
            if value is None:
                continue
            value = value.detach().float()
            shapes.append((f.name, tuple(value.shape[1:])))
            parts.append(value.reshape(len(value), -1))
        layout[:] = shapes
        return torch.cat(parts, dim=1).cpu().numpy()

    token = wrapper.risk_token() if isinstance(wrapper, RiskWrapper) else type(wrapper).__name__
    flat = adapter.map_batches(fn, X, cache_key=("risk", token), name="output of the risk wrapper",
                               desc=f"{type(wrapper).__name__} risks")
    layouts = wrapper.__dict__.setdefault("_risk_layouts", {})
    if layout:
        layouts[token] = list(layout)
    layout = layouts[token]
    out, start = {}, 0
    for name, shape in layout:
        width = int(np.prod(shape)) if shape else 1
        out[name] = flat[:, start:start + width].reshape(len(flat), *shape)
        start += width
    return RiskOutput(**out)


@contextlib.contextmanager
def hooks(handles: list):
    try:
        yield
    finally:
        for h in handles:
            h.remove()
