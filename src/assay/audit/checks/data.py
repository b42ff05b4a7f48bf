"""Data checks before any model: overlap, leakage, proxies, balance, missingness, shift."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from ...core.component import Interval
from ...data_checks import DEFAULT_THRESHOLDS as DATA_CHECK_THRESHOLDS
from ...data_checks import datasheet_markdown, run_data_checks
from ..base import AuditContext, Check, Finding, register_check


@register_check
class DataQualityCheck(Check):
    """Every check of :mod:`assay.data_checks` on the training vs the evaluation split.

    Its findings use :data:`assay.data_checks.DEFAULT_THRESHOLDS`, overridden by the same keys in
    ``Audit(thresholds=...)`` and then by ``thresholds=`` here; they are stored with the record,
    so the report needs no re-run.
    """

    name = "data_quality"
    title = "Data checks"
    section = "data"
    needs = frozenset({"train", "labels", "tabular"})
    order = 5

    _parameter_constraints = {"thresholds": [Mapping, None], "max_rows": [Interval(int, 1, None)]}

    def __init__(self, *, thresholds: Mapping[str, float] | None = None, max_rows: int = 20_000):
        self.thresholds = thresholds
        self.max_rows = max_rows

    def run(self, context: AuditContext):
        def split(name):
            # X holds the model's features only (assay.audit.inputs); the sensitive columns come
            # apart, so the data checks tell a model fed a sensitive column from one that is not.
            X = context.X(name)
            y = context.splits[name][1]
            label = getattr(y, "name", None)
            y = pd.Series(np.asarray(y), index=X.index, name="the label" if label is None else str(label))
            sensitive = context.sensitive_features(name)
            if sensitive is not None:
                sensitive = sensitive.set_axis(X.index)
            return SimpleNamespace(X=X, y=y, sensitive_features=sensitive)

        sensitive = context.sensitive_features()
        names = None if sensitive is None else list(sensitive.columns)
        thresholds = {k: v for k, v in context.thresholds.items() if k in DATA_CHECK_THRESHOLDS}
        thresholds.update(self.thresholds or {})
        return run_data_checks(split("train"), split(context.eval_split), sensitive_features=names,
                               thresholds=thresholds, seed=context.seed, max_rows=self.max_rows)

    def summarize(self, result) -> dict[str, Any]:
        findings = result.findings()  # against the thresholds it ran with
        return {"n_fail": sum(f.severity == "fail" for f in findings),
                "n_warn": sum(f.severity == "warn" for f in findings),
                "findings": [f.to_dict() for f in findings],
                "datasheet": datasheet_markdown(result, name="the training and evaluation data")}

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        # the data check's name goes into ``metric``; the audit check is this one
        return [Finding(self.name, f["severity"], f["message"], f["check"], None, None, f.get("evidence") or {})
                for f in summary.get("findings", [])]
