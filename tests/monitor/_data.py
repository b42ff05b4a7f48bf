"""Shared test data: Adult re-split in two halves, and a planted drift."""

import functools

import numpy as np
import pandas as pd


@functools.lru_cache(maxsize=1)
def adult_halves(seed=0):
    from assay.datasets import load_adult

    ds = load_adult()
    X = pd.concat([ds.train.X, ds.test.X], ignore_index=True)
    perm = np.random.default_rng(seed).permutation(len(X))
    half = len(X) // 2
    return X.iloc[perm[:half]].reset_index(drop=True), X.iloc[perm[half:]].reset_index(drop=True)


def planted(current, seed=0):
    """Age + 5 years for women; the share of occupation 'Sales' doubled by relabelling other rows."""
    rng = np.random.default_rng(seed)
    out = current.copy()
    out.loc[out["sex"] == "Female", "age"] += 5
    share = (out["occupation"] == "Sales").to_numpy()
    others = np.flatnonzero(~share & out["occupation"].notna().to_numpy())
    out.loc[rng.choice(others, int(share.sum()), replace=False), "occupation"] = "Sales"
    return out
