"""Membership-inference ROC curves on log-log axes, one curve per group (Carlini et al. 2022's plot)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import describe
from ._plotting import PALETTE, plt

_LINESTYLES = ("-", "--", ":", "-.")


def plot_membership_roc(roc: pd.DataFrame, *, feature: str | None = None,
                        title: str = "Membership inference ROC (log-log)") -> plt.Figure:
    """TPR against FPR on log-log axes, overall and per group of ``feature`` (default: the first).

    ``roc`` has columns ``feature``, ``group``, ``fpr``, ``tpr`` (:attr:`MembershipAttackResult.roc`);
    the diagonal is a guessing attacker. Low FPR is where an attack is dangerous: a curve above the
    diagonal at FPR 1e-3 identifies some members with confidence.
    """
    needed = {"feature", "group", "fpr", "tpr"}
    if not isinstance(roc, pd.DataFrame) or not needed <= set(roc.columns):
        raise AssayInputError(f"'roc' must be a DataFrame with columns {sorted(needed)}. Got {describe(roc)}.")
    features = [f for f in dict.fromkeys(roc["feature"]) if f != "overall"]
    if feature is None:
        feature = features[0] if features else None
    elif feature not in features:
        raise AssayInputError(f"'feature' must be one of {features}. Got {feature!r}.")
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    curves = [("overall", roc[roc["feature"] == "overall"])]
    if feature is not None:
        part = roc[roc["feature"] == feature]
        curves += [(f"{feature}: {g}", part[part["group"] == g]) for g in dict.fromkeys(part["group"])]
    floor = 1e-4
    for j, (label, curve) in enumerate(curves):
        fpr = np.clip(curve["fpr"].to_numpy(float), floor, 1)
        tpr = np.clip(curve["tpr"].to_numpy(float), floor, 1)
        ax.step(fpr, tpr, where="post", color=PALETTE[j % len(PALETTE)], linestyle=_LINESTYLES[j % 4],
                linewidth=2.0 if j == 0 else 1.3, label=str(label))
    ax.plot([floor, 1], [floor, 1], color="grey", linewidth=0.8, linestyle=":", label="guessing")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(floor, 1)
    ax.set_ylim(floor, 1)
    ax.set_xlabel("false positive rate (non-members flagged)")
    ax.set_ylabel("true positive rate (members found)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
