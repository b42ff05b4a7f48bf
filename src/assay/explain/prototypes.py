"""Prototypes and criticisms (MMD-critic, Kim, Khanna & Koyejo 2016, "Examples are not Enough, Learn to
Criticize!").

``MMDCritic(n_prototypes=5, n_criticisms=3).fit(X, y, sensitive_features=g).result_.to_frame()``: the rows
that best represent each class (prototypes) and the rows those prototypes explain worst (criticisms),
overall and within each group.

With an RBF kernel ``k(a, b) = exp(-gamma * ||a - b||^2)`` on the ``n`` rows of a cell (a class, or a
class within a group):

* **Prototypes** ``S`` greedily maximise ``J(S) = 2/(n|S|) sum_{i, j in S} k(x_i, x_j) - 1/|S|^2
  sum_{i, j in S} k(x_i, x_j)``, i.e. minimise ``MMD^2(data, S) = 1/n^2 sum k(x_i, x_j) - J(S)``. Each step
  adds the row maximising ``J(S + {c})`` (ties: the first row), exactly the reference implementation's
  ``greedy_select_protos`` (whose gain ``2/n sum_i k(x_i, c) - (2 sum_{j in S} k(x_j, c) + k(c, c)) / (|S| +
  1)`` is ``(|S| + 1) J(S + {c})`` minus a term that does not depend on ``c``).
* **Criticisms** ``C`` (rows outside ``S``) greedily maximise ``sum_{l in C} |f(x_l)| + log det K_{C,C}``,
  with the witness function ``f(x) = 1/n sum_i k(x, x_i) - 1/|S| sum_{j in S} k(x, x_j)`` (where the data
  and the prototypes disagree) and the log-determinant diversity regulariser of the paper: each step adds
  the row maximising ``|f(c)| + log(k(c, c) - k_{C,c}^T K_{C,C}^{-1} k_{C,c})`` (the increase of the log
  determinant, by the Schur complement), the reference's ``select_criticism_regularized(reg="logdet")``.

``gamma`` defaults to the median heuristic: ``1 / (2 * median ||x_i - x_j||^2)`` over distinct pairs of
all rows of ``X`` (a seeded sample of 1,000 rows when there are more), i.e. a kernel width equal to the
median distance; one kernel for every cell, so cells are compared on one scale. With ``standardize=True``
the columns are first scaled to unit variance (tabular data whose columns have different units).

Memory and time: the ``n x n`` kernel matrix is never stored. Its column sums are computed ``block_size``
rows at a time (``block_size * n`` floats, computed in place; default: as many rows as fit in 2**23
entries, 64 MiB), and one kernel row is computed per selected prototype or criticism, so the peak is
about ``(block_size + n_prototypes + n_criticisms) * n * 8`` bytes per cell (plus the data); time
``O(n^2 d)`` per cell.

Inputs: a numeric array ``(n, ...)`` (flattened per row: embeddings, images), a DataFrame (its numeric
columns), or, with ``model`` and ``layer``, the inputs of a torch model whose layer output is the
embedding (the adapter's ``embeddings``, cached).
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import ModelAdapter, wrap
from ..core.component import Component, Interval
from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import (
    as_array,
    check_consistent_length,
    check_sensitive_features,
    describe,
    sensitive_feature_columns,
)

__all__ = ["MMDCritic", "PrototypeResult", "median_heuristic_gamma", "rbf_kernel", "select_criticisms",
           "select_prototypes"]

_MEDIAN_ROWS = 1000
_BLOCK_ENTRIES = 2 ** 23  # kernel entries per block by default (64 MiB of float64)


def rbf_kernel(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
    """``exp(-gamma * ||a_i - b_j||^2)``, shape ``(len(A), len(B))`` (float64)."""
    out = A @ B.T  # one (len(A), len(B)) buffer, transformed in place
    out *= -2.0
    out += (A * A).sum(1)[:, None]
    out += (B * B).sum(1)[None, :]
    np.maximum(out, 0.0, out=out)
    out *= -gamma
    return np.exp(out, out=out)


def median_heuristic_gamma(X: np.ndarray, random_state: Any = 0) -> float:
    """``1 / (2 * median squared distance)`` over distinct pairs of rows (of a seeded sample of 1,000 rows
    when there are more); 1.0 when every distance is 0."""
    X = np.asarray(X, dtype=np.float64)
    if len(X) > _MEDIAN_ROWS:
        X = X[np.random.default_rng(random_state).choice(len(X), _MEDIAN_ROWS, replace=False)]
    sq = (X * X).sum(1)[:, None] + (X * X).sum(1)[None, :] - 2.0 * X @ X.T
    upper = np.maximum(sq[np.triu_indices(len(X), k=1)], 0.0)
    median = float(np.median(upper)) if upper.size else 0.0
    return 1.0 / (2.0 * median) if median > 0 else 1.0


def _column_means(X: np.ndarray, gamma: float, block_size: int | None) -> np.ndarray:
    """``1/n sum_i k(x_i, x_c)`` for every row ``c``, ``block_size`` rows of the kernel at a time."""
    n = len(X)
    block_size = block_size or max(1, _BLOCK_ENTRIES // n)
    out = np.zeros(n)
    for lo in range(0, n, block_size):
        out += rbf_kernel(X[lo:lo + block_size], X, gamma).sum(0)
    return out / n


def select_prototypes(X: np.ndarray, m: int, gamma: float, *, block_size: int | None = None,
                      column_means: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy MMD-critic prototypes of the rows of ``X (n, d)``: ``(indices (m,), mmd2 (m,))`` where
    ``mmd2[r]`` is ``MMD^2`` between the rows and the first ``r + 1`` prototypes."""
    n = len(X)
    colmean = _column_means(X, gamma, block_size) if column_means is None else column_means
    total = colmean.mean()  # 1/n^2 sum_ij k
    selected: list[int] = []
    rows = np.empty((m, n))  # k(x_s, x_c) of every selected prototype s
    available = np.ones(n, dtype=bool)
    cross = within = 0.0  # sum_{j in S} colmean[j]; sum_{i, j in S} k
    mmd2 = np.empty(m)
    for r in range(m):
        from_selected = rows[:r].sum(0) if r else np.zeros(n)
        gain = 2.0 * colmean - (2.0 * from_selected + 1.0) / (r + 1)  # k(c, c) = 1 for the RBF kernel
        gain[~available] = -np.inf
        best = int(np.argmax(gain))
        rows[r] = rbf_kernel(X[best:best + 1], X, gamma)[0]
        within += 2.0 * from_selected[best] + 1.0
        cross += colmean[best]
        selected.append(best)
        available[best] = False
        mmd2[r] = total - 2.0 * cross / (r + 1) + within / (r + 1) ** 2
    return np.asarray(selected, dtype=np.int64), np.maximum(mmd2, 0.0)


def select_criticisms(X: np.ndarray, prototypes: np.ndarray, m: int, gamma: float, *, block_size: int | None = None,
                      column_means: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy MMD-critic criticisms (log-determinant regulariser): ``(indices (m,), witness (m,))``, the
    witness ``f(x_c)`` of each (positive: the data is denser there than the prototypes; negative: sparser)."""
    n = len(X)
    colmean = _column_means(X, gamma, block_size) if column_means is None else column_means
    proto_mean = rbf_kernel(X[prototypes], X, gamma).mean(0)
    witness = colmean - proto_mean
    score = np.abs(witness)
    available = np.ones(n, dtype=bool)
    available[prototypes] = False
    rows = np.empty((m, n))
    selected: list[int] = []
    for r in range(m):
        if r:
            K_cc = rows[:r][:, selected]
            reg = 1.0 - (rows[:r] * np.linalg.solve(K_cc, rows[:r])).sum(0)
            gain = score + np.log(np.maximum(np.abs(reg), 1e-300))
        else:
            gain = score.copy()  # log k(c, c) = 0
        gain[~available] = -np.inf
        best = int(np.argmax(gain))
        rows[r] = rbf_kernel(X[best:best + 1], X, gamma)[0]
        selected.append(best)
        available[best] = False
    index = np.asarray(selected, dtype=np.int64)
    return index, witness[index]


@dataclasses.dataclass(frozen=True, eq=False)
class PrototypeResult(Result):
    """Prototypes and criticisms per cell.

    ``table``: one row per selected example: ``feature`` and ``group`` (``"overall"`` for the whole
    data, else a sensitive feature and one of its groups), ``class`` (None without ``y``), ``kind``
    (``"prototype"`` or ``"criticism"``), ``rank`` (order of selection, from 0), ``position`` (row
    position in ``X``), ``row`` (``X``'s index label), ``mmd2`` (prototypes: MMD^2 between the cell and
    its first ``rank + 1`` prototypes), ``witness`` (criticisms: the witness function; prototypes NaN),
    ``n`` (rows in the cell). ``gamma``: the RBF kernel's parameter.
    """

    table: pd.DataFrame
    gamma: float

    def to_frame(self) -> pd.DataFrame:
        return self.table

    @property
    def prototypes(self) -> pd.DataFrame:
        return self.table[self.table["kind"] == "prototype"].reset_index(drop=True)

    @property
    def criticisms(self) -> pd.DataFrame:
        return self.table[self.table["kind"] == "criticism"].reset_index(drop=True)

    def with_rows(self, X: Any) -> pd.DataFrame:
        """The table joined with the rows of ``X`` (the DataFrame given to ``fit``) it selected, by position:
        tabular prototypes and criticisms to read."""
        if not isinstance(X, pd.DataFrame):
            raise AssayInputError(f"'X' must be the DataFrame the prototypes were selected from. Got {describe(X)}.")
        if len(self.table) and int(self.table["position"].max()) >= len(X):
            raise AssayInputError(f"'X' has {len(X)} rows; the table selects position "
                                  f"{int(self.table['position'].max())}: pass the X given to fit.")
        values = X.iloc[self.table["position"].to_numpy()].reset_index(drop=True)
        values = values.drop(columns=[c for c in values.columns if c in self.table.columns])
        return pd.concat([self.table.reset_index(drop=True), values], axis=1)


class MMDCritic(Component):
    """MMD-critic prototypes and criticisms per class, overall and per group (see the module docstring).

    Parameters
    ----------
    n_prototypes : int >= 1, per cell. n_criticisms : int >= 0, per cell.
    gamma : float > 0 or None (median heuristic).
    standardize : bool, scale the columns to unit variance first.
    model, layer : optional torch model (or adapter) and module name: ``X`` is embedded by that layer.
    block_size : int >= 1 or None, kernel rows computed at a time (memory, never the result; None: 2**23 // n).
    random_state : seeds the median heuristic's sample.

    ``fit(X, y=None, *, sensitive_features=None)`` sets ``result_`` (:class:`PrototypeResult`) and
    ``gamma_``. Every cell needs at least ``n_prototypes + n_criticisms`` rows.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_prototypes": [Interval(numbers.Integral, 1, None)], "n_criticisms": [Interval(numbers.Integral, 0, None)],
        "gamma": [None, Interval(numbers.Real, 0, None, closed="neither")], "standardize": ["boolean"],
        "model": ["no_validation"], "layer": [None, str], "block_size": [None, Interval(numbers.Integral, 1, None)],
        "random_state": ["random_state"]}

    def __init__(self, n_prototypes: int = 5, n_criticisms: int = 3, *, gamma: float | None = None,
                 standardize: bool = False, model: Any = None, layer: str | None = None, block_size: int | None = None,
                 random_state: Any = 0) -> None:
        self.n_prototypes = n_prototypes
        self.n_criticisms = n_criticisms
        self.gamma = gamma
        self.standardize = standardize
        self.model = model
        self.layer = layer
        self.block_size = block_size
        self.random_state = random_state

    def _features(self, X: Any) -> np.ndarray:
        owner = type(self).__name__
        if self.model is not None or self.layer is not None:
            if self.model is None or self.layer is None:
                raise AssayInputError(f"'model' and 'layer' of {owner} go together (embeddings of a layer). Got "
                                      f"model={describe(self.model)} and layer={self.layer!r}.")
            adapter = self.model if isinstance(self.model, ModelAdapter) else wrap(self.model)
            return np.asarray(adapter.embeddings(X, self.layer, flatten=True), dtype=np.float64)
        if isinstance(X, pd.DataFrame):
            numeric = X.select_dtypes(include=["number", "bool"])
            if numeric.shape[1] == 0:
                raise AssayInputError(f"'X' of {owner} has no numeric column; encode it first. Got columns "
                                      f"{list(X.columns)[:10]}.")
            X = numeric.astype(np.float64)
        arr = as_array(X, name="X", dtype=np.float64)
        if arr.ndim < 2:
            raise AssayInputError(f"'X' of {owner} must have one row per example (n, d) or (n, ...). Got shape "
                                  f"{arr.shape}.")
        if not np.isfinite(arr).all():
            raise AssayInputError(f"'X' of {owner} must contain only finite values.")
        return arr.reshape(len(arr), -1)

    def fit(self, X: Any, y: Any = None, *, sensitive_features: Any = None) -> MMDCritic:
        owner = type(self).__name__
        features = self._features(X)
        n = len(features)
        labels = None
        if y is not None:
            labels = as_array(y, name="y", ndim=1)
            check_consistent_length(X=features, y=labels)
        groups = None
        if sensitive_features is not None:
            sensitive_feature_columns(sensitive_features, n, reference="X")  # lengths checked against X
            groups = check_sensitive_features(sensitive_features, n_samples=n)
        if self.standardize:
            std = features.std(0)
            features = (features - features.mean(0)) / np.where(std > 0, std, 1.0)
        gamma = float(self.gamma) if self.gamma is not None else median_heuristic_gamma(features, self.random_state)
        cells: list[tuple[str, Any, np.ndarray]] = [("overall", "overall", np.ones(n, dtype=bool))]
        if groups is not None:
            for feature in groups.columns:
                for group in np.unique(groups[feature].to_numpy()):
                    cells.append((feature, group, (groups[feature] == group).to_numpy()))
        need = self.n_prototypes + self.n_criticisms
        index = X.index if isinstance(X, (pd.DataFrame, pd.Series)) else pd.RangeIndex(n)
        rows = []
        for feature, group, mask in cells:
            classes = [None] if labels is None else np.unique(labels[mask])
            for cls in classes:
                member = np.flatnonzero(mask if cls is None else mask & (labels == cls))
                if len(member) < need:
                    where = f"group {feature}={group!r}" if feature != "overall" else "the data"
                    raise AssayInputError(
                        f"'n_prototypes' + 'n_criticisms' of {owner} ({self.n_prototypes} + {self.n_criticisms}) "
                        f"must not exceed the rows of a cell: {where}{'' if cls is None else f', class {cls}'} "
                        f"has {len(member)} row(s).")
                data = features[member]
                colmean = _column_means(data, gamma, self.block_size)
                protos, mmd2 = select_prototypes(data, self.n_prototypes, gamma, column_means=colmean)
                crits, witness = select_criticisms(data, protos, self.n_criticisms, gamma, column_means=colmean) \
                    if self.n_criticisms else (np.empty(0, np.int64), np.empty(0))
                base = {"feature": feature, "group": group, "class": cls, "n": len(member)}
                rows += [{**base, "kind": "prototype", "rank": r, "position": int(member[p]),
                          "row": index[member[p]], "mmd2": float(v), "witness": np.nan}
                         for r, (p, v) in enumerate(zip(protos, mmd2))]
                rows += [{**base, "kind": "criticism", "rank": r, "position": int(member[c]),
                          "row": index[member[c]], "mmd2": np.nan, "witness": float(w)}
                         for r, (c, w) in enumerate(zip(crits, witness))]
        columns = ["feature", "group", "class", "kind", "rank", "position", "row", "mmd2", "witness", "n"]
        self.gamma_ = gamma
        self.result_ = PrototypeResult(table=pd.DataFrame(rows, columns=columns), gamma=gamma)
        return self
