"""Thresholds for out-of-distribution (OOD) detectors, and what they do in practice.

Convention: an OOD score is higher for inputs that look more out-of-distribution; an input is
flagged (rejected) as OOD when its score is strictly greater than the threshold ``t``, and
accepted when ``score <= t``.

* :func:`threshold_at_tpr` fits ``t`` on in-distribution scores (keep a share ``tpr``);
  :func:`threshold_report` fits it on validation data and reports held-out rates.
* :func:`selective_prediction`: the risk-coverage curve of a model that abstains on the inputs
  it finds most OOD (or least confident), and its area (AURC, Geifman & El-Yaniv, 2017).
* :func:`ood_threshold_sweep`: precision, recall and F1 of "out" at every candidate threshold.
* :func:`ood_confusion_matrix`: the class confusion matrix with an OOD row and a rejection column.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import as_array, check_bool, check_consistent_length, check_scalar, describe

__all__ = [
    "OOD_COLUMN",
    "OOD_ROW",
    "OODThresholdSweep",
    "SelectivePrediction",
    "ThresholdReport",
    "ood_confusion_matrix",
    "ood_threshold_sweep",
    "selective_prediction",
    "threshold_at_tpr",
    "threshold_report",
]

OOD_ROW = "out of distribution"
"""Label of the extra row (true OOD inputs) of :func:`ood_confusion_matrix`."""
OOD_COLUMN = "rejected as OOD"
"""Label of the extra column (inputs rejected by the detector) of :func:`ood_confusion_matrix`."""


def _scores(x: Any, name: str, *, min_samples: int = 1) -> np.ndarray:
    """Finite 1-D float64 scores, at least ``min_samples`` of them."""
    return as_array(x, name=name, ndim=1, dtype=np.float64, min_samples=min_samples)


def _check_tpr(tpr: Any, owner: str) -> float:
    check_scalar(tpr, "tpr", owner=owner, kind=numbers.Real, low=0.0, high=1.0, closed="neither")
    return float(tpr)


def _as_bool(x: Any, name: str) -> np.ndarray:
    """A 1-D boolean array from booleans or 0/1 values."""
    arr = as_array(x, name=name, ndim=1)
    if arr.dtype == bool:
        return arr
    try:
        values = arr.astype(np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or not np.isin(values, (0.0, 1.0)).all():
        raise AssayInputError(
            f"'{name}' must hold booleans (or 0/1). Got {describe(arr)} with values such as "
            f"{pd.unique(arr)[:5].tolist()}."
        )
    return values.astype(bool)


# ---------------------------------------------------------------------------------------------
# Threshold at a target TPR
# ---------------------------------------------------------------------------------------------


def _threshold_sorted(s: np.ndarray, tpr: float) -> float:
    # Sorted position k accepts at least k + 1 inputs (more with ties at s[k]); a value below
    # s[k] accepts at most k. So the answer is s[k] for the smallest k with (k + 1) / n >= tpr,
    # computed with the same floating-point division as the definition.
    share = np.arange(1, len(s) + 1, dtype=np.float64) / len(s)
    return float(s[int(np.argmax(share >= tpr))])


def threshold_at_tpr(scores_in: Any, tpr: float = 0.95) -> float:
    """The smallest threshold that accepts at least a share ``tpr`` of in-distribution inputs.

    Parameters
    ----------
    scores_in : array-like of shape (n,)
        OOD scores of in-distribution inputs (higher = more out-of-distribution); finite.
    tpr : float in (0, 1)
        Target true positive rate, in-distribution counting as positive (Liang et al., 2018).

    Returns
    -------
    float
        The smallest ``t`` among ``scores_in`` with ``mean(scores_in <= t) >= tpr``: flagging
        inputs with ``score > t`` as OOD keeps at least ``tpr`` of in-distribution inputs.
    """
    s = np.sort(_scores(scores_in, "scores_in"))
    tpr = _check_tpr(tpr, "threshold_at_tpr")
    return _threshold_sorted(s, tpr)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ThresholdReport(Result):
    """A threshold fitted on validation in-distribution scores, and its held-out rates.

    Attributes
    ----------
    threshold : float
        Inputs with ``score > threshold`` are rejected as OOD.
    target_tpr : float
        The in-distribution acceptance rate asked for.
    validation_tpr : float
        Share of validation in-distribution inputs accepted (``>= target_tpr`` by construction).
    test_tpr : float
        Share of held-out in-distribution inputs accepted: the rate to expect in use.
    fpr : dict
        OOD set -> share of its inputs accepted (missed by the detector).
    n : dict
        ``"validation"``, ``"test"`` and every OOD set -> number of inputs.
    """

    threshold: float
    target_tpr: float
    validation_tpr: float
    test_tpr: float
    fpr: dict[str, float]
    n: dict[str, int]


    def to_frame(self) -> pd.DataFrame:
        """One row per data set: columns ``data``, ``role`` ("in (validation)", "in (test)" or
        "ood"), ``n``, ``accepted`` and ``rejected`` (shares)."""
        rows = [("validation", "in (validation)", self.n["validation"], self.validation_tpr),
                ("test", "in (test)", self.n["test"], self.test_tpr)]
        rows += [(name, "ood", self.n[name], value) for name, value in self.fpr.items()]
        frame = pd.DataFrame(rows, columns=["data", "role", "n", "accepted"])
        frame["rejected"] = 1.0 - frame["accepted"]
        return frame

    def __repr__(self) -> str:
        return (f"ThresholdReport(threshold={self.threshold:.6g}, target_tpr={self.target_tpr:g}, "
                f"test_tpr={self.test_tpr:.4f}, fpr={ {k: round(v, 4) for k, v in self.fpr.items()} })")


def threshold_report(scores_val_in: Any, scores_test_in: Any, scores_out: Mapping[str, Any], *,
                     tpr: float = 0.95) -> ThresholdReport:
    """Fit the threshold on validation in-distribution scores; report held-out rates.

    Parameters
    ----------
    scores_val_in : array-like of shape (n_val,)
        OOD scores of validation in-distribution inputs: the threshold is fitted on these only.
    scores_test_in : array-like of shape (n_test,)
        OOD scores of held-out in-distribution inputs: the achieved TPR (share accepted).
    scores_out : mapping of str to array-like
        OOD set name -> scores: the FPR (share accepted) of each set.
    tpr : float in (0, 1), default 0.95
        Target share of in-distribution inputs to accept.
    """
    owner = "threshold_report"
    tpr = _check_tpr(tpr, owner)
    val = np.sort(_scores(scores_val_in, "scores_val_in"))
    test = _scores(scores_test_in, "scores_test_in")
    if not isinstance(scores_out, Mapping):
        raise AssayInputError(
            f"'scores_out' must be a mapping (dict) of OOD set name -> scores. Got {describe(scores_out)} instead."
        )
    outs = {str(k): _scores(v, f"scores_out[{k!r}]") for k, v in scores_out.items()}
    t = _threshold_sorted(val, tpr)
    return ThresholdReport(
        threshold=t,
        target_tpr=tpr,
        validation_tpr=float(np.mean(val <= t)),
        test_tpr=float(np.mean(test <= t)),
        fpr={k: float(np.mean(v <= t)) for k, v in outs.items()},
        n={"validation": len(val), "test": len(test), **{k: len(v) for k, v in outs.items()}},
    )


# ---------------------------------------------------------------------------------------------
# Selective prediction: risk-coverage
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SelectivePrediction(Result):
    """Risk-coverage curve of a model that answers only on the inputs it accepts.

    Inputs are accepted from the least OOD (most confident) on; each distinct score is one
    threshold, so tied inputs are accepted together. Arrays have shape ``(m,)``, ``m`` the
    number of distinct scores, in order of increasing coverage.

    Attributes
    ----------
    thresholds : ndarray
        The score (in the units given) at which each point accepts: ``score <= threshold``
        with ``higher_is_ood``, ``score >= threshold`` otherwise.
    coverage : ndarray
        Share of inputs accepted, in (0, 1]; the last point is 1.
    risk : ndarray
        Error rate on the accepted inputs (``1 - accuracy``).
    accuracy : ndarray
        Accuracy on the accepted inputs.
    aurc : float
        Area under the risk-coverage curve, ``sum_j (coverage_j - coverage_{j-1}) risk_j``
        (coverage_0 = 0): without ties, the mean over ``k = 1..n`` of the risk of the ``k`` most
        accepted inputs (Geifman & El-Yaniv, 2017; Geifman et al., 2019). Lower is better.
    aacc : float
        Area under the accuracy-coverage curve, the same sum with accuracy: ``1 - aurc``.
    excess_aurc : float
        ``aurc`` minus that of a perfect ordering (every correct input accepted before any
        error, no ties): ``(1/n) sum_{k > n_c} (k - n_c) / k`` with ``n_c`` correct inputs, the
        finite-sample form of ``r + (1 - r) ln(1 - r)`` for the error rate ``r`` (E-AURC,
        Geifman et al., 2019). 0 is perfect.
    higher_is_ood : bool
    n : int
    """

    thresholds: np.ndarray
    coverage: np.ndarray
    risk: np.ndarray
    accuracy: np.ndarray
    aurc: float
    aacc: float
    excess_aurc: float
    higher_is_ood: bool
    n: int


    def to_frame(self) -> pd.DataFrame:
        """Columns ``threshold``, ``coverage``, ``risk``, ``accuracy``; one row per point."""
        return pd.DataFrame({"threshold": self.thresholds, "coverage": self.coverage, "risk": self.risk,
                             "accuracy": self.accuracy})

    def risk_at_coverage(self, coverage: float) -> float:
        """The risk of the first point whose coverage is at least ``coverage`` (in (0, 1])."""
        check_scalar(coverage, "coverage", owner="SelectivePrediction.risk_at_coverage", kind=numbers.Real,
                     low=0.0, high=1.0, closed="right")
        return float(self.risk[int(np.argmax(self.coverage >= coverage - 1e-12))])

    def __repr__(self) -> str:
        return (f"SelectivePrediction(n={self.n}, aurc={self.aurc:.4f}, aacc={self.aacc:.4f}, "
                f"risk at full coverage={self.risk[-1]:.4f})")


def selective_prediction(confidence_or_ood_score: Any, correct: Any, *, higher_is_ood: bool = True
                         ) -> SelectivePrediction:
    """Risk-coverage and accuracy-coverage of abstaining on the most OOD (least confident) inputs.

    Parameters
    ----------
    confidence_or_ood_score : array-like of shape (n,)
        Per input: an OOD score (``higher_is_ood=True``: higher is rejected first) or a
        confidence (``higher_is_ood=False``: lower is rejected first); finite.
    correct : array-like of shape (n,)
        Whether the model's prediction for the input is correct (bool or 0/1).
    higher_is_ood : bool, default True

    Returns
    -------
    SelectivePrediction
        The curve (one point per distinct score, sorted once) and its areas.
    """
    owner = "selective_prediction"
    higher = check_bool(higher_is_ood, "higher_is_ood", owner=owner)
    score = _scores(confidence_or_ood_score, "confidence_or_ood_score")
    ok = _as_bool(correct, "correct")
    n = check_consistent_length(confidence_or_ood_score=score, correct=ok)
    key = score if higher else -score  # accept ascending key
    order = np.argsort(key, kind="stable")
    k_sorted, err_sorted = key[order], ~ok[order]
    last = np.flatnonzero(np.r_[k_sorted[1:] != k_sorted[:-1], True])  # last position of each tie block
    accepted = (last + 1).astype(np.float64)
    errors = np.cumsum(err_sorted)[last].astype(np.float64)
    coverage = accepted / n
    risk = errors / accepted
    steps = np.diff(np.r_[0.0, coverage])
    aurc = float(np.sum(steps * risk))
    # A perfect ordering accepts the correct inputs first: risk 0 up to k = n_correct, then
    # (k - n_correct) / k; its AURC (no ties) is the mean of those risks over k = 1..n.
    n_correct = n - int(errors[-1])
    k = np.arange(n_correct + 1, n + 1, dtype=np.float64)
    optimal = float(np.sum((k - n_correct) / k) / n)
    thresholds = k_sorted[last] if higher else -k_sorted[last]
    return SelectivePrediction(thresholds=thresholds, coverage=coverage, risk=risk, accuracy=1.0 - risk,
                               aurc=aurc, aacc=float(np.sum(steps * (1.0 - risk))),
                               excess_aurc=float(aurc - optimal), higher_is_ood=higher, n=int(n))


# ---------------------------------------------------------------------------------------------
# Practical view: precision / recall of "out" at every threshold
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class OODThresholdSweep(Result):
    """Precision, recall and F1 of flagging "out" (``score > threshold``) at every candidate.

    Attributes
    ----------
    table : DataFrame
        One row per candidate threshold, ascending: just below the smallest score (everything
        flagged), then every distinct pooled score (the largest flags nothing). Columns
        ``threshold``; ``flagged_in`` and ``flagged_out`` (counts with ``score > threshold``);
        ``precision`` (share of flagged inputs that are OOD; NaN when nothing is flagged);
        ``recall`` (share of OOD inputs flagged); ``f1`` (``2 TP / (2 TP + FP + FN)``, 0 when
        nothing is flagged); ``in_rejected`` (share of in-distribution inputs flagged) and
        ``ood_accepted`` (``1 - recall``).
    best_f1 : dict
        The row with the highest F1 (the lowest threshold on ties): ``threshold``,
        ``precision``, ``recall``, ``f1``, ``in_rejected``.
    zero_ood_accepted : dict
        The largest threshold that flags every OOD input: ``threshold`` and ``in_rejected``,
        the share of in-distribution inputs it rejects too.
    n_in, n_out : int
    """

    table: pd.DataFrame
    best_f1: dict[str, float]
    zero_ood_accepted: dict[str, float]
    n_in: int
    n_out: int


    def to_frame(self) -> pd.DataFrame:
        """The sweep table (a copy)."""
        return self.table.copy()

    def __repr__(self) -> str:
        return (f"OODThresholdSweep(n_thresholds={len(self.table)}, best_f1={self.best_f1['f1']:.4f} at "
                f"{self.best_f1['threshold']:.6g}, zero OOD accepted at {self.zero_ood_accepted['threshold']:.6g} "
                f"rejecting {self.zero_ood_accepted['in_rejected']:.4f} of in-distribution)")


def ood_threshold_sweep(scores_in: Any, scores_out: Any) -> OODThresholdSweep:
    """Precision, recall and F1 of "out" for every candidate threshold, from one sort.

    Parameters
    ----------
    scores_in : array-like of shape (n_in,)
        OOD scores of in-distribution inputs (higher = more OOD); finite.
    scores_out : array-like of shape (n_out,)
        OOD scores of OOD inputs; finite.

    Returns
    -------
    OODThresholdSweep
        See its attributes; an input is flagged as OOD when ``score > threshold``.
    """
    s_in = _scores(scores_in, "scores_in")
    s_out = _scores(scores_out, "scores_out")
    n_in, n_out = len(s_in), len(s_out)
    pooled = np.concatenate([s_in, s_out])
    order = np.argsort(pooled, kind="stable")
    ordered, is_out = pooled[order], order >= n_in
    last = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True])
    # Accepted (score <= value) at each distinct value; the first candidate accepts nothing.
    acc_out = np.r_[0, np.cumsum(is_out)[last]]
    acc_in = np.r_[0, np.cumsum(~is_out)[last]]
    thresholds = np.r_[np.nextafter(ordered[0], -np.inf), ordered[last]]
    tp = n_out - acc_out
    fp = n_in - acc_in
    fn = acc_out
    flagged = tp + fp
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(flagged > 0, tp / np.maximum(flagged, 1), np.nan)
    recall = tp / n_out
    f1 = 2.0 * tp / (2.0 * tp + fp + fn)
    table = pd.DataFrame({
        "threshold": thresholds, "flagged_in": fp, "flagged_out": tp, "precision": precision,
        "recall": recall, "f1": f1, "in_rejected": fp / n_in, "ood_accepted": fn / n_out,
    })
    b = int(np.argmax(f1))
    best = {"threshold": float(thresholds[b]), "precision": float(precision[b]), "recall": float(recall[b]),
            "f1": float(f1[b]), "in_rejected": float(fp[b] / n_in)}
    z = int(np.flatnonzero(fn == 0)[-1])  # the first candidate always qualifies
    zero = {"threshold": float(thresholds[z]), "in_rejected": float(fp[z] / n_in)}
    return OODThresholdSweep(table=table, best_f1=best, zero_ood_accepted=zero, n_in=n_in, n_out=n_out)


# ---------------------------------------------------------------------------------------------
# Confusion matrix with an OOD row and a rejection column
# ---------------------------------------------------------------------------------------------


def _codes(values: np.ndarray, classes: list[Any], name: str) -> np.ndarray:
    codes = pd.Index(classes, dtype=object).get_indexer(pd.Index(values, dtype=object)).astype(np.int64)
    if (codes < 0).any():
        unknown = pd.unique(values[codes < 0])[:10].tolist()
        raise AssayInputError(f"'{name}' contains labels that are not among 'classes' {classes}: {unknown}.")
    return codes


def ood_confusion_matrix(y_true: Any, y_pred: Any, *, is_ood: Any, rejected: Any,
                         classes: Any = None) -> pd.DataFrame:
    """The class confusion matrix, extended with OOD inputs and rejections.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class of each input; ignored (any value, e.g. -1 or NaN) where ``is_ood``.
    y_pred : array-like of shape (n,)
        The model's predicted class; ignored where ``rejected``.
    is_ood : array-like of bool, shape (n,)
        Whether the input is truly out of distribution.
    rejected : array-like of bool, shape (n,)
        Whether the detector rejected the input as OOD (e.g. ``score > threshold``).
    classes : sequence, optional
        The class labels, in order. Default: the sorted labels of ``y_true`` (in-distribution
        rows) and ``y_pred`` (accepted rows).

    Returns
    -------
    DataFrame of int
        Rows (index "true"): the classes, then ``"out of distribution"``. Columns (index
        "predicted"): the classes, then ``"rejected as OOD"``. Cell ``(c, d)``: accepted
        in-distribution inputs of class ``c`` predicted ``d``; ``(c, "rejected as OOD")``:
        in-distribution inputs of class ``c`` rejected (false alarms); ``("out of
        distribution", d)``: OOD inputs accepted and predicted ``d`` (missed); the corner: OOD
        inputs rejected. The total is ``n``.
    """
    y_true = as_array(y_true, name="y_true", ndim=1, allow_nan=True)
    y_pred = as_array(y_pred, name="y_pred", ndim=1, allow_nan=True)
    ood = _as_bool(is_ood, "is_ood")
    rej = _as_bool(rejected, "rejected")
    check_consistent_length(y_true=y_true, y_pred=y_pred, is_ood=ood, rejected=rej)
    true_in, pred_acc = y_true[~ood], y_pred[~rej]
    for name, values in (("y_true", true_in), ("y_pred", pred_acc)):
        if len(values) and pd.isna(values).any():
            where = "in-distribution" if name == "y_true" else "accepted"
            raise AssayInputError(f"'{name}' must not be missing (NaN/None) on {where} rows.")
    if classes is None:
        labels = list(pd.unique(np.concatenate([true_in.astype(object), pred_acc.astype(object)])))
        try:
            labels = sorted(labels)
        except TypeError:
            labels = sorted(labels, key=str)
    else:
        labels = list(as_array(classes, name="classes", ndim=1))
        if len(set(labels)) != len(labels):
            raise AssayInputError(f"'classes' must hold distinct labels. Got {labels}.")
    k = len(labels)
    row = np.full(len(ood), k, dtype=np.int64)
    col = np.full(len(rej), k, dtype=np.int64)
    row[~ood] = _codes(true_in, labels, "y_true")
    col[~rej] = _codes(pred_acc, labels, "y_pred")
    counts = np.bincount(row * (k + 1) + col, minlength=(k + 1) ** 2).reshape(k + 1, k + 1)
    index = pd.Index([*labels, OOD_ROW], name="true", dtype=object)
    columns = pd.Index([*labels, OOD_COLUMN], name="predicted", dtype=object)
    return pd.DataFrame(counts, index=index, columns=columns)
