"""What a check is, how checks are registered, and what they see of the model and data.

A check is a small class: it declares what it needs (``needs``), runs on an
:class:`AuditContext` and returns a :class:`~assay.core.result.Result`, summarises that result
in a few headline numbers, and turns headline numbers into findings against thresholds.
Adding a check is adding one module to :mod:`assay.audit.checks` (or registering a class
from your own package with :func:`register_check`); the orchestrator is never edited.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import ModelAdapter
from ..core.component import Component
from ..core.errors import AssayInputError
from ..core.findings import SEVERITIES, Finding, grade
from ..core.result import Result
from ..core.validation import check_sensitive_features, describe

#: Capabilities a check may need; the audit offers each only where the model and data have it.
CAPABILITIES = frozenset({
    "model",               # a model to call
    "labels",              # y of the evaluation split
    "probabilities",       # the model's predict_proba on the evaluation split
    "sensitive_features",  # at least one sensitive feature
    "train",               # a training split
    "ood",                 # at least one out-of-distribution split ("ood" or "ood:<name>")
    "torch",               # a PyTorch model (gradients, embeddings)
    "tabular",             # X is a DataFrame
})

#: Default thresholds of the findings; ``Audit(thresholds=...)`` overrides any of them.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "demographic_parity_ratio_warn": 0.8,     # four-fifths rule
    "demographic_parity_ratio_fail": 0.6,
    "equalized_odds_difference_warn": 0.1,
    "equalized_odds_difference_fail": 0.2,
    "ece_warn": 0.05,                         # for the whole split and any reported group
    "ece_fail": 0.1,
    "accuracy_gap_warn": 0.05,                # largest accuracy difference between groups
    "accuracy_gap_fail": 0.1,
    "ood_auroc_warn": 0.8,
    "ood_rejection_ratio_warn": 0.5,          # a group refused twice as often as another
    "membership_advantage_warn": 0.1,
}


def is_ood_split(name: str) -> bool:
    """True for the split names that hold out-of-distribution inputs: "ood" and "ood:<name>"."""
    return name == "ood" or name.startswith("ood:")


@dataclasses.dataclass
class AuditContext:
    """The model and data every check sees; model outputs come from the adapter's cache.

    ``splits`` maps a split name to ``(X, y, sensitive_features)``; ``eval_split`` names the
    split the checks evaluate on (default "test").
    """

    model: ModelAdapter | None
    splits: Mapping[str, tuple[Any, Any, pd.DataFrame | None]]
    eval_split: str = "test"
    seed: int = 0
    thresholds: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))

    # ---- what the audit offers
    def capabilities(self) -> frozenset[str]:
        caps = set()
        if self.model is not None:
            caps |= {"model", "probabilities"}
            if self.model.kind == "torch":
                caps.add("torch")
        X, y, sensitive = self.splits[self.eval_split]
        if y is not None:
            caps.add("labels")
        if sensitive is not None and sensitive.shape[1] > 0:
            caps.add("sensitive_features")
        if "train" in self.splits and self.eval_split != "train":
            caps.add("train")
        if self.ood_splits():
            caps.add("ood")
        if isinstance(X, pd.DataFrame):
            caps.add("tabular")
        return frozenset(caps)

    def ood_splits(self) -> list[str]:
        """Names of the out-of-distribution splits, in the order given."""
        return [name for name in self.splits if is_ood_split(name)]

    # ---- data and outputs of a split (default: the evaluation split)
    def X(self, split: str | None = None) -> Any:
        return self.splits[split or self.eval_split][0]

    def y(self, split: str | None = None) -> np.ndarray:
        return np.asarray(self.splits[split or self.eval_split][1])

    def sensitive_features(self, split: str | None = None) -> pd.DataFrame:
        return self.splits[split or self.eval_split][2]

    def predict_proba(self, split: str | None = None) -> np.ndarray:
        return self.model.predict_proba(self.X(split))

    def predict(self, split: str | None = None) -> np.ndarray:
        return self.model.predict(self.X(split))

    def positive_score(self, split: str | None = None) -> np.ndarray:
        """P(positive class) for binary models, shape (n,)."""
        proba = self.predict_proba(split)
        if proba.shape[1] != 2:
            raise AssayInputError(f"This check needs a binary model; the model has {proba.shape[1]} classes.")
        return proba[:, 1]


class Check(Component):
    """Base class of audit checks.

    Subclasses set ``name`` (unique, snake_case), ``title``, ``section`` (the report section),
    ``needs`` (capabilities from :data:`CAPABILITIES`), take their parameters as keyword
    arguments of ``__init__`` (stored as given, as scikit-learn estimators do), and implement
    :meth:`run`, :meth:`summarize` and :meth:`findings`. ``get_params`` (recorded in
    report.json), ``set_params``, ``__repr__`` and the validation of
    ``_parameter_constraints`` at the start of ``run`` come from
    :class:`~assay.core.component.Component`.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    section: ClassVar[str] = "other"
    needs: ClassVar[frozenset[str]] = frozenset()
    #: The order in which checks run and appear (lower first); ties by name.
    order: ClassVar[int] = 100

    def applicable(self, context: AuditContext) -> str | None:
        """None if the check can run, else the reason it cannot (e.g. "needs a torch model")."""
        missing = sorted(self.needs - context.capabilities())
        return f"needs {', '.join(missing)}" if missing else None

    def layers(self, context: AuditContext) -> list[str]:
        """Names of the torch model's layers this check reads (embeddings).

        The audit captures them on the first forward pass of each split, whichever check makes
        it, so that every check together costs one pass per split.
        """
        return []

    def run(self, context: AuditContext) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError

    def summarize(self, result: Result) -> dict[str, float | None]:
        """Headline numbers of the result (JSON-safe), read by the findings and the model card."""
        return {}

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        """Findings from the headline numbers; thresholds may change without re-running the check."""
        return []



#: Registered checks by name.
CHECKS: dict[str, type[Check]] = {}


def register_check(cls: type[Check]) -> type[Check]:
    """Class decorator: make a :class:`Check` available to ``Audit(checks=[name, ...])`` and "auto"."""
    if not (isinstance(cls, type) and issubclass(cls, Check)) or not cls.name:
        raise AssayInputError(f"'cls' must be a Check subclass with a non-empty 'name'. Got {describe(cls)}.")
    unknown = cls.needs - CAPABILITIES
    if unknown:
        raise AssayInputError(f"Check {cls.name!r} needs unknown capabilities {sorted(unknown)}; "
                              f"expected a subset of {sorted(CAPABILITIES)}.")
    existing = CHECKS.get(cls.name)
    if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
        raise AssayInputError(f"A check named {cls.name!r} is already registered ({existing.__qualname__}).")
    CHECKS[cls.name] = cls
    return cls


def registered_checks() -> dict[str, type[Check]]:
    """Every registered check class by name, the built-in ones included (imported on first use)."""
    from . import checks as _builtin  # noqa: F401 - registers the built-in checks

    return CHECKS


def resolve_checks(checks: str | Sequence[str | Check], context: AuditContext) -> tuple[list[Check], dict[str, str]]:
    """The checks to run, in order, and the skipped ones with their reasons.

    ``"auto"`` selects every registered check that applies; a list may hold names or instances.
    An explicitly named check that does not apply is an error.
    """
    registered_checks()

    skipped: dict[str, str] = {}
    if isinstance(checks, str):
        if checks != "auto":
            raise AssayInputError(f"'checks' must be 'auto' or a list of check names. Got {checks!r}; "
                                  f"available checks: {sorted(CHECKS)}.")
        selected: list[Check] = []
        for name in sorted(CHECKS, key=lambda n: (CHECKS[n].order, n)):
            check = CHECKS[name]()
            reason = check.applicable(context)
            if reason:
                skipped[name] = reason
            else:
                selected.append(check)
        return selected, skipped
    selected = []
    for item in checks:
        if isinstance(item, Check):
            check = item
        elif isinstance(item, str) and item in CHECKS:
            check = CHECKS[item]()
        else:
            raise AssayInputError(f"'checks' names unknown check {item!r}. Available: {sorted(CHECKS)}.")
        reason = check.applicable(context)
        if reason:
            raise AssayInputError(f"'checks' asks for {check.name!r}, which cannot run here: it {reason}.")
        selected.append(check)
    names = [c.name for c in selected]
    if len(set(names)) != len(names):
        raise AssayInputError(f"'checks' names a check twice: {names}.")
    return selected, skipped


def as_sensitive_frame(value: Any, *, n_samples: int, name: str) -> pd.DataFrame | None:
    """Sensitive features of one split as a DataFrame (validated), or None."""
    if value is None:
        return None
    return check_sensitive_features(value, n_samples=n_samples, name=name)
