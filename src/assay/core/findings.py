"""Findings: a measured number judged against a threshold ("pass", "warn" or "fail").

One type for every part of assay that judges numbers: the data checks, the audit's checks and
the report's summary of findings all hold :class:`Finding` objects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from .result import Result

#: Severities, least severe first; "error": a check raised, so nothing was judged (worse than "fail").
SEVERITIES = ("pass", "warn", "fail", "error")


@dataclasses.dataclass(frozen=True)
class Finding(Result):
    """A judgement on one measured number: ``severity`` is "pass", "warn" or "fail" ("error": the
    check that should have measured it raised)."""

    check: str
    severity: str
    message: str
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    evidence: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def grade(check: str, metric: str, value: float | None, *, warn: float, fail: float | None = None,
          higher_is_better: bool, what: str, evidence: Mapping[str, Any] | None = None) -> Finding:
    """A finding from one number and its warn/fail thresholds; NaN/None is a warning (unmeasured)."""
    if value is None or not np.isfinite(value):
        return Finding(check, "warn", f"{what} could not be measured (undefined).", metric, None, warn,
                       dict(evidence or {}))

    def worse(limit):
        return value < limit if higher_is_better else value > limit

    severity = "fail" if fail is not None and worse(fail) else "warn" if worse(warn) else "pass"
    limit = fail if severity == "fail" else warn
    relation = ("below" if higher_is_better else "above") if severity != "pass" else (
        "at or above" if higher_is_better else "at or below")
    message = f"{what} is {value:.3f}, {relation} the {'fail' if severity == 'fail' else 'warn'} threshold {limit:g}."
    return Finding(check, severity, message, metric, float(value), float(limit), dict(evidence or {}))
