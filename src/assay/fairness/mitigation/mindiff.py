"""MinDiff (Prost, Qian, Chen, Chi, Chen & Beutel 2019): an MMD penalty between the groups' score distributions.

:class:`MinDiffLoss` is a ``loss_fn`` for :func:`assay.models.fit_torch_classifier` (a plain
PyTorch loop): cross-entropy plus ``weight`` times the maximum mean discrepancy between the
positive-class probabilities of each group and of the other rows of the batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.errors import AssayInputError
from ...core.validation import check_option, check_scalar
from ._groups import group_codes

if TYPE_CHECKING:  # torch is imported when a loss is computed, not with assay.fairness
    import torch

__all__ = ["MinDiffLoss", "mmd"]

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
