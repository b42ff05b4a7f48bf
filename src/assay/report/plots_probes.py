"""Plot of linear probes: held-out accuracy by layer with its interval, the control task and chance.

Reads the tables of :class:`assay.explain.ProbeResult` (``to_frame()``: one row per layer) and
imports nothing from :mod:`assay.explain`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import describe
from ._plotting import PALETTE, REFERENCE, plt

__all__ = ["plot_probe_accuracy"]

_COLUMNS = {"accuracy", "accuracy_lower", "accuracy_upper", "control_accuracy"}


def plot_probe_accuracy(probes: Any, *, title: str | None = None) -> plt.Figure:
    """Probe accuracy by layer (input to output, left to right).

    ``probes``: a probe table (``ProbeResult.to_frame()``: index = layer, columns ``accuracy``,
    ``accuracy_lower``/``accuracy_upper`` (Wilson 95%), ``control_accuracy`` and, optionally,
    ``control_lower``/``control_upper`` and ``majority``), a result with ``to_frame()``, or a dict
    property name -> either (one colour per property, e.g. one per sensitive attribute). Solid line
    with error bars: held-out accuracy; dashed, hollow markers: the control task (permuted labels);
    dotted: the majority rate (chance), one line if all properties share it, else one per property.
    """
    if isinstance(probes, pd.DataFrame) or hasattr(probes, "to_frame"):
        probes = {getattr(probes, "property_name", "property"): probes}
    if not isinstance(probes, dict) or not probes:
        raise AssayInputError(f"'probes' must be a probe table, a ProbeResult or a dict name -> either. "
                              f"Got {describe(probes)}.")
    tables = {}
    for name, table in probes.items():
        table = table.to_frame() if hasattr(table, "to_frame") else table
        if not isinstance(table, pd.DataFrame) or not _COLUMNS <= set(table.columns) or table.empty:
            raise AssayInputError(f"'probes'[{name!r}] must be a probe table with columns {sorted(_COLUMNS)}. "
                                  f"Got {describe(table)}.")
        tables[str(name)] = table
    layers = list(dict.fromkeys(str(layer) for table in tables.values() for layer in table.index))
    fig, ax = plt.subplots(figsize=(max(4.8, 0.75 * len(layers) + 2.4), 3.6))
    shift = np.linspace(-0.08, 0.08, len(tables)) if len(tables) > 1 else np.zeros(1)
    majorities: dict[str, tuple] = {}
    for i, (name, table) in enumerate(tables.items()):
        colour = PALETTE[i % len(PALETTE)]
        x = np.array([layers.index(str(layer)) for layer in table.index], dtype=float) + shift[i]
        acc = table["accuracy"].to_numpy(float)
        errors = np.vstack([acc - table["accuracy_lower"].to_numpy(float),
                            table["accuracy_upper"].to_numpy(float) - acc])
        ax.errorbar(x, acc, yerr=np.clip(errors, 0, None), marker="o", color=colour, capsize=3,
                    label=f"{name}: held-out accuracy")
        control = table["control_accuracy"].to_numpy(float)
        control_err = None
        if {"control_lower", "control_upper"} <= set(table.columns):
            control_err = np.clip(np.vstack([control - table["control_lower"].to_numpy(float),
                                             table["control_upper"].to_numpy(float) - control]), 0, None)
        ax.errorbar(x, control, yerr=control_err, marker="o", markerfacecolor="white", linestyle="--", color=colour,
                    capsize=2, alpha=0.8, label=f"{name}: control task")
        if "majority" in table.columns:
            majorities[name] = (x, table["majority"].to_numpy(float), colour)
    shared = {round(float(v), 6) for _, values, _ in majorities.values() for v in values}
    if len(shared) == 1:
        ax.axhline(shared.pop(), color=REFERENCE, linestyle=":", linewidth=1.0, label="majority rate (chance)")
    else:  # chance differs by property: one dotted line each
        for name, (x, values, colour) in majorities.items():
            ax.plot(x, values, linestyle=":", linewidth=1.0, color=colour, label=f"{name}: majority rate")
    ax.set_xticks(np.arange(len(layers)), layers, rotation=30, ha="right")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("layer")
    ax.set_ylabel("held-out accuracy")
    ax.set_title(title or "Linear probes by layer (95% Wilson intervals)", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
