"""The audit: one call that runs every check that fits a model and its data.

>>> result = Audit(model, data={"train": train_df, "test": test_df}, target="income",
...                sensitive_features=["sex", "race"]).run("audit-run")   # doctest: +SKIP
"""

from .base import CHECKS, DEFAULT_THRESHOLDS, AuditContext, Check, Finding, grade, register_check
from .runner import Audit, AuditResult

__all__ = ["Audit", "AuditContext", "AuditResult", "CHECKS", "Check", "DEFAULT_THRESHOLDS", "Finding", "grade",
           "register_check"]
