"""MinDiff (Prost, Qian, Chen, Chi, Chen & Beutel 2019): an MMD penalty between the groups' score distributions.

:class:`MinDiffLoss` is a ``loss_fn`` for :func:`assay.models.fit_torch_classifier` (a plain
PyTorch loop): cross-entropy plus ``weight`` times the maximum mean discrepancy between the
positive-class probabilities of each group and of the other rows of the batch.
:class:`MinDiffClassifier` is the same as an estimator (``fit(X, y, sensitive_features=)``,
``predict_proba``), the loss built from the rows it is fitted on.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar

from ...core.component import Component, Interval, Options
from ...core.errors import AssayInputError
from ...core.validation import check_is_fitted, check_option, check_scalar, describe
from ._groups import group_codes

if TYPE_CHECKING:  # torch is imported when a loss is computed, not with assay.fairness
    import torch

__all__ = ["MinDiffClassifier", "MinDiffLoss", "default_module", "mmd"]

_KERNELS = ("gaussian", "laplacian")


def mmd(a: torch.Tensor, b: torch.Tensor, *, kernel: str = "gaussian", kernel_length: float = 0.1) -> torch.Tensor:
    """Squared maximum mean discrepancy (biased V-statistic) between 1-D samples ``a`` and ``b``.

    ``mean k(a, a') + mean k(b, b') - 2 mean k(a, b)`` with ``k(x, y) = exp(-(x - y)^2 / (2 l^2))``
    (Gaussian) or ``exp(-|x - y| / l)`` (Laplacian), ``l = kernel_length``; 0 when either is empty.
    """
    import torch

    if len(a) == 0 or len(b) == 0:
        return a.sum() * 0.0 + b.sum() * 0.0

    def k(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        d = x[:, None] - y[None, :]
        if kernel == "gaussian":
            return torch.exp(-d.pow(2) / (2 * kernel_length**2))
        return torch.exp(-d.abs() / kernel_length)

    return k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean()


class MinDiffLoss:
    """Cross-entropy + ``weight`` x MMD between each group's positive-class scores and the others' in the batch.

    Parameters
    ----------
    sensitive_features : Series, DataFrame (several columns = their intersection), dict or 1-D array
        One row per training row (the rows of ``X`` given to ``fit_torch_classifier``).
    weight : float >= 0
        The penalty's weight (0: plain cross-entropy).
    kernel : "gaussian" or "laplacian"; kernel_length : float > 0
    label : None, 0 or 1
        Penalise only the rows of this true label (MinDiff on negatives equalises false-positive
        rates; on positives, true-positive rates); None: every row (demographic parity).

    The penalty is the mean over the groups present in the batch of MMD(group, rest); with two
    groups it is MMD(a, b). A batch holding one group only adds nothing: use batches large
    enough to hold every group (MinDiff's paper draws a separate balanced batch).
    """

    def __init__(self, sensitive_features: Any, *, weight: float = 1.0, kernel: str = "gaussian",
                 kernel_length: float = 0.1, label: int | None = None) -> None:
        owner = "MinDiffLoss"
        check_scalar(weight, "weight", owner=owner, low=0.0)
        check_option(kernel, "kernel", owner=owner, options=_KERNELS)
        check_scalar(kernel_length, "kernel_length", owner=owner, low=0.0, closed="right")
        if label is not None and label not in (0, 1):
            raise AssayInputError(f"The 'label' parameter of {owner} must be None, 0 or 1. Got {label!r} instead.")
        if sensitive_features is None:
            raise AssayInputError("'sensitive_features' is required by MinDiffLoss: one value per training row. "
                                  "Got None.")
        n = len(sensitive_features) if not isinstance(sensitive_features, dict) else len(
            next(iter(sensitive_features.values())))
        codes, cells = group_codes(sensitive_features, n, owner=owner)
        if len(cells) < 2:
            raise AssayInputError(f"'sensitive_features' must hold at least two groups for MinDiffLoss. "
                                  f"Got {len(cells)}.")
        import torch

        self.codes = torch.from_numpy(codes)
        self.groups = cells
        self.weight = float(weight)
        self.kernel = kernel
        self.kernel_length = float(kernel_length)
        self.label = label

    def penalty(self, scores: torch.Tensor, y: torch.Tensor, batch_index: torch.Tensor) -> torch.Tensor:
        """The MMD term for positive-class probabilities ``scores`` (batch,) of rows ``batch_index``."""
        import torch

        codes = self.codes[batch_index].to(scores.device)
        if self.label is not None:
            keep = y == self.label
            scores, codes = scores[keep], codes[keep]
        present = torch.unique(codes)
        if len(present) < 2:
            return scores.sum() * 0.0
        terms = [mmd(scores[codes == g], scores[codes != g], kernel=self.kernel, kernel_length=self.kernel_length)
                 for g in present]
        return torch.stack(terms).mean()

    def __call__(self, module: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, batch_index: torch.Tensor
                 ) -> torch.Tensor:
        import torch

        logits = module(X)
        loss = torch.nn.functional.cross_entropy(logits, y)
        if self.weight == 0:
            return loss
        scores = torch.softmax(logits, dim=1)[:, 1]
        return loss + self.weight * self.penalty(scores, y, batch_index)


def default_module(n_features: int, random_state: Any = 0) -> Any:
    """A small MLP ``Linear(n_features, 32) - ReLU - Linear(32, 2)``, its initial weights seeded by
    ``random_state`` (torch's global RNG is left as it was)."""
    import numpy as np
    import torch

    seed = int(np.random.default_rng(random_state).integers(2**31 - 1))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(int(n_features), 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))


class MinDiffClassifier(Component):
    """A torch classifier trained with :class:`MinDiffLoss` by :func:`assay.models.fit_torch_classifier`.

    The estimator face of MinDiff (``fit(X, y, sensitive_features=)``, ``predict_proba``), so it
    sits beside the other mitigations (e.g. in :func:`compare_mitigations`): the loss is built
    at ``fit`` from the rows' sensitive features (several columns = their intersection).

    Parameters
    ----------
    module : torch.nn.Module or None
        Returns logits (n, 2) for inputs (n, d); a copy is trained (its initial weights as given).
        None: :func:`default_module` (a 32-unit MLP) seeded by ``random_state``.
    weight, kernel, kernel_length, label
        :class:`MinDiffLoss`'s (``weight=0``: plain cross-entropy, the same network unmitigated).
    epochs, batch_size, lr, random_state
        :func:`~assay.models.fit_torch_classifier`'s.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network (eval mode).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "module": ["no_validation"],
        "weight": [Interval(Real, 0, None, closed="left")],
        "kernel": [Options(str, set(_KERNELS))],
        "kernel_length": [Interval(Real, 0, None, closed="neither")],
        "label": [None, Options(int, {0, 1})],
        "epochs": [Interval(Integral, 1, None)],
        "batch_size": [Interval(Integral, 1, None)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, module: Any = None, *, weight: float = 1.0, kernel: str = "gaussian",
                 kernel_length: float = 0.1, label: int | None = None, epochs: int = 10, batch_size: int = 256,
                 lr: float = 3e-3, random_state: Any = 0) -> None:
        self.module = module
        self.weight = weight
        self.kernel = kernel
        self.kernel_length = kernel_length
        self.label = label
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> MinDiffClassifier:
        """Train on numeric ``X`` (n, d) and binary ``y`` (n,) with the MMD penalty over ``sensitive_features``."""
        import copy

        import numpy as np
        import torch

        from ...models import fit_torch_classifier

        X = np.asarray(X, dtype=np.float32)
        if self.module is None:
            module = default_module(X.shape[1] if X.ndim == 2 else 1, self.random_state)
        elif isinstance(self.module, torch.nn.Module):
            module = copy.deepcopy(self.module)
        else:
            raise AssayInputError(f"'module' must be None or a torch.nn.Module returning logits (n, 2). Got "
                                  f"{describe(self.module)}.")
        if sensitive_features is None:
            raise AssayInputError("'sensitive_features' is required by MinDiffClassifier.fit: one value per row "
                                  "of 'X'. Got None.")
        loss = MinDiffLoss(sensitive_features, weight=self.weight, kernel=self.kernel,
                           kernel_length=self.kernel_length, label=self.label)
        seed = int(np.random.default_rng(self.random_state).integers(2**31 - 1))
        self.module_ = fit_torch_classifier(module, X, y, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                                            random_state=seed, loss_fn=loss)
        self.groups_ = loss.groups
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Any) -> Any:
        """(n, 2) softmax of the trained network's logits."""
        import numpy as np
        import torch

        check_is_fitted(self, ["module_"])
        with torch.no_grad():
            logits = self.module_(torch.as_tensor(np.asarray(X, dtype=np.float32)))
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def predict(self, X: Any) -> Any:
        return self.predict_proba(X).argmax(axis=1).astype("int64")
