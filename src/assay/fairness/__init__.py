"""Fairness: group-fairness measures, statistical tests of gaps, and a report.

* :mod:`~assay.fairness.measures` -- plain functions returning floats, in Fairlearn's vocabulary
  (``demographic_parity_difference/ratio``, ``equalized_odds_difference/ratio``,
  ``equal_opportunity_difference/ratio``, predictive parity, error-rate / FNR / FPR gaps,
  treatment equality, calibration within groups) and AIF360's (``statistical_parity_difference``,
  ``disparate_impact``, ``disparate_impact_score``, ``average_odds_difference``, Theil and
  generalized entropy indices, k-NN ``consistency_score``), and on the data alone
  (``label_base_rates``, ``label_disparate_impact``).
* :mod:`~assay.fairness.significance` -- is a gap real? ``two_proportion_test``, ``gap_test``
  (z test, Newcombe interval, chi-square across groups), ``disparate_impact_null`` (bootstrap
  interval and permutation null).
* :mod:`~assay.fairness.disparity` -- ``disparity_summary``: std, variance, range, ratio and
  coefficient of variation of each metric across many groups.
* :mod:`~assay.fairness.mitigation` -- estimators that close a gap: ``Reweighing``,
  ``GroupResampler``, ``DisparateImpactRemover``, ``SensitiveFeatureRemover``, ``ExponentiatedGradient``,
  ``MinDiffLoss``, ``MinDiffClassifier``, ``AdversarialDebiasing``, ``GroupThresholds``, ``RejectOptionClassifier``,
  ``CostSensitiveThreshold``, ``compare_mitigations``.
* :mod:`~assay.fairness.report` -- ``fairness_report``: every measure per feature and
  intersection, with bootstrap intervals and pass / fail / uncertain flags.

Per-group rates come from :mod:`assay.metrics` (the one home of metric formulas). Several
sensitive-feature columns passed to a plain function are read as their intersection, as
Fairlearn does.
"""

from .disparity import DisparitySummary, disparity_summary
from .measures import (
    average_odds_difference,
    calibration_by_group,
    calibration_difference,
    consistency_score,
    demographic_parity_difference,
    demographic_parity_ratio,
    disparate_impact,
    disparate_impact_score,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    error_rate_difference,
    false_negative_rate_difference,
    false_positive_rate_difference,
    generalized_entropy_index,
    label_base_rates,
    label_disparate_impact,
    metric_difference,
    metric_ratio,
    predictive_parity_difference,
    predictive_parity_ratio,
    privileged_difference,
    privileged_ratio,
    statistical_parity_difference,
    theil_index,
    treatment_equality,
    treatment_equality_difference,
)
from .mitigation import (
    AdversarialDebiasing,
    CostSensitiveThreshold,
    DisparateImpactRemover,
    ExponentiatedGradient,
    GroupResampler,
    GroupThresholds,
    MinDiffClassifier,
    MinDiffLoss,
    MitigationComparison,
    RejectOptionClassifier,
    Reweighing,
    SensitiveFeatureRemover,
    compare_mitigations,
)
from .report import FairnessReport, fairness_report
from .significance import (
    DisparateImpactNull,
    GapTest,
    TwoProportionTest,
    disparate_impact_null,
    gap_test,
    two_proportion_test,
)

__all__ = [
    "AdversarialDebiasing",
    "CostSensitiveThreshold",
    "DisparateImpactNull",
    "DisparateImpactRemover",
    "DisparitySummary",
    "ExponentiatedGradient",
    "FairnessReport",
    "GapTest",
    "GroupResampler",
    "GroupThresholds",
    "MinDiffClassifier",
    "MinDiffLoss",
    "MitigationComparison",
    "RejectOptionClassifier",
    "Reweighing",
    "SensitiveFeatureRemover",
    "TwoProportionTest",
    "average_odds_difference",
    "calibration_by_group",
    "compare_mitigations",
    "calibration_difference",
    "consistency_score",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "disparate_impact",
    "disparate_impact_null",
    "disparate_impact_score",
    "disparity_summary",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "error_rate_difference",
    "fairness_report",
    "false_negative_rate_difference",
    "false_positive_rate_difference",
    "gap_test",
    "generalized_entropy_index",
    "label_base_rates",
    "label_disparate_impact",
    "metric_difference",
    "metric_ratio",
    "predictive_parity_difference",
    "predictive_parity_ratio",
    "privileged_difference",
    "privileged_ratio",
    "statistical_parity_difference",
    "theil_index",
    "treatment_equality",
    "treatment_equality_difference",
    "two_proportion_test",
]
