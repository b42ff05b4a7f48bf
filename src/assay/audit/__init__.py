"""The audit: one call that runs every check that fits a model and its data.

>>> result = Audit(model, data={"train": train_df, "test": test_df}, target="income",
...                sensitive_features=["sex", "race"]).run("audit-run")   # doctest: +SKIP
"""

from .base import (CHECKS, HEADLINE_COLUMNS, NEEDS, AuditContext, Check, Finding, Threshold, grade, headline_key,
                   headline_row, known_thresholds, rate, register_check, register_need)
from .runner import Audit, AuditResult, StaleRecordWarning

__all__ = ["Audit", "AuditContext", "AuditResult", "CHECKS", "Check", "Finding", "HEADLINE_COLUMNS", "NEEDS",
           "StaleRecordWarning", "Threshold", "grade", "headline_key", "headline_row", "known_thresholds", "rate", "register_check",
           "register_need"]
