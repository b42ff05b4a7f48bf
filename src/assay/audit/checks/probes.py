"""Is a sensitive attribute linearly decodable from the model's hidden layers? (issue 20, item 5)

For a torch model with sensitive features: every layer of ``probe_layers`` (default
:func:`hidden_layers`: the outputs of the hidden ``Linear``/``Conv`` layers, i.e. every
parameterised layer but the output one) is captured on the audit's one forward pass of the
evaluation split (declared in :meth:`ProbesCheck.layers`, so no extra pass), and on at most
``max_rows`` of its rows each sensitive attribute is probed by :class:`assay.explain.LinearProbe`
(held-out accuracy with a Wilson interval, a control task with permuted labels, selectivity =
accuracy - control accuracy). The model's input, when numeric and at most ``max_input_dim`` wide,
is probed too, as a baseline: an attribute decodable from the input already (e.g. sex from
"relationship = husband") is carried, not created, by the layers.

Opt-in (``auto=False``): two logistic regressions per layer and attribute, on activations that may
be thousands wide (convolutions), cost more than the pass the audit makes anyway; and the finding
is about what the representation carries, which an audit asks for by name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...core.component import Interval
from ...core.result import Result
from ..base import (AuditContext, Check, Finding, Threshold, finite_or_none, grade, headline_row, rate,
                    register_check)

INPUT = "(input)"


def hidden_layers(model: Any) -> list[str]:
    """Names of the hidden ``Linear``/``Conv1d``/``Conv2d``/``Conv3d`` modules of a torch model: all
    but the last one (the output layer), in definition order; their outputs are pre-activation."""
    from torch import nn

    kinds = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    return [name for name, module in model.named_modules() if isinstance(module, kinds)][:-1]


@dataclasses.dataclass(frozen=True)
class ProbesCheckResult(Result):
    """``tables``: per probed sensitive attribute, the probe table (:class:`~assay.explain.ProbeResult`,
    one row per layer, the layer as a column ``layer``; the input baseline is the layer ``"(input)"``);
    ``skipped``: attribute -> why it was not probed; ``layers``: the hidden layers probed."""

    tables: dict
    skipped: dict
    layers: tuple
    n_rows: int


@register_check
class ProbesCheck(Check):
    """Linear probes of each sensitive attribute on each hidden layer, with selectivity."""

    name = "probes"
    title = "Linear probes: sensitive attributes in the hidden layers"
    section = "explanations"
    needs = frozenset({"model", "torch", "sensitive_features"})
    order = 62
    #: Not under "auto": a pair of probes per layer and attribute (see the module docstring); name it in ``checks``.
    auto = False
    thresholds: ClassVar[dict[str, Threshold]] = {
        "probe_selectivity_warn": rate(0.10, "largest selectivity (held-out probe accuracy minus control-task "
                                       "accuracy) of a sensitive attribute over the hidden layers that warns (with "
                                       "the default 600 held-out rows, a selectivity's standard error is about 0.03)",
                                       higher_is_better=False),
        "probe_selectivity_fail": rate(0.30, "that selectivity that fails", higher_is_better=False),
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "probe_layers": [None, list, tuple], "max_rows": [Interval(Integral, 20, None)],
        "C": [Interval(Real, 0, None, closed="neither")], "test_size": [Interval(Real, 0, 1, closed="neither")],
        "max_values": [Interval(Integral, 2, None)], "min_group_size": [Interval(Integral, 2, None)],
        "max_input_dim": [Interval(Integral, 0, None)],
    }
    model_index = ("probe_selectivity",)
    advice: ClassVar[dict[str, str]] = {
        "probe_selectivity": "The sensitive attribute can be read off the model's hidden representation: anything "
                             "downstream of that layer (the head, a fine-tuned model, a shared embedding) can use it. "
                             "Compare with the input baseline: if the input carries it already, its proxies are the "
                             "cause; consider removing them or adversarial debiasing of the representation.",
    }

    def __init__(self, *, probe_layers: Any = None, max_rows: int = 2000, C: float = 1.0, test_size: float = 0.3,
                 max_values: int = 20, min_group_size: int = 10, max_input_dim: int = 4096):
        self.probe_layers = probe_layers
        self.max_rows = max_rows
        self.C = C
        self.test_size = test_size
        self.max_values = max_values
        self.min_group_size = min_group_size
        self.max_input_dim = max_input_dim

    def _layers(self, context: AuditContext) -> list[str]:
        return list(self.probe_layers) if self.probe_layers is not None else hidden_layers(context.model.model)

    def applicable(self, context: AuditContext) -> str | None:
        reason = super().applicable(context)
        if reason is None and self.probe_layers is None and not hidden_layers(context.model.model):
            return "needs 'probe_layers' (the model has no hidden Linear or Conv layer)"
        return reason

    def layers(self, context: AuditContext) -> list[str]:
        if context.model is None or context.model.kind != "torch":
            return []
        return self._layers(context)

    def run(self, context: AuditContext) -> ProbesCheckResult:
        from ...explain import LinearProbe

        self._validate_params()
        layers = self._layers(context)
        X, sensitive = context.X(), context.sensitive_features()
        activations = context.model.embeddings(X, layers, flatten=True)  # the audit's cached pass
        n = len(sensitive)
        rng = np.random.default_rng(context.random_state)
        rows = np.sort(rng.choice(n, self.max_rows, replace=False)) if n > self.max_rows else np.arange(n)
        sources = {layer: np.asarray(activations[layer])[rows] for layer in layers}
        baseline = _input_matrix(X, rows, self.max_input_dim)
        if baseline is not None:
            sources = {INPUT: baseline, **sources}
        tables, skipped = {}, {}
        for column in sensitive.columns:
            values = sensitive[column].iloc[rows]
            keep = values.notna().to_numpy().copy()
            labels = values.astype(str).to_numpy()
            distinct, counts = np.unique(labels[keep], return_counts=True)
            if len(distinct) > self.max_values:
                skipped[str(column)] = f"{len(distinct)} distinct values (more than max_values={self.max_values})"
                continue
            keep &= np.isin(labels, distinct[counts >= self.min_group_size])
            if len(np.unique(labels[keep])) < 2:
                skipped[str(column)] = f"fewer than two values with at least {self.min_group_size} rows"
                continue
            probe = LinearProbe(None, layers=list(sources), C=self.C, test_size=self.test_size,
                                random_state=context.random_state)
            table = probe.fit({k: v[keep] for k, v in sources.items()}, labels[keep]).result_.to_frame()
            tables[str(column)] = table.reset_index()
        return ProbesCheckResult(tables, skipped, tuple(layers), int(len(rows)))

    def summarize(self, result) -> dict[str, Any]:
        summary: dict[str, Any] = {"n_rows": result.n_rows, "layers": list(result.layers),
                                   "skipped": dict(result.skipped), "probe_selectivity": {}, "best_layer": {}}
        for column, frame in result.tables.items():
            table = frame.set_index("layer")
            hidden = table.drop(index=INPUT, errors="ignore")
            layer = str(hidden["selectivity"].idxmax())
            best = hidden.loc[layer]
            summary["probe_selectivity"][column] = finite_or_none(best["selectivity"])
            info = {"layer": layer, "accuracy": finite_or_none(best["accuracy"]),
                    "accuracy_ci": [finite_or_none(best["accuracy_lower"]), finite_or_none(best["accuracy_upper"])],
                    "control_accuracy": finite_or_none(best["control_accuracy"]),
                    "majority": finite_or_none(best["majority"])}
            if INPUT in table.index:
                info["input_selectivity"] = finite_or_none(table.loc[INPUT, "selectivity"])
                info["input_accuracy"] = finite_or_none(table.loc[INPUT, "accuracy"])
            summary["best_layer"][column] = info
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = []
        for column, value in summary["probe_selectivity"].items():
            info = summary["best_layer"][column]
            rows.append(headline_row("probe_selectivity", value, feature=column, direction="lower"))
            rows.append(headline_row("probe_accuracy", info["accuracy"], feature=column, lower=info["accuracy_ci"][0],
                                     upper=info["accuracy_ci"][1]))
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        return [grade(self.name, f"probe_selectivity[{column}]", value, warn=thresholds["probe_selectivity_warn"],
                      fail=thresholds["probe_selectivity_fail"], higher_is_better=False,
                      what=f"How much better than a control task a linear probe reads {column} from layer "
                           f"{summary['best_layer'][column]['layer']} (the most selective hidden layer)",
                      evidence=dict(summary["best_layer"][column]))
                for column, value in summary["probe_selectivity"].items()]

    @staticmethod
    def render(record):
        """Section: probe accuracy by layer per attribute (plot with intervals and the control task) and the tables."""
        from ...report import Section, figure_to_png, frame_from_record, plot_probe_accuracy

        result, summary = record["result"], record["summary"]
        tables = {column: frame_from_record(frame).set_index("layer") for column, frame in result["tables"].items()}
        paragraphs = [f"A logistic-regression probe per layer and sensitive attribute, on {summary['n_rows']} rows "
                      f"of the evaluation split ({1 - record['params']['test_size']:.0%} to fit, the rest held out); "
                      "the control task permutes the attribute (same marginal, no relation to the input), and "
                      "selectivity is accuracy minus control accuracy (Hewitt & Liang 2019). The row "
                      f"{INPUT} probes the model's input: what the layers carry from it rather than create."]
        paragraphs += [f"Not probed: {column} ({why})." for column, why in summary["skipped"].items()]
        panels = []
        if tables:
            figure = figure_to_png(plot_probe_accuracy(tables))
            frame = pd.concat({column: table for column, table in tables.items()}, names=["feature", "layer"])
            panels.append(("Probe accuracy, control accuracy and selectivity by attribute and layer", frame,
                           "Held-out probe accuracy by layer (95% Wilson intervals); dashed: control task", figure))
        return Section(record["title"], paragraphs, panels=panels, anchor=record["name"])

    @staticmethod
    def card(record) -> list[str]:
        from ...report import escape_markdown

        summary = record["summary"]
        lines: list[str] = []
        for column, value in summary["probe_selectivity"].items():
            info = summary["best_layer"][column]
            low, high = info["accuracy_ci"]
            text = (f"{escape_markdown(column)} is linearly decodable from layer {escape_markdown(info['layer'])} "
                    f"with held-out accuracy {info['accuracy']:.4f} (95% CI {low:.4f}-{high:.4f}; majority rate "
                    f"{info['majority']:.4f}, control task {info['control_accuracy']:.4f}): selectivity {value:.4f}")
            if info.get("input_selectivity") is not None:
                text += f" (from the input: {info['input_selectivity']:.4f})"
            lines += [text + ".", ""]
        return lines[:-1]


def _input_matrix(X: Any, rows: np.ndarray, max_dim: int) -> np.ndarray | None:
    """The model's input rows flattened to (m, d) floats, or None if not numeric or wider than ``max_dim``."""
    try:
        values = X.iloc[rows].to_numpy(dtype=np.float64) if isinstance(X, pd.DataFrame) else \
            np.asarray(X[rows] if hasattr(X, "__getitem__") else X, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    values = values.reshape(len(rows), -1) if values.ndim >= 1 and len(values) == len(rows) else None
    if values is None or not 0 < values.shape[1] <= max_dim or not np.isfinite(values).all():
        return None
    return values
