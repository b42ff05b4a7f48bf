"""Data checks before any model: overlap, leakage, proxies, balance, missingness, shift."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from ...core.component import Interval
from ...data_checks import DEFAULT_THRESHOLDS as DATA_CHECK_DEFAULTS
from ...data_checks import datasheet_markdown, run_data_checks
from ..base import AuditContext, Check, Finding, Threshold, rate, register_check


def _data(key: str, doc: str, make=rate, **kwargs) -> Threshold:
    """A threshold :func:`run_data_checks` grades with while it runs (so it is part of the run's config)."""
    return make(DATA_CHECK_DEFAULTS[key], doc, at_run=True, **kwargs)


@register_check
class DataQualityCheck(Check):
    """Every check of :mod:`assay.data_checks` on the training vs the evaluation split.

    Its thresholds (the class attribute below, defaults from :data:`assay.data_checks.DEFAULT_THRESHOLDS`)
    are overridden by the same keys in ``Audit(thresholds=...)`` and then by the ``thresholds=``
    parameter here; the data checks grade while they run, so the findings are stored with the
    record and the thresholds are part of the run's configuration.
    """

    name = "data_quality"
    title = "Data checks"
    section = "data"
    needs = frozenset({"train", "labels", "tabular"})
    order = 5
    thresholds = {
        "overlap_fail_fraction": _data("overlap_fail_fraction", "share of test rows also in train that fails"),
        "near_duplicate_distance": _data("near_duplicate_distance", "RMS standardised distance of a near-duplicate",
                                         Threshold, low=0.0),
        "near_duplicate_fraction": _data("near_duplicate_fraction", "share of test rows with a near-duplicate that warns"),
        "leakage_auc": _data("leakage_auc", "AUC of one feature alone that warns (suspected leak)",
                             low=0.5, higher_is_better=False),
        "leakage_auc_fail": _data("leakage_auc_fail", "AUC of one feature alone that fails (a leak)",
                                  low=0.5, higher_is_better=False, warn="leakage_auc"),
        "proxy_auc": _data("proxy_auc", "AUC of a feature predicting a sensitive attribute that warns", low=0.5),
        "imbalance_ratio": _data("imbalance_ratio", "rows of the largest class / of the smallest that warns",
                                 Threshold, low=1.0),
        "base_rate_difference": _data("base_rate_difference", "base-rate difference between groups that warns"),
        "min_group_size": _data("min_group_size", "groups with fewer rows are too small to report",
                                Threshold, low=0, integer=True),
        "alpha": _data("alpha", "significance level of the missingness and shift tests", closed="neither"),
        "missing_effect": _data("missing_effect", "Cramér's V of missing vs group that warns"),
        "psi": _data("psi", "population stability index that flags a drifted feature", Threshold, low=0.0),
        "ks_statistic": _data("ks_statistic", "KS statistic that flags a drifted numeric feature"),
    }

    _parameter_constraints = {"thresholds": [Mapping, None], "max_rows": [Interval(int, 1, None)]}
    advice = {
        "group_sizes": "Metrics of these groups will be too noisy to judge: collect more data for them or report "
                       "them only with their intervals.",
        "leakage": "A feature this predictive often encodes the label itself (recorded after the outcome): check "
                   "how it was collected and drop it if it would not exist at prediction time.",
        "proxies": "Dropping the sensitive column does not stop a model from using it through these features: "
                   "measure fairness on the model's outputs rather than relying on blindness.",
        "sensitive_in_features": "A model may use the sensitive attribute directly: drop it from the features "
                                 "unless its use is lawful and intended, and audit the outcome either way.",
        "base_rates": "With different base rates, demographic parity and equal error rates conflict: decide which "
                      "fairness criterion applies before mitigating.",
        "missingness": "Values missing more often for some groups bias what the model learns about them: check "
                       "how missing values are imputed, per group.",
        "distribution_shift": "The test split does not look like the training split, so test metrics may not "
                              "hold in use: check how the splits were drawn.",
        "train_test_overlap": "Test rows seen in training inflate every test metric: deduplicate before "
                              "evaluating.",
        "near_duplicates": "Test rows almost identical to training rows inflate test metrics: deduplicate or split "
                           "by entity.",
        "class_balance": "With a rare class, accuracy says little: read balanced accuracy, TPR and PPV, and "
                         "consider class weights or a tuned threshold.",
    }

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
        thresholds = {k: context.thresholds.get(k, spec.default) for k, spec in type(self).thresholds.items()}
        thresholds.update(self.thresholds or {})
        return run_data_checks(split("train"), split(context.eval_split), sensitive_features=names,
                               thresholds=thresholds, random_state=context.random_state, max_rows=self.max_rows)

    def summarize(self, result) -> dict[str, Any]:
        findings = result.findings()  # against the thresholds it ran with
        return {"n_fail": sum(f.severity == "fail" for f in findings),
                "n_warn": sum(f.severity == "warn" for f in findings),
                "findings": [f.to_dict() for f in findings],
                "datasheet": datasheet_markdown(result, name="the training and evaluation data")}

    #: Data-check findings that are caveats of any model trained on the data (the model card's).
    _CAVEATS = ("sensitive_in_features", "proxies", "base_rates")

    @classmethod
    def card(cls, record) -> dict[str, list[str]]:
        """Model card caveats: sensitive columns among the features, proxies, base-rate differences."""
        from ...report import escape_markdown

        found = [f for f in (record.get("summary") or {}).get("findings", [])
                 if f.get("check") in cls._CAVEATS and f.get("severity") in ("warn", "fail")]
        return {"Caveats and recommendations": [f"- {escape_markdown(f['message'])}" for f in found]} if found else {}

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        # the data check's name goes into ``metric``; the audit check is this one
        return [Finding(self.name, f["severity"], f["message"], f["check"], None, None, f.get("evidence") or {})
                for f in summary.get("findings", [])]
