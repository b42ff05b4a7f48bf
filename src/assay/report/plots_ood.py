"""Figures of out-of-distribution detection: score densities, ROC curves, risk-coverage, and 2-D
projections. They draw computed results (from :mod:`assay.ood`); they compute nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import as_array, check_bool, check_scalar, describe
from ._plotting import PALETTE, ROBUST_COVERAGE, _IN_COLOR, _THRESHOLD_COLOR, _ood_colors, plt, robust_limits


def plot_ood_score_density(
    scores_in: Any,
    scores_out: Mapping[str, Any],
    *,
    threshold: float | None = None,
    title: str = "OOD score density",
    n_grid: int = 256,
) -> plt.Figure:
    """Kernel density of the OOD score: in-distribution against each OOD set.

    Parameters
    ----------
    scores_in : array-like of shape (n_in,)
        OOD scores (higher = more OOD) of in-distribution inputs; finite, at least 2.
    scores_out : mapping of str to array-like
        OOD set name -> scores (at least 2 each).
    threshold : float, optional
        Drawn as a vertical line (inputs to its right are rejected as OOD).
    n_grid : int, default 256
        Points at which each density is evaluated.

    One line per data set (Gaussian KDE, ``scipy.stats.gaussian_kde``, Scott's bandwidth),
    evaluated on a common grid spanning every score; a set whose scores are all equal (no
    density) is drawn as a dashed vertical line at that value. Plus the threshold line.
    """
    from scipy.stats import gaussian_kde

    owner = "plot_ood_score_density"
    s_in = as_array(scores_in, name="scores_in", ndim=1, dtype=np.float64, min_samples=2)
    if not isinstance(scores_out, Mapping) or not scores_out:
        raise AssayInputError(
            f"'scores_out' must be a non-empty mapping of OOD set name -> scores. Got {describe(scores_out)} instead."
        )
    sets = {str(k): as_array(v, name=f"scores_out[{k!r}]", ndim=1, dtype=np.float64, min_samples=2)
            for k, v in scores_out.items()}
    check_scalar(n_grid, "n_grid", owner=owner, kind=(int, np.integer), low=2)
    if threshold is not None:
        check_scalar(threshold, "threshold", owner=owner, kind=(int, float, np.number), low=-np.inf, high=np.inf,
                     closed="neither")
    everything = np.concatenate([s_in, *sets.values()])
    low, high, n_outside = robust_limits(everything)
    if threshold is not None:
        low, high = min(low, float(threshold)), max(high, float(threshold))
    grid = np.linspace(low, high, int(n_grid))
    fig, ax = plt.subplots(figsize=(7, 4))
    series = [("in-distribution", s_in, _IN_COLOR)] + [
        (name, values, color) for (name, values), color in zip(sets.items(), _ood_colors(len(sets)))
    ]
    for name, values, color in series:
        label = f"{name} (n={len(values)})"
        if n_outside:  # a tail far from the bulk: each density of the scores in the drawn range
            kept = (values >= low) & (values <= high)
            if not kept.all():
                label += f", {int((~kept).sum())} outside the range drawn"
            values = values[kept]
            if len(values) < 2:
                continue
        if np.ptp(values) == 0:
            ax.axvline(values[0], color=color, ls="--", lw=1.4, label=label + ", constant")
            continue
        density = gaussian_kde(values)(grid)
        ax.plot(grid, density, color=color, lw=1.6, label=label)
        ax.fill_between(grid, density, color=color, alpha=0.12)
    if threshold is not None:
        ax.axvline(float(threshold), color=_THRESHOLD_COLOR, ls=":", lw=1.4,
                   label=f"threshold {float(threshold):.4g} (reject to the right)")
    ax.set_xlabel("OOD score (higher = more out-of-distribution)")
    ax.set_ylabel("density")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if n_outside:
        title = f"{title}\n(x axis clipped to the central {ROBUST_COVERAGE:.0%} of scores: {n_outside} outside)"
    ax.set_xlim(grid[0], grid[-1])
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _roc_curves(evaluation_or_curves: Any) -> tuple[dict[str, dict[str, dict[str, Any]]], Any]:
    """(curves, table or None) from an OODEvaluation, its ``to_dict()``, or a curves mapping."""
    source = evaluation_or_curves
    table = getattr(source, "table", None)
    curves = getattr(source, "curves", None)
    if curves is None and isinstance(source, Mapping):
        curves = source.get("curves", source) if "curves" in source else source
        if isinstance(source.get("table"), pd.DataFrame):  # {"curves": ..., "table": DataFrame}
            table = source["table"]
    ok = isinstance(curves, Mapping) and curves and all(
        isinstance(sets, Mapping) and sets and all(
            isinstance(c, Mapping) and "fpr" in c and "tpr" in c for c in sets.values())
        for sets in curves.values()
    )
    if not ok:
        raise AssayInputError(
            "'evaluation_or_curves' must be an OODEvaluation or a mapping {detector: {ood_set: "
            f"{{'fpr': [...], 'tpr': [...]}}}}. Got {describe(evaluation_or_curves)} instead."
        )
    return curves, table if isinstance(table, pd.DataFrame) else None


def plot_ood_roc(evaluation_or_curves: Any, *, ood_set: str | Sequence[str] | None = None,
                 title: str | None = None, ncols: int = 3) -> plt.Figure:
    """ROC curves of OOD detection (OOD positive): one panel per OOD set, one line per detector.

    Parameters
    ----------
    evaluation_or_curves : OODEvaluation or mapping
        From :func:`assay.ood.evaluate_scores` (legend shows each AUROC), or its ``curves``:
        ``{detector: {ood_set: {"fpr": [...], "tpr": [...]}}}``.
    ood_set : str or list of str, optional
        The OOD sets to draw (default: all).
    ncols : int, default 3
        Panels per row.

    Each panel also has the chance diagonal (a dashed line). x: share of in-distribution inputs
    flagged (FPR); y: share of OOD inputs flagged (TPR).
    """
    curves, table = _roc_curves(evaluation_or_curves)
    detectors = list(curves)
    all_sets = list(dict.fromkeys(s for d in detectors for s in curves[d]))
    wanted = all_sets if ood_set is None else [ood_set] if isinstance(ood_set, str) else list(ood_set)
    unknown = [s for s in wanted if s not in all_sets]
    if unknown or not wanted:
        raise AssayInputError(f"'ood_set' must be one of {all_sets} (or None for all). Got {ood_set!r} instead.")
    check_scalar(ncols, "ncols", owner="plot_ood_roc", kind=(int, np.integer), low=1)
    cols = min(int(ncols), len(wanted))
    rows = -(-len(wanted) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols + 0.4, 4.2 * rows + 0.3), squeeze=False)
    for ax in axes.ravel()[len(wanted):]:
        ax.set_visible(False)
    for ax, name in zip(axes.ravel(), wanted):
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="chance")
        for detector, color in zip(detectors, _ood_colors(len(detectors))):
            if name not in curves[detector]:
                continue
            points = curves[detector][name]
            label = detector
            if table is not None and "auroc" in table:
                row = table[(table["detector"] == detector) & (table["ood_set"] == name)]
                if len(row):
                    label = f"{detector} (AUROC {float(row['auroc'].iloc[0]):.3f})"
            ax.plot(np.asarray(points["fpr"], dtype=float), np.asarray(points["tpr"], dtype=float), color=color,
                    lw=1.6, label=label)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_aspect("equal")
        ax.set_xlabel("in-distribution flagged (FPR)")
        ax.set_ylabel("OOD flagged (TPR)")
        ax.set_title(name, fontsize=9, loc="left")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title or "OOD detection ROC", fontsize=10)
    fig.tight_layout()
    return fig


def plot_risk_coverage(selective_result: Any, *, title: str = "Risk-coverage",
                       accuracy: bool = False) -> plt.Figure:
    """Risk (error rate on accepted inputs) against coverage (share accepted).

    Parameters
    ----------
    selective_result : SelectivePrediction or mapping of str to SelectivePrediction
        From :func:`assay.ood.thresholds.selective_prediction`; a mapping draws one line per
        entry (e.g. one per detector or confidence score), labelled with its AURC.
    accuracy : bool, default False
        Draw accuracy instead of risk (the accuracy-coverage curve; legend shows its area).

    Each curve also gets a dotted horizontal line at its risk (or accuracy) at full coverage,
    the value without abstention. Lines: two per curve.
    """
    check_bool(accuracy, "accuracy", owner="plot_risk_coverage")
    results = dict(selective_result) if isinstance(selective_result, Mapping) else {"model": selective_result}
    for name, result in results.items():
        if not all(hasattr(result, a) for a in ("coverage", "risk", "aurc", "aacc")):
            raise AssayInputError(
                "'selective_result' must be a SelectivePrediction (from selective_prediction) or a mapping "
                f"of names to them. Got {describe(result)} for {name!r}."
            )
    if not results:
        raise AssayInputError("'selective_result' must not be an empty mapping.")
    curves = {f"{name} ({'AUC' if accuracy else 'AURC'} {(r.aacc if accuracy else r.aurc):.3f})":
              (r.coverage, r.accuracy if accuracy else r.risk) for name, r in results.items()}
    return _coverage_figure(curves, accuracy=accuracy, title=title)


def plot_coverage_curve(coverage: Any, accuracy: Any, *, label: str = "model",
                        title: str = "Accuracy against coverage") -> plt.Figure:
    """Accuracy on the accepted inputs against coverage, from stored arrays (e.g. a report record).

    ``coverage`` and ``accuracy`` have shape ``(n_points,)``, coverage increasing; drawn as in
    :func:`plot_risk_coverage` with ``accuracy=True`` (one curve and its full-coverage line).
    """
    cov = as_array(coverage, name="coverage", ndim=1, dtype=np.float64, min_samples=1)
    acc = as_array(accuracy, name="accuracy", ndim=1, dtype=np.float64, min_samples=1, allow_nan=True)
    if len(cov) != len(acc):
        raise AssayInputError(f"'coverage' and 'accuracy' must have the same length. Got {len(cov)} and {len(acc)}.")
    return _coverage_figure({str(label): (cov, acc)}, accuracy=True, title=title)


def _coverage_figure(curves: Mapping[str, tuple[Any, Any]], *, accuracy: bool, title: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    colors = [_IN_COLOR] if len(curves) == 1 else _ood_colors(len(curves))
    for (label, (coverage, values)), color in zip(curves.items(), colors):
        values = np.asarray(values, dtype=float)
        ax.plot(np.asarray(coverage, dtype=float), values, color=color, lw=1.6, label=label)
        ax.axhline(values[-1], color=color, ls=":", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("coverage (share of inputs accepted)")
    ax.set_ylabel("accuracy on accepted inputs" if accuracy else "risk (error rate on accepted inputs)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_embedding_projection(projection: Any, *, is_ood: Any, labels: Any = None,
                              title: str | None = None) -> plt.Figure:
    """Draw a projection of embeddings, in-distribution against OOD inputs.

    Parameters
    ----------
    projection : Projection
        From :func:`assay.ood.project_embeddings` (PCA, t-SNE or UMAP, optionally of a seeded
        subsample: ``max_points``).
    is_ood : array-like of bool, shape (n,)
        Whether each input row is out of distribution (drawn as crosses); one value per row of
        the embeddings that were projected (the subsample's rows are picked here) or per point.
    labels : array-like of shape (n,), optional
        Class of each in-distribution input and name of each OOD input's set (see
        :func:`plot_projection`).
    """
    points = getattr(projection, "points", None)
    if points is None or not hasattr(projection, "axis_labels"):
        raise AssayInputError("'projection' must be a Projection (from assay.ood.project_embeddings). "
                              f"Got {describe(projection)} instead.")
    rows = getattr(projection, "rows", None)
    marks = {"is_ood": is_ood, "labels": labels}
    if rows is not None:
        for name, value in marks.items():
            if value is not None and len(value) != len(points):
                if len(value) <= int(np.max(rows, initial=-1)):
                    raise AssayInputError(f"'{name}' must have one value per row of the projected embeddings. "
                                          f"Got {len(value)} values.")
                marks[name] = np.asarray(value)[rows]
    method = getattr(projection, "method", "pca")
    return plot_projection(points, is_ood=marks["is_ood"], labels=marks["labels"],
                           axis_labels=projection.axis_labels,
                           title=title or f"Embeddings ({method.upper() if method == 'pca' else method}), "
                                          f"{len(points)} points")


def _projection_marks(is_ood: Any, labels: Any, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    ood = as_array(is_ood, name="is_ood", ndim=1)
    if ood.dtype != bool:
        if not np.isin(ood, (0, 1)).all():
            raise AssayInputError(f"'is_ood' must hold booleans (or 0/1). Got {describe(ood)}.")
        ood = ood.astype(bool)
    lab = None if labels is None else as_array(labels, name="labels", ndim=1, allow_nan=True)
    lengths = {"points": n, "is_ood": len(ood)} | ({} if lab is None else {"labels": len(lab)})
    if len(set(lengths.values())) > 1:
        raise AssayInputError("Inputs must have the same number of rows. Got "
                              + ", ".join(f"{k}: {v}" for k, v in lengths.items()) + ".")
    return ood, lab


def _sorted_values(values: np.ndarray) -> list:
    found = list(pd.unique(values))
    try:
        return sorted(found)
    except TypeError:
        return sorted(found, key=str)


def plot_projection(points: Any, *, is_ood: Any, labels: Any = None,
                    axis_labels: Sequence[str] = ("1", "2"), title: str | None = None) -> plt.Figure:
    """Draw 2-D points (from :func:`assay.ood.project_embeddings`): in-distribution as dots,
    OOD as crosses.

    Parameters
    ----------
    points : array-like of shape (n, 2)
    is_ood : array-like of bool, shape (n,)
    labels : array-like of shape (n,), optional
        In-distribution points are coloured by it (e.g. their class); OOD points are grouped by
        it (e.g. their OOD set), one colour of cross per value. Without it: one colour each.
    axis_labels : (str, str)
    title : str, optional

    One scatter collection per in-distribution label (one without ``labels``), then one per OOD
    label (one without).
    """
    P = as_array(points, name="points", ndim=2, dtype=np.float64)
    if P.shape[1] != 2:
        raise AssayInputError(f"'points' must have 2 columns. Got shape {P.shape}.")
    ood, lab = _projection_marks(is_ood, labels, len(P))
    fig, ax = plt.subplots(figsize=(6.4, 5))
    inside = ~ood
    if lab is None:
        if inside.any():
            ax.scatter(P[inside, 0], P[inside, 1], s=8, color=_IN_COLOR, alpha=0.6,
                       label=f"in-distribution (n={int(inside.sum())})")
    else:
        classes = _sorted_values(lab[inside])
        # past the palette's colours, shapes tell classes apart too (colour is never the only cue)
        shapes = ("o", "s", "^", "D", "v")
        for i, c in enumerate(classes):
            rows = inside & (lab == c)
            ax.scatter(P[rows, 0], P[rows, 1], s=8, color=PALETTE[i % len(PALETTE)],
                       marker=shapes[(i // len(PALETTE)) % len(shapes)], alpha=0.6, label=f"{c} (n={int(rows.sum())})")
    if ood.any():
        sets = [None] if lab is None else _sorted_values(lab[ood])
        crosses = ("x", "+", "1", "*")
        for i, name in enumerate(sets):
            rows = ood if name is None else ood & (lab == name)
            text = "OOD" if name is None else f"OOD: {name}"
            ax.scatter(P[rows, 0], P[rows, 1], s=14, marker=crosses[i % len(crosses)],
                       color=PALETTE[(len(PALETTE) - 2 - i) % len(PALETTE)], alpha=0.8,
                       linewidths=0.8, label=f"{text} (n={int(rows.sum())})")
    (x_low, x_high, _), (y_low, y_high, _) = robust_limits(P[:, 0]), robust_limits(P[:, 1])
    outside = int(np.count_nonzero((P[:, 0] < x_low) | (P[:, 0] > x_high) | (P[:, 1] < y_low) | (P[:, 1] > y_high)))
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, markerscale=1.5)
    title = title or f"{len(P)} points"
    if outside:  # an outlier must not flatten the bulk: the axes keep the central quantiles
        title += f"\n({outside} point(s) outside the axes, clipped to the central {ROBUST_COVERAGE:.0%})"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
