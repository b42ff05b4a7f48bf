"""The robustness curve plot: one panel per corruption, a line and band per group, drawn from the table."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.report import PALETTE, figure_to_png, plot_robustness_curves


def _table():
    rows = []
    for corruption, severities in (("clean", [0]), ("blur", [1, 3, 5]), ("noise", [1, 3, 5])):
        for s in severities:
            for feature, group, count, small in (("overall", "all", 200, False), ("sex", "F", 150, False),
                                                 ("sex", "M", 20, True), ("sex x race", "F x a", 100, False)):
                value = 0.9 - 0.05 * s * (2 if group == "M" else 1)
                rows.append((corruption, s, feature, group, "accuracy", value, value - 0.03, value + 0.03, count,
                             small))
    return pd.DataFrame(rows, columns=["corruption", "severity", "feature", "group", "metric", "value", "lower",
                                       "upper", "count", "small"])


def test_one_panel_per_corruption_with_a_line_per_group_and_overall():
    fig = plot_robustness_curves(_table())
    axes = [ax for ax in fig.axes if ax.lines]
    assert [ax.get_title() for ax in axes] == ["blur", "noise"]
    lines = axes[0].lines
    assert [line.get_label() for line in lines] == ["overall", "F", "M (small)"]
    np.testing.assert_allclose(lines[2].get_xdata(), [0, 1, 3, 5])
    np.testing.assert_allclose(lines[2].get_ydata(), [0.9, 0.8, 0.6, 0.4])
    assert lines[2].get_linestyle() == ":" and lines[1].get_color() == PALETTE[0]
    assert len(axes[0].collections) == 3  # one interval band per line
    assert figure_to_png(fig)[:4] == b"\x89PNG"


def test_refused_tables():
    with pytest.raises(AssayInputError, match="'table'"):
        plot_robustness_curves(pd.DataFrame({"a": [1]}))
    with pytest.raises(AssayInputError, match="'metric'"):
        plot_robustness_curves(_table(), metric="tpr")
    with pytest.raises(AssayInputError, match="'feature'"):
        plot_robustness_curves(_table(), feature="age")


def test_plots_robustness_imports_no_computation():
    code = ("import sys, assay.report.plots_robustness; "
            "bad = sorted(m for m in sys.modules if m.startswith(('assay.robustness', 'assay.audit'))); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
