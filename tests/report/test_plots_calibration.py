"""Reliability diagrams by group: one panel per group, both curves drawn, bad tables refused."""

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.report import figure_to_png, plot_reliability_by_group


def _bins(groups, models=("model", "recalibrated"), n_bins=5):
    rows = []
    for model in models:
        for feature, group in groups:
            for b in range(n_bins):
                rows.append({"model": model, "feature": feature, "group": group, "bin": b,
                             "confidence": (b + 0.5) / n_bins, "accuracy": (b + 0.5) / n_bins * 0.8,
                             "weight": 0 if b == 2 else 10, "accuracy_lower": 0.0, "accuracy_upper": 1.0})
    return pd.DataFrame(rows)


def test_one_panel_per_group_in_the_tables_order_with_both_curves():
    groups = [("sex", "M"), ("sex", "F"), ("race", "a x b")]
    fig = plot_reliability_by_group(_bins(groups))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["sex = M (n = 40)", "sex = F (n = 40)", "race = a x b (n = 40)"]
    lines = [line for line in visible[0].get_lines() if line.get_label() in ("model", "recalibrated")]
    assert [line.get_label() for line in lines] == ["model", "recalibrated"]
    assert len(lines[0].get_xdata()) == 4  # the empty bin is skipped
    assert lines[0].get_linestyle() != lines[1].get_linestyle() and lines[0].get_marker() != lines[1].get_marker()
    assert figure_to_png(fig)[:4] == b"\x89PNG"


def test_at_most_24_panels_and_the_title_says_how_many_are_left_out():
    fig = plot_reliability_by_group(_bins([("g", str(i)) for i in range(30)], models=("model",)))
    assert sum(ax.get_visible() for ax in fig.axes) == 24
    assert "6 more groups" in fig._suptitle.get_text()


def test_a_table_without_the_columns_is_refused():
    with pytest.raises(AssayInputError, match="'bins'"):
        plot_reliability_by_group(pd.DataFrame({"confidence": np.zeros(3)}))
