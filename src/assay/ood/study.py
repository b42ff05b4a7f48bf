"""Every fitting detector against every OOD set of a model, as the audit's OOD check reports it.

:func:`audit_detectors` picks the detectors that fit the model and data (from what each
detector class declares it ``reads``), fits them, scores every split, and measures: detection
metrics with bootstrap intervals, the threshold that keeps a share ``tpr`` of in-distribution
inputs, accuracy when the model abstains on what the best detector flags, the refusal rate per
group, and a 2-D view of the features. The audit's ``OODCheck`` is a thin call of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import check_option, check_scalar
from ._base import OODDetector
from .evaluation import OODEvaluation, evaluate_scores
from .feature import KNN, Mahalanobis, RelativeMahalanobis
from .groups import rejection_by_group
from .inputs import GaussianMixtureDetector, IsolationForestDetector
from .output import GEN, Energy, Entropy, MaxLogit, MaxSoftmax
from .projection import project_embeddings
from .thresholds import selective_prediction, threshold_at_tpr

__all__ = ["AUTO_DETECTORS", "DETECTORS", "DetectorAudit", "audit_detectors"]

#: Detectors :func:`audit_detectors` can build by name.
DETECTORS: dict[str, type[OODDetector]] = {cls.__name__: cls for cls in (
    MaxSoftmax, MaxLogit, Energy, Entropy, GEN, Mahalanobis, RelativeMahalanobis, KNN,
    IsolationForestDetector, GaussianMixtureDetector)}
#: What ``detectors="auto"`` tries, in this order (those that do not fit are skipped, with why).
AUTO_DETECTORS = ("MaxSoftmax", "Entropy", "MaxLogit", "Energy", "GEN", "Mahalanobis", "KNN",
                  "IsolationForestDetector", "GaussianMixtureDetector")
_SCORES_KEPT = 2000
"""Scores kept per data set (evenly spaced in sorted order) for the density plot."""
_PROJECTED_IN, _PROJECTED_OUT = 1000, 300  # points kept for the 2-D view: in-distribution, each OOD set


@dataclasses.dataclass(frozen=True)
class DetectorAudit:
    """What :func:`audit_detectors` measured (the fields of the audit's ``OODCheckResult``)."""

    evaluation: OODEvaluation
    primary_detector: str
    threshold: pd.DataFrame
    selective: pd.DataFrame | None
    aurc: float | None
    rejection_by_group: Any
    scores: dict[str, list[float]]
    skipped: dict[str, str]
    projection: dict[str, Any] | None = None


def _thin(values: np.ndarray, n: int = _SCORES_KEPT) -> list[float]:
    """Up to ``n`` evenly spaced order statistics: the distribution's shape, bounded in size."""
    s = np.sort(np.asarray(values, dtype=np.float64))
    if len(s) > n:
        s = s[np.linspace(0, len(s) - 1, n).round().astype(int)]
    return s.tolist()


def _is_feature_matrix(X: Any) -> bool:
    """A table the input detectors can read: a DataFrame, or a 2-D numeric array."""
    if isinstance(X, pd.DataFrame):
        return True
    return isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "biuf"


def _encoder(X_train: Any):
    """Fitted on the training inputs: one-hot categoricals and standardised numerics for a
    DataFrame; standardised columns for a numeric array (the Gaussian mixture is not scale-free)."""
    if not isinstance(X_train, pd.DataFrame):
        from sklearn.preprocessing import StandardScaler

        return StandardScaler().fit(X_train)
    from ..models import make_tabular_preprocessor

    categorical = [c for c, t in X_train.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    numeric = [c for c in X_train.columns if c not in categorical]
    return make_tabular_preprocessor(categorical, numeric).fit(X_train)


def has_layer(model: Any, layer: str) -> bool:
    """True when ``model`` (an adapter) is a torch model with a module named ``layer``."""
    try:
        model._resolve_layers(layer)
    except (AssayInputError, AttributeError):
        return False
    return True


def _project(features, source: str, eval_split: str, ood_sets: list[str], random_state: int) -> dict[str, Any] | None:
    """A seeded sample of each split's features on the in-distribution sample's first two
    principal components; its own random stream, so the other numbers do not depend on it."""
    rng = np.random.default_rng([random_state, 2])
    parts, names = [], []
    for split, cap in [(eval_split, _PROJECTED_IN)] + [(s, _PROJECTED_OUT) for s in ood_sets]:
        F = features(split)
        take = np.sort(rng.choice(F.shape[0], min(cap, F.shape[0]), replace=False))
        part = F[take]
        parts.append(np.asarray(part.toarray() if hasattr(part, "toarray") else part, dtype=np.float64))
        names += ["in-distribution" if split == eval_split else split] * len(take)
    X = np.vstack(parts)
    if X.shape[1] < 2 or len(parts[0]) < 2 or len(X) < 3:  # too little to project: no view, not an error
        return None
    projection = project_embeddings(X, fit_rows=np.arange(len(parts[0])), random_state=random_state)
    points = pd.DataFrame({"x": projection.points[:, 0].round(4), "y": projection.points[:, 1].round(4),
                           "set": names})
    return {"points": points, "axis_labels": list(projection.axis_labels), "source": source}


def choose_detectors(model: Any, splits: Mapping[str, tuple], *, detectors: Any = "auto", layer: str = "penultimate",
                     eval_split: str = "test", owner: str = "audit_detectors") -> tuple[list[str], dict[str, str]]:
    """The detector names that fit ``model`` and ``splits``, and the skipped ones with why.

    Decided from what each class ``reads``: "logits" needs a model that returns logits;
    "features" a torch model with ``layer`` and a "train" split; "inputs" a "train" split and
    tables (DataFrames or 2-D numeric arrays) in every split.
    """
    logits = model.native_output == "logits"
    torch_model = getattr(model, "kind", None) == "torch"
    has_train = "train" in splits and eval_split != "train"
    if isinstance(detectors, str) and detectors == "auto":
        wanted = list(AUTO_DETECTORS)
    else:
        if isinstance(detectors, str) or not all(isinstance(d, str) for d in detectors):
            raise AssayInputError(f"'detectors' must be 'auto' or a list of detector names from "
                                  f"{sorted(DETECTORS)}. Got {detectors!r}.")
        for name in detectors:
            check_option(name, "detectors", owner=owner, options=sorted(DETECTORS))
        wanted = list(detectors)
    chosen, skipped = [], {}
    for name in wanted:
        reads = DETECTORS[name].reads
        if reads == "logits" and not logits:
            skipped[name] = "the model returns probabilities, not logits"
        elif reads == "features" and not torch_model:
            skipped[name] = "needs a torch model (embeddings of a layer)"
        elif reads == "features" and not has_layer(model, layer):
            skipped[name] = f"the model has no layer named {layer!r}"
        elif reads in ("features", "inputs") and not has_train:
            skipped[name] = "needs a 'train' split to fit on"
        elif reads == "inputs" and not all(_is_feature_matrix(parts[0]) for parts in splits.values()):
            skipped[name] = "input-space detectors run on tables (DataFrames or 2-D numeric arrays)"
        else:
            chosen.append(name)
    return chosen, skipped


def audit_detectors(
    model: Any,
    splits: Mapping[str, tuple[Any, Any, pd.DataFrame | None]],
    *,
    ood_splits: Sequence[str],
    eval_split: str = "test",
    detectors: Any = "auto",
    layer: str = "penultimate",
    tpr: float = 0.95,
    n_boot: int = 200,
    max_fit_rows: int = 20000,
    min_group_size: int = 30,
    random_state: int = 0,
    owner: str = "audit_detectors",
) -> DetectorAudit:
    """Detectors x OOD splits with bootstrap CIs; threshold at a TPR; abstention; refusals per group.

    Parameters
    ----------
    model : ModelAdapter (``assay.wrap(model)``)
    splits : mapping split name -> ``(X, y or None, sensitive features DataFrame or None)``
        ``eval_split`` is the in-distribution data; "train" (optional) is what the feature and
        input detectors are fitted on; "val" (optional) is where the threshold is fitted, else
        on a random half of ``eval_split`` (and every thresholded number on the other half).
    ood_splits : the names of the out-of-distribution splits in ``splits``.
    detectors : "auto" or a list of names of :data:`DETECTORS` (see :func:`choose_detectors`).
    layer : the torch layer the feature detectors read.
    tpr : float in (0, 1), share of in-distribution inputs the threshold keeps.
    n_boot : bootstrap resamples of the detection metrics and refusal rates.
    max_fit_rows : rows of "train" the feature and input detectors are fitted on (a seeded subsample above).
    min_group_size, random_state : as everywhere.
    owner : the name error messages give (the audit passes "OODCheck").
    """
    check_scalar(tpr, "tpr", owner=owner, low=0.0, high=1.0, closed="neither")
    check_scalar(n_boot, "n_boot", owner=owner, kind=(int, np.integer), low=0)
    check_scalar(max_fit_rows, "max_fit_rows", owner=owner, kind=(int, np.integer), low=10)
    names, skipped = choose_detectors(model, splits, detectors=detectors, layer=layer, eval_split=eval_split,
                                      owner=owner)
    if not names:
        raise AssayInputError(f"No OOD detector fits this model and data: {skipped}.")
    rng = np.random.default_rng(random_state)
    ood_sets = list(ood_splits)
    X_of = lambda split: splits[split][0]  # noqa: E731
    X_eval = X_of(eval_split)
    n_eval = len(X_eval)
    reads = {name: DETECTORS[name].reads for name in names}
    fitted_on_train = [n for n in names if reads[n] in ("features", "inputs")]

    fit_rows = None
    encoder = None
    if "train" in splits and fitted_on_train:
        n_train = len(X_of("train"))
        if n_train > max_fit_rows:
            fit_rows = np.sort(rng.choice(n_train, max_fit_rows, replace=False))
    if any(reads[n] == "inputs" for n in names):
        encoder = _encoder(X_of("train"))

    def rows(X, index):
        if index is None:
            return X
        return X.iloc[index] if isinstance(X, pd.DataFrame) else X[index]

    encoded_splits: dict[str, Any] = {}

    def encoded(split):  # each split encoded once, shared by the input detectors and the projection
        if split not in encoded_splits:  # train: only the (at most max_fit_rows) rows fitted on
            X = rows(X_of("train"), fit_rows) if split == "train" else X_of(split)
            encoded_splits[split] = encoder.transform(X)
        return encoded_splits[split]

    def embeddings(split):  # cached: the layer is captured on each split's one pass
        return model.embeddings(X_of(split), layer, flatten=True)

    n_fit = 0 if "train" not in splits else (len(fit_rows) if fit_rows is not None else len(X_of("train")))
    scores_in, scores_out, fitted = {}, {}, {}
    for name in names:
        cls = DETECTORS[name]
        params = cls._audit_params(n_fit)
        if "random_state" in cls._get_param_names():
            params["random_state"] = random_state
        if reads[name] == "inputs":
            detector = cls(**params).fit(encoded("train"))
            score = lambda split, d=detector: d.score(encoded(split))  # noqa: E731
        elif reads[name] == "features":
            # Fitted on the training split's cached embeddings (model=None: the detector reads
            # features), with its labels, or the model's predictions without them.
            y_train = splits["train"][1]
            labels = np.asarray(y_train) if y_train is not None else np.asarray(model.predict(X_of("train")))
            detector = cls(**params).fit(rows(embeddings("train"), fit_rows), rows(labels, fit_rows))
            score = lambda split, d=detector: d.score(embeddings(split))  # noqa: E731
        else:
            detector = cls(model, **params)
            score = lambda split, d=detector: d.score(X_of(split))  # noqa: E731
        scores_in[name] = score(eval_split)
        scores_out[name] = {split: score(split) for split in ood_sets}
        fitted[name] = score

    evaluation = evaluate_scores(scores_in, scores_out, tpr=float(tpr), n_boot=int(n_boot), random_state=random_state)
    auroc = evaluation.metric("auroc")
    primary = str(auroc.mean(axis=1).idxmax())

    # Threshold: fitted on "val", or on a random half of the evaluation split.
    if "val" in splits and "val" not in ood_sets:
        fitted_on, held_out = "val", np.arange(n_eval)
        threshold_scores = {name: fitted[name]("val") for name in names}
    else:
        fitted_on = f"half of {eval_split!r}"
        half = rng.permutation(n_eval)
        fit_half, held_out = np.sort(half[: n_eval // 2]), np.sort(half[n_eval // 2:])
        threshold_scores = {name: scores_in[name][fit_half] for name in names}
    rows_out = []
    for name in names:
        t = threshold_at_tpr(threshold_scores[name], tpr=float(tpr))
        row = {"detector": name, "threshold": t, "fitted_on": fitted_on, "target_tpr": float(tpr),
               "achieved_tpr": float(np.mean(scores_in[name][held_out] <= t))}
        for split in ood_sets:
            row[f"fpr[{split}]"] = float(np.mean(scores_out[name][split] <= t))
        rows_out.append(row)
    threshold = pd.DataFrame(rows_out).set_index("detector")

    selective, aurc = None, None
    y = splits[eval_split][1]
    if y is not None:
        correct = np.asarray(model.predict(X_eval)) == np.asarray(y)
        curve = selective_prediction(scores_in[primary], correct)
        points = np.unique(np.searchsorted(curve.coverage, np.linspace(0.01, 1.0, 100) - 1e-12))
        points = points[points < len(curve.coverage)]
        selective = pd.DataFrame({"coverage": curve.coverage[points], "accuracy": curve.accuracy[points]})
        aurc = float(curve.aurc)

    by_group = None
    sensitive = splits[eval_split][2]
    if sensitive is not None and sensitive.shape[1]:
        sens = sensitive.iloc[held_out].reset_index(drop=True)
        usable = [c for c in sens.columns if sens[c].nunique(dropna=False) > 1]
        if usable:
            by_group = rejection_by_group(scores_in[primary][held_out], threshold.loc[primary, "threshold"],
                                          sens[usable], min_group_size=min_group_size,
                                          n_boot=int(n_boot), random_state=random_state)
    scores = {"in": _thin(scores_in[primary]), **{s: _thin(scores_out[primary][s]) for s in ood_sets}}
    if any(reads[n] == "features" for n in names):
        features, source = embeddings, f"embeddings of layer {layer!r}"
    elif encoder is not None:
        features, source = encoded, "encoded inputs"
    else:
        features = source = None
    projection = None if features is None else _project(features, source, eval_split, ood_sets, random_state)
    return DetectorAudit(evaluation, primary, threshold, selective, aurc, by_group, scores, skipped, projection)
