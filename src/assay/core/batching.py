"""Batching, progress bars and data fingerprints shared by every piece that loops over data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import xxhash
from tqdm.auto import tqdm

#: Below this many batches no progress bar is shown when ``progress=None``.
MIN_BATCHES_FOR_PROGRESS = 10


def iter_slices(n: int, batch_size: int) -> Iterator[slice]:
    """Consecutive slices ``[start, start + batch_size)`` covering ``range(n)``."""
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def progress_bar(total: int, *, desc: str, progress: bool | None, n_batches: int, unit: str = "rows"):
    """A tqdm bar over ``total`` units.

    ``progress=None`` shows it only for long work (many batches) on an interactive terminal;
    ``True`` always; ``False`` never.
    """
    if progress is None:
        disable = None if n_batches >= MIN_BATCHES_FOR_PROGRESS else True
    else:
        disable = not progress
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, leave=False)


def n_rows(X: Any) -> int:
    """Number of rows (examples) of an array, tensor or DataFrame."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(X)


def fingerprint(X: Any) -> str:
    """A content hash of ``X`` (numpy array, torch tensor, DataFrame, Series or list).

    Used as the cache key of model outputs: the same data gives the same key whatever its
    Python identity, and data changed in place gets a new key. XXH3-128 runs at memory speed
    (about 20 GB/s here; ``benchmarks/bench_adapter.py``), far cheaper than a forward pass.
    It is not a cryptographic hash: it guards against accidents, not adversaries.
    """
    digest = xxhash.xxh3_128()
    if isinstance(X, (pd.DataFrame, pd.Series)):
        digest.update(b"pandas")
        digest.update(repr(X.shape).encode())
        if isinstance(X, pd.DataFrame):
            digest.update(repr(list(X.columns)).encode())
            digest.update(repr([str(t) for t in X.dtypes]).encode())
        digest.update(pd.util.hash_pandas_object(X, index=True).to_numpy().tobytes())
        return digest.hexdigest()
    if type(X).__module__.startswith("torch") and hasattr(X, "detach"):
        tensor = X.detach().cpu().contiguous()
        digest.update(b"torch" + str(tensor.dtype).encode() + repr(tuple(tensor.shape)).encode())
        try:
            arr = tensor.numpy()
        except TypeError:  # dtypes numpy lacks (bfloat16): hash the raw bytes
            import torch

            arr = tensor.view(torch.uint8).numpy() if tensor.element_size() == 1 else (
                tensor.view(torch.int16).numpy()
            )
    else:
        arr = np.asarray(X)
        digest.update(b"numpy" + str(arr.dtype).encode() + repr(arr.shape).encode())
    if arr.dtype == object:
        digest.update(pd.util.hash_array(arr.ravel().astype(str)).tobytes())
    else:
        digest.update(np.ascontiguousarray(arr).view(np.uint8).ravel().data)
    return digest.hexdigest()
