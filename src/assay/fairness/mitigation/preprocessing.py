"""Pre-processing mitigations: change the training data (its weights, rows or values), not the model.

* :class:`Reweighing` -- per-row weights (Kamiran & Calders 2012);
* :class:`GroupResampler` -- rows over- or under-sampled per (group, label) cell, seeded;
* :class:`DisparateImpactRemover` -- numeric features repaired toward the groups' median
  distribution (Feldman et al. 2015);
* :class:`SensitiveFeatureRemover` -- the sensitive columns dropped, with the proxy scan of
  :func:`assay.data_checks.proxy_features` on what remains.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...core.component import Component, Interval, Options
from ...core.errors import AssayInputError
from ...core.validation import as_array, check_consistent_length, check_is_fitted, check_random_state, describe
from ._groups import codes_for, group_codes

__all__ = ["DisparateImpactRemover", "GroupResampler", "Reweighing", "SensitiveFeatureRemover"]


class Reweighing(Component):
    """Kamiran & Calders (2012) reweighing: weights that make the label independent of the group.

    Each row of cell (group ``g``, label ``c``) gets ``P(g) P(c) / P(g, c)`` (empirical
    frequencies on the rows fitted), so that under the weights every group has the overall
    base rate. Several sensitive-feature columns mean their intersection. The weights go to any
    estimator accepting ``sample_weight`` (and :func:`assay.models.fit_torch_classifier`).

    Attributes
    ----------
    sample_weight_ : ndarray of shape (n_samples,)
        The weight of each row passed to ``fit``.
    weights_ : DataFrame
        One row per (group, label) cell seen, indexed by the sensitive features and ``label``;
        columns ``n``, ``p_group``, ``p_label``, ``p_group_label`` and ``weight``.
    """

    def __init__(self) -> None:
        pass

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> Reweighing:
        """Compute the weights of the rows of ``(X, y)``; ``X`` is only checked for its length."""
        labels = as_array(y, name="y", ndim=1)
        n = len(labels)
        if n == 0:
            raise AssayInputError(f"'y' must hold at least one label. Got {describe(y)}.")
        try:
            n_x = len(X)
        except TypeError:
            raise AssayInputError(f"'X' must be array-like with one row per label. Got {describe(X)}.") from None
        check_consistent_length(X=range(n_x), y=labels)
        codes, cells = group_codes(sensitive_features, n, owner="Reweighing")
        if pd.isna(pd.Series(labels)).any():
            raise AssayInputError("'y' must not hold missing labels. Got NaN/None in y.")
        label_codes, classes = pd.factorize(pd.Series(labels), sort=True)
        n_groups, n_classes = len(cells), len(classes)
        joint = np.bincount(codes * n_classes + label_codes, minlength=n_groups * n_classes).reshape(
            n_groups, n_classes).astype(np.float64)
        p_joint = joint / n
        p_group = p_joint.sum(axis=1)
        p_label = p_joint.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.outer(p_group, p_label) / p_joint
        self.sample_weight_ = weight[codes, label_codes]
        gi, ci = np.nonzero(joint)
        index = pd.MultiIndex.from_tuples(
            [(*cells[g], classes[c]) for g, c in zip(gi, ci)], names=[*cells.names, "label"]
        )
        self.weights_ = pd.DataFrame({
            "n": joint[gi, ci].astype(np.int64), "p_group": p_group[gi], "p_label": p_label[ci],
            "p_group_label": p_joint[gi, ci], "weight": weight[gi, ci],
        }, index=index)
        self.classes_ = np.asarray(classes)
        self.groups_ = cells
        return self


def _rows(X: Any, n: int, *, name: str = "X") -> int:
    try:
        n_x = len(X)
    except TypeError:
        raise AssayInputError(f"'{name}' must be array-like with one row per label. Got {describe(X)}.") from None
    return check_consistent_length(**{name: range(n_x)}, y=range(n))


def _take(X: Any, index: np.ndarray) -> Any:
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[index]
    return np.asarray(X)[index]


class GroupResampler(Component):
    """Rows over- or under-sampled per (group, label) cell, seeded (Kamiran & Calders 2012, uniform sampling).

    ``balance="independence"``: every cell is brought to the size it would have if the label
    were independent of the group, ``n_group * n_label / n``, scaled so that ``kind="over"``
    only adds rows (each row kept once, extra rows drawn with replacement within the cell) and
    ``kind="under"`` only removes rows (drawn without replacement). ``balance="equal"``: every
    non-empty cell gets the size of the largest (``"over"``) or smallest (``"under"``) cell.
    Cell sizes are rounded to whole rows. Several sensitive-feature columns mean their intersection.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_resampled,)
        Positions (into the rows passed to :meth:`fit_resample`) of the rows returned, cell by cell.
    cells_ : DataFrame
        One row per (group, label) cell: ``n`` before and ``n_resampled`` after.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "kind": [Options(str, {"over", "under"})],
        "balance": [Options(str, {"independence", "equal"})],
        "random_state": ["random_state"],
    }

    def __init__(self, *, kind: str = "over", balance: str = "independence", random_state: Any = None) -> None:
        self.kind = kind
        self.balance = balance
        self.random_state = random_state

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> GroupResampler:
        """Draw the rows; :meth:`fit_resample` also returns them."""
        labels = as_array(y, name="y", ndim=1)
        n = len(labels)
        if n == 0:
            raise AssayInputError(f"'y' must hold at least one label. Got {describe(y)}.")
        _rows(X, n)
        if pd.isna(pd.Series(labels)).any():
            raise AssayInputError("'y' must not hold missing labels. Got NaN/None in y.")
        codes, cells = group_codes(sensitive_features, n, owner="GroupResampler")
        label_codes, classes = pd.factorize(pd.Series(labels), sort=True)
        n_classes = len(classes)
        cell = codes * n_classes + label_codes
        counts = np.bincount(cell, minlength=len(cells) * n_classes).astype(np.float64)
        present = counts > 0
        if self.balance == "independence":
            expected = np.outer(counts.reshape(len(cells), n_classes).sum(1),
                                counts.reshape(len(cells), n_classes).sum(0)).ravel() / n
            ratio = counts[present] / expected[present]
            scale = ratio.max() if self.kind == "over" else ratio.min()
            target = np.where(present, np.rint(expected * scale), 0)
            # rounding must not cross the kind's direction
            target = np.maximum(target, counts) if self.kind == "over" else np.minimum(target, counts)
        else:
            size = counts[present].max() if self.kind == "over" else counts[present].min()
            target = np.where(present, size, 0)
        target = target.astype(np.int64)
        rng = check_random_state(self.random_state, name="random_state")
        order = np.argsort(cell, kind="stable")
        starts = np.r_[0, np.cumsum(counts.astype(np.int64))]
        parts = []
        for c in np.flatnonzero(present):
            rows = order[starts[c]:starts[c + 1]]
            if self.kind == "over":
                parts.append(np.r_[rows, rng.choice(rows, target[c] - len(rows), replace=True)])
            else:
                parts.append(np.sort(rng.choice(rows, target[c], replace=False)))
        self.sample_indices_ = np.concatenate(parts).astype(np.int64)
        gi, ci = np.divmod(np.flatnonzero(present), n_classes)
        index = pd.MultiIndex.from_tuples([(*cells[g], classes[c]) for g, c in zip(gi, ci)],
                                          names=[*cells.names, "label"])
        self.cells_ = pd.DataFrame({"n": counts[present].astype(np.int64), "n_resampled": target[present]},
                                   index=index)
        self.groups_ = cells
        return self

    def fit_resample(self, X: Any, y: Any, *, sensitive_features: Any = None) -> tuple[Any, Any, Any]:
        """``(X, y, sensitive_features)`` restricted to (and repeated along) :attr:`sample_indices_`."""
        self.fit(X, y, sensitive_features=sensitive_features)
        idx = self.sample_indices_
        sf = sensitive_features
        sf = {k: _take(v, idx) for k, v in sf.items()} if isinstance(sf, dict) else _take(sf, idx)
        return _take(X, idx), _take(y, idx), sf


def _plotting_positions(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted values, their positions (k - 0.5) / n, and (distinct values, mean position of each)."""
    ordered = np.sort(values)
    positions = (np.arange(len(ordered)) + 0.5) / len(ordered)
    distinct, start, count = np.unique(ordered, return_index=True, return_counts=True)
    mean_position = (start + (count - 1) / 2 + 0.5) / len(ordered)
    return ordered, positions, np.c_[distinct, mean_position]


class DisparateImpactRemover(Component):
    """Feldman et al. (2015) repair: each numeric feature's within-group distribution moved toward the median one.

    A row of group ``g`` with value ``x`` has the quantile ``u = F_g(x)`` in its group (plotting
    position ``(k - 0.5) / n_g`` of its rank ``k``, ties averaged; between fitted values by linear
    interpolation). The median distribution's value at ``u`` is ``m(u) = median_g F_g^-1(u)``
    (``F_g^-1`` the linear interpolation of the sorted group values at those positions, i.e.
    numpy's ``method="hazen"`` quantile). The repaired value is ``(1 - repair_level) x +
    repair_level m(u)``: ``repair_level=0`` leaves the data, ``1`` gives every group the same
    distribution of each repaired feature (on the rows fitted, up to group sizes and ties: equal
    values stay equal, so a feature with large tie blocks keeps part of its gap).
    Several sensitive-feature columns mean their intersection; the sensitive columns themselves
    are not repaired.

    Parameters
    ----------
    repair_level : float in [0, 1], default 1.0
    features : list of str or None
        Columns to repair; default every numeric column of a DataFrame (every column of an array).

    Attributes
    ----------
    features_ : list
        The columns repaired (names, or positions for arrays).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "repair_level": [Interval(Real, 0, 1, closed="both")],
        "features": [None, list, tuple],
    }

    def __init__(self, *, repair_level: float = 1.0, features: Any = None) -> None:
        self.repair_level = repair_level
        self.features = features

    def _columns(self, X: Any) -> list:
        if isinstance(X, pd.DataFrame):
            if self.features is None:
                return [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])
                        and not pd.api.types.is_bool_dtype(X[c])]
            missing = [f for f in self.features if f not in X.columns]
            if missing:
                raise AssayInputError(f"'features' names columns {missing} that 'X' does not have "
                                      f"(columns: {list(X.columns)[:20]}).")
            return list(self.features)
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise AssayInputError(f"'X' must be a DataFrame or a 2-D array. Got {describe(X)}.")
        return list(range(arr.shape[1])) if self.features is None else list(self.features)

    def _matrix(self, X: Any, columns: list) -> np.ndarray:
        block = X[columns].to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)[:, columns]
        try:
            block = block.astype(np.float64)
        except (TypeError, ValueError):
            raise AssayInputError(f"'X' columns {columns} to repair must be numeric. Got {describe(X)}.") from None
        if not np.isfinite(block).all():
            raise AssayInputError(f"'X' columns to repair must hold finite numbers. Got NaN or inf in {columns}.")
        return block

    def fit(self, X: Any, y: Any = None, *, sensitive_features: Any = None) -> DisparateImpactRemover:
        """Learn each group's distribution of each repaired feature from ``X`` (n, d)."""
        columns = self._columns(X)
        n = len(X)
        codes, cells = group_codes(sensitive_features, n, owner="DisparateImpactRemover")
        block = self._matrix(X, columns)
        self.distributions_ = [[_plotting_positions(block[codes == g, j]) for g in range(len(cells))]
                               for j in range(len(columns))]
        self.features_ = columns
        self.groups_ = cells
        return self

    def transform(self, X: Any, *, sensitive_features: Any = None) -> Any:
        """``X`` with the repaired columns replaced (same type: DataFrame or array)."""
        check_is_fitted(self, ["distributions_"])
        if isinstance(X, pd.DataFrame):
            missing = [c for c in self.features_ if c not in X.columns]
            if missing:
                raise AssayInputError(f"'X' lacks the columns {missing} seen at fit.")
        block = self._matrix(X, self.features_)
        codes = codes_for(sensitive_features, len(block), self.groups_, owner="DisparateImpactRemover",
                          method="transform")
        lam = float(self.repair_level)
        repaired = block.copy()
        for j, per_group in enumerate(self.distributions_):
            u = np.empty(len(block))
            for g, (_, _, cdf) in enumerate(per_group):
                rows = codes == g
                u[rows] = np.interp(block[rows, j], cdf[:, 0], cdf[:, 1])
            quantiles = np.stack([np.interp(u, positions, ordered) for ordered, positions, _ in per_group])
            repaired[:, j] = (1 - lam) * block[:, j] + lam * np.median(quantiles, axis=0)
        if isinstance(X, pd.DataFrame):
            out = X.copy()
            for j, c in enumerate(self.features_):
                out[c] = repaired[:, j] if pd.api.types.is_float_dtype(X[c]) else repaired[:, j].astype(np.float64)
            return out
        out = np.array(X, dtype=np.float64, copy=True)
        out[:, self.features_] = repaired
        return out

    def fit_transform(self, X: Any, y: Any = None, *, sensitive_features: Any = None) -> Any:
        return self.fit(X, y, sensitive_features=sensitive_features).transform(X, sensitive_features=sensitive_features)


class SensitiveFeatureRemover(Component):
    """Drop the sensitive columns from ``X``, and say what still predicts them.

    Removing a column rarely removes the information: :meth:`fit` runs
    :func:`assay.data_checks.proxy_features` on the remaining columns (each feature alone
    predicting each sensitive attribute, out-of-fold AUC), the scan the data checks report.

    Attributes
    ----------
    dropped_ : list of str
        The columns of ``X`` named like a sensitive feature, plus ``columns``.
    proxies_ : ProxyResult or None
        The proxy scan (``None`` with ``proxies=False``).
    strong_proxies_ : list of str
        Features whose AUC for some sensitive attribute reaches ``threshold``.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "columns": [None, list, tuple],
        "proxies": [bool],
        "threshold": [Interval(Real, 0.5, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, columns: Any = None, proxies: bool = True, threshold: float = 0.8,
                 random_state: Any = 0) -> None:
        self.columns = columns
        self.proxies = proxies
        self.threshold = threshold
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None, *, sensitive_features: Any = None) -> SensitiveFeatureRemover:
        """Find the columns to drop; scan the rest for proxies of ``sensitive_features``."""
        if not isinstance(X, pd.DataFrame):
            raise AssayInputError(f"'X' must be a DataFrame (columns are dropped by name). Got {describe(X)}.")
        _, cells = group_codes(sensitive_features, len(X), owner="SensitiveFeatureRemover")
        extra = list(self.columns or [])
        missing = [c for c in extra if c not in X.columns]
        if missing:
            raise AssayInputError(f"'columns' names {missing} that 'X' does not have (columns: {list(X.columns)[:20]}).")
        self.dropped_ = [c for c in X.columns if c in set(cells.names) or c in extra]
        self.proxies_ = None
        self.strong_proxies_ = []
        if self.proxies:
            from ...data_checks import proxy_features

            kept = X.drop(columns=self.dropped_)
            self.proxies_ = proxy_features(kept, sensitive_features, threshold=self.threshold,
                                           random_state=self.random_state)
            table = self.proxies_.table
            self.strong_proxies_ = list(dict.fromkeys(table.loc[table["strong"], "feature"]))
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, ["dropped_"])
        if not isinstance(X, pd.DataFrame):
            raise AssayInputError(f"'X' must be a DataFrame (columns are dropped by name). Got {describe(X)}.")
        return X.drop(columns=[c for c in self.dropped_ if c in X.columns])

    def fit_transform(self, X: Any, y: Any = None, *, sensitive_features: Any = None) -> pd.DataFrame:
        return self.fit(X, y, sensitive_features=sensitive_features).transform(X)
