"""Black-box attributions from coalitions of features: KernelSHAP (exact or sampled) and LIME.

Both switch groups of features on (the input's value) and off (a background row's value) and
read the model's target output. ``baselines`` is the background set: None (zeros), a number,
one input, or ``(B, ...)`` rows of inputs (a DataFrame with the input's columns for tables); a
leading dimension is always a set of background rows, never one baseline per input. DataFrames
are perturbed column by column in their own dtypes, so a pipeline that one-hot encodes
categories gets one attribution per source column.
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import ModelAdapter, TorchAdapter
from ..core.component import Interval, Options
from ..core.errors import AssayInputError
from ..core.validation import check_random_state, describe
from ._base import Attribution, Explainer, resolve_targets

__all__ = ["LIME", "FeatureAblation", "KernelSHAP"]

OUTPUTS = ("logits", "probabilities")


def scores(adapter: ModelAdapter, X: Any, output: str) -> np.ndarray:
    """``(n, k)`` uncached scores: logits (torch: the model's own dtype) or probabilities."""
    if isinstance(adapter, TorchAdapter):
        import torch

        def fn(batch, _index):
            out = adapter.forward_batch(batch)
            return torch.softmax(out, 1) if output == "probabilities" else out

        return adapter.map_batches(fn, X, desc="perturbations")
    native = adapter._native(X)
    if output == "probabilities":
        if adapter.native_output == "probabilities":
            return native.astype(np.float64, copy=False)
        z = native - native.max(1, keepdims=True)
        return np.exp(z) / np.exp(z).sum(1, keepdims=True)
    if adapter.native_output == "logits":
        return native
    with np.errstate(divide="ignore"):
        return np.log(np.clip(native, np.finfo(np.float64).tiny, None))


class Coalitions:
    """Inputs as ``(n, D)`` features in ``m`` groups, and the model's target output on any coalition.

    ``feature_groups``: None (each column / element alone), an int array of one input's shape
    (group ids ``0..m-1``, Captum's ``feature_mask``; values keep the input's shape), or for
    tables a dict ``name -> list of columns`` (values: one column per group).
    """

    def __init__(self, adapter: ModelAdapter, inputs: Any, baselines: Any, feature_groups: Any, owner: str,
                 output: str) -> None:
        self.adapter, self.output, self.owner = adapter, output, owner
        self.frame = isinstance(inputs, pd.DataFrame)
        if self.frame:
            if len(inputs) == 0 or inputs.shape[1] == 0:
                raise AssayInputError(f"'inputs' must have at least one row and one column. Got {describe(inputs)}.")
            self.inputs, self.shape, self.D = inputs, (inputs.shape[1],), inputs.shape[1]
        else:
            arr = inputs.detach().cpu().numpy() if hasattr(inputs, "detach") else np.asarray(inputs)
            if arr.dtype.kind not in "biuf" or arr.ndim < 2 or arr.shape[0] == 0 or arr[0].size == 0:
                raise AssayInputError(f"'inputs' must be a numeric array (n, ...) with at least one row and one "
                                      f"feature, or a DataFrame. Got {describe(inputs)} instead.")
            self.inputs, self.shape = arr, arr.shape[1:]
            self.D = int(np.prod(self.shape))
            self.flat = arr.reshape(len(arr), -1)
        self.n = len(inputs)
        self.background = self._background(baselines)
        self.group_of, self.names, self.per_group = self._groups(feature_groups)
        self.m = len(self.names)
        if self.frame:
            self.columns = [self.inputs.iloc[:, j].to_numpy() for j in range(self.D)]
            self.bg_columns = [self.background.iloc[:, j].to_numpy() for j in range(self.D)]

    def _background(self, baselines: Any):
        if self.frame:
            cols = self.inputs.columns
            if baselines is None or (isinstance(baselines, numbers.Real) and not isinstance(baselines, bool)):
                return pd.DataFrame([[0.0 if baselines is None else float(baselines)] * self.D], columns=cols)
            if isinstance(baselines, pd.Series):
                baselines = baselines.to_frame().T
            if not isinstance(baselines, pd.DataFrame) or len(baselines) == 0:
                raise AssayInputError(f"'baselines' of {self.owner} for a DataFrame must be None, a number or a "
                                      f"non-empty DataFrame with the same columns. Got {describe(baselines)}.")
            if list(baselines.columns) != list(cols):
                raise AssayInputError(f"'baselines' must have the columns of 'inputs' {list(cols)[:8]}. Got columns "
                                      f"{list(baselines.columns)[:8]}.")
            return baselines.reset_index(drop=True)
        if baselines is None:
            return np.zeros((1, self.D), dtype=self.flat.dtype)
        if isinstance(baselines, numbers.Real) and not isinstance(baselines, bool):
            return np.full((1, self.D), float(baselines))
        base = baselines.detach().cpu().numpy() if hasattr(baselines, "detach") else np.asarray(
            baselines.to_numpy() if isinstance(baselines, pd.DataFrame) else baselines)
        if base.dtype.kind not in "biuf":
            raise AssayInputError(f"'baselines' must be numeric. Got {describe(baselines)}.")
        if base.shape == self.shape:
            base = base[None]
        if base.ndim != len(self.shape) + 1 or base.shape[1:] != self.shape or len(base) == 0:
            raise AssayInputError(f"'baselines' must be one input of shape {self.shape} or background rows of shape "
                                  f"(B, {', '.join(map(str, self.shape))}). Got shape {base.shape}.")
        return base.reshape(len(base), -1)

    def _groups(self, groups: Any):
        cols = [str(c) for c in self.inputs.columns] if self.frame else None
        if groups is None:
            names = cols or [f"x{j}" for j in range(self.D)]
            return np.arange(self.D), tuple(names), bool(self.frame or len(self.shape) == 1)
        if isinstance(groups, dict):
            if not self.frame:
                raise AssayInputError(f"'feature_groups' as a dict (name -> columns) needs a DataFrame input; for "
                                      f"arrays pass an int array of shape {self.shape}. Got a dict.")
            group_of = np.full(self.D, -1)
            for g, (_name, members) in enumerate(groups.items()):
                members = [members] if isinstance(members, str) else list(members)
                for col in members:
                    if str(col) not in cols:
                        raise AssayInputError(f"'feature_groups' names column {col!r}, which is not in 'inputs'. "
                                              f"Expected some of {cols[:8]}.")
                    if group_of[cols.index(str(col))] >= 0:
                        raise AssayInputError(f"'feature_groups' puts column {col!r} in two groups.")
                    group_of[cols.index(str(col))] = g
            if (group_of < 0).any():
                missing = [cols[j] for j in np.flatnonzero(group_of < 0)]
                raise AssayInputError(f"'feature_groups' must cover every column; {missing[:5]} are in no group.")
            return group_of, tuple(str(k) for k in groups), True
        mask = np.asarray(groups.detach().cpu() if hasattr(groups, "detach") else groups)
        if mask.shape != self.shape or mask.dtype.kind not in "iu" or mask.min() < 0:
            raise AssayInputError(f"'feature_groups' must be None, an int array of ids >= 0 of one input's shape "
                                  f"{self.shape}, or (tables) a dict name -> columns. Got {describe(groups)}.")
        ids, group_of = np.unique(mask.ravel(), return_inverse=True)
        return group_of, tuple(f"group {i}" for i in ids), False

    def values_out(self, phi: np.ndarray) -> tuple[np.ndarray, tuple[str, ...] | None]:
        """Per-group attributions ``(n, m)`` as the Attribution's values and feature names."""
        if self.per_group:
            return phi, self.names
        return phi[:, self.group_of].reshape(self.n, *self.shape), None

    def evaluate(self, rows: np.ndarray, on: np.ndarray, background_rows: np.ndarray | None,
                 targets: np.ndarray, batch_size: int) -> np.ndarray:
        """Target output of input ``rows[p]`` with groups ``on[p]`` (P, m) kept, the rest from the background.

        ``background_rows``: None averages over the whole background; else ``(P,)`` one background
        row per coalition. Returns ``(P,)``. ``batch_size``: model rows per call.

        Each (coalition, background row) pair is one model row ``x_S b_{~S}``. A group whose values
        are equal in ``x`` and ``b`` gives the same row whether it is on or off, so the pairs are
        reduced to ``(x, b, S & groups where x != b)``; for tables (<= 32 columns) the rows are then
        deduplicated by content across inputs too (every empty coalition is a background row), and
        each distinct model row is evaluated once. Exact: the model sees identical rows. On 200
        Adult rows x 256 coalitions x 20 background rows: 1,024,000 pairs, 144,108 after the first
        step, 54,730 distinct rows.
        """
        B = len(self.background)
        per = B if background_rows is None else 1
        order = np.argsort(self.group_of, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(self.group_of[order]) != 0])
        inputs = np.unique(rows)
        # groups that differ between input i and background row b, once per (i, b): (len(inputs) * B, m)
        differ = np.logical_or.reduceat(self._differ(np.repeat(inputs, B), np.tile(np.arange(B), len(inputs)))[
            :, order], starts, axis=1)
        slot = np.zeros(self.n, dtype=np.int64)
        slot[inputs] = np.arange(len(inputs))
        m, n_pairs = self.m, len(inputs) * B
        coded = m <= 62 and n_pairs < (1 << (62 - m))  # key = pair * 2**m + reduced coalition as one integer
        if coded:
            kind = np.int32 if (n_pairs << m) < (1 << 31) else np.int64  # half the memory where it fits
            pow2 = (np.int64(1) << np.arange(m, dtype=np.int64)).astype(kind)
            differ = differ.astype(kind) @ pow2
            dense = np.zeros(n_pairs << m, dtype=bool) if (n_pairs << m) <= (1 << 24) else None
            rank = np.empty(len(dense), dtype=kind) if dense is not None else None
        step = max(1, (1 << 22) // (per * (1 if coded else max(m, 8))))  # coalitions per chunk
        out = np.empty(len(rows))
        for a in range(0, len(rows), step):
            r, keep = rows[a:a + step], on[a:a + step]
            if coded:  # (coalitions, per) arrays, no per-pair copies of the rows
                bg = np.arange(B)[None] if background_rows is None else background_rows[a:a + step][:, None]
                pair = (slot[r].astype(kind)[:, None] * B + bg.astype(kind))
                key = differ[pair]
                key &= (keep.astype(kind) @ pow2)[:, None]
                key |= pair << m
                key = key.ravel()
                del pair
                if dense is not None:  # mark and rank: no sort
                    dense[key] = True
                    unique = np.flatnonzero(dense)
                    dense[unique] = False
                    rank[unique] = np.arange(len(unique), dtype=kind)
                    inverse = rank[key]
                else:
                    unique, inverse = np.unique(key, return_inverse=True)
                del key
                unique = unique.astype(np.int64)
                upair, code = unique >> m, unique & ((np.int64(1) << m) - 1)
                u_rows, u_bg = inputs[upair // B], upair % B
                u_keep = ((code[:, None] >> np.arange(m)) & 1).astype(bool)
            else:
                pr = np.repeat(r, per)
                pb = np.tile(np.arange(B), len(r)) if background_rows is None else background_rows[a:a + step]
                pair = slot[pr] * B + pb
                reduced = np.repeat(keep, per, axis=0) & differ[pair]
                key = np.column_stack([pair, np.packbits(reduced, axis=1).astype(np.int64)])
                _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
                u_rows, u_bg, u_keep = pr[first], pb[first], reduced[first]
            values = np.empty(len(u_rows))
            # tables: the chunk's rows composed at once (<= 4M cells) and deduplicated by content
            block = len(u_rows) if self.D <= 32 and len(u_rows) * self.D <= (1 << 22) else batch_size
            for u in range(0, len(u_rows), block):
                k = slice(u, u + block)
                keep_k = u_keep[k][:, self.group_of]
                first, back = self._distinct(u_rows[k], u_bg[k], keep_k)
                X = self._compose(u_rows[k][first], u_bg[k][first], keep_k[first]) if back is not None else \
                    self._compose(u_rows[k], u_bg[k], keep_k)
                s = np.concatenate([scores(self.adapter, X.iloc[c:c + batch_size] if self.frame else
                                           X[c:c + batch_size], self.output) for c in range(0, len(X), batch_size)])
                values[k] = s[np.arange(len(s)) if back is None else back, targets[u_rows[k]]]
            out[a:a + len(r)] = values[inverse.ravel()].reshape(len(r), per).mean(1)
        return out

    def _differ(self, pr: np.ndarray, pb: np.ndarray) -> np.ndarray:
        """``(K, D)``: feature ``j`` of input ``pr[k]`` differs from background row ``pb[k]`` (by value codes)."""
        return np.column_stack([cx[pr] != cb[pb] for cx, cb, _ in self.codes()])

    def codes(self) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """Per column: integer codes of the inputs' and the background's values, and their number. Equal
        values share a code (missing values, None / NaN / NA, one code), whatever the dtype."""
        if not hasattr(self, "_codes"):
            self._codes = []
            for j in range(self.D):
                x, b = (self.columns[j], self.bg_columns[j]) if self.frame else (self.flat[:, j], self.background[:, j])
                codes, uniques = pd.factorize(np.concatenate([x, b]), use_na_sentinel=False)
                self._codes.append((codes[:len(x)], codes[len(x):], max(len(uniques), 1)))
        return self._codes

    def _distinct(self, pr: np.ndarray, pb: np.ndarray, keep: np.ndarray):
        """Tables (<= 32 columns): ``(first, back)``, the first of each distinct model row among ``(pr, pb,
        keep)`` and each row's index among them, or ``(None, None)`` (no gain). Rows are compared by
        the codes of their values (each column factorised once over inputs and background): different
        inputs share rows (every empty coalition is a background row)."""
        if self.D > 32 or len(pr) < 2:
            return None, None
        key, total = np.zeros(len(pr), dtype=np.int64), 1
        for j, (cx, cb, card) in enumerate(self.codes()):
            if total * card >= (1 << 62):
                key, renumbered = pd.factorize(key)
                total = len(renumbered)
            key, total = key * card + np.where(keep[:, j], cx[pr], cb[pb]), total * card
        back, uniques = pd.factorize(key)
        if len(uniques) > 0.9 * len(pr):
            return None, None
        first = np.empty(len(uniques), dtype=np.int64)
        first[back[::-1]] = np.arange(len(pr))[::-1]
        return first, back

    def _compose(self, pr: np.ndarray, pb: np.ndarray, keep: np.ndarray) -> Any:
        """Model rows: input ``pr[k]`` where ``keep[k]`` (K, D), background row ``pb[k]`` elsewhere."""
        if self.frame:
            data = {col: pd.Series(np.where(keep[:, j], self.columns[j][pr], self.bg_columns[j][pb]))
                    .astype(self.inputs.dtypes.iloc[j]) for j, col in enumerate(self.inputs.columns)}
            return pd.DataFrame(data)
        X = np.where(keep, self.flat[pr], self.background[pb])
        return X.reshape(-1, *self.shape).astype(self.flat.dtype, copy=False)

    def targets(self, target: Any) -> np.ndarray:
        return resolve_targets(target, scores(self.adapter, self.inputs, self.output))


def shapley_weights(m: int) -> np.ndarray:
    """``w[s] = s! (m - s - 1)! / m!`` for coalitions of ``s = 0..m-1`` other players."""
    return np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)])


def exact_shapley(V: np.ndarray, m: int) -> np.ndarray:
    """Shapley values ``(n, m)`` from the values ``V (n, 2**m)`` of every coalition (bit i: player i in)."""
    codes = np.arange(2 ** m)
    size = np.array([int(c).bit_count() for c in codes])
    w = shapley_weights(m)
    phi = np.empty((V.shape[0], m))
    for i in range(m):
        without = codes[(codes >> i) & 1 == 0]
        phi[:, i] = (V[:, without | (1 << i)] - V[:, without]) @ w[size[without]]
    return phi


class _CoalitionExplainer(Explainer):
    _parameter_constraints: ClassVar[dict] = {"model": ["no_validation"], "feature_groups": ["no_validation"],
                                              "output": [Options(str, OUTPUTS)]}

    def _attribute(self, adapter, inputs, target, baselines):
        groups = self.feature_groups
        if not (callable(groups) or (isinstance(groups, str) and groups == "superpixels")):
            if isinstance(groups, str):
                raise AssayInputError(f"'feature_groups' must be None, 'superpixels', a callable image -> int mask, "
                                      f"an int array of one input's shape or a dict name -> columns. Got {groups!r}.")
            return self._explain(adapter, inputs, target, baselines)
        return self._per_image(adapter, inputs, target, baselines)

    def _per_image(self, adapter, inputs, target, baselines):
        """Each image with its own segments: ``feature_groups`` 'superpixels' or a callable image -> int mask."""
        from .segmentation import superpixels

        arr = inputs.detach().cpu().numpy() if hasattr(inputs, "detach") else np.asarray(
            inputs if not isinstance(inputs, pd.DataFrame) else None)
        if arr.dtype.kind not in "biuf" or arr.ndim < 3 or len(arr) == 0:
            kind = "'superpixels'" if isinstance(self.feature_groups, str) else "a callable"
            raise AssayInputError(f"'feature_groups'={kind} segments images: 'inputs' must be a numeric array "
                                  f"(n, H, W) or (n, C, H, W). Got {describe(inputs)}.")
        segment = superpixels if isinstance(self.feature_groups, str) else self.feature_groups
        targets = resolve_targets(target, scores(adapter, arr, self.output))
        rng = check_random_state(self.random_state, name="random_state") if hasattr(self, "random_state") else None
        parts, counts = [], []
        for i in range(len(arr)):
            mask = np.asarray(segment(arr[i]))
            if mask.shape == arr.shape[-2:] and arr.ndim == 4:
                mask = np.broadcast_to(mask, arr.shape[1:])
            if mask.shape != arr.shape[1:] or mask.dtype.kind not in "iu" or (mask.size and mask.min() < 0):
                raise AssayInputError(f"'feature_groups' must return an int mask >= 0 of one image's shape "
                                      f"{arr.shape[1:]}. Got {describe(mask)} for image {i}.")
            est = copy.copy(self)
            est.feature_groups = mask
            if rng is not None:
                est.random_state = rng
            parts.append(est._explain(adapter, arr[i:i + 1], targets[i:i + 1], baselines))
            counts.append(len(np.unique(mask)))
        delta = None if parts[0].delta is None else np.concatenate([p.delta for p in parts])
        name = "superpixels" if isinstance(self.feature_groups, str) else "segments"
        return Attribution(values=np.concatenate([p.values for p in parts]), target=targets, delta=delta,
                           method=f"{parts[0].method}, per-image {name} ({min(counts)}-{max(counts)} per image)")

    def _setup(self, adapter, inputs, target, baselines):
        co = Coalitions(adapter, inputs, baselines, self.feature_groups, type(self).__name__, self.output)
        size = adapter.batch_size if self.batch_size is None else int(self.batch_size)
        return co, co.targets(target), size


class KernelSHAP(_CoalitionExplainer):
    """Shapley values of feature groups against a background set (Lundberg & Lee 2017).

    The value of a coalition ``S`` for input ``x`` is the mean target output over background rows
    ``b`` of ``x_S`` completed by ``b`` (interventional, as ``shap.KernelExplainer``), so each row's
    attributions sum to ``F_t(x) - mean_b F_t(b)`` (``delta`` reports the gap, ~1e-12). With
    ``m <= 12`` groups (``exact="auto"``) every one of the ``2**m`` coalitions is evaluated and
    the values are the exact Shapley values; otherwise ``n_samples`` coalitions are drawn from
    the Shapley kernel's size distribution in complementary pairs (seeded) and the values solve
    the kernel-weighted least squares under the efficiency constraint.

    Parameters
    ----------
    model : anything :func:`assay.wrap` accepts, or an adapter.
    feature_groups : None, int array of one input's shape, or dict name -> columns (tables); images also
        "superpixels" (:func:`~assay.explain.superpixels` of each image) or a callable image -> int mask
    exact : "auto", True or False
        "auto": exact when there are at most 12 groups. True refuses more than 20 groups.
    n_samples : int >= 2, optional
        Coalitions per row when sampling (default ``2 m + 2048``, shap's).
    output : {"logits", "probabilities"}, default "logits"
        The explained score (logits: the adapter's, log-probabilities for probability models).
    random_state : None, int or numpy Generator
    batch_size : int, optional
        Model rows (inputs x coalitions x background rows) per call; never changes the values.
    """

    _parameter_constraints: ClassVar[dict] = {"exact": ["boolean", Options(str, {"auto"})],
                                              "random_state": ["random_state"],
                                              "n_samples": [None, Interval(numbers.Integral, 2, None)]}

    def __init__(self, model: Any, *, feature_groups: Any = None, exact: Any = "auto", n_samples: int | None = None,
                 output: str = "logits", random_state: Any = None, batch_size: int | None = None) -> None:
        self.model = model
        self.feature_groups = feature_groups
        self.exact = exact
        self.n_samples = n_samples
        self.output = output
        self.random_state = random_state
        self.batch_size = batch_size

    def _explain(self, adapter, inputs, target, baselines):
        co, targets, size = self._setup(adapter, inputs, target, baselines)
        m, n = co.m, co.n
        exact = m <= 12 if self.exact == "auto" else bool(self.exact)
        if exact and m > 20:
            raise AssayInputError(f"'exact'=True enumerates 2**m coalitions; {m} feature groups are too many (at most "
                                  "20). Use exact='auto' (sampling) or fewer 'feature_groups'.")
        if exact:
            codes = np.arange(2 ** m)
            on = ((codes[:, None] >> np.arange(m)) & 1).astype(bool)
        else:
            on = self._sample(m, check_random_state(self.random_state, name="random_state"))
            on = np.vstack([np.zeros(m, bool), np.ones(m, bool), on])
        c = len(on)
        V = co.evaluate(np.repeat(np.arange(n), c), np.tile(on, (n, 1)), None, targets, size).reshape(n, c)
        phi = exact_shapley(V, m) if exact else self._solve(V, on[2:], m)
        total = V[:, -1 if exact else 1] - V[:, 0]
        values, names = co.values_out(phi)
        method = f"KernelSHAP({'exact' if exact else f'sampled, n_samples={len(on) - 2}'}, {m} features, " \
                 f"{len(co.background)} background rows, output={self.output})"
        return Attribution(values=values, method=method, target=targets, delta=phi.sum(1) - total,
                           feature_names=names)

    def _sample(self, m: int, rng: np.random.Generator) -> np.ndarray:
        n_samples = 2 * m + 2048 if self.n_samples is None else int(self.n_samples)
        sizes = np.arange(1, m)
        p = (m - 1) / (sizes * (m - sizes))
        half = (n_samples + 1) // 2
        drawn = rng.choice(sizes, size=half, p=p / p.sum())
        order = np.argsort(rng.random((half, m)), axis=1)
        on = np.argsort(order, axis=1) < drawn[:, None]
        return np.vstack([on, ~on])[:n_samples] if m > 1 else np.ones((0, m), bool)

    @staticmethod
    def _solve(V: np.ndarray, on: np.ndarray, m: int) -> np.ndarray:
        """Least squares over the sampled coalitions (equal weights: drawn from the kernel) with sum = total."""
        empty, total = V[:, 0], V[:, 1] - V[:, 0]
        if m == 1:
            return total[:, None]
        Z = on.astype(np.float64)
        A = Z[:, :-1] - Z[:, -1:]
        Y = (V[:, 2:] - empty[:, None]) - Z[:, -1][None] * total[:, None]
        coef, *_ = np.linalg.lstsq(A, Y.T, rcond=None)
        return np.column_stack([coef.T, total - coef.sum(0)])


class LIME(_CoalitionExplainer):
    """Local linear surrogate of the target output on random coalitions (Ribeiro et al. 2016), tabular or patches.

    Each row gets ``n_samples`` binary vectors ``z`` (the first all ones, the others each group
    on with probability 1/2); groups that are off take the values of one background row drawn per
    sample. The model's outputs are fitted by ridge regression (``alpha``, with intercept) on
    ``z`` weighted by LIME's kernel ``sqrt(exp(-d**2 / kernel_width**2))``, ``d = sqrt(groups
    off)`` (the Euclidean distance of ``z`` to all ones); ``kernel_width`` defaults to
    ``0.75 * sqrt(m)`` as in the ``lime`` package. The values are the coefficients; ``delta`` is
    the surrogate's weighted R^2 gap ``1 - R^2``.

    Parameters
    ----------
    model : anything :func:`assay.wrap` accepts, or an adapter.
    feature_groups : None, int array of one input's shape (e.g. image patches), dict name -> columns, or
        for images "superpixels" (:func:`~assay.explain.superpixels` of each image, 16 segments) or a
        callable image -> int mask (each image explained with its own segments)
    n_samples : int >= 2, default 1000
    kernel_width : float > 0, optional
    alpha : float >= 0, default 1.0 (``lime``'s Ridge)
    output : {"logits", "probabilities"}, default "probabilities"
    random_state : None, int or numpy Generator
    batch_size : int, optional
        Model rows per call; never changes the values (every sample is drawn first).
    """

    _parameter_constraints: ClassVar[dict] = {"n_samples": [Interval(numbers.Integral, 2, None)],
                                              "random_state": ["random_state"],
                                              "kernel_width": [None, Interval(numbers.Real, 0, None, closed="neither")],
                                              "alpha": [Interval(numbers.Real, 0, None)]}

    def __init__(self, model: Any, *, feature_groups: Any = None, n_samples: int = 1000,
                 kernel_width: float | None = None, alpha: float = 1.0, output: str = "probabilities",
                 random_state: Any = None, batch_size: int | None = None) -> None:
        self.model = model
        self.feature_groups = feature_groups
        self.n_samples = n_samples
        self.kernel_width = kernel_width
        self.alpha = alpha
        self.output = output
        self.random_state = random_state
        self.batch_size = batch_size

    def _explain(self, adapter, inputs, target, baselines):
        co, targets, size = self._setup(adapter, inputs, target, baselines)
        m, n, s = co.m, co.n, int(self.n_samples)
        rng = check_random_state(self.random_state, name="random_state")
        on = rng.random((n, s, m)) < 0.5
        on[:, 0] = True
        background = rng.integers(len(co.background), size=(n, s))
        y = co.evaluate(np.repeat(np.arange(n), s), on.reshape(n * s, m), background.ravel(), targets,
                        size).reshape(n, s)
        width = 0.75 * math.sqrt(m) if self.kernel_width is None else float(self.kernel_width)
        weights = np.sqrt(np.exp(-(m - on.sum(2)) / width ** 2))
        coef, r2 = weighted_ridge(on.astype(np.float64), y, weights, float(self.alpha))
        values, names = co.values_out(coef)
        return Attribution(values=values, target=targets, delta=1 - r2, feature_names=names,
                           method=f"LIME(n_samples={s}, kernel_width={width:.4g}, alpha={float(self.alpha):g}, "
                                  f"output={self.output})")


def weighted_ridge(Z: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row ``i``: ridge of ``y[i] (s,)`` on ``Z[i] (s, m)`` with weights ``w[i]`` and an unpenalised
    intercept (scikit-learn's ``Ridge(alpha).fit(Z, y, sample_weight=w)``). Returns ``(coef (n, m), R^2 (n,))``."""
    wn = w / w.sum(1, keepdims=True)
    zc = Z - np.einsum("ns,nsm->nm", wn, Z)[:, None]
    yc = y - (wn * y).sum(1, keepdims=True)
    gram = np.einsum("nsa,ns,nsb->nab", zc, w, zc) + alpha * np.eye(Z.shape[2])
    coef = np.linalg.solve(gram, np.einsum("nsa,ns,ns->na", zc, w, yc)[..., None])[..., 0]
    resid = yc - np.einsum("nsm,nm->ns", zc, coef)
    tss = (w * yc ** 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(tss > 0, 1 - (w * resid ** 2).sum(1) / np.where(tss > 0, tss, 1), 1.0)
    return coef, r2


class FeatureAblation(_CoalitionExplainer):
    """Drop of the target output when one feature group at a time is replaced (Captum's ``FeatureAblation``).

    ``values[g] = F_t(x) - mean_b F_t(x with group g from background row b)``; with one baseline
    (None, a number or one input) this is Captum's ``FeatureAblation`` with ``feature_mask`` =
    ``feature_groups``. Any wrapped model.

    Parameters
    ----------
    model : anything :func:`assay.wrap` accepts, or an adapter.
    feature_groups : None, int array of one input's shape, or dict name -> columns (tables); images also
        "superpixels" (:func:`~assay.explain.superpixels` of each image) or a callable image -> int mask
    output : {"logits", "probabilities"}, default "logits"
    batch_size : int, optional
        Model rows per call; never changes the values.
    """

    def __init__(self, model: Any, *, feature_groups: Any = None, output: str = "logits",
                 batch_size: int | None = None) -> None:
        self.model = model
        self.feature_groups = feature_groups
        self.output = output
        self.batch_size = batch_size

    def _explain(self, adapter, inputs, target, baselines):
        co, targets, size = self._setup(adapter, inputs, target, baselines)
        m, n = co.m, co.n
        on = np.vstack([np.ones((1, m), bool), ~np.eye(m, dtype=bool)])
        V = co.evaluate(np.repeat(np.arange(n), m + 1), np.tile(on, (n, 1)), None, targets, size).reshape(n, m + 1)
        values, names = co.values_out(V[:, :1] - V[:, 1:])
        return Attribution(values=values, target=targets, feature_names=names,
                           method=f"FeatureAblation({m} features, {len(co.background)} background rows, "
                                  f"output={self.output})")
