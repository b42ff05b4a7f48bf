"""Linear probes: what a layer encodes (issue 20, item 1).

``LinearProbe(model, layers=[...]).fit(X, property)`` captures the named layers' outputs in one
forward pass (the adapter's ``embeddings``, cached), splits the rows once (stratified, seeded),
and trains one L2-regularised logistic regression per layer on standardised activations. Each
layer is also probed on a **control task** (Hewitt & Liang 2019): the same rows with the property
permuted (the same marginal, no relation to the input); ``selectivity`` = held-out accuracy minus
control accuracy. A probe that is accurate but not selective says more about the probe's capacity
than about the layer. ``result_.to_frame()`` has one row per layer.

Three sources of activations, by ``model``:

* a torch module (or its adapter): ``layers`` name modules, ``X`` is the model's input;
* ``"minilm"``: ``X`` is a sequence of sentences, ``layers`` name MiniLM layers
  (:data:`assay.datasets.MINILM_LAYERS`, default all seven), taken mean-pooled from one forward
  pass per batch by :func:`assay.datasets.minilm_layer_embeddings`;
* None: ``X`` is already a mapping ``{layer: (n, ...) array}`` (e.g. that function's output, or
  an audit's cached embeddings); ``layers`` default to its keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
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
    """Logistic-regression probes of a property on named layers of a model.

    Parameters
    ----------
    model : a torch module (or its adapter), ``"minilm"`` (the text encoder; ``X`` is sentences) or
        None (``X`` is a mapping ``{layer: activations}``; see the module docstring).
    layers : names from ``dict(model.named_modules())`` (MiniLM: :data:`assay.datasets.MINILM_LAYERS`);
        optional for ``"minilm"`` and None (all layers).
    C : inverse L2 regularisation strength of the probes.
    test_size : held-out share of the rows (stratified).
    max_iter : iterations of the probes' solver.
    batch_size : sentences per MiniLM forward pass (``model="minilm"`` only).
    random_state : seeds the split and the control permutation.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": ["no_validation"], "layers": [list, tuple], "C": [Interval(Real, 0, None, closed="neither")],
        "test_size": [Interval(Real, 0, 1, closed="neither")], "max_iter": [Interval(Integral, 1, None)],
        "batch_size": [Interval(Integral, 1, None)], "random_state": ["random_state"]}

    def __init__(self, model: Any = None, *, layers: Any = (), C: float = 1.0, test_size: float = 0.3,
                 max_iter: int = 1000, batch_size: int = 64, random_state: Any = 0) -> None:
        self.model = model
        self.layers = layers
        self.C = C
        self.test_size = test_size
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X: Any, property: Any) -> LinearProbe:  # noqa: A002 - the issue's name for the probed labels
        """Probe every layer for ``property`` (one label per row of ``X``); sets ``result_``."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from ..metrics.intervals import wilson_interval

        owner = type(self).__name__
        labels = as_array(property, name="property", ndim=1)
        if not isinstance(X, Mapping) or self.model is not None:
            check_consistent_length(X=X, property=labels)
        classes, codes = np.unique(labels.astype(str) if labels.dtype == object else labels, return_inverse=True)
        if len(classes) < 2:
            raise AssayInputError(f"'property' of {owner} must take at least two values to be probed. Got only "
                                  f"{describe(classes.tolist())}.")
        if np.bincount(codes).min() < 2:
            raise AssayInputError(f"'property' of {owner} has a value with a single row; every value needs at least "
                                  "two rows (one on each side of the held-out split).")
        layers, activations = self._activations(X, owner)
        for layer in layers:
            n_rows = len(activations[layer]) if hasattr(activations[layer], "__len__") else -1
            if n_rows != len(codes):
                raise AssayInputError(f"'X' of {owner}: layer {layer!r} has {n_rows} rows of activations but "
                                      f"'property' has {len(codes)} labels; give one label per row.")
        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**31 - 1))
        train, test = train_test_split(np.arange(len(codes)), test_size=self.test_size, stratify=codes,
                                       random_state=seed)
        control = rng.permutation(codes)
        rows = []
        for layer in layers:
            features = np.asarray(activations[layer], dtype=np.float64).reshape(len(codes), -1)
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

    def _activations(self, X: Any, owner: str) -> tuple[list[str], Mapping[str, np.ndarray]]:
        """(layer names, {layer: (n, ...) activations}) from the source ``model`` names."""
        given = [self.layers] if isinstance(self.layers, str) else list(self.layers)
        if isinstance(self.model, str):
            if self.model != "minilm":
                raise AssayInputError(f"'model' of {owner} must be a torch model, 'minilm' or None (X holds the "
                                      f"activations). Got {self.model!r} instead.")
            from ..datasets.text import minilm_layer_embeddings

            activations = minilm_layer_embeddings(X, layers=given or None, batch_size=self.batch_size,
                                                  progress=False)
            return list(activations), activations
        if self.model is None:
            if not isinstance(X, Mapping) or not len(X):
                raise AssayInputError(f"'X' of {owner} must map layer names to activations (n, ...) when 'model' is "
                                      f"None. Got {describe(X)} instead.")
            missing = [name for name in given if name not in X]
            if missing:
                raise AssayInputError(f"'layers' of {owner} names {missing[0]!r}, which X does not hold; X holds "
                                      f"{list(X)[:20]}.")
            return given or list(X), X
        if not given:
            raise AssayInputError(f"'layers' of {owner} must name at least one layer. Got {self.layers!r}.")
        adapter = wrap(self.model)
        return given, adapter.embeddings(X, given, flatten=True)  # one pass for every layer
