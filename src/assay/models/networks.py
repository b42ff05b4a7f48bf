"""Small PyTorch reference networks with named layers for embeddings, hooks and Grad-CAM.

Both networks return logits of shape ``(n, n_classes)`` and expose

* ``penultimate`` -- a module whose output is the embedding used by OOD and representation
  checks (``assay.wrap(model).embeddings(X, layer="penultimate")``);
* ``head`` -- the final ``nn.Linear`` mapping the embedding to the logits.

No activation is applied in place, so a forward hook on any named module sees that module's
own output.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import nn

from ..core.errors import AssayInputError
from ..core.validation import check_scalar, describe

__all__ = ["DigitsCNN", "TabularMLP"]


def _check_dropout(dropout: float, owner: str) -> float:
    check_scalar(dropout, "dropout", owner=owner, kind=numbers.Real, low=0.0, high=1.0,
                 closed="left")
    return float(dropout)


class TabularMLP(nn.Module):
    """A multilayer perceptron for preprocessed tabular features.

    ``x (n, n_features) -> body -> penultimate -> dropout -> head -> logits (n, n_classes)``

    Parameters
    ----------
    n_features : int >= 1
        Number of input features (columns of the preprocessed matrix).
    n_classes : int >= 2
        Number of classes (logits per row).
    hidden : sequence of int >= 1, non-empty
        Widths of the hidden layers.
    dropout : float in [0, 1)
        Dropout rate after every hidden layer.

    Named submodules (and their outputs for an input of shape ``(n, n_features)``)
    -------------------------------------------------------------------------------
    body : nn.Sequential
        One ``Linear -> ReLU -> Dropout`` block per hidden layer except the last one;
        output ``(n, hidden[-2])`` (empty, i.e. the identity, when ``len(hidden) == 1``).
    penultimate : nn.Sequential
        The last hidden layer, ``Linear -> ReLU``; output ``(n, hidden[-1])``, the embedding.
    dropout : nn.Dropout
        Dropout of the embedding before the head; output ``(n, hidden[-1])``.
    head : nn.Linear
        ``hidden[-1] -> n_classes``; output ``(n, n_classes)``, the logits.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int = 2,
        hidden: Sequence[int] = (64, 32),
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        owner = "TabularMLP"
        check_scalar(n_features, "n_features", owner=owner, kind=numbers.Integral, low=1)
        check_scalar(n_classes, "n_classes", owner=owner, kind=numbers.Integral, low=2)
        hidden = self._check_hidden(hidden, owner)
        rate = _check_dropout(dropout, owner)

        self.n_features = int(n_features)
        self.n_classes = int(n_classes)
        self.hidden = hidden
        self.dropout_rate = rate

        blocks: list[nn.Module] = []
        width = self.n_features
        for h in hidden[:-1]:
            blocks += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(rate)]
            width = h
        self.body = nn.Sequential(*blocks)
        self.penultimate = nn.Sequential(nn.Linear(width, hidden[-1]), nn.ReLU())
        self.dropout = nn.Dropout(rate)
        self.head = nn.Linear(hidden[-1], self.n_classes)

    @staticmethod
    def _check_hidden(hidden: Sequence[int], owner: str) -> tuple[int, ...]:
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            raise AssayInputError(
                f"The 'hidden' parameter of {owner} must be a non-empty sequence of positive ints "
                f"(layer widths). Got {describe(hidden)} instead."
            )
        if len(hidden) == 0 or any(
            not isinstance(h, numbers.Integral) or isinstance(h, bool) or h < 1 for h in hidden
        ):
            raise AssayInputError(
                f"The 'hidden' parameter of {owner} must be a non-empty sequence of positive ints "
                f"(layer widths). Got {tuple(hidden)!r} instead."
            )
        return tuple(int(h) for h in hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.penultimate(self.body(x))))

    def extra_repr(self) -> str:
        return (f"n_features={self.n_features}, n_classes={self.n_classes}, "
                f"hidden={self.hidden}, dropout={self.dropout_rate}")


class DigitsCNN(nn.Module):
    """A small convolutional network for 8x8 grey-scale digit images.

    Input ``(n, 1, 8, 8)`` (pixel values in [0, 1]); output logits ``(n, n_classes)``.

    Parameters
    ----------
    n_classes : int >= 2
        Number of classes.
    dropout : float in [0, 1)
        Dropout rate on the embedding before the head.

    Named submodules, in forward order, and their outputs
    -----------------------------------------------------
    conv1 : nn.Conv2d(1, 16, 3, padding=1)   -> ``(n, 16, 8, 8)`` (pre-activation)
    relu1 : nn.ReLU                          -> ``(n, 16, 8, 8)``
    conv2 : nn.Conv2d(16, 32, 3, padding=1)  -> ``(n, 32, 8, 8)`` (pre-activation); the last
        convolution.
    relu2 : nn.ReLU                          -> ``(n, 32, 8, 8)``: the last conv's rectified
        feature maps, the usual Grad-CAM target layer.
    pool : nn.MaxPool2d(2)                   -> ``(n, 32, 4, 4)``
    penultimate : nn.Sequential(Flatten, Linear(512, 64), ReLU) -> ``(n, 64)``, the embedding.
    dropout : nn.Dropout                     -> ``(n, 64)``
    head : nn.Linear(64, n_classes)          -> ``(n, n_classes)``, the logits.
    """

    embedding_dim = 64

    def __init__(self, n_classes: int = 10, dropout: float = 0.25) -> None:
        super().__init__()
        owner = "DigitsCNN"
        check_scalar(n_classes, "n_classes", owner=owner, kind=numbers.Integral, low=2)
        rate = _check_dropout(dropout, owner)
        self.n_classes = int(n_classes)
        self.dropout_rate = rate

        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.penultimate = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 4 * 4, self.embedding_dim), nn.ReLU()
        )
        self.dropout = nn.Dropout(rate)
        self.head = nn.Linear(self.embedding_dim, self.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.conv1(x))
        x = self.pool(self.relu2(self.conv2(x)))
        return self.head(self.dropout(self.penultimate(x)))

    def extra_repr(self) -> str:
        return f"n_classes={self.n_classes}, dropout={self.dropout_rate}"
