"""A generaliser that makes a table k-anonymous with the least information loss it finds.

Each quasi-identifier gets a hierarchy of levels, from its raw values (level 0) to one value "*"
(the top level); every level is a coarsening of the one below, so class sizes only grow up the
lattice:

- numeric columns: bins of growing width aligned at multiples of the width ("[40, 48)"), each
  width twice the previous from a round first width near range / 20 (or the widths the user gives);
- categorical columns: a user hierarchy (value -> its ancestors, most specific first) or, without
  one, frequency roll-ups: level j keeps the m / 2^j most frequent values and merges the rest into
  "(other)".

Information loss is the normalized certainty penalty (NCP, Xu et al. 2006) averaged over rows and
quasi-identifiers: 0 for a raw value, (values covered - 1) / (m - 1) for a categorical roll-up,
bin width / range for a numeric bin (at most 1), and 1 for "*" and for every quasi-identifier of a
suppressed row. A node of the lattice (one level per quasi-identifier) is feasible when the rows
of its *violating* classes are at most ``max_suppression`` of the table; they are suppressed
(removed from the released frame). A class violates when it has fewer than ``k`` rows, or (with
``sensitive`` and ``l``) fewer than ``l`` distinct values of a sensitive column, or (with
``sensitive`` and ``t``) an Earth Mover's Distance above ``t`` between its distribution of a
sensitive column and the whole input table's; with ``t`` a node is feasible only when the release
(the kept rows) is also t-close against its own distribution, which suppression shifts.
All three properties are monotone up the lattice: a merged class has at least the size and the
distinct values of its largest part, and its distance is at most its farthest part's (EMD to a
fixed distribution is convex). So the searches below apply unchanged.
The search: when the lattice has at most ``max_nodes`` nodes, every node is evaluated and the
feasible node of least loss is exact; otherwise a greedy climb from
the raw table raises, at each step, the quasi-identifier that removes the most violating rows per
unit of loss added, until feasible, then lowers any quasi-identifier whose lowering stays feasible
and reduces the loss, until none does (a local optimum, stated in the result's ``search``). The top
node (every value "*") is one class of n rows at distance 0 from the table, so any ``k <= n``, any
``t >= 0`` and any ``l`` up to the fewest distinct values of a sensitive column in the whole table
are reached; a larger ``l`` cannot be reached by any generalisation and is refused (naming ``l``).
Entropy l-diversity is not a target (only distinct l); :func:`~assay.privacy.l_diversity` measures it
on the release.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import check_option, check_scalar, describe
from ._classes import check_columns, check_k, check_table, combine_codes

TOP = "*"
OTHER = "(other)"


@dataclasses.dataclass(frozen=True)
class _Level:
    codes: np.ndarray  # int32 (n,); -1 for a missing value kept missing
    card: int
    cost: np.ndarray  # NCP per code
    labels: np.ndarray | None  # label per code; None: the raw column
    description: str

    def row_cost(self) -> np.ndarray:
        return np.where(self.codes >= 0, self.cost[np.maximum(self.codes, 0)], 0.0)


def _nice(x: float) -> float:
    """The smallest of 1, 2, 5 x 10^p at least ``x``."""
    if x <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(x))
    for step in (1, 2, 5, 10):
        if step * power >= x * (1 - 1e-12):
            return step * power
    return 10 * power


def _codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values)  # missing -> -1
    return codes.astype(np.int32), np.asarray(uniques)


def _top(n: int) -> _Level:
    return _Level(np.zeros(n, dtype=np.int32), 1, np.ones(1), np.array([TOP], dtype=object), "suppressed (*)")


def _numeric_levels(column: pd.Series, widths: Sequence[float] | None) -> list[_Level]:
    x = column.to_numpy(dtype=np.float64, na_value=np.nan)
    codes, _ = _codes(x)
    raw = _Level(codes, max(int(codes.max()) + 1, 1), np.zeros(max(int(codes.max()) + 1, 1)), None, "raw values")
    finite = x[np.isfinite(x)]
    levels = [raw]
    if len(finite) == 0:
        return levels + [_top(len(x))]
    span = float(finite.max() - finite.min())
    if widths is None:
        first = _nice(span / 20) if span > 0 else 1.0
        if pd.api.types.is_integer_dtype(column.dtype):
            first = max(first, 1.0)
        widths = [first]
        while widths[-1] < span:
            widths.append(widths[-1] * 2)
    for w in widths:
        bins = np.floor(x / w)
        codes, uniques = _codes(bins)
        if len(uniques) == 0:
            continue
        labels = np.array([f"[{b * w:.10g}, {(b + 1) * w:.10g})" for b in uniques], dtype=object)
        cost = np.full(len(uniques), min(w / span, 1.0) if span > 0 else 1.0)
        levels.append(_Level(codes, len(uniques), cost, labels, f"bins of width {w:g}"))
    return levels + [_top(len(x))]


def _categorical_levels(column: pd.Series, hierarchy: Mapping[Any, Sequence[Any]] | None, name: str
                        ) -> list[_Level]:
    codes, uniques = _codes(column)
    m = len(uniques)
    levels = [_Level(codes, max(m, 1), np.zeros(max(m, 1)), None, "raw values")]
    if m == 0:
        return levels + [_top(len(column))]
    spread = max(m - 1, 1)
    if hierarchy is not None:
        missing = [v for v in uniques if v not in hierarchy]
        if missing:
            raise AssayInputError(f"'hierarchies' for column {name!r} has no entry for value {missing[0]!r} "
                                  f"({len(missing)} value(s) missing); map every value to its ancestors.")
        paths = [hierarchy[v] for v in uniques]
        depths = {len(p) if isinstance(p, (list, tuple)) else -1 for p in paths}
        if len(depths) != 1 or -1 in depths:
            raise AssayInputError(f"'hierarchies' for column {name!r} must map every value to a list of its "
                                  f"ancestors of one length (most specific first). Got lengths {sorted(depths)}.")
        for depth in range(depths.pop()):
            parents = np.array([str(p[depth]) for p in paths], dtype=object)
            parent_codes, labels = _codes(parents)
            covered = np.bincount(parent_codes, minlength=len(labels))
            levels.append(_Level(np.where(codes >= 0, parent_codes[np.maximum(codes, 0)], -1).astype(np.int32),
                                 len(labels), (covered - 1) / spread, labels.astype(object),
                                 f"hierarchy level {depth + 1}"))
        return levels + [_top(len(column))]
    counts = np.bincount(codes[codes >= 0], minlength=m)
    rank = np.empty(m, dtype=np.int64)
    rank[np.argsort(-counts, kind="stable")] = np.arange(m)
    keep = m // 2
    while keep >= 1 and m - keep >= 2:
        kept = rank < keep
        new = np.where(kept, rank, keep)  # the kept values in frequency order, then "(other)"
        labels = np.array([*(str(v) for v in uniques[np.argsort(rank)][:keep]), OTHER], dtype=object)
        cost = np.zeros(keep + 1)
        cost[keep] = (m - keep - 1) / spread
        levels.append(_Level(np.where(codes >= 0, new[np.maximum(codes, 0)], -1).astype(np.int32), keep + 1, cost,
                             labels, f"top {keep} values, the rest {OTHER}"))
        keep //= 2
    return levels + [_top(len(column))]


@dataclasses.dataclass(frozen=True)
class GeneralizationResult(Result):
    """A k-anonymous (and, when asked, distinct l-diverse and t-close) release of a table and how it was generalised.

    ``frame``: the released rows (suppressed rows removed; generalised quasi-identifiers as
    categorical labels, the other columns unchanged); ``suppressed``: bool mask over the input
    rows. ``levels``: the chosen level of each quasi-identifier; ``per_column``: each one's level,
    number of levels, description and NCP; ``loss``: the mean NCP (suppressed rows count 1);
    ``k``: the smallest class of the release (>= ``target_k``); ``search``: how the node was chosen.
    ``sensitive``, ``target_l`` / ``l`` (fewest distinct sensitive values in a class of the release) and
    ``target_t`` / ``t`` (largest class distance in the release, against the release's distribution,
    as :func:`~assay.privacy.t_closeness` measures it): ``None`` when not targeted.
    ``to_dict()`` leaves out ``frame`` and ``suppressed`` (the data itself).
    """

    frame: pd.DataFrame
    suppressed: np.ndarray
    quasi_identifiers: tuple
    target_k: int
    k: int
    n_suppressed: int
    loss: float
    levels: dict
    per_column: pd.DataFrame
    search: str
    nodes_evaluated: int
    sensitive: tuple = ()
    target_l: int | None = None
    l: int | None = None  # noqa: E741
    target_t: float | None = None
    t: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("frame")
        out.pop("suppressed")
        return out

    def to_frame(self) -> pd.DataFrame:
        """Per quasi-identifier: chosen level, levels available, description, NCP."""
        return self.per_column.copy()


class _Lattice:
    def __init__(self, hierarchies: list[list[_Level]], k: int, budget: int, n: int,
                 sensitive: list[pd.Series] = (), l: int | None = None,  # noqa: E741
                 t: float | None = None, kinds: list[str] = ()):
        self.h, self.k, self.budget, self.n = hierarchies, k, budget, n
        self.sensitive, self.l, self.t, self.kinds = list(sensitive), l, t, list(kinds)
        self.row_costs = [[lv.row_cost() for lv in levels] for levels in hierarchies]
        self.cache: dict[tuple, tuple[bool, int, float, int]] = {}

    def violating(self, node: tuple) -> tuple[np.ndarray, int]:
        """(bool (n,) rows of violating classes, number of classes) at ``node``."""
        levels = [self.h[j][i] for j, i in enumerate(node)]
        codes, n_classes = combine_codes([(lv.codes.astype(np.int64) + 1, lv.card + 1) for lv in levels])
        sizes = np.bincount(codes, minlength=n_classes)
        bad = sizes < self.k
        if self.l is not None or self.t is not None:
            from .anonymity import _class_value_counts, class_distances

            for series, kind in zip(self.sensitive, self.kinds):
                if self.l is not None:
                    cls = _class_value_counts(codes, n_classes, series)[0]
                    bad |= np.bincount(cls, minlength=n_classes) < self.l
                if self.t is not None:
                    bad |= class_distances(codes, sizes, series, kind) > self.t + 1e-12
        return bad[codes], n_classes

    def release_t(self, keep: np.ndarray, node: tuple) -> float:
        """Largest class distance of the kept rows against their own distribution."""
        from .anonymity import class_distances

        levels = [self.h[j][i] for j, i in enumerate(node)]
        codes, n_classes = combine_codes([((lv.codes.astype(np.int64) + 1)[keep], lv.card + 1) for lv in levels])
        sizes = np.bincount(codes, minlength=n_classes)
        return max(float(class_distances(codes, sizes, series[keep].reset_index(drop=True), kind).max())
                   for series, kind in zip(self.sensitive, self.kinds))

    def evaluate(self, node: tuple) -> tuple[bool, int, float, int]:
        """(feasible, rows in violating classes, loss, classes)."""
        if node not in self.cache:
            small, n_classes = self.violating(node)
            n_small = int(small.sum())
            cost = sum(self.row_costs[j][i] for j, i in enumerate(node))
            loss = (float(cost[~small].sum()) + n_small * len(node)) / (self.n * len(node))
            feasible = n_small <= self.budget
            if feasible and self.t is not None and 0 < n_small < self.n:
                feasible = self.release_t(~small, node) <= self.t + 1e-12
            self.cache[node] = (feasible, n_small, loss, n_classes)
        return self.cache[node]


def generalize(frame: pd.DataFrame, quasi_identifiers: Any, *, k: int = 5, hierarchies: Mapping | None = None,
               max_suppression: float = 0.02, max_nodes: int = 256, sensitive: Any = None,
               l: int | None = None, t: float | None = None,  # noqa: E741
               distance: str = "auto") -> GeneralizationResult:
    """Generalise ``quasi_identifiers`` of ``frame`` (and suppress rows) until it is k-anonymous and,
    with ``sensitive``, distinct ``l``-diverse and/or ``t``-close.

    Parameters
    ----------
    frame : DataFrame
    quasi_identifiers : column name or list of column names
    k : int >= 1, default 5
    hierarchies : dict, optional
        Per column: for a categorical column, a dict value -> list of its ancestors (most specific
        first, one length for all values); for a numeric column, a list of increasing bin widths.
        "*" is always added on top. Columns not given get the default hierarchy (module docstring).
    max_suppression : float in [0, 1), default 0.02
        Largest share of rows that may be suppressed (removed) instead of generalising further.
    max_nodes : int, default 256
        Lattices with at most this many nodes are searched exhaustively; larger ones greedily.
    sensitive : column name or list of column names, optional
        Sensitive columns (disjoint from ``quasi_identifiers``) for ``l`` and ``t``.
    l : int >= 1, optional
        Distinct l-diversity target: every released class holds at least ``l`` distinct values of
        every sensitive column (missing counts as one value).
    t : float in [0, 1], optional
        t-closeness target (Earth Mover's Distance as :func:`~assay.privacy.t_closeness`, with
        ``distance`` "auto" / "ordered" / "equal").

    Raises AssayInputError (naming ``k``) when ``k`` exceeds the number of rows, (naming ``l``) when
    a sensitive column has fewer than ``l`` distinct values in the whole table: no generalisation
    can reach them.
    """
    owner = "generalize"
    frame = check_table(frame, owner=owner)
    qis = check_columns(frame, quasi_identifiers, arg="quasi_identifiers", owner=owner)
    k = check_k(k, "k", owner=owner)
    check_scalar(max_suppression, "max_suppression", owner=owner, low=0, high=1, closed="left")
    if isinstance(max_nodes, numbers.Integral) and not isinstance(max_nodes, bool):
        max_nodes = int(max_nodes)
    check_scalar(max_nodes, "max_nodes", owner=owner, kind=numbers.Integral, low=1)
    if hierarchies is None:
        hierarchies = {}
    if not isinstance(hierarchies, Mapping):
        raise AssayInputError(f"'hierarchies' of {owner} must be a dict of column -> hierarchy. "
                              f"Got {describe(hierarchies)}.")
    extra = [c for c in hierarchies if c not in qis]
    if extra:
        raise AssayInputError(f"'hierarchies' names {extra!r}, which are not among 'quasi_identifiers' {qis!r}.")
    n = len(frame)
    sens, kinds = _targets(frame, qis, sensitive, l, t, distance, owner)
    if l is not None:
        l = int(l)  # noqa: E741
        fewest = min(len(frame[c].drop_duplicates()) for c in sens)
        if l > fewest:
            raise AssayInputError(f"'l' of {owner} is {l}, but sensitive column(s) {sens!r} hold only {fewest} "
                                  f"distinct value(s) in the whole table: no generalisation can make classes with "
                                  f"{l} distinct values. Pass l <= {fewest}.")
    if t is not None:
        t = float(t)
    if k > n:
        raise AssayInputError(f"'k' of {owner} is {k}, but 'frame' has only {n} row(s): no generalisation can "
                              f"make classes of {k} rows. Pass k <= {n}.")
    levels = []
    for c in qis:
        column, given = frame[c], hierarchies.get(c)
        numeric = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
        if numeric:
            if given is not None and not (isinstance(given, (list, tuple)) and len(given) > 0 and all(
                    isinstance(w, numbers.Real) and w > 0 for w in given) and list(given) == sorted(given)):
                raise AssayInputError(f"'hierarchies' for numeric column {c!r} must be a list of increasing "
                                      f"positive bin widths, e.g. [5, 10, 20]. Got {describe(given)}.")
            levels.append(_numeric_levels(column, None if given is None else [float(w) for w in given]))
        else:
            if given is not None and not isinstance(given, Mapping):
                raise AssayInputError(f"'hierarchies' for categorical column {c!r} must be a dict value -> list "
                                      f"of ancestors. Got {describe(given)}.")
            levels.append(_categorical_levels(column, given, str(c)))
    lattice = _Lattice(levels, k, math.floor(max_suppression * n + 1e-9), n, [frame[c].reset_index(drop=True)
                                                                                for c in sens], l, t, kinds)
    heights = [len(lv) for lv in levels]
    size = math.prod(heights)
    if size <= max_nodes:
        feasible = [(lattice.evaluate(node)[2], node) for node in itertools.product(*(range(h) for h in heights))
                    if lattice.evaluate(node)[0]]
        node = min(feasible)[1]
        search = f"exhaustive over all {size} nodes of the lattice (the least-loss feasible node)"
    else:
        node = _greedy(lattice, heights)
        search = (f"greedy over the lattice of {size} nodes (raise the quasi-identifier removing the most violating "
                  "rows per unit of loss until feasible, then lower while feasible and cheaper): a local optimum")
    return _release(frame, qis, levels, node, lattice, k, search)


def _targets(frame: pd.DataFrame, qis: list, sensitive: Any, l: Any,  # noqa: E741
             t: Any, distance: str, owner: str) -> tuple[list, list]:
    """Validated sensitive columns and their distance kinds ([] when neither l nor t is targeted)."""
    from .anonymity import _distance_kind, _sensitive

    check_option(distance, "distance", owner=owner, options=("auto", "ordered", "equal"))
    if l is not None:
        check_k(l, "l", owner=owner)
    if t is not None:
        check_scalar(t, "t", owner=owner, low=0, high=1)
    if l is None and t is None:
        if sensitive is not None:
            raise AssayInputError(f"'sensitive' of {owner} is given but neither 'l' nor 't' is: pass the target "
                                  "(l=..., t=...) the sensitive columns are for, or drop 'sensitive'.")
        return [], []
    if sensitive is None:
        raise AssayInputError(f"'sensitive' of {owner} is missing: 'l' and 't' are targets for the sensitive "
                              "column(s); pass sensitive=[...].")
    sens = _sensitive(frame, sensitive, qis, owner)
    return sens, [_distance_kind(frame[c], distance) for c in sens]


def _greedy(lattice: _Lattice, heights: list[int]) -> tuple:
    node = tuple(0 for _ in heights)
    feasible, violating, loss, classes = lattice.evaluate(node)
    while not feasible:
        best, best_score = None, None
        for j, h in enumerate(heights):
            if node[j] + 1 >= h:
                continue
            cand = node[:j] + (node[j] + 1,) + node[j + 1:]
            _, v, l_, c = lattice.evaluate(cand)
            gain = (violating - v) + 1e-9 * (classes - c)
            score = (gain / max(l_ - loss, 1e-12), -l_)
            if best_score is None or score > best_score:
                best, best_score = cand, score
        node = best
        feasible, violating, loss, classes = lattice.evaluate(node)
    improved = True
    while improved:
        improved = False
        options = []
        for j in range(len(heights)):
            if node[j] == 0:
                continue
            cand = node[:j] + (node[j] - 1,) + node[j + 1:]
            ok, _, l_, _ = lattice.evaluate(cand)
            if ok and l_ < loss:
                options.append((l_, cand))
        if options:
            loss, node = min(options)
            improved = True
    return node


def _release(frame: pd.DataFrame, qis: list, levels: list[list[_Level]], node: tuple, lattice: _Lattice,
             k: int, search: str) -> GeneralizationResult:
    chosen = [levels[j][i] for j, i in enumerate(node)]
    codes, n_classes = combine_codes([(lv.codes.astype(np.int64) + 1, lv.card + 1) for lv in chosen])
    sizes = np.bincount(codes, minlength=n_classes)
    suppressed = lattice.violating(node)[0]
    out = frame.loc[~suppressed].copy()
    keep = ~suppressed
    rows = []
    for c, lv, i, hierarchy in zip(qis, chosen, node, levels):
        if lv.labels is not None:
            out[c] = pd.Categorical.from_codes(lv.codes[keep], categories=pd.Index(lv.labels, dtype=object))
        rows.append({"column": c, "level": int(i), "n_levels": len(hierarchy), "description": lv.description,
                     "ncp": float(lv.row_cost()[keep].mean()) if keep.any() else 1.0})
    _, _, loss, _ = lattice.evaluate(node)
    achieved = int(sizes[codes[keep]].min()) if keep.any() else 0
    got_l = got_t = None
    if lattice.sensitive and keep.any():
        from .anonymity import l_diversity, t_closeness

        sens = [s.name for s in lattice.sensitive]
        if lattice.l is not None:
            got_l = l_diversity(out, qis, sens, l=lattice.l).l_distinct
        if lattice.t is not None:
            distance = lattice.kinds[0] if len(set(lattice.kinds)) == 1 else "auto"
            got_t = t_closeness(out, qis, sens, t=lattice.t, distance=distance).t
    return GeneralizationResult(out, suppressed, tuple(qis), k, achieved, int(suppressed.sum()), float(loss),
                                {c: int(i) for c, i in zip(qis, node)}, pd.DataFrame(rows).set_index("column"),
                                search, len(lattice.cache), tuple(s.name for s in lattice.sensitive), lattice.l,
                                got_l, lattice.t, got_t)
