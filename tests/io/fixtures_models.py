"""Models and payloads for tests/io, importable as ``tests.io.fixtures_models``.

``build_model`` is the factory the tests name as ``"tests.io.fixtures_models:build_model"``.
The ``*Payload*`` objects run code when unpickled, as a malicious model file would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

N_FEATURES = 4
N_CLASSES = 3


class SmallNet(nn.Module):
    """A two-layer MLP returning 3 logits."""

    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.hidden = nn.Linear(N_FEATURES, hidden)
        self.act = nn.ReLU()
        self.head = nn.Linear(hidden, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.hidden(x)))


def build_model() -> SmallNet:
    """Factory: a fresh SmallNet with random weights (the weights come from the file)."""
    return SmallNet()


def build_wider_model() -> SmallNet:
    """A factory whose module does not fit SmallNet's weights (hidden size 16)."""
    return SmallNet(hidden=16)


def build_trained_model() -> SmallNet:
    """A SmallNet with fixed weights (seeded, without touching the global RNG)."""
    model = SmallNet()
    generator = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    return model


MODEL = build_trained_model()  # an instance: used as it is
NOT_A_MODEL = 42


def score(X):
    """A scoring callable with a required argument: the model itself."""
    X = np.asarray(X, dtype=np.float64)
    return np.column_stack([X[:, 0], -X[:, 0]])


def build_nothing():
    return None


def build_fails():
    raise RuntimeError("cannot build:\nno weights here")


def build_string():
    return "not a model"


def plant_marker(path: str) -> SmallNet:
    """What a malicious pickle calls: leaves a marker file, then returns a working model."""
    Path(path).write_text("payload ran")
    return build_trained_model()


class ExecPayload:
    """Unpickles to ``exec(code)``: the classic malicious pickle (code writes the marker)."""

    def __init__(self, marker: str | Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('payload ran')",))


class PayloadNet(SmallNet):
    """A full nn.Module whose pickle calls :func:`plant_marker` when loaded."""

    def __init__(self, marker: str | Path) -> None:
        super().__init__()
        self.marker = str(marker)

    def __reduce__(self):
        return (plant_marker, (self.marker,))
