"""Monitoring a deployed model: drift per column and group, profiles, control charts, change points.

* :func:`drift_report` -- KS, Wasserstein, PSI, Jensen-Shannon, chi-square and category tests per
  column, per group and intersection, with Holm / Benjamini-Hochberg correction.
* :class:`Profile` -- mergeable per-column summaries of a reference table (batches, Dask), saved as JSON.
* :func:`mmd_test`, :func:`domain_classifier_test` -- multivariate two-sample tests.
* :mod:`assay.monitor.stats` -- the drift statistics (also used by the audit's shift check).
* :mod:`assay.monitor.charts` -- Shewhart, EWMA and CUSUM charts, change points; alerts as findings.
* :mod:`assay.monitor.anomalies` -- generalized ESD and seasonal residual anomalies of a metric series.
* :mod:`assay.monitor.performance` -- metrics per time window and group; label-free CBPE estimate.
* :func:`assay.monitor.run.run_monitor` -- what `assay monitor` computes; documents in `assay.monitor.documents`.
* :func:`assay.monitor.distributed.run_monitor_dask` -- the same on Dask DataFrames (`assay monitor --dask`):
  drift, drift per window, accuracy per window and group from partition summaries.
* :mod:`assay.monitor.embeddings` -- text columns tested through sentence embeddings
  (``drift_report(..., text_columns=[...])``).

Imports are lazy (``assay.data_checks`` imports :mod:`assay.monitor.stats`).
"""

from __future__ import annotations

from ..core._lazy import lazy_attributes

_LAZY = {
    "DriftResult": "drift",
    "drift_report": "drift",
    "Profile": "profile",
    "mmd_test": "multivariate",
    "MMDResult": "multivariate",
    "domain_classifier_test": "multivariate",
    "DomainClassifierResult": "multivariate",
    "adjust_pvalues": "stats",
    "run_monitor_dask": "distributed",
}
_SUBMODULES = ("anomalies", "charts", "distributed", "documents", "drift", "embeddings", "multivariate", "outputs",
               "performance", "profile", "run", "stats")
__all__ = ["DomainClassifierResult", "DriftResult", "MMDResult", "Profile", "adjust_pvalues", "domain_classifier_test",
           "drift_report", "mmd_test", "run_monitor_dask"]

__getattr__, __dir__ = lazy_attributes(globals(), _LAZY, _SUBMODULES)
