"""A constraint-aware black-box attack on tabular models: :class:`TabularAttack`.

Any model :func:`assay.wrap` accepts that takes a DataFrame (scikit-learn pipelines with their
encoders included) is attacked through its scores only. The adversarial rows stay valid data:

- ``immutable`` columns (age, sex, ... whatever the user cannot change) are never changed;
- a numeric column moves at most ``eps`` of its reference standard deviation from the original
  value, inside its range (the reference's observed min/max, or ``ranges=``), and integer columns
  stay integers;
- a categorical column moves only to a category observed in the reference (or ``categories=``);
- at most ``max_changes`` columns change per row (an L0 budget; None: no limit);
- missing values stay missing, and boolean columns are kept.

The search is the score-based random search of the Square attack adapted to tables: each
iteration redraws a random subset of each unbroken row's mutable numeric columns (half at a
corner of the allowed box, half uniform inside it) and, with even odds, one categorical column,
and keeps the proposal when it lowers the margin loss ``Z_y - max_{j != y} Z_j``. Rows stop at
success; at most ``max_queries`` model evaluations per row. Every step is vectorised over rows (one
model call per iteration for all unbroken rows).

Norms in the :class:`AttackResult` are in units of each numeric column's reference standard
deviation (``linf``, ``l2`` over the numeric columns); ``n_changed`` counts changed columns per row.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import uncached_logits, wrap
from ..core.component import Interval
from ..core.feature_space import FeatureSpace
from ..core.errors import AssayInputError
from ..core.validation import check_random_state, describe
from .attacks import Attack, AttackResult, _class_indices, _softmax
from .attacks_blackbox import _margin

__all__ = ["TabularAttack"]


class TabularAttack(Attack):
    """Constraint-aware random-search attack on a tabular model (DataFrame in, scores out).

    Parameters
    ----------
    model : any model :func:`assay.wrap` accepts that takes a DataFrame.
    eps : numeric budget per column, in units of that column's reference standard deviation.
    max_changes : at most this many columns changed per row (numeric and categorical); None: no limit.
    immutable : column names that are never changed (e.g. the sensitive features).
    reference : DataFrame the standard deviations, ranges and categories are read from (pass the
        training frame); None: ``X`` itself.
    ranges : optional ``{column: (low, high)}`` overriding the reference's observed min and max.
    categories : optional ``{column: allowed values}`` overriding the reference's observed categories.
    max_queries : model evaluations per row, the clean one included.
    random_state : seed of the search.
    """

    white_box = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "eps": [Interval(Real, 0, None)], "max_changes": [None, Interval(Integral, 1, None)],
        "immutable": [list, tuple], "reference": [None, pd.DataFrame], "ranges": [None, dict],
        "categories": [None, dict], "max_queries": [Interval(Integral, 2, None)], "random_state": ["random_state"]}

    def __init__(self, model: Any = None, *, eps: float = 0.3, max_changes: int | None = None,
                 immutable: Any = (), reference: pd.DataFrame | None = None, ranges: dict | None = None,
                 categories: dict | None = None, max_queries: int = 200, random_state: Any = None) -> None:
        self.model = model
        self.eps = eps
        self.max_changes = max_changes
        self.immutable = immutable
        self.reference = reference
        self.ranges = ranges
        self.categories = categories
        self.max_queries = max_queries
        self.random_state = random_state

    @classmethod
    def _all_parameter_constraints(cls) -> dict[str, list[Any]]:
        # Ranges come per column (``ranges=``, the reference), not from the base's one ``clip``.
        merged = super()._all_parameter_constraints()
        merged.pop("clip", None)
        return merged

    def generate(self, X: Any, y: Any = None, target: Any = None) -> AttackResult:
        """Attack every row of the DataFrame ``X``; ``adversarial`` is a DataFrame like ``X``.

        Parameters
        ----------
        X : DataFrame (n rows), the model's input.
        y : labels (n,), optional. Default: the model's predictions.
        target : a class label or labels (n,), optional: a targeted attack.
        """
        owner = type(self).__name__
        if not isinstance(X, pd.DataFrame):
            raise AssayInputError(f"'X' of {owner} must be a non-empty DataFrame (the model's tabular input). "
                                  f"Got {describe(X)} instead; use SquareAttack or PGD for arrays and images.")
        adapter = wrap(self.model)
        space = FeatureSpace(X, reference=self.reference, immutable=self.immutable, ranges=self.ranges,
                             categories=self.categories, eps=self.eps, owner=owner)
        clean = adapter.logits(X)
        classes = np.asarray(adapter.classes_)
        labels_idx = clean.argmax(axis=1) if y is None else _class_indices(y, classes, "y", len(X))
        targeted = target is not None
        if targeted:
            shaped = np.full(len(X), target, dtype=object) if np.ndim(target) == 0 else target
            aim = _class_indices(shaped, classes, "target", len(X))
        else:
            aim = labels_idx
        numeric, codes, queries = self._search(adapter, space, clean, aim, targeted)
        adversarial = space.frame(numeric, codes, np.arange(len(X)))
        adv_logits = uncached_logits(adapter, adversarial)
        adv_idx = adv_logits.argmax(axis=1)
        success = adv_idx == aim if targeted else adv_idx != labels_idx
        scaled = (numeric - space.numeric0) / space.scale
        n_changed = (numeric != space.numeric0).sum(axis=1) + (codes != space.codes0).sum(axis=1)
        return AttackResult(
            attack=repr(self), adversarial=adversarial, success=success,
            linf=np.abs(scaled).max(axis=1, initial=0.0), l2=np.sqrt((scaled ** 2).sum(axis=1)),
            original_pred=classes[clean.argmax(axis=1)], adversarial_pred=classes[adv_idx],
            original_confidence=_softmax(clean).max(axis=1), adversarial_confidence=_softmax(adv_logits).max(axis=1),
            labels=classes[labels_idx], target=classes[aim] if targeted else None, queries=queries,
            n_changed=n_changed.astype(np.int64))

    def _search(self, adapter, space: FeatureSpace, clean: np.ndarray, aim: np.ndarray, targeted: bool):
        rng = check_random_state(self.random_state)
        n = len(aim)
        numeric, codes = space.numeric0.copy(), space.codes0.copy()
        loss = _margin(clean, aim, targeted)
        queries = np.ones(n, dtype=np.int64)
        for _ in range(self.max_queries - 1):
            active = np.flatnonzero(loss >= 0)
            if len(active) == 0:
                break
            prop_num, prop_cat = space.propose(numeric[active], codes[active], active, rng)
            prop_num, prop_cat = space.within_budget(prop_num, prop_cat, active, self.max_changes, rng)
            new = _margin(uncached_logits(adapter, space.frame(prop_num, prop_cat, active)), aim[active], targeted)
            queries[active] += 1
            better = new < loss[active]
            rows = active[better]
            numeric[rows], codes[rows], loss[rows] = prop_num[better], prop_cat[better], new[better]
        return numeric, codes, queries
