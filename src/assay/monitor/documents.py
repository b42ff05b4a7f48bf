"""report.json and report.html of a monitoring run, with the audit's report machinery (``assay.report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.findings import SEVERITIES
from ..core.result import to_jsonable
from .run import MonitorResult

_DRIFT_COLUMNS = ["feature", "group", "column", "kind", "test", "n_reference", "n_current", "statistic", "p_value",
                  "p_adjusted", "effect_size", "drifted", "psi", "jensen_shannon"]


def monitor_record(result: MonitorResult, *, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-safe record of a run: params, findings, drift table, drift over time, performance, charts."""
    return to_jsonable({
        "kind": "assay.monitor",
        "meta": dict(meta or {}),
        "params": result.params,
        "worst_severity": result.worst_severity,
        "findings": [f.to_dict() for f in result.findings],
        "drift": result.drift.table,
        "drift_over_time": result.drift_over_time,
        "performance": result.performance,
        "estimate": None if result.estimate is None else result.estimate.to_dict(),
        "charts": [{"chart": c.chart, "metric": c.metric, "params": c.params, "table": c.table} for c in result.charts],
        "distributions": result.distributions,
        "change_points": result.change_points,
    })


def _section_findings(result: MonitorResult) -> list[dict[str, Any]]:
    return [{"severity": f.severity, "message": f.message, "check": f.check, "metric": f.metric, "value": f.value,
             "threshold": f.threshold} for f in result.findings]


def render_monitor_html(result: MonitorResult, *, meta: dict[str, Any] | None = None) -> str:
    """One self-contained HTML page: verdict, findings, drift table, distributions, drift over time, charts."""
    from ..report import Section, figure_to_png, render_html
    from ..report.plots_monitor import (
        plot_control_chart,
        plot_distribution_comparison,
        plot_drift_over_time,
    )

    findings = _section_findings(result)
    verdict = {s: sum(f["severity"] == s for f in findings) for s in SEVERITIES}
    drift = result.drift
    table = drift.table[_DRIFT_COLUMNS].copy()
    table = table.assign(drifted=table["drifted"].astype(bool))
    ordered = table.sort_values(["drifted", "effect_size"], ascending=[False, False], kind="stable")
    sections = [Section("Findings", findings=findings, anchor="findings",
                        severity=result.worst_severity if findings else None)]
    p = drift.params
    sections.append(Section(
        "Drift per column and group", anchor="drift",
        paragraphs=[(f"A column drifts when its p-value, adjusted over all {len(table)} rows ({p['correction']}), is "
                    f"below {p['alpha']:g} and its effect size (Wasserstein distance in reference standard "
                    f"deviations for numbers, Jensen-Shannon distance for categories) is at least "
                    f"{p['effect_threshold']:g}. Reference: {p['reference']}.")],
        tables=[("Drift tests (drifted rows first)", ordered.reset_index(drop=True))]))
    figures = []
    for column, d in result.distributions.items():
        if sum(d["reference"]) and sum(d["current"]):
            fig = plot_distribution_comparison(d["labels"], d["reference"], d["current"], title=f"{column}")
            figures.append((f"{column}: reference vs current", figure_to_png(fig)))
    if figures:
        sections.append(Section("Distributions, reference vs current", anchor="distributions", figures=figures,
                                paragraphs=[("The columns with the largest effect sizes; numeric columns on the "
                                            "reference's quantile bins.")]))
    if len(result.drift_over_time):
        fig = plot_drift_over_time(result.drift_over_time, threshold=p["effect_threshold"])
        counts = result.drift_over_time.groupby("window")["drifted"].sum().rename("drifted columns").to_frame()
        sections.append(Section("Drift over time", anchor="drift-over-time",
                                panels=[("Drifted columns per window", counts, "Effect size per window",
                                         figure_to_png(fig))]))
    if len(result.performance) or result.estimate is not None or result.charts:
        perf_figures = []
        for chart in result.charts:
            title = f"{chart.chart} chart: {chart.metric}"
            perf_figures.append((title, figure_to_png(plot_control_chart(chart.table, title=title,
                                                                          h=chart.params.get("h")))))
        tables = []
        if len(result.performance):
            tables.append(("Accuracy per window and group", result.performance))
        if result.estimate is not None:
            e = result.estimate
            tables.append(("Estimated accuracy per window (CBPE, no labels)", e.table))
        paragraphs = []
        if result.estimate is not None:
            e = result.estimate
            paragraphs.append(f"Label-free estimate from calibrated confidences; reference accuracy "
                              f"{e.reference_accuracy:.4f}, reference ECE {e.reference_ece:.4f} "
                              f"({'reliable' if e.reliable else 'unreliable'}).")
        sections.append(Section("Performance over time", anchor="performance", paragraphs=paragraphs, tables=tables,
                                figures=perf_figures))
    meta_text = {str(k): str(v) for k, v in (meta or {}).items()}
    return render_html("assay monitor", sections, subtitle="Drift and performance of a deployed model",
                       meta=meta_text, verdict=verdict)


def write_monitor_report(result: MonitorResult, out_dir: str | Path, *, meta: dict[str, Any] | None = None
                         ) -> dict[str, Path]:
    """Write report.json and report.html into ``out_dir``; returns their paths."""
    from ..report import write_report

    return write_report(out_dir, monitor_record(result, meta=meta), render_monitor_html(result, meta=meta))

