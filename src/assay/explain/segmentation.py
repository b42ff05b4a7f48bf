"""Superpixels for image explanations without extra packages: SLIC-like k-means on (y, x, intensity).

:func:`superpixels` segments one image into connected regions of similar intensity; LIME,
KernelSHAP and FeatureAblation take ``feature_groups="superpixels"`` (or any callable image ->
int mask) and then switch each image's own segments on and off.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import check_scalar, describe

__all__ = ["superpixels"]


def superpixels(image: Any, n_segments: int = 16, *, compactness: float = 0.1, n_iter: int = 10,
                channel_axis: int | None = 0) -> np.ndarray:
    """SLIC-like superpixels (Achanta et al. 2012) of one image, in numpy; deterministic (no randomness).

    Centres start on a regular grid of about ``n_segments`` cells (spacing ``S = sqrt(H W / n_segments)``);
    ``n_iter`` k-means steps assign each pixel to the centre minimising
    ``||c - c_k||^2 + (compactness * d_xy / S)^2`` with intensities ``c`` scaled to [0, 1] (all
    channels), then move the centres to their pixels' means. Regions are then split into connected
    pieces (4-connectivity) and pieces smaller than ``S^2 / 2`` pixels merge into a neighbouring
    segment. Labels are ``0..k-1`` in raster order of first appearance.

    Parameters
    ----------
    image : array ``(H, W)``, or ``(C, H, W)`` (``channel_axis=0``) / ``(H, W, C)`` (``channel_axis=-1``)
    n_segments : int >= 1, the approximate number of segments
    compactness : float >= 0, weight of the distance in pixels against the intensity difference
        (0: intensity only; large: a grid)
    n_iter : int >= 1, k-means iterations
    channel_axis : 0, -1 or None (None: a 2-D image)

    Returns
    -------
    int64 array of the image's shape: the segment of every pixel (all channels of a pixel share it).
    """
    from scipy import ndimage

    check_scalar(n_segments, "n_segments", owner="superpixels", kind=numbers.Integral, low=1)
    check_scalar(compactness, "compactness", owner="superpixels", low=0)
    check_scalar(n_iter, "n_iter", owner="superpixels", kind=numbers.Integral, low=1)
    arr = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image)
    if arr.dtype.kind not in "biuf" or arr.ndim not in (2, 3) or arr.size == 0 or not np.isfinite(arr).all():
        raise AssayInputError(f"'image' of superpixels must be a finite numeric (H, W) or (C, H, W) / (H, W, C) "
                              f"array. Got {describe(image)}.")
    if arr.ndim == 2:
        pixels = arr[..., None].astype(np.float64)
    elif channel_axis in (0, -3):
        pixels = np.moveaxis(arr, 0, -1).astype(np.float64)
    elif channel_axis in (-1, 2):
        pixels = arr.astype(np.float64)
    else:
        raise AssayInputError(f"'channel_axis' must be 0 or -1 for a 3-D image. Got {channel_axis!r}.")
    H, W, C = pixels.shape
    span = pixels.max() - pixels.min()
    colour = ((pixels - pixels.min()) / span if span > 0 else np.zeros_like(pixels)).reshape(-1, C)
    yy, xx = np.mgrid[0:H, 0:W]
    pos = np.column_stack([yy.ravel(), xx.ravel()]).astype(np.float64)
    step = math.sqrt(H * W / int(n_segments))
    rows = max(1, min(H, round(H / step)))
    cols = max(1, min(W, round(W / step)))
    cy = (np.arange(rows) + 0.5) * H / rows - 0.5
    cx = (np.arange(cols) + 0.5) * W / cols - 0.5
    centre_pos = np.array([(y, x) for y in cy for x in cx])
    nearest = np.clip(np.round(centre_pos).astype(int), 0, [H - 1, W - 1])
    centre_col = colour[nearest[:, 0] * W + nearest[:, 1]]
    weight = (float(compactness) / step) ** 2
    labels = np.zeros(H * W, dtype=np.int64)
    for _ in range(int(n_iter)):
        dist = ((colour[:, None, :] - centre_col[None]) ** 2).sum(2) + \
            weight * ((pos[:, None, :] - centre_pos[None]) ** 2).sum(2)
        new = np.argmin(dist, axis=1)
        if _ > 0 and np.array_equal(new, labels):
            break
        labels = new
        counts = np.bincount(labels, minlength=len(centre_pos))
        used = counts > 0
        for target, source in ((centre_pos, pos), (centre_col, colour)):
            sums = np.stack([np.bincount(labels, weights=source[:, j], minlength=len(counts))
                             for j in range(source.shape[1])], 1)
            target[used] = sums[used] / counts[used, None]
    seg = _connected(labels.reshape(H, W), max(1, math.ceil(step * step / 2)), ndimage)
    if arr.ndim == 2:
        return seg
    return np.broadcast_to(seg if channel_axis in (0, -3) else seg[..., None], arr.shape).copy()


def _connected(labels: np.ndarray, min_size: int, ndimage) -> np.ndarray:
    """Connected pieces of each label; pieces under ``min_size`` pixels join a neighbour; raster-order ids."""
    pieces = np.zeros_like(labels)
    count = 0
    for value in np.unique(labels):
        part, k = ndimage.label(labels == value)
        pieces[part > 0] = part[part > 0] + count
        count += k
    sizes = np.bincount(pieces.ravel())
    for piece in np.argsort(sizes, kind="stable"):
        if sizes[piece] == 0 or sizes[piece] >= min_size or sizes.astype(bool).sum() == 1:
            continue
        inside = pieces == piece
        ring = ndimage.binary_dilation(inside) & ~inside
        if ring.any():
            neighbours, votes = np.unique(pieces[ring], return_counts=True)
            into = neighbours[np.argmax(votes)]
            pieces[inside] = into
            sizes[into] += sizes[piece]
            sizes[piece] = 0
    _, first = np.unique(pieces.ravel(), return_index=True)
    order = np.argsort(np.argsort(first))  # raster order of first appearance
    return order[np.unique(pieces.ravel(), return_inverse=True)[1]].reshape(labels.shape).astype(np.int64)
