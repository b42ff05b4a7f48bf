"""Drift per column, per group and intersection, between a reference (table or profile) and a current window.

Every column gets, in every *scope* (overall, each group of each sensitive feature, each cell of
their intersection when there are several):

* numeric: the two-sample KS test on the non-missing values (its statistic and p-value are the row's
  ``statistic`` and ``p_value``), the Wasserstein distance in reference standard deviations (the
  row's ``effect_size``), PSI, Jensen-Shannon distance and the chi-square test on the reference's
  quantile bins plus a "missing" bin, and (``anderson=True``) the k-sample Anderson-Darling test;
  when one side has no values at all, the row's test is that chi-square and its effect the JS distance;
* categorical: the chi-square test of homogeneity (``statistic``, ``p_value``), the Jensen-Shannon
  distance of the category shares (``effect_size``), PSI, and the categories new in the current
  window or vanished from it.

P-values are adjusted over the whole family of rows (``correction`` "holm" by default, "bh" or
"none"); a row is ``drifted`` when its adjusted p-value is below ``alpha`` *and* its effect size is at
least ``effect_threshold`` (0.1 by default, the thresholds Evidently uses on large data for the
normalised Wasserstein distance and the Jensen-Shannon distance): on millions of rows a negligible
shift is significant, and on a small group a large one may be noise.

With a :class:`~assay.monitor.Profile` as reference, KS and Wasserstein come from the binned counts
(approximate, ``exact`` is False on those rows); chi-square, PSI, Jensen-Shannon and the category
tests are the same as from the data; Anderson-Darling needs the data (NaN).

Text columns (``text_columns``) are tested through their sentence embeddings
(:mod:`assay.monitor.embeddings`): one row per column and scope, ``kind`` "text", ``test`` "domain
classifier (embeddings)" (out-of-fold AUC of a logistic regression on the embeddings; ``p_value`` its
Mann-Whitney test, ``effect_size`` ``2 * (AUC - 0.5)``), with ``domain_auc``, ``mmd`` and ``mmd_pvalue``
(kernel MMD permutation test) next to it, in the same correction family and drifted rule.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import check_option, check_scalar, describe
from ..data_checks._common import NUMERIC, check_frame, column_kind, numeric_values
from . import stats
from .embeddings import embedding_drift
from .profile import DEFAULT_N_BINS, Profile, sensitive_names

DEFAULT_ALPHA = 0.05
DEFAULT_EFFECT_THRESHOLD = 0.1
_PLACEHOLDER = "__assay_text_rows__"

COLUMNS = ["feature", "group", "column", "kind", "test", "n_reference", "n_current", "missing_reference",
           "missing_current", "statistic", "p_value", "p_adjusted", "effect_size", "drifted", "ks", "ks_pvalue",
           "wasserstein", "psi", "jensen_shannon", "chi2", "chi2_pvalue", "anderson", "anderson_pvalue",
           "new_categories", "vanished_categories", "exact", "domain_auc", "mmd", "mmd_pvalue"]


@dataclasses.dataclass(frozen=True, eq=False)
class DriftResult(Result):
    """Drift tests per column and scope.

    Attributes
    ----------
    table : DataFrame
        One row per (feature, group, column) with the columns of :data:`COLUMNS`: ``feature`` and
        ``group`` are "overall" for the whole data, else a sensitive feature (or an intersection
        "a x b") and its group; ``statistic`` / ``p_value`` of the row's ``test`` (KS or chi-square),
        ``p_adjusted`` over every row, ``effect_size`` (Wasserstein / reference sd, or Jensen-Shannon
        distance), ``drifted``; the other statistics for reference.
    params : dict
        ``alpha``, ``effect_threshold``, ``correction``, ``n_bins``, ``reference`` ("data" or "profile").
    """

    table: pd.DataFrame
    params: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def overall(self) -> pd.DataFrame:
        """The rows of the whole data, indexed by column."""
        return self.table[self.table["feature"] == "overall"].set_index("column")

    @property
    def drifted_columns(self) -> list[str]:
        """Columns drifted over the whole data, by decreasing effect size."""
        rows = self.overall
        rows = rows[rows["drifted"].to_numpy(bool)]
        return list(rows.sort_values("effect_size", ascending=False, kind="stable").index)

    def drifted_groups(self, column: str | None = None) -> list[tuple[str, str]]:
        """``(feature, group)`` scopes other than overall where ``column`` (any column if None) drifted."""
        rows = self.table[(self.table["feature"] != "overall") & self.table["drifted"].to_numpy(bool)]
        if column is not None:
            rows = rows[rows["column"] == column]
        return sorted(set(zip(rows["feature"], rows["group"])))


def _check_current(current: Any, columns: list[str], kinds: dict[str, str], *, name: str) -> pd.DataFrame:
    frame = check_frame(current, name=name)
    missing = [c for c in columns if c not in frame.columns]
    extra = [c for c in frame.columns if c not in columns]
    if missing or extra:
        problem = " ".join(p for p in (f"Missing column(s) {missing}." if missing else "",
                                       f"Unexpected column(s) {extra}." if extra else "") if p)
        raise AssayInputError(f"'{name}' must have the same columns as 'reference'. {problem}")
    frame = frame[columns]
    for column, kind in kinds.items():
        if column_kind(frame[column]) != kind:
            if not frame[column].isna().all():
                raise AssayInputError(f"'{name}' column {column!r} must be {kind} like in 'reference'. "
                                      f"Got dtype {frame[column].dtype} instead.")
            frame = frame.assign(**{column: frame[column].astype(np.float64 if kind == NUMERIC else object)})
    return frame


def _row_masks(frame: pd.DataFrame, profile: Profile) -> dict[tuple[str, str], np.ndarray]:
    """Row mask of every scope of ``profile`` in ``frame``."""
    masks = {("overall", "overall"): np.ones(len(frame), dtype=bool)}
    sens = profile.sensitive_features
    for feature in sens:
        values = frame[feature].astype(str).to_numpy()
        for g in np.unique(values):
            masks[(feature, g)] = values == g
    if len(sens) > 1:
        for cell in profile.cells:
            masks[(" x ".join(sens), " x ".join(cell))] = np.logical_and.reduce(
                [masks[(f, g)] for f, g in zip(sens, cell)])
    return masks


def _numeric_row(ref_counts, cur_counts, edges, ref_values, cur_values, ref_moments, cur_moments, anderson):
    row: dict[str, Any] = {"test": "ks"}
    ref_ok, cur_ok = ref_counts[:-1], cur_counts[:-1]
    row["psi"] = stats.psi(ref_counts, cur_counts)
    row["jensen_shannon"] = stats.jensen_shannon(ref_counts, cur_counts)
    row["chi2"], row["chi2_pvalue"] = stats.chi2_test(ref_counts, cur_counts)
    if ref_ok.sum() == 0 or cur_ok.sum() == 0:  # only missing values on one side: the bins (with "missing") say it
        row.update(test="chi2", statistic=row["chi2"], p_value=row["chi2_pvalue"], effect_size=row["jensen_shannon"],
                   exact=True)
        return row
    if ref_values is not None:
        row["ks"], row["ks_pvalue"], row["wasserstein"] = stats.ks_wasserstein(ref_values, cur_values)
        if anderson and len(np.unique(np.concatenate([ref_values, cur_values]))) > 1:
            row["anderson"], row["anderson_pvalue"] = stats.anderson_test(ref_values, cur_values)
        row["exact"] = True
    else:
        row["ks"], row["ks_pvalue"] = stats.ks_from_counts(ref_ok, cur_ok)
        row["wasserstein"] = stats.wasserstein_from_counts(
            edges, ref_ok, cur_ok, low=min(ref_moments["min"], cur_moments["min"]),
            high=max(ref_moments["max"], cur_moments["max"]), sd=ref_moments["sd"])
        row["exact"] = False
    row["statistic"], row["p_value"], row["effect_size"] = row["ks"], row["ks_pvalue"], row["wasserstein"]
    return row


def _categorical_row(ref_categories, ref_counts, ref_missing, cur_categories, cur_counts, cur_missing):
    names = sorted(set(ref_categories) | set(cur_categories))
    pos = {c: i for i, c in enumerate(names)}
    ref = np.zeros(len(names) + 1, dtype=np.int64)
    cur = np.zeros(len(names) + 1, dtype=np.int64)
    ref[[pos[c] for c in ref_categories]] = ref_counts
    cur[[pos[c] for c in cur_categories]] = cur_counts
    ref[-1], cur[-1] = ref_missing, cur_missing
    row: dict[str, Any] = {"test": "chi2", "exact": True,
                           "new_categories": [c for c in names if cur[pos[c]] > 0 and ref[pos[c]] == 0],
                           "vanished_categories": [c for c in names if ref[pos[c]] > 0 and cur[pos[c]] == 0]}
    row["psi"] = stats.psi(ref, cur)
    row["jensen_shannon"] = stats.jensen_shannon(ref, cur)
    row["chi2"], row["chi2_pvalue"] = stats.chi2_test(ref, cur)
    row["statistic"], row["p_value"], row["effect_size"] = row["chi2"], row["chi2_pvalue"], row["jensen_shannon"]
    return row


def _check_profiles(reference: Profile, current: Profile) -> None:
    """A current profile must bin like the reference: same columns, kinds, sensitive features and edges."""
    problems = []
    if current.sensitive_features != reference.sensitive_features:
        problems.append(f"sensitive features {current.sensitive_features} instead of {reference.sensitive_features}")
    if list(current.columns) != list(reference.columns):
        problems.append(f"columns {list(current.columns)} instead of {list(reference.columns)}")
    else:
        for column, s in reference.columns.items():
            c = current.columns[column]
            if c["kind"] != s["kind"]:
                problems.append(f"column {column!r} is {c['kind']}, {s['kind']} in the reference")
                break
            if s["kind"] == NUMERIC and not np.array_equal(c["edges"], s["edges"]):
                problems.append(f"column {column!r} binned differently (fit it with edges=reference.edges())")
                break
    if problems:
        raise AssayInputError("'current' profile must match the reference profile: " + "; ".join(problems) + ".")


def _split_text_columns(reference: Any, current: Any, text_columns: Any, embed: Any
                        ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], pd.DataFrame, pd.DataFrame]:
    """Embeddings of the text columns of both tables, and the tables without them."""
    if isinstance(reference, Profile) or isinstance(current, Profile):
        raise AssayInputError("'text_columns' needs 'reference' and 'current' as tables (their sentences are "
                              "embedded); a Profile holds no sentences. Pass the tables, or drop 'text_columns'.")
    if embed is not None and not callable(embed):
        raise AssayInputError(f"'embed' must be a callable list of str -> (n, d) array. Got {describe(embed)}.")
    ref, cur = check_frame(reference, name="reference"), check_frame(current, name="current")
    names = [text_columns] if isinstance(text_columns, str) else list(text_columns)
    for side, frame in (("reference", ref), ("current", cur)):
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise AssayInputError(f"'text_columns' names {missing!r}, which '{side}' does not have. "
                                  f"Its columns: {list(frame.columns)}.")
    if len(set(names)) != len(names) or not names:
        raise AssayInputError(f"'text_columns' must name distinct columns. Got {text_columns!r}.")
    from .embeddings import embed_texts

    out = {}
    for column in names:
        both = embed_texts([*ref[column].astype(str), *cur[column].astype(str)], embed, name=column)
        out[column] = (both[:len(ref)], both[len(ref):])
    ref, cur = ref.drop(columns=names), cur.drop(columns=names)
    if ref.shape[1] == 0:  # only text: a constant placeholder carries the scopes; its rows are dropped
        ref, cur = ref.assign(**{_PLACEHOLDER: 0.0}), cur.assign(**{_PLACEHOLDER: 0.0})
    return out, ref, cur


def drift_report(reference: Any, current: Any, *, sensitive_features: Any = None, alpha: float = DEFAULT_ALPHA,
                 effect_threshold: float = DEFAULT_EFFECT_THRESHOLD, correction: str = "holm",
                 n_bins: int = DEFAULT_N_BINS, anderson: bool = False, min_rows: int = 1, model: Any = None,
                 features: Any = None, text_columns: Any = None, embed: Any = None,
                 random_state: Any = 0) -> DriftResult:
    """Drift of every column of ``current`` against ``reference``, overall and per group.

    Parameters
    ----------
    reference : DataFrame, 2-D array or Profile
        The reference period (a table, or a profile fitted on one with :meth:`Profile.fit`).
    current : DataFrame, 2-D array or Profile
        The current window, with the same columns; or its profile, fitted with ``edges=reference.edges()``
        (then every test is the binned one: this is how windows past one machine's memory are tested,
        from :meth:`Profile.fit_dask`).
    sensitive_features : str or list of str, optional
        Columns of both tables whose groups (and intersection) get their own rows; they are not tested.
        With a profile, the profile's own sensitive features are used and must match when given.
    alpha, effect_threshold, correction
        The ``drifted`` rule (see the module docstring).
    n_bins : int, default 50
        Quantile bins of the reference for the binned statistics of numeric columns.
    anderson : bool, default False
        Also run the k-sample Anderson-Darling test (slower; from data only).
    min_rows : int, default 1
        Scopes with fewer reference or current rows are left out.
    model : optional
        A model ``assay.wrap`` takes: its outputs (``proba[<class>]``, ``prediction``) are tested as
        extra columns (a profile reference must have been fitted with the same model).
    features : list of str, optional
        The columns the model takes (default: its ``feature_names_in_``, else every column).
    text_columns : str or list of str, optional
        Free-text columns of both tables, tested through sentence embeddings (module docstring)
        instead of as categories; both ``reference`` and ``current`` must then be tables.
    embed : callable, optional
        ``list of str -> (n, d)`` array for ``text_columns``; default MiniLM
        (:func:`assay.datasets.text.embed_sentences`, the ``text`` extra, offline).
    random_state : int, default 0
        Seeds the embedding tests' folds and permutations.
    """
    owner = "drift_report"
    check_scalar(alpha, "alpha", owner=owner, low=0.0, high=1.0, closed="neither")
    check_scalar(effect_threshold, "effect_threshold", owner=owner, low=0.0)
    check_option(correction, "correction", owner=owner, options=stats.CORRECTIONS)
    check_scalar(min_rows, "min_rows", owner=owner, kind=int, low=1)
    texts = {}
    if text_columns is not None:
        texts, reference, current = _split_text_columns(reference, current, text_columns, embed)
    if model is not None and isinstance(current, Profile):
        raise AssayInputError("'current' must be a table when 'model' is given (a profile holds no rows to predict); "
                              "fit the current profile with Profile.fit(current, model=...) instead.")
    if model is not None:
        from .outputs import with_model_outputs

        current = with_model_outputs(check_frame(current, name="current"), model, features=features, name="current")
        if not isinstance(reference, Profile):
            reference = with_model_outputs(check_frame(reference, name="reference"), model, features=features)
    if isinstance(reference, Profile):
        ref_profile, ref_frame = reference, None
        if sensitive_features is not None and sensitive_names(
                sensitive_features, reference.sensitive_features + list(reference.columns)) != \
                reference.sensitive_features:
            raise AssayInputError(f"'sensitive_features' must match the profile's {reference.sensitive_features}. "
                                  f"Got {sensitive_features!r} instead.")
        sens = reference.sensitive_features
        kinds = {c: s["kind"] for c, s in reference.columns.items()}
    elif isinstance(reference, (pd.DataFrame, np.ndarray, list)):
        ref_frame = check_frame(reference, name="reference")
        sens = sensitive_names(sensitive_features, list(ref_frame.columns))
        ref_profile = Profile.fit(ref_frame, sensitive_features=sens, n_bins=n_bins)
        kinds = {c: s["kind"] for c, s in ref_profile.columns.items()}
    else:
        raise AssayInputError(f"'reference' must be a DataFrame, a 2-D array or a Profile. Got {describe(reference)}.")
    all_columns = list(kinds) + sens
    if isinstance(current, Profile):
        cur_profile, cur_frame = current, None
        _check_profiles(ref_profile, cur_profile)
        cur_scopes = set(cur_profile.scopes())
    else:
        cur_frame = _check_current(current, [c for c in (list(ref_frame.columns) if ref_frame is not None
                                                         else all_columns)], {**kinds}, name="current")
        cur_profile = Profile.fit(cur_frame, sensitive_features=sens, edges=ref_profile.edges(), name="current")
        cur_masks = _row_masks(cur_frame, cur_profile)
        cur_scopes = set(cur_masks)
    raw = {}
    if ref_frame is not None and cur_frame is not None:
        ref_masks = _row_masks(ref_frame, ref_profile)
        raw = {c: (numeric_values(ref_frame[c]), numeric_values(cur_frame[c]))
               for c, k in kinds.items() if k == NUMERIC}
    rows = []
    for scope in ref_profile.scopes():
        if scope not in cur_scopes:
            continue
        ref_cells, cur_cells = ref_profile.cell_mask(*scope), cur_profile.cell_mask(*scope)
        n_ref, n_cur = int(ref_profile.n_rows[ref_cells].sum()), int(cur_profile.n_rows[cur_cells].sum())
        if n_ref < min_rows or n_cur < min_rows:
            continue
        for column, kind in kinds.items():
            ref_counts, ref_missing = ref_profile.counts(column, ref_cells)
            cur_counts, cur_missing = cur_profile.counts(column, cur_cells)
            base = {"feature": scope[0], "group": scope[1], "column": column, "kind": kind, "n_reference": n_ref,
                    "n_current": n_cur, "missing_reference": ref_missing / n_ref,
                    "missing_current": cur_missing / n_cur}
            if kind == NUMERIC:
                ref_values = cur_values = None
                if column in raw:
                    r, c = raw[column]
                    r, c = r[ref_masks[scope]], c[cur_masks[scope]]
                    ref_values, cur_values = r[~np.isnan(r)], c[~np.isnan(c)]
                row = _numeric_row(np.append(ref_counts, ref_missing), np.append(cur_counts, cur_missing),
                                   ref_profile.columns[column]["edges"], ref_values, cur_values,
                                   ref_profile.moments(column, ref_cells), cur_profile.moments(column, cur_cells),
                                   anderson)
            else:
                row = _categorical_row(ref_profile.columns[column]["categories"], ref_counts, ref_missing,
                                       cur_profile.columns[column]["categories"], cur_counts, cur_missing)
            rows.append({**base, **row})
        for column, (ref_emb, cur_emb) in texts.items():
            if cur_frame is None:
                break
            result = embedding_drift(ref_emb[ref_masks[scope]], cur_emb[cur_masks[scope]],
                                     random_state=random_state)
            rows.append({"feature": scope[0], "group": scope[1], "column": column, "kind": "text",
                         "test": "domain classifier (embeddings)", "n_reference": n_ref, "n_current": n_cur,
                         "missing_reference": 0.0, "missing_current": 0.0, "statistic": result["domain_auc"],
                         "exact": True, **result})
    if not rows:
        raise AssayInputError("'current' shares no group with 'reference' holding at least "
                              f"min_rows={min_rows} row(s); nothing to compare.")
    table = pd.DataFrame([r for r in rows if r["column"] != _PLACEHOLDER]).reindex(columns=COLUMNS)
    for column in ("new_categories", "vanished_categories"):
        table[column] = [v if isinstance(v, list) else [] for v in table[column]]
    table["exact"] = table["exact"].fillna(False).astype(bool)
    table["p_adjusted"] = stats.adjust_pvalues(table["p_value"].to_numpy(np.float64), correction)
    with np.errstate(invalid="ignore"):
        table["drifted"] = ((table["p_adjusted"].to_numpy(np.float64) < alpha)
                            & (table["effect_size"].to_numpy(np.float64) >= effect_threshold))
    return DriftResult(table=table, params={
        "alpha": float(alpha), "effect_threshold": float(effect_threshold), "correction": correction,
        "n_bins": int(n_bins), "reference": "data" if ref_frame is not None else "profile",
        "sensitive_features": list(sens)})
