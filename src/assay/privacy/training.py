"""Differentially private training through Opacus (DP-SGD), behind assay's interface.

:func:`train_private` trains a torch classifier with per-example gradient clipping and Gaussian
noise (Abadi et al. 2016) as Opacus implements them: the noise multiplier is chosen by Opacus for
the target ``(epsilon, delta)`` and the number of epochs, batches are drawn by Poisson sampling,
BatchNorm is replaced by GroupNorm (``ModuleValidator.fix``), and a physical batch limit
(``max_physical_batch_size``, Opacus' ``BatchMemoryManager``) bounds memory without changing the
logical batch. The spent epsilon is read back from Opacus' accountant (RDP by default; PRV on
request). DP-SGD and its accounting are Opacus'; nothing is re-implemented here.

Epsilon semantics: smaller epsilon = more private; ``delta`` should be well below ``1 / n``.
Needs the optional extra ``pip install "assay[privacy]"``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from typing import Any

import numpy as np

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import as_array, check_option, check_scalar, describe

__all__ = ["PrivateTraining", "check_privacy_budget", "epsilon_sweep", "train_private"]

_OWNER = "train_private"
_NO_OPACUS = ("{owner} needs Opacus, which is not installed. Install the extra: pip install \"assay[privacy]\" "
              "(opacus).")


def _import_opacus(owner: str = _OWNER):
    try:
        import opacus
        from opacus.utils.batch_memory_manager import BatchMemoryManager
        from opacus.validators import ModuleValidator
    except ImportError as exc:
        raise ImportError(_NO_OPACUS.format(owner=owner)) from exc
    return opacus, ModuleValidator, BatchMemoryManager


@dataclasses.dataclass(frozen=True, eq=False)
class PrivateTraining(Result):
    """A model trained with DP-SGD and what it spent.

    Attributes
    ----------
    model : torch.nn.Module
        The trained module (BatchNorm replaced if it had any), in eval mode, without Opacus' hooks.
    epsilon : float
        The epsilon spent at ``delta``, read from Opacus' accountant after training (at most the
        target, up to the accountant's numerical tolerance).
    delta, target_epsilon : float
    accountant : "rdp" or "prv"
    noise_multiplier, sample_rate : float
    steps : int
        Optimizer steps taken (logical batches).
    max_grad_norm : float
    history : list of float
        Mean training loss per epoch.
    replaced_modules : bool
        True when ``ModuleValidator.fix`` changed the module (e.g. BatchNorm -> GroupNorm).
    """

    model: Any = dataclasses.field(repr=False)
    epsilon: float
    delta: float
    target_epsilon: float
    accountant: str
    noise_multiplier: float
    sample_rate: float
    steps: int
    max_grad_norm: float
    history: list
    replaced_modules: bool

    def __iter__(self):
        """``model, epsilon = train_private(...)``."""
        return iter((self.model, self.epsilon))

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["model"] = type(self.model).__name__
        return out


def check_privacy_budget(epsilon: Any, delta: Any, n: int, *, owner: str = _OWNER) -> tuple[float, float]:
    """``(epsilon, delta)`` checked: epsilon a finite number > 0, delta in (0, 1/n)."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not (math.isfinite(epsilon)
                                                                               and epsilon > 0):
        raise AssayInputError(f"The 'epsilon' parameter of {owner} must be a finite number > 0 (smaller = more "
                              f"private). Got {epsilon!r} instead.")
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not (0 < delta < 1.0 / n):
        raise AssayInputError(f"The 'delta' parameter of {owner} must be in (0, 1/n) = (0, {1.0 / n:.3g}) for n = "
                              f"{n} training rows (a delta of 1/n or more allows releasing a whole row). "
                              f"Got {delta!r} instead.")
    return float(epsilon), float(delta)


def train_private(
    model: Any,
    data: Any,
    *,
    epsilon: float,
    delta: float | None = None,
    max_grad_norm: float = 1.0,
    epochs: int = 10,
    batch_size: int = 256,
    lr: float = 1e-3,
    optimizer: str = "adam",
    accountant: str = "rdp",
    max_physical_batch_size: int | None = None,
    random_state: int = 0,
) -> PrivateTraining:
    """Train a torch classifier with DP-SGD (Opacus) to a target ``(epsilon, delta)``.

    Parameters
    ----------
    model : torch.nn.Module
        Returns logits ``(n, k)``; trained on a copy if ``ModuleValidator.fix`` must replace
        modules (BatchNorm -> GroupNorm), else in place.
    data : tuple (X, y)
        ``X`` array-like (n, ...) of inputs, ``y`` (n,) class indices.
    epsilon : float > 0
        Target privacy budget (smaller = more private).
    delta : float in (0, 1/n), optional
        Default ``min(1e-5, 1 / (10 n))``.
    max_grad_norm : float > 0
        Per-example gradient clipping norm.
    epochs, batch_size : int >= 1
        ``batch_size / n`` is the Poisson sampling rate (the expected logical batch).
    lr : float > 0
    optimizer : {"adam", "sgd"}
    accountant : {"rdp", "prv"}
        Opacus' accountant used to choose the noise and to report the spent epsilon.
    max_physical_batch_size : int, optional
        Rows per forward/backward pass (Opacus' ``BatchMemoryManager``): bounds memory, keeps the
        logical batch (and so the privacy accounting) unchanged.
    random_state : int >= 0
        Seeds the Poisson sampling and the noise (through torch's generator, inside ``fork_rng``).

    Returns
    -------
    PrivateTraining
        ``model, epsilon = train_private(...)`` unpacks it.
    """
    import torch
    from torch import nn

    opacus, ModuleValidator, BatchMemoryManager = _import_opacus()
    if not isinstance(model, nn.Module):
        raise AssayInputError(f"'model' of {_OWNER} must be a torch nn.Module. Got {describe(model)}.")
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise AssayInputError(f"'data' of {_OWNER} must be a tuple (X, y). Got {describe(data)}.")
    X = as_array(data[0], name="X", dtype=np.float32)
    y = as_array(data[1], name="y", ndim=1)
    if len(X) != len(y):
        raise AssayInputError(f"'X' and 'y' of {_OWNER} must have the same number of rows. Got {len(X)} and {len(y)}.")
    if y.dtype.kind not in "iu" or (len(y) and y.min() < 0):
        raise AssayInputError(f"'y' of {_OWNER} must hold class indices 0..k-1. Got {describe(data[1])}.")
    n = len(X)
    if n < 2:
        raise AssayInputError(f"'data' of {_OWNER} must have at least 2 rows. Got {n}.")
    if delta is None:
        delta = min(1e-5, 1.0 / (10 * n))
    epsilon, delta = check_privacy_budget(epsilon, delta, n)
    check_scalar(max_grad_norm, "max_grad_norm", owner=_OWNER, low=0, closed="neither")
    check_scalar(epochs, "epochs", owner=_OWNER, kind=numbers.Integral, low=1)
    check_scalar(batch_size, "batch_size", owner=_OWNER, kind=numbers.Integral, low=1, high=n)
    check_scalar(lr, "lr", owner=_OWNER, low=0, closed="neither")
    check_option(optimizer, "optimizer", owner=_OWNER, options=("adam", "sgd"))
    check_option(accountant, "accountant", owner=_OWNER, options=("rdp", "prv"))
    check_scalar(random_state, "random_state", owner=_OWNER, kind=numbers.Integral, low=0)
    if max_physical_batch_size is not None:
        check_scalar(max_physical_batch_size, "max_physical_batch_size", owner=_OWNER, kind=numbers.Integral, low=1)

    errors = ModuleValidator.validate(model, strict=False)
    replaced = bool(errors)
    if replaced:
        model = ModuleValidator.fix(model)
        remaining = ModuleValidator.validate(model, strict=False)
        if remaining:
            raise AssayInputError(f"'model' of {_OWNER} has modules Opacus cannot train privately even after "
                                  f"ModuleValidator.fix: {[str(e) for e in remaining][:3]}.")
    device = next(model.parameters()).device
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y.astype(np.int64)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(random_state))
        generator = torch.Generator().manual_seed(int(random_state))
        loader = torch.utils.data.DataLoader(dataset, batch_size=int(batch_size), shuffle=True, generator=generator)
        optim = (torch.optim.Adam(model.parameters(), lr=lr) if optimizer == "adam"
                 else torch.optim.SGD(model.parameters(), lr=lr))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Opacus' notes on secure RNG and optimizer state
            engine = opacus.PrivacyEngine(accountant=accountant)
            private, optim, loader = engine.make_private_with_epsilon(
                module=model, optimizer=optim, data_loader=loader, target_epsilon=epsilon, target_delta=delta,
                epochs=int(epochs), max_grad_norm=float(max_grad_norm), poisson_sampling=True,
                noise_generator=generator)
        criterion = nn.CrossEntropyLoss()
        history = []
        private.train()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Full backward hook is firing", category=UserWarning)
            for _ in range(int(epochs)):
                total, count = 0.0, 0
                with BatchMemoryManager(data_loader=loader, max_physical_batch_size=int(max_physical_batch_size or n),
                                        optimizer=optim) as batches:
                    for xb, yb in batches:  # an empty Poisson batch still takes its (noise-only) step
                        xb, yb = xb.to(device), yb.to(device)
                        optim.zero_grad()
                        loss = criterion(private(xb), yb)
                        loss.backward()
                        optim.step()
                        if len(xb):
                            total += float(loss.detach()) * len(xb)
                            count += len(xb)
                history.append(total / max(count, 1))
    spent = float(engine.get_epsilon(delta))
    history_acc = engine.accountant.history
    steps = sum(s for _, _, s in history_acc)
    trained = private.to_standard_module() if hasattr(private, "to_standard_module") else private._module
    trained.eval()
    return PrivateTraining(model=trained, epsilon=spent, delta=delta, target_epsilon=epsilon, accountant=accountant,
                           noise_multiplier=float(optim.noise_multiplier), sample_rate=float(history_acc[-1][1]),
                           steps=int(steps), max_grad_norm=float(max_grad_norm), history=history,
                           replaced_modules=replaced)


def epsilon_sweep(make_model: Any, train: tuple[Any, Any], test: tuple[Any, Any], *,
                  epsilons: Any = (0.5, 1.0, 4.0, math.inf), sensitive_features: Any = None, delta: float | None = None,
                  epochs: int = 10, batch_size: int = 256, lr: float = 1e-3, max_grad_norm: float = 1.0,
                  accountant: str = "rdp", random_state: int = 0) -> Any:
    """Privacy x fairness x utility in one table: per epsilon, accuracy overall and per group, and the
    loss attack's membership advantage (training rows vs ``test``).

    ``make_model()`` returns a fresh, seeded torch module for each run; ``epsilon = inf`` trains it
    without privacy through :func:`assay.models.fit_torch_classifier` (Adam, same epochs, batch and
    learning rate). ``sensitive_features`` are those of ``test``. Returns a DataFrame with one row
    per (epsilon, feature, group) -- ``feature == "overall"`` for all rows -- and columns
    ``epsilon_spent``, ``accuracy``, ``count``, ``membership_auc`` and ``membership_advantage``
    (overall rows only), ``accuracy_drop`` (vs the largest epsilon of the sweep, per group).
    """
    import pandas as pd

    from ..core.adapters import wrap
    from ..metrics import evaluate_groups
    from ..models import fit_torch_classifier
    from .evaluation import evaluate_attack
    from .membership import loss_attack

    if not callable(make_model):
        raise AssayInputError(f"'make_model' of epsilon_sweep must be callable() -> torch module. "
                              f"Got {describe(make_model)}.")
    try:
        values = [float(e) for e in epsilons]
    except (TypeError, ValueError):
        values = []
    if not values or any(not (e > 0) for e in values):
        raise AssayInputError(f"'epsilons' of epsilon_sweep must be numbers > 0 (math.inf: no privacy). "
                              f"Got {epsilons!r}.")
    X_tr, y_tr = np.asarray(train[0], dtype=np.float32), np.asarray(train[1])
    X_te, y_te = np.asarray(test[0], dtype=np.float32), np.asarray(test[1])
    rows = []
    for eps in values:
        module = make_model()
        if math.isinf(eps):
            model = fit_torch_classifier(module, X_tr, y_tr, epochs=epochs, batch_size=batch_size, lr=lr,
                                         random_state=random_state).eval()
            spent = math.inf
        else:
            model, spent = train_private(module, (X_tr, y_tr), epsilon=eps, delta=delta, epochs=epochs,
                                         batch_size=batch_size, lr=lr, max_grad_norm=max_grad_norm,
                                         accountant=accountant, random_state=random_state)
        adapter = wrap(model)
        attack = evaluate_attack(loss_attack(adapter, X_tr, y_tr), loss_attack(adapter, X_te, y_te), n_boot=0)
        pred = adapter.predict(X_te)
        rows.append({"epsilon": eps, "feature": "overall", "group": "overall", "epsilon_spent": spent,
                     "accuracy": float(np.mean(pred == y_te)), "count": len(y_te), "membership_auc": attack.auc,
                     "membership_advantage": attack.advantage})
        if sensitive_features is not None:
            table = evaluate_groups(y_te, pred, sensitive_features=sensitive_features, metrics=["accuracy"],
                                    average="ovr")
            for (feature, group), row in table.by_group.iterrows():
                rows.append({"epsilon": eps, "feature": feature, "group": str(group), "epsilon_spent": spent,
                             "accuracy": float(row["accuracy"]), "count": int(row["count"]),
                             "membership_auc": np.nan, "membership_advantage": np.nan})
    out = pd.DataFrame(rows)
    best = out[out["epsilon"] == max(values)].set_index(["feature", "group"])["accuracy"]
    out["accuracy_drop"] = best.reindex(pd.MultiIndex.from_frame(out[["feature", "group"]])).to_numpy() - out["accuracy"]
    return out
