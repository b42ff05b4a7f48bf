"""What an audit knows about the model and the data beyond the numbers: the model card's "Model
details" and "Evaluation data" and the datasheet's source (all JSON-safe, from the adapter and
the splits; nothing here runs the model)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["dataset_details", "dataset_splits", "model_details", "split_details"]


def _qualname(obj: Any) -> str:
    kind = type(obj)
    module = kind.__module__.split(".")[0]
    return kind.__name__ if module == "builtins" else f"{module}.{kind.__name__}"


def _transformer(step: Any) -> str:
    """A transformer's class name; a Pipeline's as its steps joined by arrows."""
    if isinstance(step, str):
        return step
    steps = getattr(step, "steps", None)
    if isinstance(steps, list):
        return " -> ".join(_transformer(s) for _, s in steps)
    return type(step).__name__


def _sklearn_steps(model: Any) -> tuple[Any, list[str]]:
    """The final estimator of a (nested) scikit-learn Pipeline and the steps before it."""
    steps: list[str] = []
    while hasattr(model, "steps") and isinstance(getattr(model, "steps"), list) and model.steps:
        *before, (_, last) = model.steps
        for name, step in before:
            if step in (None, "passthrough"):
                continue
            inner = getattr(step, "transformers", None)  # a ColumnTransformer: name each part
            if isinstance(inner, list):
                parts = ", ".join(f"{n}: {_transformer(t)}" for n, t, _ in inner)
                steps.append(f"{name} ({type(step).__name__}: {parts})")
            else:
                steps.append(f"{name} ({type(step).__name__})")
        model = last
    return model, steps


def model_details(adapter: Any) -> dict[str, Any]:
    """Model type, framework, classes, decision rule and preprocessing of a wrapped model.

    Keys: ``type`` (e.g. "sklearn.Pipeline"), ``framework`` ("torch", "scikit-learn" or
    "callable"), ``estimator`` (the final estimator of a scikit-learn pipeline), ``preprocessing``
    (the steps before it), ``classes``, ``decision_rule``, ``n_parameters`` (torch) and
    ``n_features_in`` where the model says.
    """
    if adapter is None:
        return {}
    model = adapter.model
    kind = getattr(adapter, "kind", None)
    details: dict[str, Any] = {"type": _qualname(model), "framework": {"torch": "torch", "sklearn": "scikit-learn"}.get(
        kind, kind or "callable")}
    if kind == "sklearn":
        final, steps = _sklearn_steps(model)
        details["estimator"] = _qualname(final)
        details["preprocessing"] = steps
        n_in = getattr(model, "n_features_in_", None)
        if n_in is not None:
            details["n_features_in"] = int(n_in)
        threshold = getattr(model, "best_threshold_", getattr(model, "threshold", None))
    else:
        threshold = None
    if kind == "torch":
        details["n_parameters"] = int(sum(p.numel() for p in model.parameters()))
    try:
        classes = adapter.classes_
    except Exception:  # noqa: BLE001 - a regressor or a callable without classes: nothing to say
        classes = None
    if classes is not None:
        details["classes"] = [c.item() if isinstance(c, np.generic) else c for c in np.asarray(classes).tolist()]
        if isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and len(classes) == 2:
            details["decision_rule"] = f"{classes[1]!s} when P({classes[1]!s}) >= {float(threshold):g}"
        elif len(classes) == 2:
            details["decision_rule"] = f"{classes[1]!s} when P({classes[1]!s}) >= 0.5 (the most probable class)"
        else:
            details["decision_rule"] = "the most probable class (argmax of the predicted probabilities)"
    return details


def split_details(splits: Mapping[str, tuple[Any, Any, Any]]) -> dict[str, dict[str, Any]]:
    """Split name -> ``{"rows": n, "labelled": bool, "sensitive_features": [names]}``."""
    out = {}
    for name, (X, y, sensitive) in splits.items():
        out[name] = {"rows": int(len(X)), "labelled": y is not None,
                     "sensitive_features": [] if sensitive is None else [str(c) for c in sensitive.columns]}
    return out


def dataset_details(dataset: Any) -> dict[str, Any]:
    """Name, source, license and citation of an :class:`assay.datasets.Dataset` (or a mapping
    with those keys); keys whose value is unknown are left out."""
    keys = ("name", "source", "license", "citation")
    if isinstance(dataset, Mapping):
        found = {k: dataset.get(k) for k in keys}
    else:
        found = {k: getattr(dataset, k, None) for k in keys}
    return {k: str(v) for k, v in found.items() if v is not None}


def dataset_splits(data: Any) -> Any:
    """The splits of a bundled :class:`assay.datasets.Dataset` (train, val where it has one, test);
    any other ``data`` unchanged."""
    from ..datasets import Dataset

    if not isinstance(data, Dataset):
        return data
    splits = {"train": data.train, "val": data.val, "test": data.test}
    return {name: split for name, split in splits.items() if split is not None}
