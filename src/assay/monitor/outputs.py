"""The model's outputs as extra columns of a table, through the adapter (``assay.wrap``).

Classifiers give one column per class, ``proba[<class>]``, and ``prediction`` (the predicted class,
categorical); regressors give ``prediction`` (numeric). The adapter batches and caches the pass,
so profiling and drift testing the outputs cost one forward pass per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError


def with_model_outputs(frame: pd.DataFrame, model: Any, *, features: Sequence[str] | None = None,
                       name: str = "reference") -> pd.DataFrame:
    """``frame`` with the model's output columns appended (the model sees ``features``, by default the
    model's ``feature_names_in_`` where it has them, else every column)."""
    from ..core.adapters import wrap

    adapter = wrap(model)
    if features is None:
        names = getattr(getattr(adapter, "model", model), "feature_names_in_", None)
        features = list(names) if names is not None else list(frame.columns)
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise AssayInputError(f"'{name}' must have the model's feature column(s) {missing}.")
    X = frame[list(features)]
    out = frame.copy()
    if getattr(adapter, "task", "classification") == "regression":
        out["prediction"] = np.asarray(adapter.predict(X), dtype=np.float64).reshape(len(frame), -1)[:, 0]
        return out
    proba = adapter.predict_proba(X)
    classes = adapter.classes_
    for j, label in enumerate(classes):
        out[f"proba[{label}]"] = proba[:, j]
    out["prediction"] = pd.Series(np.asarray(classes)[proba.argmax(axis=1)], index=frame.index).astype(str)
    return out
