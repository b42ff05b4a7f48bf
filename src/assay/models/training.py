"""The one training loop for PyTorch classifiers, and seeded convenience trainers.

:func:`fit_torch_classifier` is the single home for fitting torch classifiers in assay; later
hardening steps (adversarial training, fairness penalties, ...) reuse it through its
``loss_fn`` hook rather than writing loops of their own.

Reproducibility
---------------
* Shuffling uses a ``torch.Generator`` seeded with ``random_state``.
* Dropout (and any other use of torch's global RNG inside the forward pass) draws from the
  global generator, which :func:`fit_torch_classifier` seeds with ``random_state`` inside
  ``torch.random.fork_rng``: training is reproducible and the caller's global RNG state is left
  exactly as it was.
* The initial weights are the caller's business (seed before constructing the module); the
  convenience trainers :func:`train_tabular_mlp` and :func:`train_digits_cnn` do so (again
  inside ``fork_rng``), so the same seed gives bit-identical weights on the same machine.
* Bit-identical on CPU. On a CUDA device some kernels (cuDNN convolutions' backward pass,
  atomics) are nondeterministic, so repeated runs can differ slightly unless the caller sets
  ``torch.use_deterministic_algorithms(True)`` (and ``CUBLAS_WORKSPACE_CONFIG=:4096:8``); with
  it, same seed -> identical weights on GPU too (checked on an H100).
* No global torch setting (threads, determinism flags) is touched.
"""

from __future__ import annotations

import contextlib
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..core.errors import AssayInputError
from ..core.validation import (SEED_NOT_GIVEN, as_array, check_bool, check_consistent_length, check_scalar, describe,
                               renamed_seed)
from .networks import DigitsCNN, TabularMLP

__all__ = [
    "LossFn",
    "TrainingHistory",
    "fit_torch_classifier",
    "train_digits_cnn",
    "train_tabular_mlp",
]

#: ``loss_fn(module, X_batch, y_batch, batch_index) -> scalar loss tensor``; ``batch_index`` is
#: the CPU int64 tensor of the batch's row indices into ``X`` (to look up per-row data such as
#: sensitive features or sample weights).
LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

_EVAL_BATCH = 1024
_OWNER = "fit_torch_classifier"


@dataclass
class TrainingHistory:
    """What :func:`fit_torch_classifier` records; stored as ``module.training_history_``.

    Attributes
    ----------
    train_loss : list of float
        Mean training loss of each epoch (averaged over rows, measured in train mode while the
        weights change).
    val_loss, val_accuracy : list of float or None
        Cross-entropy and accuracy on ``(X_val, y_val)`` after each epoch (eval mode); ``None``
        when no validation data was given.
    epochs, batch_size, lr, weight_decay, random_state : the settings used (``seed``: alias of
        ``random_state``).
    n_classes : int
        Number of logits the module returns.
    seconds : float
        Wall-clock training time.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] | None = None
    val_accuracy: list[float] | None = None
    epochs: int = 0
    batch_size: int = 0
    lr: float = 0.0
    weight_decay: float = 0.0
    random_state: int = 0
    n_classes: int = 0
    seconds: float = 0.0

    @property
    def seed(self) -> int:
        """Alias of ``random_state`` (read-only)."""
        return self.random_state


# --------------------------------------------------------------------------- validation helpers


def _check_module(module: Any, owner: str) -> nn.Module:
    if not isinstance(module, nn.Module):
        raise AssayInputError(
            f"'module' passed to {owner} must be a torch nn.Module returning logits. "
            f"Got {describe(module)} instead."
        )
    return module


def _module_device_dtype(module: nn.Module) -> tuple[torch.device, torch.dtype]:
    for p in module.parameters():
        if p.is_floating_point():
            return p.device, p.dtype
    return torch.device("cpu"), torch.float32


def _check_inputs(X: Any, name: str, dtype: torch.dtype) -> torch.Tensor:
    np_dtype = torch.empty(0, dtype=dtype).numpy().dtype
    arr = np.ascontiguousarray(as_array(X, name=name, ndim=(2, 3, 4, 5), dtype=np_dtype))
    if not arr.flags.writeable:  # torch.from_numpy warns on read-only memory
        arr = arr.copy()
    return torch.from_numpy(arr)


def _check_class_indices(y: Any, name: str, n_classes: int | None = None) -> np.ndarray:
    """``y`` as int64 class indices in ``[0, n_classes)`` (``n_classes=None``: just >= 0)."""
    arr = as_array(y, name=name, ndim=1)
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number):
        raise AssayInputError(
            f"'{name}' must hold integer class indices 0..n_classes-1. Got {describe(arr)} "
            "instead (encode string labels first, e.g. with sklearn's LabelEncoder)."
        )
    if np.issubdtype(arr.dtype, np.inexact) and not np.all(arr == np.round(arr)):
        first = int(np.argmax(arr != np.round(arr)))
        raise AssayInputError(
            f"'{name}' must hold integer class indices 0..n_classes-1. Got the non-integer "
            f"value {arr[first]!r} at index {first}."
        )
    arr = arr.astype(np.int64)
    high = None if n_classes is None else n_classes - 1
    bad = (arr < 0) if high is None else (arr < 0) | (arr > high)
    if bad.any():
        first = int(np.argmax(bad))
        expected = "non-negative" if high is None else f"in [0, {high}] (the module has {n_classes} logits)"
        raise AssayInputError(
            f"'{name}' must hold class indices {expected}. Got {int(bad.sum())} label(s) outside "
            f"that range, e.g. {int(arr[first])} at index {first}."
        )
    return arr


def _infer_n_classes(module: nn.Module, X: torch.Tensor, device: torch.device, name: str) -> int:
    """Run the module (eval mode, no grad) on the first rows of X to read its number of logits."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            out = module(X[:2].to(device))
    except Exception as exc:  # noqa: BLE001 - any failure here means X does not fit the module
        raise AssayInputError(
            f"The module could not be run on '{name}' ({describe(X)}); check the input shape "
            f"the module expects. The module said: {exc}"
        ) from exc
    finally:
        for m, training in modes:
            m.training = training
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[1] < 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else describe(out)
        raise AssayInputError(
            "'module' must return logits of shape (n, n_classes) with n_classes >= 2 "
            f"(trained with cross-entropy). It returned {shape} for 2 rows of '{name}'."
        )
    return int(out.shape[1])


def _check_hyperparameters(owner: str, *, epochs, batch_size, lr, weight_decay, random_state, progress):
    check_scalar(epochs, "epochs", owner=owner, kind=numbers.Integral, low=1)
    check_scalar(batch_size, "batch_size", owner=owner, kind=numbers.Integral, low=1)
    check_scalar(lr, "lr", owner=owner, kind=numbers.Real, low=0.0, closed="neither")
    check_scalar(weight_decay, "weight_decay", owner=owner, kind=numbers.Real, low=0.0)
    check_scalar(random_state, "random_state", owner=owner, kind=numbers.Integral, low=0)
    check_bool(progress, "progress", owner=owner)


@contextlib.contextmanager
def _seeded_rng(seed: int, device: torch.device | None = None):
    """Seed torch's global RNG(s) inside ``fork_rng``: the caller's state is restored on exit."""
    cuda = [] if device is None or device.type != "cuda" else [device.index or 0]
    with torch.random.fork_rng(devices=cuda):
        torch.random.default_generator.manual_seed(seed)
        for index in cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


# --------------------------------------------------------------------------------- training loop


def _evaluate(module: nn.Module, X: torch.Tensor, y: torch.Tensor, device: torch.device):
    """Mean cross-entropy and accuracy of ``module`` (eval mode, no grad) on ``(X, y)``."""
    module.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(X), _EVAL_BATCH):
            xb = X[start:start + _EVAL_BATCH].to(device)
            yb = y[start:start + _EVAL_BATCH].to(device)
            logits = module(xb)
            loss_sum += float(F.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(dim=1) == yb).sum())
    return loss_sum / len(X), correct / len(X)


def fit_torch_classifier(
    module: nn.Module,
    X: Any,
    y: Any,
    *,
    epochs: int = 20,
    batch_size: int = 128,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    random_state: int = 0,
    X_val: Any = None,
    y_val: Any = None,
    progress: bool = False,
    loss_fn: LossFn | None = None,
    seed: Any = SEED_NOT_GIVEN,
) -> nn.Module:
    """Train a torch classifier (logits ``(n, n_classes)``) with Adam and cross-entropy.

    Parameters
    ----------
    module : nn.Module
        Returns logits of shape ``(n, n_classes)``, ``n_classes >= 2`` (read from one forward
        pass on two rows of ``X``). Trained in place on its own device and dtype.
    X : array-like or torch.Tensor of shape (n, ...)
        Inputs, numpy / torch / pandas; finite values; converted to the module's dtype.
    y : array-like or torch.Tensor of shape (n,)
        Integer class indices in ``[0, n_classes)``.
    epochs : int >= 1
    batch_size : int >= 1
        Rows per step; each epoch visits every row once in a seeded random order (the last
        batch may be smaller).
    lr : float > 0
        Adam's learning rate.
    weight_decay : float >= 0
        Adam's (L2) weight decay.
    random_state : int >= 0
        Seeds the shuffling generator and, inside ``torch.random.fork_rng``, torch's global RNG
        (dropout). The caller's RNG state is left unchanged. Initial weights are not touched:
        seed before building the module (or use the ``train_*`` helpers). ``seed=`` is a deprecated alias.
    X_val, y_val : optional
        Validation data, both or neither; evaluated (eval mode) after every epoch.
    progress : bool
        Show a tqdm progress bar over epochs.
    loss_fn : callable, optional
        ``loss_fn(module, X_batch, y_batch, batch_index) -> scalar tensor`` replaces the default
        ``F.cross_entropy(module(X_batch), y_batch)``; ``batch_index`` holds the batch's row
        indices into ``X`` (CPU int64). The hook for adversarial training, fairness penalties and
        other variants of the loss.

    Returns
    -------
    nn.Module
        The same ``module``, trained and in eval mode, with ``module.training_history_`` (a
        :class:`TrainingHistory`: per-epoch ``train_loss``, and ``val_loss``/``val_accuracy``
        when validation data is given).
    """
    random_state = renamed_seed(random_state, seed, owner=_OWNER, default=0)
    _check_module(module, _OWNER)
    _check_hyperparameters(_OWNER, epochs=epochs, batch_size=batch_size, lr=lr,
                           weight_decay=weight_decay, random_state=random_state, progress=progress)
    if loss_fn is not None and not callable(loss_fn):
        raise AssayInputError(
            f"The 'loss_fn' parameter of {_OWNER} must be None or a callable "
            f"(module, X_batch, y_batch, batch_index) -> loss. Got {describe(loss_fn)} instead."
        )
    if (X_val is None) != (y_val is None):
        given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
        raise AssayInputError(
            f"'X_val' and 'y_val' must be given together. Got '{given}' without '{missing}'."
        )
    device, dtype = _module_device_dtype(module)

    X_t = _check_inputs(X, "X", dtype)
    y_np = as_array(y, name="y", ndim=1)
    check_consistent_length(X=X_t, y=y_np)
    n_classes = _infer_n_classes(module, X_t, device, "X")
    y_t = torch.from_numpy(_check_class_indices(y_np, "y", n_classes))
    has_val = X_val is not None
    if has_val:
        Xv_t = _check_inputs(X_val, "X_val", dtype)
        if Xv_t.shape[1:] != X_t.shape[1:]:
            raise AssayInputError(
                f"'X_val' must have the same shape per row as 'X', {tuple(X_t.shape[1:])}. "
                f"Got {tuple(Xv_t.shape[1:])} instead."
            )
        yv_np = as_array(y_val, name="y_val", ndim=1)
        check_consistent_length(X_val=Xv_t, y_val=yv_np)
        yv_t = torch.from_numpy(_check_class_indices(yv_np, "y_val", n_classes))

    history = TrainingHistory(
        val_loss=[] if has_val else None, val_accuracy=[] if has_val else None,
        epochs=int(epochs), batch_size=int(batch_size), lr=float(lr),
        weight_decay=float(weight_decay), random_state=int(random_state), n_classes=n_classes,
    )
    optimizer = torch.optim.Adam(module.parameters(), lr=float(lr), weight_decay=float(weight_decay))
    shuffle = torch.Generator().manual_seed(int(random_state))
    n, bs = len(X_t), int(batch_size)
    started = time.perf_counter()

    with _seeded_rng(int(random_state), device):
        bar = tqdm(range(int(epochs)), desc="fit_torch_classifier", unit="epoch",
                   disable=not progress, leave=False)
        for _epoch in bar:
            module.train()
            order = torch.randperm(n, generator=shuffle)
            total = torch.zeros((), dtype=torch.float64, device=device)
            for start in range(0, n, bs):
                index = order[start:start + bs]
                xb = X_t[index].to(device, non_blocking=True)
                yb = y_t[index].to(device, non_blocking=True)
                optimizer.zero_grad(set_to_none=True)
                if loss_fn is None:
                    loss = F.cross_entropy(module(xb), yb)
                else:
                    loss = loss_fn(module, xb, yb, index)
                loss.backward()
                optimizer.step()
                total += loss.detach().to(torch.float64) * len(index)
            history.train_loss.append(float(total) / n)
            postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
            if has_val:
                val_loss, val_acc = _evaluate(module, Xv_t, yv_t, device)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_acc)
                postfix["val_acc"] = f"{val_acc:.4f}"
            bar.set_postfix(postfix)
        bar.close()

    history.seconds = time.perf_counter() - started
    module.eval()
    module.training_history_ = history
    return module


# ---------------------------------------------------------------------------- convenience trainers


def _build_seeded(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    with _seeded_rng(seed):
        return factory()


def train_tabular_mlp(
    X: Any,
    y: Any,
    *,
    random_state: int = 0,
    epochs: int = 10,
    hidden: Sequence[int] = (64, 32),
    dropout: float = 0.1,
    batch_size: int = 256,
    lr: float = 2e-3,
    weight_decay: float = 0.0,
    n_classes: int | None = None,
    X_val: Any = None,
    y_val: Any = None,
    progress: bool = False,
    seed: Any = SEED_NOT_GIVEN,
) -> TabularMLP:
    """Build a :class:`TabularMLP` seeded with ``random_state`` and train it with :func:`fit_torch_classifier`.

    ``X`` is an already preprocessed 2-D float matrix (e.g. the output of
    :func:`~assay.models.make_tabular_preprocessor`), ``y`` integer class indices.
    ``n_classes`` defaults to ``max(2, y.max() + 1)``. The same seed gives bit-identical
    weights (on the same machine and torch build). Returns the trained module in eval mode,
    with ``training_history_``. ``seed=`` is a deprecated alias of ``random_state``.
    """
    owner = "train_tabular_mlp"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    check_scalar(random_state, "random_state", owner=owner, kind=numbers.Integral, low=0)
    X_arr = as_array(X, name="X", ndim=2, dtype=np.float32)
    y_arr = _check_class_indices(y, "y")
    check_consistent_length(X=X_arr, y=y_arr)
    if n_classes is None:
        n_classes = max(2, int(y_arr.max()) + 1)
    module = _build_seeded(
        lambda: TabularMLP(X_arr.shape[1], n_classes=n_classes, hidden=hidden, dropout=dropout),
        int(random_state),
    )
    return fit_torch_classifier(
        module, X_arr, y_arr, epochs=epochs, batch_size=batch_size, lr=lr,
        weight_decay=weight_decay, random_state=random_state, X_val=X_val, y_val=y_val, progress=progress,
    )


def train_digits_cnn(
    X: Any,
    y: Any,
    *,
    random_state: int = 0,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    dropout: float = 0.25,
    n_classes: int = 10,
    X_val: Any = None,
    y_val: Any = None,
    progress: bool = False,
    seed: Any = SEED_NOT_GIVEN,
) -> DigitsCNN:
    """Build a :class:`DigitsCNN` seeded with ``random_state`` and train it with :func:`fit_torch_classifier`.

    ``X`` holds images of shape ``(n, 1, 8, 8)`` with pixels in [0, 1] (e.g.
    ``assay.datasets.load_digits_split().train.X``), ``y`` digit labels in ``[0, n_classes)``.
    The same seed gives bit-identical weights (on the same machine and torch build). Returns
    the trained module in eval mode, with ``training_history_``. ``seed=`` is a deprecated alias of ``random_state``.
    """
    owner = "train_digits_cnn"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    check_scalar(random_state, "random_state", owner=owner, kind=numbers.Integral, low=0)
    X_arr = as_array(X, name="X", ndim=4, dtype=np.float32)
    if X_arr.shape[1:] != (1, 8, 8):
        raise AssayInputError(
            f"'X' must hold 8x8 grey-scale images of shape (n, 1, 8, 8). Got an array of shape "
            f"{X_arr.shape} instead."
        )
    module = _build_seeded(lambda: DigitsCNN(n_classes=n_classes, dropout=dropout), int(random_state))
    return fit_torch_classifier(
        module, X_arr, y, epochs=epochs, batch_size=batch_size, lr=lr,
        weight_decay=weight_decay, random_state=random_state, X_val=X_val, y_val=y_val, progress=progress,
    )
