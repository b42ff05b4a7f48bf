"""What the model was trained on: the training split's distribution, for the model card."""

from __future__ import annotations

from typing import Any

from ...core.component import Interval
from ...data_checks.summary import describe_data
from ..base import AuditContext, Check, register_check


@register_check
class TrainingDataCheck(Check):
    """Per-column distribution (quantiles, top values, missing share) and label shares of "train".

    It judges nothing (no findings); the model card's "Training data" section is written from it,
    so a later user can tell when inputs fall outside what the model saw.
    """

    name = "training_data"
    title = "Training data"
    section = "data"
    needs = frozenset({"train"})
    order = 3

    _parameter_constraints = {"top_values": [Interval(int, 1, None)]}

    def __init__(self, *, top_values: int = 5):
        self.top_values = top_values

    def run(self, context: AuditContext):
        y = context.splits["train"][1]
        return describe_data(context.X("train"), y, top_values=self.top_values)

    def summarize(self, result) -> dict[str, Any]:
        return {"n_rows": result.n_rows, "description": result.lines()}

    @staticmethod
    def card(record) -> dict[str, list[str]]:
        """Model card: the "Training data" section, one line per column and the labels."""
        from ...report import escape_markdown

        return {"Training data": ["Distribution of the training split as measured (inputs far outside it are out of "
                                  "distribution for this model):", "",
                                  *(f"- {escape_markdown(line)}" for line in record["summary"]["description"])]}
