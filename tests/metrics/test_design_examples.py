"""The examples of docs/DESIGN.md ("How to add a per-example quantity"), run as tests."""

import numpy as np
import pandas as pd
import pytest

from assay.metrics import evaluate_groups


def test_design_per_example_quantity():
    # A conformal predictor's coverage and set size, per group and intersection, with intervals.
    rng = np.random.default_rng(0)
    n = 2000
    groups = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "age": rng.choice(["<40", "40+"], n)})
    covered = rng.random(n) < 0.9          # bool: set contains the label
    set_size = rng.integers(1, 4, n)       # int: labels in the set
    table = evaluate_groups(values={"covered": covered, "set_size": set_size},
                            metrics=["mean:covered", "mean:set_size"],
                            sensitive_features=groups, n_boot=200, random_state=0)
    female = (groups["sex"] == "F").to_numpy()
    assert table.by_group.loc[("sex", "F"), "mean:covered"] == pytest.approx(covered[female].mean())
    assert table.by_group.loc[("sex x age", "F x <40"), "count"] == (female & (groups["age"] == "<40")).sum()
    gap, ci = table.difference(), table.difference_ci()
    assert ci.loc["sex", ("mean:set_size", "lower")] <= gap.loc["sex", "mean:set_size"] \
        <= ci.loc["sex", ("mean:set_size", "upper")]
