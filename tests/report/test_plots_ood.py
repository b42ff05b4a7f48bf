"""OOD plots: score density, ROC, risk-coverage, embedding projection."""

import importlib.util
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

from assay import AssayInputError  # noqa: E402
from assay.ood import project_embeddings  # noqa: E402
from assay.ood.evaluation import evaluate_scores  # noqa: E402
from assay.ood.thresholds import selective_prediction  # noqa: E402
from assay.report.plots import (figure_to_png, plot_embedding_projection, plot_ood_roc,  # noqa: E402
                                plot_ood_score_density, plot_risk_coverage)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(0)
    return rng.normal(0, 1, 300), {"near": rng.normal(1, 1, 120), "far": rng.normal(3, 0.5, 80)}


def test_density_lines_and_threshold(scores):
    s_in, s_out = scores
    fig = plot_ood_score_density(s_in, s_out, threshold=1.5)
    ax = fig.axes[0]
    assert len(ax.lines) == 4  # in, near, far, threshold
    assert ax.lines[-1].get_xdata()[0] == 1.5
    density = ax.lines[0].get_ydata()
    grid = ax.lines[0].get_xdata()
    assert np.sum(density[1:] * np.diff(grid)) == pytest.approx(1.0, abs=0.02)  # a density
    assert "in-distribution (n=300)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert figure_to_png(fig)[:8] == PNG
    fig = plot_ood_score_density(s_in, {"constant": [2.0, 2.0, 2.0]}, title="t")
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_title() == "t"  # no threshold line
    plt.close(fig)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([0.0, np.nan, 1.0], {"a": [1.0, 2.0]}), {}, "'scores_in' must contain only finite"),
        (([0.0, 1.0], {}), {}, "'scores_out' must be a non-empty mapping"),
        (([0.0, 1.0], [1.0, 2.0]), {}, "'scores_out' must be a non-empty mapping"),
        (([0.0, 1.0], {"a": [1.0]}), {}, r"'scores_out\['a'\]' must contain at least 2"),
        (([0.0, 1.0], {"a": [1.0, 2.0]}), {"threshold": np.nan}, "'threshold' parameter"),
    ],
)
def test_density_errors(args, kwargs, match):
    with pytest.raises(AssayInputError, match=match):
        plot_ood_score_density(*args, **kwargs)


def test_roc_panels_and_lines(scores):
    s_in, s_out = scores
    result = evaluate_scores({"a": s_in, "b": -s_in, "c": s_in ** 3},
                             {"a": s_out, "b": {k: -v for k, v in s_out.items()},
                              "c": {k: v ** 3 for k, v in s_out.items()}})
    fig = plot_ood_roc(result)
    assert len(fig.axes) == 2
    for ax, name in zip(fig.axes, ["near", "far"]):
        assert len(ax.lines) == 4  # chance + 3 detectors
        fpr, tpr = result.curve("a", name)
        np.testing.assert_allclose(ax.lines[1].get_xdata(), fpr)
        np.testing.assert_allclose(ax.lines[1].get_ydata(), tpr)
        assert "AUROC" in ax.get_legend().get_texts()[1].get_text()
    assert figure_to_png(fig)[:8] == PNG
    fig = plot_ood_roc(result.curves, ood_set="far")  # plain curves: one panel, no AUROC label
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 4
    assert fig.axes[0].get_legend().get_texts()[1].get_text() == "a"
    plt.close(fig)
    fig = plot_ood_roc(result.to_dict())
    assert len(fig.axes) == 2
    plt.close(fig)
    fig = plot_ood_roc(result, ncols=1)  # one panel per row
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["near", "far"]
    assert fig.axes[0].get_position().y0 > fig.axes[1].get_position().y1
    plt.close(fig)
    many = evaluate_scores({"a": s_in}, {"a": {f"set{i}": s_out["near"] + i for i in range(4)}})
    fig = plot_ood_roc(many)  # 4 sets, 3 per row: 2 rows, the sixth panel's place hidden
    assert len(fig.axes) == 6 and [ax.get_visible() for ax in fig.axes] == [True] * 4 + [False] * 2
    plt.close(fig)
    with pytest.raises(AssayInputError, match="'ncols'"):
        plot_ood_roc(result, ncols=0)
    with pytest.raises(AssayInputError, match="'ood_set' must be one of"):
        plot_ood_roc(result, ood_set="mid")
    with pytest.raises(AssayInputError, match="'evaluation_or_curves' must be an OODEvaluation"):
        plot_ood_roc({"a": [0, 1]})


def test_risk_coverage_lines():
    rng = np.random.default_rng(1)
    correct = rng.random(200) < 0.8
    good = selective_prediction(np.where(correct, 0.0, 1.0) + rng.normal(0, 0.3, 200), correct)
    fig = plot_risk_coverage(good)
    ax = fig.axes[0]
    assert len(ax.lines) == 2  # curve + full-coverage level
    np.testing.assert_allclose(ax.lines[0].get_xdata(), good.coverage)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), good.risk)
    assert ax.lines[1].get_ydata()[0] == pytest.approx(good.risk[-1])
    assert figure_to_png(fig)[:8] == PNG
    bad = selective_prediction(rng.random(200), correct)
    fig = plot_risk_coverage({"good": good, "random": bad}, accuracy=True)
    ax = fig.axes[0]
    assert len(ax.lines) == 4
    np.testing.assert_allclose(ax.lines[2].get_ydata(), bad.accuracy)
    assert ax.get_legend().get_texts()[0].get_text().startswith("good (AUC")
    plt.close(fig)
    with pytest.raises(AssayInputError, match="'selective_result' must be a SelectivePrediction"):
        plot_risk_coverage({"x": np.arange(3)})
    with pytest.raises(AssayInputError, match="'accuracy' parameter"):
        plot_risk_coverage(good, accuracy="yes")


@pytest.fixture(scope="module")
def embeddings():
    rng = np.random.default_rng(2)
    X = np.r_[rng.normal(0, 1, (240, 6)), rng.normal(4, 1, (60, 6))]
    is_ood = np.r_[np.zeros(240, bool), np.ones(60, bool)]
    labels = np.r_[rng.integers(0, 3, 240), np.full(60, -1)]
    return X, is_ood, labels


def _scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_embedding_projection(embeddings, method):
    X, is_ood, labels = embeddings
    fig = plot_embedding_projection(project_embeddings(X, method=method, max_points=150), is_ood=is_ood,
                                    labels=labels)
    ax = fig.axes[0]
    scatters = _scatters(ax)
    assert len(scatters) == 4  # three classes + OOD
    assert sum(len(c.get_offsets()) for c in scatters) == 150  # subsampled
    assert figure_to_png(fig)[:8] == PNG


def test_embedding_projection_pca_values_and_seeded_subsample(embeddings):
    X, is_ood, _ = embeddings
    fig = plot_embedding_projection(project_embeddings(X), is_ood=is_ood)
    scatters = _scatters(fig.axes[0])
    assert len(scatters) == 2  # in, OOD
    assert [len(c.get_offsets()) for c in scatters] == [240, 60]
    # the OOD cluster is far from the in-distribution one along PC 1
    gap = abs(np.mean(scatters[0].get_offsets()[:, 0]) - np.mean(scatters[1].get_offsets()[:, 0]))
    assert gap > 5
    assert fig.axes[0].get_xlabel().startswith("PC 1")
    plt.close(fig)
    one = plot_embedding_projection(project_embeddings(X, max_points=50, random_state=3), is_ood=is_ood)
    two = plot_embedding_projection(project_embeddings(X, max_points=50, random_state=3), is_ood=is_ood)
    other = plot_embedding_projection(project_embeddings(X, max_points=50, random_state=4), is_ood=is_ood)
    offsets = [np.concatenate([c.get_offsets() for c in _scatters(f.axes[0])]) for f in (one, two, other)]
    np.testing.assert_array_equal(offsets[0], offsets[1])
    assert offsets[0].shape != offsets[2].shape or not np.allclose(offsets[0], offsets[2])
    for f in (one, two, other):
        plt.close(f)


def test_embedding_projection_umap_missing(embeddings, monkeypatch):
    X, is_ood, _ = embeddings
    monkeypatch.setitem(sys.modules, "umap", None)  # as if umap-learn were not installed
    with pytest.raises(AssayInputError, match="pip install umap-learn"):
        project_embeddings(X, method="umap")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("umap") is None, reason="umap-learn (the 'umap' extra) is not installed")
def test_embedding_projection_umap_separates_the_ood_cluster(embeddings):
    X, is_ood, _ = embeddings  # the first call compiles umap's numba code: ~20 s
    fig = plot_embedding_projection(project_embeddings(X, method="umap", random_state=0), is_ood=is_ood)
    inside, outside = (c.get_offsets() for c in _scatters(fig.axes[0]))
    assert fig.axes[0].get_xlabel() == "UMAP 1" and (len(inside), len(outside)) == (240, 60)
    gap = np.linalg.norm(inside.mean(axis=0) - outside.mean(axis=0))
    spread = max(inside.std(axis=0).max(), outside.std(axis=0).max())
    assert gap > 3 * spread
    plt.close(fig)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "mds"}, "'method' parameter of project_embeddings must be one of"),
        ({"max_points": 1}, "'max_points' parameter"),
        ({"max_points": 50, "fit_rows": np.arange(10)}, "'max_points' and 'fit_rows' cannot be combined"),
        ({"embeddings": np.zeros((300, 1))}, "'embeddings' must have at least 2 columns"),
        ({"embeddings": np.full((300, 3), np.nan)}, "'embeddings' must contain only finite"),
    ],
)
def test_embedding_projection_errors(embeddings, kwargs, match):
    X, _, _ = embeddings
    args = {"embeddings": X} | kwargs
    with pytest.raises(AssayInputError, match=match):
        project_embeddings(args.pop("embeddings"), **args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"is_ood": np.zeros(10, bool)}, "'is_ood' must have one value per row of the projected embeddings"),
        ({"labels": np.zeros(7)}, "'labels' must have one value per row"),
        ({"is_ood": np.full(300, 2)}, "'is_ood' must hold booleans"),
        ({"projection": np.zeros((300, 2))}, "'projection' must be a Projection"),
    ],
)
def test_embedding_projection_drawing_errors(embeddings, kwargs, match):
    X, is_ood, _ = embeddings
    args = {"projection": project_embeddings(X, max_points=100), "is_ood": is_ood} | kwargs
    with pytest.raises(AssayInputError, match=match):
        plot_embedding_projection(args.pop("projection"), **args)


def test_report_draws_without_computing():
    """assay.report imports no computation of assay.ood (nor assay.audit): plots draw computed results."""
    import subprocess

    code = ("import sys, assay.report, assay.report.plots, assay.report.markdown; "
            "bad = sorted(m for m in sys.modules if m.startswith(('assay.ood', 'assay.audit'))); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_far_tail_does_not_flatten_the_score_density():
    from assay.report import plot_ood_score_density

    rng = np.random.default_rng(0)
    scores_in = rng.normal(0, 1, 500)
    scores_out = np.r_[rng.normal(3, 1, 300), 3000.0]          # a GMM-like tail far from the bulk
    fig = plot_ood_score_density(scores_in, {"far": scores_out}, threshold=1.5)
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    assert high < 20 and low > -10                             # the bulk is drawn, not 0..3000
    everything = np.r_[scores_in, scores_out]
    outside = int(((everything < low) | (everything > high)).sum())
    assert "clipped" in ax.get_title() and f"{outside} outside)" in ax.get_title() and outside >= 1
    assert any(t.get_text().startswith("far (n=301), ") and "outside the range drawn" in t.get_text()
               for t in ax.get_legend().get_texts())
    plt.close(fig)


def test_without_outliers_the_density_axis_is_not_clipped():
    from assay.report import plot_ood_score_density

    rng = np.random.default_rng(1)
    fig = plot_ood_score_density(rng.normal(0, 1, 300), {"near": rng.normal(1, 1, 300)})
    assert "clipped" not in fig.axes[0].get_title()
    plt.close(fig)


def test_an_outlier_does_not_flatten_the_projection():
    from assay.report import plot_projection

    rng = np.random.default_rng(2)
    points = np.r_[rng.normal(0, 1, (400, 2)), [[500.0, -400.0]]]
    is_ood = np.r_[np.zeros(300, bool), np.ones(101, bool)]
    fig = plot_projection(points, is_ood=is_ood)
    ax = fig.axes[0]
    assert ax.get_xlim()[1] < 10 and ax.get_ylim()[0] > -10
    assert "1 point(s) outside the axes" in ax.get_title()
    plt.close(fig)
