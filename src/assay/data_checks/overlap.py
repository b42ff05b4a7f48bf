"""Rows shared between train and test: exact duplicates and near-duplicates.

A test row that also appears in the training data measures memorisation, not generalisation.

* **Exact**: every feature equal (missing equals missing; ``1`` and ``1.0`` are equal; a
  category equals the same string). Each column is factorised on the values of both splits,
  rows of codes are hashed with ``pandas.util.hash_pandas_object(index=False)``, and every hash
  match is confirmed by comparing the codes, so a hash collision never makes a false match.
* **Near**: the row agrees with a training row on every categorical feature and on which values
  are missing, and the root-mean-square difference of its numeric features, each standardised
  by the training mean and standard deviation, is at most ``near_duplicate_threshold``::

      distance = sqrt(mean over numeric features of ((x_test - x_train) / sd_train) ** 2)

  With the default 0.01 the numeric values differ by about 1% of a standard deviation on
  average. The nearest training row is found with scikit-learn's ``NearestNeighbors``
  (k-d tree) on the standardised numeric columns plus one coordinate that separates the
  categorical profiles, so no row is compared with rows of another profile. At most
  ``max_rows`` test rows (default 20,000, drawn at random with ``random_state``) are searched;
  ``n_checked`` says how many were.

Near-duplicates exclude exact ones. Without numeric features, near means exact.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..core.result import Result
from ..core.validation import SEED_NOT_GIVEN, check_random_state, check_scalar, renamed_seed
from ._common import NUMERIC, align_columns, check_frame, column_kinds, joint_codes, numeric_values

DEFAULT_NEAR_DUPLICATE_THRESHOLD = 0.01
"""Root-mean-square standardised numeric difference below which two rows are near-duplicates."""

DEFAULT_MAX_ROWS = 20_000
"""At most this many test rows are searched for near-duplicates (a seeded random subsample)."""


@dataclasses.dataclass(frozen=True, eq=False)
class OverlapResult(Result):
    """Rows of the test data that also appear (exactly or nearly) in the training data.

    Attributes
    ----------
    n_train, n_test, n_features : int
    n_exact : int
        Test rows equal to at least one training row.
    exact_fraction : float
        ``n_exact / n_test``.
    n_train_duplicates, n_test_duplicates : int
        Rows that repeat an earlier row of the same split.
    n_checked : int
        Test rows searched for near-duplicates (all, or a random ``max_rows`` of them).
    n_near : int
        Searched test rows that are near-duplicates of a training row (and not exact ones).
    near_fraction : float
        ``n_near / n_checked``.
    examples : DataFrame
        Up to ``n_examples`` pairs of each kind: columns ``kind`` ("exact"/"near"),
        ``test_index``, ``train_index`` (index labels of the inputs) and ``distance``.
    params : dict
        ``near_duplicate_threshold``, ``max_rows``, ``random_state``, ``columns``.
    """

    n_train: int
    n_test: int
    n_features: int
    n_exact: int
    exact_fraction: float
    n_train_duplicates: int
    n_test_duplicates: int
    n_checked: int
    n_near: int
    near_fraction: float
    examples: pd.DataFrame
    params: dict[str, Any]



def _code_matrix(X_train: pd.DataFrame, X_test: pd.DataFrame, kinds: dict[str, str]):
    train_cols, test_cols = [], []
    for column, kind in kinds.items():
        (a, b), _, _ = joint_codes([X_train[column], X_test[column]], kind)
        train_cols.append(a)
        test_cols.append(b)
    return np.column_stack(train_cols), np.column_stack(test_cols)


def _row_hash(codes: np.ndarray) -> np.ndarray:
    return pd.util.hash_pandas_object(pd.DataFrame(codes), index=False).to_numpy()


def train_test_overlap(
    X_train: Any,
    X_test: Any,
    *,
    near_duplicate_threshold: float = DEFAULT_NEAR_DUPLICATE_THRESHOLD,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    n_examples: int = 5,
    random_state: Any = 0,
    seed: Any = SEED_NOT_GIVEN,
) -> OverlapResult:
    """Count test rows that exactly or nearly equal a training row (see the module docstring).

    Parameters
    ----------
    X_train, X_test : DataFrame or 2-D array
        Features, same columns (any order; ``X_test`` is aligned to ``X_train``) of the same
        kinds. Missing values are allowed.
    near_duplicate_threshold : float, default 0.01
        Largest root-mean-square standardised numeric difference of a near-duplicate; 0 finds
        exact duplicates only.
    max_rows : int or None, default 20_000
        Search at most this many test rows for near-duplicates (None: all).
    n_examples : int, default 5
        Example pairs reported per kind.
    random_state : int, Generator or None, default 0
        Picks the subsample when ``X_test`` has more than ``max_rows`` rows. ``seed=`` is a
        deprecated alias.

    Returns
    -------
    OverlapResult
    """
    owner = "train_test_overlap"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    X_train = check_frame(X_train, name="X_train")
    X_test = align_columns(X_train, check_frame(X_test, name="X_test"), reference="X_train", name="X_test")
    check_scalar(near_duplicate_threshold, "near_duplicate_threshold", owner=owner, low=0.0)
    if max_rows is not None:
        check_scalar(max_rows, "max_rows", owner=owner, kind=(int, np.integer), low=1)
    check_scalar(n_examples, "n_examples", owner=owner, kind=(int, np.integer), low=0)
    rng = check_random_state(random_state, name="random_state")
    kinds = column_kinds(X_train)
    n_train, n_test = len(X_train), len(X_test)

    # Exact: hash rows of shared codes, confirm every hash match on the codes themselves.
    codes_train, codes_test = _code_matrix(X_train, X_test, kinds)
    hash_train, hash_test = _row_hash(codes_train), _row_hash(codes_test)
    unique_hash, first_row = np.unique(hash_train, return_index=True)
    pos = np.minimum(np.searchsorted(unique_hash, hash_test), len(unique_hash) - 1)
    hit = unique_hash[pos] == hash_test
    train_row = np.where(hit, first_row[pos], -1)
    confirmed = np.zeros(n_test, dtype=bool)
    confirmed[hit] = (codes_train[train_row[hit]] == codes_test[hit]).all(axis=1)
    n_exact = int(confirmed.sum())
    n_train_dup = int(pd.DataFrame(codes_train).duplicated().sum())
    n_test_dup = int(pd.DataFrame(codes_test).duplicated().sum())

    # Near: nearest training row with the same categorical profile and missingness pattern.
    numeric = [c for c, k in kinds.items() if k == NUMERIC]
    if max_rows is not None and n_test > max_rows:
        checked = np.sort(rng.choice(n_test, size=max_rows, replace=False))
    else:
        checked = np.arange(n_test)
    near_dist, near_row = _nearest_same_profile(
        X_train, X_test, kinds, numeric, codes_train, codes_test, checked
    )
    is_near = (near_dist <= near_duplicate_threshold) & ~confirmed[checked]
    n_near = int(is_near.sum())

    exact_rows = np.flatnonzero(confirmed)[:n_examples]
    near_rows = np.flatnonzero(is_near)[:n_examples]
    examples = pd.DataFrame({
        "kind": ["exact"] * len(exact_rows) + ["near"] * len(near_rows),
        "test_index": list(X_test.index[exact_rows]) + list(X_test.index[checked[near_rows]]),
        "train_index": list(X_train.index[train_row[exact_rows]]) + list(X_train.index[near_row[near_rows]]),
        "distance": np.r_[np.zeros(len(exact_rows)), near_dist[near_rows]],
    })
    return OverlapResult(
        n_train=n_train,
        n_test=n_test,
        n_features=X_train.shape[1],
        n_exact=n_exact,
        exact_fraction=n_exact / n_test,
        n_train_duplicates=n_train_dup,
        n_test_duplicates=n_test_dup,
        n_checked=len(checked),
        n_near=n_near,
        near_fraction=n_near / len(checked),
        examples=examples,
        params={
            "near_duplicate_threshold": float(near_duplicate_threshold),
            "max_rows": None if max_rows is None else int(max_rows),
            "random_state": random_state if isinstance(random_state, (int, type(None))) else str(random_state),
            "columns": list(X_train.columns),
        },
    )


def _nearest_same_profile(X_train, X_test, kinds, numeric, codes_train, codes_test, checked):
    """Distance (RMS standardised numeric difference) to, and position of, the nearest training
    row with the same categorical values and missingness pattern; ``inf`` / -1 where none."""
    from sklearn.neighbors import NearestNeighbors

    columns = list(kinds)
    num_pos = [columns.index(c) for c in numeric]
    cat_pos = [i for i in range(len(columns)) if i not in num_pos]

    def numeric_matrix(X: pd.DataFrame) -> np.ndarray:
        if not numeric:
            return np.empty((len(X), 0))
        return np.column_stack([numeric_values(X[c]) for c in numeric])

    z_train, z_test = numeric_matrix(X_train), numeric_matrix(X_test)
    z_test = z_test[checked]
    # Profile: categorical codes and which numeric values are missing.
    profile_train = np.column_stack([codes_train[:, cat_pos], np.isnan(z_train)]).astype(np.int64)
    profile_test = np.column_stack([codes_test[checked][:, cat_pos], np.isnan(z_test)]).astype(np.int64)
    block, _ = pd.factorize(
        np.concatenate([_row_hash(profile_train), _row_hash(profile_test)])
    )
    block_train, block_test = block[: len(z_train)], block[len(z_train):]
    # Standardise by the training data; missing values (same pattern within a block) -> 0.
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(z_train, axis=0) if numeric else np.empty(0)
        sd = np.nanstd(z_train, axis=0) if numeric else np.empty(0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
    z_train = np.nan_to_num((z_train - mean) / sd, nan=0.0)
    z_test = np.nan_to_num((z_test - mean) / sd, nan=0.0)
    # One extra coordinate puts each profile far from every other: rows of different profiles
    # are at least `spacing` apart, more than any distance that can count as near.
    n_numeric = max(len(numeric), 1)
    spread = float(np.abs(np.r_[z_train.ravel(), z_test.ravel(), 0.0]).max())
    spacing = 10.0 * (2.0 * spread * np.sqrt(n_numeric) + 1.0)
    emb_train = np.column_stack([z_train, block_train * spacing])
    emb_test = np.column_stack([z_test, block_test * spacing])
    nn = NearestNeighbors(n_neighbors=1, algorithm="kd_tree").fit(emb_train)
    dist, idx = nn.kneighbors(emb_test)
    dist, idx = dist[:, 0], idx[:, 0]
    same = block_train[idx] == block_test
    rms = np.where(same, dist / np.sqrt(n_numeric), np.inf)
    return rms, np.where(same, idx, -1)
