"""``import assay`` is cheap and every public subpackage is reachable as an attribute (PEP 562)."""

import subprocess
import sys

import pytest

import assay


def test_import_assay_loads_no_heavy_dependency():
    code = ("import sys, assay; heavy = [m for m in ('numpy', 'pandas', 'scipy', 'torch', 'sklearn') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_subpackages_are_attributes_after_import_assay():
    code = "import assay; d = assay.datasets.load_german_credit(); print(type(d).__name__, len(d.train.X) > 0)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["Dataset", "True"]


@pytest.mark.parametrize("name", assay._SUBMODULES)
def test_every_subpackage_is_listed_and_importable(name):
    import importlib

    assert name in dir(assay)
    assert getattr(assay, name) is importlib.import_module(f"assay.{name}")


def test_lazy_top_level_names_and_unknown_attributes():
    from assay.core.adapters import wrap

    assert assay.wrap is wrap and "evaluate_groups" in dir(assay)
    assert set(assay.__all__) <= set(dir(assay))
    with pytest.raises(AttributeError, match="module 'assay' has no attribute 'nope'"):
        assay.nope  # noqa: B018
    with pytest.raises(AttributeError, match="module 'assay.core' has no attribute 'nope'"):
        assay.core.nope  # noqa: B018
