"""project_embeddings (computation) and plot_projection (drawing)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

from assay import AssayInputError  # noqa: E402
from assay.ood import project_embeddings  # noqa: E402
from assay.report import plot_projection  # noqa: E402


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(0)
    inside = rng.normal(size=(200, 5)) * np.array([3.0, 1.0, 0.5, 0.2, 0.1])
    return np.r_[inside, rng.normal(6.0, 1.0, size=(50, 5))], np.r_[np.zeros(200, bool), np.ones(50, bool)]


def test_pca_fitted_on_chosen_rows_equals_sklearn(features):
    X, is_ood = features
    projection = project_embeddings(X, fit_rows=~is_ood)
    reference = PCA(n_components=2, random_state=0).fit(X[~is_ood])
    np.testing.assert_allclose(projection.points, reference.transform(X), atol=1e-10)
    share = reference.explained_variance_ratio_
    assert projection.axis_labels == (f"PC 1 ({share[0]:.0%} of variance)", f"PC 2 ({share[1]:.0%})")
    # indices select the same rows as the mask; fitted on every row by default
    np.testing.assert_allclose(project_embeddings(X, fit_rows=np.flatnonzero(~is_ood)).points, projection.points)
    np.testing.assert_allclose(project_embeddings(X).points, PCA(2, random_state=0).fit_transform(X), atol=1e-10)
    assert projection.to_dict()["method"] == "pca"


def test_tsne_shape(features):
    X, _ = features
    projection = project_embeddings(X[:60], method="tsne")
    assert projection.points.shape == (60, 2) and projection.axis_labels == ("t-SNE 1", "t-SNE 2")


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "tsne", "fit_rows": np.ones(250, bool)}, "'fit_rows' applies to method='pca' only"),
    ({"fit_rows": np.ones(10, bool)}, "must have shape \\(250,\\)"),
    ({"fit_rows": [0, 300]}, "row indices in \\[0, 250\\)"),
    ({"fit_rows": [3]}, "PCA needs at least 2"),
    ({"method": "lda"}, "'method' parameter of project_embeddings must be one of"),
])
def test_projection_errors(features, kwargs, match):
    X, _ = features
    with pytest.raises(AssayInputError, match=match):
        project_embeddings(X, **kwargs)
    with pytest.raises(AssayInputError, match="at least 2 columns"):
        project_embeddings(X[:, :1])


def test_plot_projection_groups_ood_sets():
    points = np.arange(20, dtype=float).reshape(10, 2)
    is_ood = np.r_[np.zeros(4, bool), np.ones(6, bool)]
    labels = np.array(["in"] * 4 + ["noise"] * 2 + ["letters"] * 4)
    fig = plot_projection(points, is_ood=is_ood, labels=labels, axis_labels=("a", "b"), title="t")
    scatters = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in scatters] == [4, 4, 2]  # in; OOD sets sorted: letters, noise
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["in (n=4)", "OOD: letters (n=4)", "OOD: noise (n=2)"]
    np.testing.assert_array_equal(scatters[2].get_offsets(), points[4:6])
    assert fig.axes[0].get_xlabel() == "a" and fig.axes[0].get_title() == "t"
    plt.close(fig)
    with pytest.raises(AssayInputError, match="'points' must have 2 columns"):
        plot_projection(np.zeros((3, 3)), is_ood=[0, 1, 0])
    with pytest.raises(AssayInputError, match="same number of rows"):
        plot_projection(points, is_ood=is_ood[:5])
