"""Out-of-distribution (OOD) detection: is this input like the data the model was trained on?

Detectors (scikit-learn style: ``fit``, ``score``, ``fit_threshold``, ``predict``; scores are
higher for inputs that look more out-of-distribution):

* from the logits (:mod:`.output`): :class:`MaxSoftmax`, :class:`MaxLogit`, :class:`Energy`,
  :class:`Entropy`, :class:`GEN`, :class:`KLMatching`, :class:`ODIN` (input perturbation,
  torch models);
* from the embeddings of a named layer (:mod:`.feature`): :class:`Mahalanobis`,
  :class:`RelativeMahalanobis`, :class:`KNN`, :class:`ViM`, :class:`ReAct`;
* from the raw inputs (:mod:`.inputs`): :class:`IsolationForestDetector`,
  :class:`GaussianMixtureDetector`.

Evaluation (:mod:`.evaluation`, :mod:`.thresholds`, :mod:`.groups`): :func:`ood_metrics` (AUROC,
AUPR-in/out, FPR at a TPR, detection error), :func:`evaluate_scores` / :func:`evaluate_detectors`
(many detectors x many OOD sets, bootstrap CIs), :func:`threshold_at_tpr`,
:func:`threshold_report`, :func:`selective_prediction` (risk-coverage), :func:`ood_threshold_sweep`
(precision/recall/F1 of "in vs out" per threshold), :func:`ood_confusion_matrix` and
:func:`rejection_by_group` (share of each group's in-distribution inputs refused);
:func:`audit_detectors` (every fitting detector against every OOD set, as the audit reports it);
:func:`project_embeddings` (2-D PCA / t-SNE / UMAP of features, drawn by the report layer).
"""

from ._base import OODDetector, capture_layers
from .feature import KNN, Mahalanobis, ReAct, RelativeMahalanobis, ViM
from .inputs import GaussianMixtureDetector, IsolationForestDetector
from .evaluation import OODEvaluation, evaluate_detectors, evaluate_scores, ood_metrics, roc_curve_points
from .groups import rejection_by_group
from .output import GEN, ODIN, Energy, Entropy, KLMatching, MaxLogit, MaxSoftmax
from .projection import Projection, project_embeddings
from .study import DetectorAudit, audit_detectors
from .thresholds import (
    OODThresholdSweep,
    SelectivePrediction,
    ThresholdReport,
    ood_confusion_matrix,
    ood_threshold_sweep,
    selective_prediction,
    threshold_at_tpr,
    threshold_report,
)

__all__ = [
    "GEN",
    "KNN",
    "ODIN",
    "Energy",
    "Entropy",
    "GaussianMixtureDetector",
    "IsolationForestDetector",
    "KLMatching",
    "Mahalanobis",
    "MaxLogit",
    "MaxSoftmax",
    "OODDetector",
    "OODEvaluation",
    "OODThresholdSweep",
    "DetectorAudit",
    "Projection",
    "SelectivePrediction",
    "ThresholdReport",
    "ReAct",
    "RelativeMahalanobis",
    "ViM",
    "audit_detectors",
    "capture_layers",
    "evaluate_detectors",
    "evaluate_scores",
    "ood_confusion_matrix",
    "ood_metrics",
    "ood_threshold_sweep",
    "project_embeddings",
    "rejection_by_group",
    "roc_curve_points",
    "selective_prediction",
    "threshold_at_tpr",
    "threshold_report",
]
