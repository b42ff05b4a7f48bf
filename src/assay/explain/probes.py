"""Linear probes: what a layer encodes (issue 20, item 1).

``LinearProbe(model, layers=[...]).fit(X, property)`` captures the named layers' outputs in one
forward pass (the adapter's ``embeddings``, cached), splits the rows once (stratified, seeded),
and trains one L2-regularised logistic regression per layer on standardised activations. Each
layer is also probed on a **control task** (Hewitt & Liang 2019): the same rows with the property
permuted (the same marginal, no relation to the input); ``selectivity`` = held-out accuracy minus
control accuracy. A probe that is accurate but not selective says more about the probe's capacity
than about the layer. ``result_.to_frame()`` has one row per layer.
"""

from __future__ import annotations

import dataclasses
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import wrap
from ..core.component import Component, Interval
from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import as_array, check_consistent_length, describe

__all__ = ["LinearProbe", "ProbeResult"]


@dataclasses.dataclass(frozen=True, eq=False)
class ProbeResult(Result):
    """Held-out probe accuracy per layer.

    ``table``: one row per layer (in the order given): ``dim`` (activation size), ``accuracy`` with
    its Wilson interval ``accuracy_lower``/``accuracy_upper``, ``control_accuracy`` (and interval),
    ``selectivity``, ``majority`` (the held-out majority-class rate: chance for this property),
    ``n_train``, ``n_test``.
    """

    table: pd.DataFrame
    property_name: str

    def to_frame(self) -> pd.DataFrame:
        return self.table


class LinearProbe(Component):
    """Logistic-regression probes of a property on named layers of a torch model.

    Parameters
    ----------
    model : a torch module (or its adapter).
    layers : names from ``dict(model.named_modules())``.
    C : inverse L2 regularisation strength of the probes.
    test_size : held-out share of the rows (stratified).
    max_iter : iterations of the probes' solver.
    random_state : seeds the split and the control permutation.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": ["no_validation"], "layers": [list, tuple], "C": [Interval(Real, 0, None, closed="neither")],
        "test_size": [Interval(Real, 0, 1, closed="neither")], "max_iter": [Interval(Integral, 1, None)],
        "random_state": ["random_state"]}

    def __init__(self, model: Any = None, *, layers: Any = (), C: float = 1.0, test_size: float = 0.3,
                 max_iter: int = 1000, random_state: Any = 0) -> None:
        self.model = model
        self.layers = layers
        self.C = C
        self.test_size = test_size
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, property: Any) -> LinearProbe:  # noqa: A002 - the issue's name for the probed labels
        """Probe every layer for ``property`` (one label per row of ``X``); sets ``result_``."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from ..metrics.intervals import wilson_interval

        owner = type(self).__name__
        if not len(self.layers):
            raise AssayInputError(f"'layers' of {owner} must name at least one layer. Got {self.layers!r}.")
        labels = as_array(property, name="property", ndim=1)
        check_consistent_length(X=X, property=labels)
        classes, codes = np.unique(labels.astype(str) if labels.dtype == object else labels, return_inverse=True)
        if len(classes) < 2:
            raise AssayInputError(f"'property' of {owner} must take at least two values to be probed. Got only "
                                  f"{describe(classes.tolist())}.")
        if np.bincount(codes).min() < 2:
            raise AssayInputError(f"'property' of {owner} has a value with a single row; every value needs at least "
                                  "two rows (one on each side of the held-out split).")
        adapter = wrap(self.model)
        activations = adapter.embeddings(X, list(self.layers), flatten=True)  # one pass for every layer
        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**31 - 1))
        train, test = train_test_split(np.arange(len(codes)), test_size=self.test_size, stratify=codes,
                                       random_state=seed)
        control = rng.permutation(codes)
        rows = []
        for layer in self.layers:
            features = np.asarray(activations[layer], dtype=np.float64)
            scores = {}
            for name, target in (("accuracy", codes), ("control_accuracy", control)):
                probe = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=self.max_iter))
                probe.fit(features[train], target[train])
                scores[name] = int((probe.predict(features[test]) == target[test]).sum())
            rows.append({"layer": layer, "dim": features.shape[1], **scores})
        n_test = len(test)
        hits = np.array([[r["accuracy"], r["control_accuracy"]] for r in rows], dtype=float)
        lower, upper = wilson_interval(hits.ravel(), np.full(hits.size, n_test))
        table = pd.DataFrame(rows).set_index("layer")
        table["accuracy"], table["control_accuracy"] = hits[:, 0] / n_test, hits[:, 1] / n_test
        table["accuracy_lower"], table["accuracy_upper"] = lower[0::2], upper[0::2]
        table["control_lower"], table["control_upper"] = lower[1::2], upper[1::2]
        table["selectivity"] = table["accuracy"] - table["control_accuracy"]
        table["majority"] = np.bincount(codes[test]).max() / n_test
        table["n_train"], table["n_test"] = len(train), n_test
        order = ["dim", "accuracy", "accuracy_lower", "accuracy_upper", "control_accuracy", "control_lower",
                 "control_upper", "selectivity", "majority", "n_train", "n_test"]
        self.classes_ = classes
        self.result_ = ProbeResult(table=table[order], property_name=str(getattr(property, "name", "property")))
        return self
