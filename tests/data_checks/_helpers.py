"""Test data shared by the data-check tests."""

import numpy as np
import pandas as pd


def mixed_frame(n, seed=0, *, missing=True):
    """A frame with numeric and categorical columns (and some missing values)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "num": rng.normal(size=n),
        "count": rng.integers(0, 5, size=n),
        "color": pd.Categorical(rng.choice(["red", "green", "blue"], size=n)),
        "city": rng.choice(["Paris", "Lyon", "Nice", "Lille"], size=n).astype(object),
    })
    if missing:
        frame.loc[rng.random(n) < 0.1, "num"] = np.nan
        frame.loc[rng.random(n) < 0.1, "city"] = None
    return frame
