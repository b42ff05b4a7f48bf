"""ROC upper hulls and the linear program of Hardt, Price & Srebro (2016) over them.

Every mixture of threshold rules of a group reaches a point (FPR, TPR) inside the convex hull of
the group's ROC points; for any objective increasing in TP and decreasing in FP, and constraints
on selection rate, TPR or FPR, an optimum lies on the upper hull (mixed, where needed, with a
point of the diagonal, i.e. a constant rate). :func:`solve_hull_lp` finds the optimal point of
every group; :func:`realise` turns a point into two thresholds, their mixing probability, and the
probability of replacing the rule by a constant rate.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.spatial import ConvexHull, QhullError

from ...core.errors import AssayInputError


def upper_vertices(x: np.ndarray, y: np.ndarray, corner: tuple[float, float]) -> np.ndarray:
    """Indices of the upper hull's vertices of points (x, y), by increasing x (the highest y at equal x).

    ``corner`` is a point below every point's chord (e.g. bottom-right of a curve rising from
    (0, 0)): with it the set is two-dimensional and its hull's other chain runs through it.
    """
    if len(x) < 3:
        return np.arange(len(x))
    keep = _locally_concave(x, y)
    points = np.c_[np.r_[x[keep], corner[0]], np.r_[y[keep], corner[1]]]
    try:
        vertices = ConvexHull(points).vertices
    except QhullError:  # every point on one line: its two ends
        return np.array([0, len(x) - 1])
    vertices = keep[vertices[vertices < len(keep)]]
    order = np.lexsort((-y[vertices], x[vertices]))
    vertices = vertices[order]
    first = np.r_[True, np.diff(x[vertices]) > 0]
    return vertices[first]


def _locally_concave(x: np.ndarray, y: np.ndarray, small: int = 512) -> np.ndarray:
    """Indices of the points that may be upper-hull vertices, for points sorted by x (else all).

    At equal x only the highest point can be one. Then, x strictly increasing, a point on or
    below the chord of its two neighbours lies inside the hull (or on an edge), so it is no
    vertex; dropping those, pass after pass (vectorised), leaves the concave chain (the upper
    hull) or few enough points for Qhull. A ROC curve of n rows has about n/2 turning points:
    the first pass halves it. The upper hull of what is left is the upper hull of all points.
    """
    idx = np.arange(len(x))
    if len(x) <= small or not np.all(x[1:] >= x[:-1]):
        return idx
    block_start = np.r_[True, x[1:] > x[:-1]]
    if not block_start.all():  # ties in x: the first of the highest points of each run
        block = np.cumsum(block_start) - 1
        top = np.maximum.reduceat(y, np.flatnonzero(block_start))
        best = np.flatnonzero(y == top[block])
        idx = best[np.r_[True, block[best][1:] != block[best][:-1]]]
    while len(idx) > small:
        xs, ys = x[idx], y[idx]
        dx0, dy0 = xs[1:-1] - xs[:-2], ys[1:-1] - ys[:-2]
        dx1, dy1 = xs[2:] - xs[:-2], ys[2:] - ys[:-2]
        inside = dx0 * dy1 - dy0 * dx1 >= 0  # not a strict right turn: on or below the chord
        if not inside.any():
            break
        idx = idx[np.r_[True, ~inside, True]]
    return idx


def upper_hull(fpr: np.ndarray, tpr: np.ndarray, thr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices of the upper ROC hull, by increasing FPR, from (0, max TPR at FPR 0) to (1, 1).

    ``fpr``/``tpr``/``thr`` are the group's distinct operating points from "none selected"
    (threshold +inf, at (0, 0)) to "all selected" (at (1, 1)).
    """
    v = upper_vertices(fpr, tpr, (1.0, 0.0))
    x, y, t = fpr[v], tpr[v], thr[v]
    rising = np.r_[True, np.diff(y) > 0]  # drop the flat top after TPR reaches 1, keeping (1, 1)
    rising[-1] = True
    return x[rising], y[rising], t[rising]


def hull_at(x_v: np.ndarray, y_v: np.ndarray, x: float) -> float:
    """The upper hull's TPR at FPR ``x``."""
    return float(np.interp(x, x_v, y_v))


def realise(hull: tuple[np.ndarray, np.ndarray, np.ndarray], x: float, y: float
            ) -> tuple[float, float, float, float, float, float]:
    """(threshold_high, threshold_low, p_between, p_constant, fpr, tpr) reaching (FPR x, TPR y).

    The hull point at FPR ``x`` mixes two adjacent vertices; it is replaced, with probability
    ``p_constant``, by the constant rate ``x`` (a point of the diagonal) to bring its TPR down to ``y``;
    ``y`` is first clipped into [x, hull TPR at x], the points reachable at FPR ``x``.
    """
    x_v, y_v, t_v = hull
    x = float(np.clip(x, 0.0, 1.0))
    j = int(np.clip(np.searchsorted(x_v, x, side="right") - 1, 0, len(x_v) - 1))
    if x_v[j] == x or j + 1 >= len(x_v):
        high, low, p, h = t_v[j], t_v[j], 0.0, y_v[j]
    else:
        p = float((x - x_v[j]) / (x_v[j + 1] - x_v[j]))
        high, low, h = t_v[j], t_v[j + 1], y_v[j] + p * (y_v[j + 1] - y_v[j])
    y = float(np.clip(y, x, h))
    p_constant = float(np.clip((h - y) / (h - x), 0.0, 1.0)) if h - x > 0 else 0.0
    return float(high), float(low), p, p_constant, x, y


def solve_hull_lp(hulls: list, n_pos: np.ndarray, n_neg: np.ndarray, a: float, b: float, constraint: str,
                  tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group (FPR, TPR) maximising ``a * TP - b * FP`` with the constrained rates within ``tolerance``.

    Variables: each group's weights over its hull vertices (summing to 1) and one centre per
    constrained rate; every group's rate lies within ``tolerance / 2`` of the centre, so any two
    groups differ by at most ``tolerance``. Returns (fpr (G,), tpr (G,), centres).
    """
    hulls = [(np.r_[0.0, x_v], np.r_[0.0, y_v]) for x_v, y_v, _ in hulls]  # (0, 0): nothing selected
    sizes = [len(h[0]) for h in hulls]
    offsets = np.r_[0, np.cumsum(sizes)]
    n_w = int(offsets[-1])
    rates = {"demographic_parity": ["selection"], "equal_opportunity": ["tpr"],
             "equalized_odds": ["tpr", "fpr"]}[constraint]
    n_c = len(rates)
    scale = float(np.sum(a * n_pos + b * n_neg)) or 1.0
    c = np.zeros(n_w + n_c)
    a_eq = np.zeros((len(hulls), n_w + n_c))
    rows = []
    for g, (x_v, y_v) in enumerate(hulls):
        s = slice(offsets[g], offsets[g + 1])
        c[s] = -(a * n_pos[g] * y_v - b * n_neg[g] * x_v) / scale
        a_eq[g, s] = 1.0
        for r, name in enumerate(rates):
            value = {"tpr": y_v, "fpr": x_v,
                     "selection": (n_pos[g] * y_v + n_neg[g] * x_v) / (n_pos[g] + n_neg[g])}[name]
            row = np.zeros(n_w + n_c)
            row[s] = value
            row[n_w + r] = -1.0
            rows.extend([row, -row])
    bounds = [(0, None)] * n_w + [(None, None)] * n_c
    result = linprog(c, A_ub=np.array(rows), b_ub=np.full(len(rows), tolerance / 2), A_eq=a_eq,
                     b_eq=np.ones(len(hulls)), bounds=bounds, method="highs")
    if result.status != 0:  # pragma: no cover - the program is always feasible (the diagonal)
        raise AssayInputError(f"GroupThresholds: the linear program failed ({result.message}).")
    w = result.x[:n_w]
    fpr = np.array([w[offsets[g]:offsets[g + 1]] @ h[0] for g, h in enumerate(hulls)])
    tpr = np.array([w[offsets[g]:offsets[g + 1]] @ h[1] for g, h in enumerate(hulls)])
    return fpr, tpr, result.x[n_w:]
