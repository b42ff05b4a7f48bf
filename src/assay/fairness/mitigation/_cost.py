"""The one home of cost-matrix arithmetic (GroupThresholds' ``objective=`` and CostSensitiveThreshold).

A cost matrix is 2x2: rows = true class 0, 1; columns = predicted class 0, 1 (a DataFrame such as
German credit's ``cost_matrix`` is read in that order). The expected cost of a rule with counts
(TN, FP, FN, TP) is ``C00 TN + C01 FP + C10 FN + C11 TP`` = a constant ``- (a TP - b FP)`` with
``a = C10 - C11`` (the cost a true positive saves) and ``b = C01 - C00`` (the cost a false
positive adds); the Bayes-optimal rule on calibrated scores selects ``p >= b / (a + b)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...core.errors import AssayInputError
from ...core.validation import describe

_BAD_COST = (
    "'{name}' as a cost matrix must be a 2x2 array of finite numbers (rows: true class 0, 1; columns: "
    "predicted class 0, 1). Got {received} instead."
)


def check_cost_matrix(cost: Any, *, name: str = "cost_matrix") -> np.ndarray:
    """The cost matrix as a (2, 2) float array; anything else raises :class:`AssayInputError` naming ``name``."""
    try:
        array = np.asarray(cost.to_numpy() if isinstance(cost, pd.DataFrame) else cost)
    except Exception:  # noqa: BLE001 - ragged lists and other non-arrays are a shape error
        array = None
    if (array is None or array.shape != (2, 2) or not np.issubdtype(array.dtype, np.number)
            or np.issubdtype(array.dtype, np.complexfloating) or not np.isfinite(array).all()):
        raise AssayInputError(_BAD_COST.format(name=name, received=describe(cost)))
    return array.astype(np.float64)


def cost_weights(cost: np.ndarray) -> tuple[float, float]:
    """(a, b) such that the expected cost is a constant minus ``a * TP - b * FP``."""
    return float(cost[1, 0] - cost[1, 1]), float(cost[0, 1] - cost[0, 0])


def total_cost(cost: np.ndarray, tn: Any, fp: Any, fn: Any, tp: Any) -> Any:
    """``C00 TN + C01 FP + C10 FN + C11 TP`` (counts may be expected counts, or arrays)."""
    return cost[0, 0] * tn + cost[0, 1] * fp + cost[1, 0] * fn + cost[1, 1] * tp


def bayes_threshold(cost: np.ndarray, *, name: str = "cost_matrix") -> float:
    """``b / (a + b)``: select a row when its calibrated probability of class 1 is at least this.

    ``c_FP / (c_FP + c_FN)`` when the diagonal is 0 (German credit: 5 / 6). ``+inf`` (select
    nothing) when a true positive saves nothing (``a <= 0 < b``), ``-inf`` (select everything)
    when a false positive costs nothing (``b <= 0 < a``). A matrix where neither mistake costs
    more than the right answer (``a <= 0`` and ``b <= 0``) has no threshold rule: refused.
    """
    a, b = cost_weights(cost)
    if a <= 0 and b <= 0:
        raise AssayInputError(
            f"'{name}' must make at least one mistake costlier than the right decision (C10 > C11 or C01 > C00); "
            f"got C10 - C11 = {a:g} and C01 - C00 = {b:g}, for which no threshold is better than another."
        )
    if a <= 0:
        return float(np.inf)
    if b <= 0:
        return float(-np.inf)
    return b / (a + b)
