"""The renderers: JSON is valid and NaN-free, HTML is self-contained, plots render."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.report import (Section, figure_to_png, plot_metric_by_group, plot_reliability_diagram,
                          render_html, write_report)


@pytest.fixture
def by_group():
    index = pd.MultiIndex.from_tuples(
        [("sex", "Female"), ("sex", "Male"), ("sex x race", "Female x Black"), ("sex x race", "Male x Other")],
        names=["feature", "group"])
    return pd.DataFrame({"tpr": [0.6, 0.7, np.nan, 0.5], "count": [50, 60, 3, 20],
                         "small": [False, False, True, True]}, index=index)


def test_metric_plot_is_a_png(by_group):
    png = figure_to_png(plot_metric_by_group(by_group, "tpr", overall=0.65))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_metric_plot_unknown_metric(by_group):
    with pytest.raises(AssayInputError, match="'metric'.*'fpr'"):
        plot_metric_by_group(by_group, "fpr")


def test_reliability_diagram_skips_empty_bins():
    fig = plot_reliability_diagram([0.1, 0.5, 0.9], [0.2, 0.5, 0.8], [10, 0, 30])
    assert fig.axes[0].collections[0].get_offsets().shape == (2, 2)
    assert [round(b.get_height(), 6) for b in fig.axes[1].patches] == [0.25, 0.75]  # shares of the bins
    figure_to_png(fig)


def test_reliability_diagram_intervals():
    fig = plot_reliability_diagram([0.1, 0.5, 0.9], [0.2, 0.5, 0.8], [10, 0, 30],
                                   bin_lower=[0.05, np.nan, 0.6], bin_upper=[0.5, np.nan, 0.9])
    bars = [c for c in fig.axes[0].collections if type(c).__name__ == "LineCollection"]
    segments = bars[0].get_segments()
    assert len(segments) == 2  # one per non-empty bin
    np.testing.assert_allclose([seg[:, 1] for seg in segments], [[0.05, 0.5], [0.6, 0.9]])


def test_html_is_self_contained_and_escaped(by_group):
    png = figure_to_png(plot_reliability_diagram([0.5], [0.5], [1]))
    page = render_html("Title <x>", [Section("Fairness", ["a < b"], [("Table 1", by_group)],
                                            [("Figure 1", png)])], meta={"model": "gbm"})
    assert "<x>" not in page and "Title &lt;x&gt;" in page and "a &lt; b" in page
    assert page.count("<table") == 1 and "<caption>Table 1</caption>" in page
    assert "data:image/png;base64," in page
    assert not re.search(r"(src|href)=\"(http|//)", page)  # nothing fetched from a network
    assert "<script" not in page


def test_write_report_json_has_no_nan(tmp_path, by_group):
    paths = write_report(tmp_path / "out", {"table": by_group, "value": float("nan")}, "<html></html>",
                         {"fig": b"\x89PNG"})
    record = json.loads(paths["json"].read_text())
    assert record["schema_version"] and record["value"] is None
    assert record["table"]["data"][2][0] is None
    assert paths["fig"].read_bytes() == b"\x89PNG"


def test_reliability_diagram_bad_input():
    with pytest.raises(AssayInputError, match="one value per bin.*bin_count: \\(2,\\)"):
        plot_reliability_diagram([0.1, 0.5, 0.9], [0.2, 0.5, 0.8], [10, 0])
    with pytest.raises(AssayInputError, match="'bin_lower' and 'bin_upper' go together"):
        plot_reliability_diagram([0.1], [0.2], [3], bin_lower=[0.0])
