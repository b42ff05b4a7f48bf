"""Model theft through the prediction API, and defences that change only the outputs.

* :func:`defend_outputs` / :func:`defended` -- output-only defences: ``"top_k"`` (only the k
  largest probabilities, renormalised), ``"label"`` (one-hot of the predicted class),
  ``"round"`` (probabilities rounded to ``decimals``), ``"noise"`` (Gaussian noise of standard
  deviation ``scale`` added to the probabilities, clipped at 0 and renormalised).
* :func:`extraction_attack` -- query the victim on attacker inputs, train a copycat on its answers
  (the predicted labels), and report fidelity (agreement with the victim on held-out inputs) and
  the copy's accuracy against the number of queries, with the query cost at a price per 1,000.
* :func:`defence_report` -- per defence: accuracy, ECE, loss-attack membership advantage and
  extraction fidelity, beside the undefended model: what each defence buys and what it costs.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import as_array, check_option, check_scalar, describe
from .membership import _adapter, _class_indices, _take, example_loss

__all__ = ["DEFENCES", "ExtractionResult", "defence_report", "defend_outputs", "defended", "extraction_attack"]

DEFENCES = ("top_k", "label", "round", "noise")


def defend_outputs(proba: Any, kind: str, *, k: int = 1, decimals: int = 1, scale: float = 0.1,
                   random_state: int | None = 0) -> np.ndarray:
    """Probabilities ``(n, c)`` after an output-only defence (rows still sum to 1; see the module doc)."""
    owner = "defend_outputs"
    check_option(kind, "kind", owner=owner, options=DEFENCES)
    p = as_array(proba, name="proba", ndim=2, dtype=np.float64)
    rows = np.arange(len(p))
    if kind == "label":
        out = np.zeros_like(p)
        out[rows, p.argmax(axis=1)] = 1.0
        return out
    if kind == "top_k":
        check_scalar(k, "k", owner=owner, kind=(int, np.integer), low=1)
        keep = np.argsort(-p, axis=1, kind="stable")[:, :k]
        out = np.zeros_like(p)
        np.put_along_axis(out, keep, np.take_along_axis(p, keep, axis=1), axis=1)
    elif kind == "round":
        check_scalar(decimals, "decimals", owner=owner, kind=(int, np.integer), low=0)
        out = np.round(p, decimals)
        empty = out.sum(axis=1) == 0
        out[empty, p[empty].argmax(axis=1)] = 1.0
    else:
        check_scalar(scale, "scale", owner=owner, low=0)
        noise = np.random.default_rng(random_state).normal(scale=scale, size=p.shape)
        out = np.clip(p + noise, 0.0, None)
        empty = out.sum(axis=1) == 0
        out[empty, p[empty].argmax(axis=1)] = 1.0
    return out / out.sum(axis=1, keepdims=True)


def defended(model: Any, kind: str, **params: Any) -> Callable[[Any], np.ndarray]:
    """A callable ``X -> defended probabilities`` of ``model`` (wrap it with ``assay.wrap(f, classes=...)``)."""
    check_option(kind, "kind", owner="defended", options=DEFENCES)
    adapter = _adapter(model)

    def predict(X: Any) -> np.ndarray:
        return defend_outputs(adapter.predict_proba(X), kind, **params)

    return predict


@dataclasses.dataclass(frozen=True)
class ExtractionResult(Result):
    """``table``: one row per query budget: ``n_queries``, ``fidelity`` (share of evaluation inputs
    where the copy predicts the victim's class), ``accuracy`` (the copy's, when labels are given;
    else NaN), ``victim_accuracy``, ``cost`` (``n_queries / 1000 x price_per_1000``)."""

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table


def _default_copycat(random_state: int) -> Any:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, random_state=random_state)


def extraction_attack(victim: Any, X_query: Any, X_eval: Any, y_eval: Any = None, *,
                      n_queries: Sequence[int] = (100, 300, 1000), copycat: Any = None,
                      price_per_1000: float = 0.0, output: Callable[[np.ndarray], np.ndarray] | None = None,
                      random_state: int = 0) -> ExtractionResult:
    """Steal ``victim`` by querying it: fidelity of a copycat against the number of queries.

    Parameters
    ----------
    victim : anything :func:`assay.wrap` accepts (the API being queried)
    X_query : array-like (m, d)
        The attacker's inputs (surrogate data or random inputs); the first ``n`` are sent for a
        budget of ``n`` queries.
    X_eval, y_eval : held-out inputs (and optional true labels) to measure fidelity and accuracy.
    n_queries : increasing ints, each at most ``len(X_query)``
    copycat : scikit-learn classifier, optional
        Cloned for each budget (default: an MLP with one hidden layer of 64 units).
    price_per_1000 : float >= 0
        Price of 1,000 queries, for the ``cost`` column.
    output : callable(proba) -> proba, optional
        An output-only defence applied to the victim's answers (:func:`defend_outputs`).
    random_state : int
    """
    from sklearn.base import clone as sk_clone
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    owner = "extraction_attack"
    check_scalar(price_per_1000, "price_per_1000", owner=owner, low=0)
    budgets = [int(b) for b in n_queries] if isinstance(n_queries, (list, tuple, np.ndarray)) else []
    m = len(X_query)
    if not budgets or any(b < 2 or b > m for b in budgets):
        raise AssayInputError(f"'n_queries' of {owner} must be a non-empty list of ints in [2, {m}] (the rows of "
                              f"X_query). Got {n_queries!r}.")
    adapter = _adapter(victim)
    answers = adapter.predict_proba(_take(X_query, np.arange(max(budgets))))
    if output is not None:
        answers = output(answers)
    stolen = answers.argmax(axis=1)
    victim_eval = adapter.predict_proba(X_eval).argmax(axis=1)
    labels = None if y_eval is None else _class_indices(y_eval, len(victim_eval), answers.shape[1], "y_eval")
    rows = []
    for budget in budgets:
        model = sk_clone(copycat) if copycat is not None else _default_copycat(random_state)
        seen = stolen[:budget]
        if len(np.unique(seen)) < 2:
            copy_pred = np.full(len(victim_eval), seen[0])
        else:
            with warnings.catch_warnings(), threadpool_limits(1):
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(as_array(_take(X_query, np.arange(budget)), name="X_query"), seen)
            copy_pred = np.asarray(model.predict(as_array(X_eval, name="X_eval")))
        rows.append({"n_queries": budget, "fidelity": float(np.mean(copy_pred == victim_eval)),
                     "accuracy": float(np.mean(copy_pred == labels)) if labels is not None else np.nan,
                     "victim_accuracy": float(np.mean(victim_eval == labels)) if labels is not None else np.nan,
                     "cost": budget / 1000 * float(price_per_1000)})
    return ExtractionResult(pd.DataFrame(rows))


def defence_report(model: Any, members: tuple[Any, Any], nonmembers: tuple[Any, Any], *,
                   defences: Mapping[str, Mapping[str, Any]] | None = None, X_query: Any = None,
                   n_queries: int = 500, copycat: Any = None, n_bins: int = 15,
                   random_state: int = 0) -> pd.DataFrame:
    """What each output-only defence buys (membership advantage, extraction fidelity) and costs
    (accuracy, ECE), beside the undefended model (row ``"none"``).

    ``members`` / ``nonmembers``: ``(X, y)`` of training rows and held-out rows (``y`` class
    indices); accuracy and ECE are measured on the non-members, fidelity on them too, with a copycat
    trained on ``n_queries`` rows of ``X_query`` (skipped when None; ``copycat`` as in
    :func:`extraction_attack`). ``defences`` maps a row name to
    :func:`defend_outputs` keywords with ``kind`` (default: label, top-1, rounding to 1 decimal,
    noise 0.1).
    """
    from ..metrics.calibration import expected_calibration_error
    from .evaluation import evaluate_attack

    if defences is None:
        defences = {"label only": {"kind": "label"}, "top-1": {"kind": "top_k", "k": 1},
                    "round 1 decimal": {"kind": "round", "decimals": 1}, "noise 0.1": {"kind": "noise", "scale": 0.1}}
    if not isinstance(defences, Mapping) or not all(isinstance(v, Mapping) and "kind" in v
                                                    for v in defences.values()):
        raise AssayInputError(f"'defences' must map names to dicts with a 'kind' among {DEFENCES}. "
                              f"Got {describe(defences)}.")
    adapter = _adapter(model)
    p_mem, p_non = adapter.predict_proba(members[0]), adapter.predict_proba(nonmembers[0])
    y_mem = _class_indices(members[1], len(p_mem), p_mem.shape[1], "members[1]")
    y_non = _class_indices(nonmembers[1], len(p_non), p_non.shape[1], "nonmembers[1]")
    rows = []
    for name, params in {"none": None, **defences}.items():
        def apply(p, params=params):
            return p if params is None else defend_outputs(p, **{"random_state": random_state, **params})

        d_mem, d_non = apply(p_mem), apply(p_non)
        attack = evaluate_attack(-example_loss(d_mem, y_mem), -example_loss(d_non, y_non), n_boot=0)
        row = {"defence": name, "accuracy": float(np.mean(d_non.argmax(axis=1) == y_non)),
               "ece": float(expected_calibration_error(y_non, d_non, n_bins=n_bins)),
               "membership_auc": attack.auc, "membership_advantage": attack.advantage,
               "tpr_at_1_fpr": attack.tpr_at_fpr(0.01)}
        if X_query is not None:
            steal = extraction_attack(model, X_query, nonmembers[0], y_non, n_queries=[min(n_queries, len(X_query))],
                                      output=(None if params is None else apply), copycat=copycat,
                                      random_state=random_state)
            row["extraction_fidelity"] = float(steal.table["fidelity"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows).set_index("defence")
