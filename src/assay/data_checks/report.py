"""Run every data check on a train / test pair and turn the numbers into findings.

:func:`run_data_checks` returns a :class:`DataReport` holding each check's result;
:meth:`DataReport.findings` reads them against thresholds (:data:`DEFAULT_THRESHOLDS`, any of
which can be overridden) and returns a list of :class:`~assay.core.findings.Finding` (the same
type the audit uses) with severity ``"pass"``, ``"warn"`` or ``"fail"``, the data check's name
in ``check`` and ``metric``, and the numbers behind it in ``evidence``.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.findings import SEVERITIES, Finding
from ..core.result import Result
from ..core.validation import SEED_NOT_GIVEN, SEPARATOR, check_random_state, check_scalar, describe, renamed_seed
from ._common import align_columns, check_frame, column_kinds, target_codes
from .groups import (
    GroupSizesResult,
    LabelBalanceResult,
    MissingnessResult,
    group_sizes,
    label_balance,
    missingness_by_group,
)
from .overlap import DEFAULT_MAX_ROWS, OverlapResult, train_test_overlap
from .predictiveness import PredictivenessResult, ProxyResult, proxy_features, single_feature_predictiveness
from .shift import ShiftResult, distribution_shift

DEFAULT_THRESHOLDS: dict[str, float] = {
    # train_test_overlap: any exact overlap warns; this share of test rows fails.
    "overlap_fail_fraction": 0.01,
    # train_test_overlap: RMS standardised numeric difference of a near-duplicate ...
    "near_duplicate_distance": 0.01,
    # ... and the share of test rows with a near-duplicate that warns.
    "near_duplicate_fraction": 0.01,
    # single_feature_predictiveness: a feature alone with this AUC warns (suspected leak) ...
    "leakage_auc": 0.9,
    # ... and with this AUC fails (almost certainly a leak).
    "leakage_auc_fail": 0.99,
    # proxy_features: a feature alone predicting a sensitive attribute with this AUC warns.
    "proxy_auc": 0.8,
    # label_balance: rows of the largest class / rows of the smallest that warns.
    "imbalance_ratio": 4.0,
    # label_balance: base-rate difference between groups (with >= min_group_size rows) that warns.
    "base_rate_difference": 0.1,
    # group_sizes, label_balance: groups with fewer rows are too small to report (warns).
    "min_group_size": 30,
    # missingness_by_group, distribution_shift: significance level of the tests.
    "alpha": 0.01,
    # missingness_by_group: Cramér's V of missing vs group that (with p < alpha) warns.
    "missing_effect": 0.1,
    # distribution_shift: PSI (with chi-square p < alpha) that flags a drifted feature ...
    "psi": 0.2,
    # ... and KS statistic (with KS p < alpha) that flags a drifted numeric feature.
    "ks_statistic": 0.1,
}
"""Default thresholds of :func:`run_data_checks` and :meth:`DataReport.findings` (see comments)."""


_UNKNOWN_THRESHOLDS = "'thresholds' has unknown key(s) {unknown}; valid keys are {valid}."
_BAD_SPLIT = (
    "'{name}' must be a DataFrame (features, with the target and sensitive columns named by "
    "'target' and 'sensitive_features') or a Split with X, y and sensitive_features. Got {received}."
)
_MISSING_COLUMNS = "'{arg}' names column(s) {missing} that '{name}' lacks (its columns: {columns})."
_TARGET_WITH_SPLIT = (
    "'target' must be None when '{name}' is a Split (its y is the target). Got {target!r}."
)
_NO_SF_IN_SPLIT = "'sensitive_features' names {names} but '{name}' has no sensitive_features."


def _finding(severity: str, check: str, message: str, evidence: dict[str, Any]) -> Finding:
    """A data-check :class:`~assay.core.findings.Finding`; ``metric`` is the check's name."""
    return Finding(check=check, severity=severity, message=message, metric=check, evidence=evidence)


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


_RANGES: dict[str, tuple[float, float, str]] = {
    # key: (low, high, closed) for check_scalar
    "overlap_fail_fraction": (0.0, 1.0, "both"),
    "near_duplicate_distance": (0.0, np.inf, "left"),
    "near_duplicate_fraction": (0.0, 1.0, "both"),
    "leakage_auc": (0.5, 1.0, "both"),
    "leakage_auc_fail": (0.5, 1.0, "both"),
    "proxy_auc": (0.5, 1.0, "both"),
    "imbalance_ratio": (1.0, np.inf, "left"),
    "base_rate_difference": (0.0, 1.0, "both"),
    "min_group_size": (0, np.inf, "left"),
    "alpha": (0.0, 1.0, "neither"),
    "missing_effect": (0.0, 1.0, "both"),
    "psi": (0.0, np.inf, "left"),
    "ks_statistic": (0.0, 1.0, "both"),
}


def _check_thresholds(thresholds: Mapping[str, Any] | None,
                      base: Mapping[str, float] = DEFAULT_THRESHOLDS) -> dict[str, float]:
    """``base`` updated with ``thresholds``, each value checked against its range."""
    merged = dict(base)
    if thresholds is None:
        return merged
    if not isinstance(thresholds, Mapping):
        raise AssayInputError(
            f"'thresholds' must be a mapping of threshold name -> number. Got {describe(thresholds)} instead."
        )
    unknown = sorted(str(k) for k in set(thresholds) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise AssayInputError(_UNKNOWN_THRESHOLDS.format(unknown=unknown, valid=sorted(DEFAULT_THRESHOLDS)))
    for key, value in thresholds.items():
        low, high, closed = _RANGES[key]
        kind = (int, np.integer) if key == "min_group_size" else numbers.Real
        check_scalar(value, f"thresholds[{key!r}]", owner="run_data_checks", kind=kind,
                     low=low, high=None if np.isinf(high) else high, closed=closed)
        merged[key] = int(value) if key == "min_group_size" else float(value)
    return merged


def _names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise AssayInputError(
        "'sensitive_features' must be a column name or a list of column names. "
        f"Got {describe(value)} instead."
    )


def _unpack(data: Any, name: str, target: str | None, sensitive: list[str]):
    """(X, y or None, sensitive DataFrame or None, name of y) of a DataFrame or a Split."""
    if isinstance(data, pd.DataFrame):
        frame = check_frame(data, name=name)
        wanted = ([target] if target is not None else []) + sensitive
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            arg = "target" if target in missing else "sensitive_features"
            raise AssayInputError(_MISSING_COLUMNS.format(
                arg=arg, missing=missing, name=name, columns=list(frame.columns)))
        y = frame[target] if target is not None else None
        X = frame.drop(columns=[target]) if target is not None else frame
        sf = frame[sensitive] if sensitive else None
        return X, y, sf, f"{name}[{target!r}]"
    if hasattr(data, "X") and hasattr(data, "y"):
        if target is not None:
            raise AssayInputError(_TARGET_WITH_SPLIT.format(name=name, target=target))
        X = check_frame(data.X, name=f"{name}.X")
        sf = getattr(data, "sensitive_features", None)
        if sensitive:
            if sf is None:
                raise AssayInputError(_NO_SF_IN_SPLIT.format(names=sensitive, name=name))
            sf = check_frame(sf, name=f"{name}.sensitive_features")
            missing = [c for c in sensitive if c not in sf.columns]
            if missing:
                raise AssayInputError(_MISSING_COLUMNS.format(
                    arg="sensitive_features", missing=missing, name=f"{name}.sensitive_features",
                    columns=list(sf.columns)))
            sf = sf[sensitive]
        return X, data.y, sf, f"{name}.y"
    raise AssayInputError(_BAD_SPLIT.format(name=name, received=describe(data)))


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class DataReport(Result):
    """Every data check on a train / test pair.

    Attributes
    ----------
    n_train, n_test, n_features : int
    feature_kinds : dict
        Feature -> "numeric" / "categorical".
    target : str or None
        Name of the target (``y.name`` for a Split), if known.
    sensitive_features : tuple of str
    overlap : OverlapResult
        Train vs test rows.
    predictiveness : PredictivenessResult or None
        Single-feature AUCs for the target, on train (None without a binary target).
    proxies : ProxyResult or None
        Features predicting sensitive attributes, on train (None without sensitive features).
    label_balance, label_balance_test : LabelBalanceResult or None
    group_sizes, group_sizes_test : GroupSizesResult or None
    missingness : MissingnessResult
        On train.
    shift : ShiftResult
        Reference = train, current = test.
    thresholds : dict
        The thresholds used (see :data:`DEFAULT_THRESHOLDS`).
    skipped : dict
        Check -> why it did not run.
    """

    n_train: int
    n_test: int
    n_features: int
    feature_kinds: dict[str, str]
    target: str | None
    sensitive_features: tuple[str, ...]
    overlap: OverlapResult
    predictiveness: PredictivenessResult | None
    proxies: ProxyResult | None
    label_balance: LabelBalanceResult | None
    label_balance_test: LabelBalanceResult | None
    group_sizes: GroupSizesResult | None
    group_sizes_test: GroupSizesResult | None
    missingness: MissingnessResult
    shift: ShiftResult
    thresholds: dict[str, float]
    skipped: dict[str, str]


    def findings(self, thresholds: Mapping[str, Any] | None = None) -> list[Finding]:
        """Findings of every check that ran, read against ``self.thresholds`` updated with
        ``thresholds``. Overrides apply to the numbers already measured;
        ``near_duplicate_distance`` only takes effect in :func:`run_data_checks`."""
        if thresholds is None and "_findings" in self.__dict__:  # the record, card and datasheet all ask
            return list(self.__dict__["_findings"])
        t = _check_thresholds(thresholds, base=self.thresholds)
        out: list[Finding] = []
        out += _overlap_findings(self.overlap, t)
        if self.predictiveness is not None:
            out += _leakage_findings(self.predictiveness, t)
        if self.proxies is not None:
            out += _proxy_findings(self.proxies, t)
        if self.label_balance is not None:
            out += _balance_findings(self.label_balance, t)
        if self.group_sizes is not None:
            out += _group_size_findings(self.group_sizes, t)
        out += _missingness_findings(self.missingness, t)
        out += _shift_findings(self.shift, t)
        if thresholds is None:
            object.__setattr__(self, "_findings", tuple(out))  # frozen: the numbers cannot change
        return out

    def worst_severity(self) -> str:
        """"fail" if any finding fails, else "warn" if any warns, else "pass"."""
        found = {f.severity for f in self.findings()}
        return next(s for s in reversed(SEVERITIES) if s in found or s == "pass")

    def to_frame(self) -> pd.DataFrame:
        """The findings: columns ``severity``, ``check``, ``message``."""
        return pd.DataFrame(
            [(f.severity, f.check, f.message) for f in self.findings()],
            columns=["severity", "check", "message"],
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record of every result, plus ``findings`` (a list of dicts)."""
        out = super().to_dict()
        out["findings"] = [f.to_dict() for f in self.findings()]
        return out


# ---------------------------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------------------------




def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _p(p: float) -> str:
    return "p < 1e-300" if p == 0 else f"p = {p:.2g}"


def _overlap_findings(r: OverlapResult, t: dict[str, float]) -> list[Finding]:
    out = []
    evidence = {"n_exact": r.n_exact, "exact_fraction": r.exact_fraction, "n_test": r.n_test,
                "examples": r.examples[r.examples["kind"] == "exact"][["test_index", "train_index"]]
                .to_dict(orient="records")}
    if r.n_exact == 0:
        out.append(_finding("pass", "train_test_overlap",
                           "No test row is an exact copy of a training row.", evidence))
    else:
        severity = "fail" if r.exact_fraction >= t["overlap_fail_fraction"] else "warn"
        out.append(_finding(
            severity, "train_test_overlap",
            f"{r.n_exact} test row(s) ({r.exact_fraction:.2%}) are exact copies of training rows: "
            "test scores on them measure memorisation, not generalisation.",
            evidence,
        ))
    near_evidence = {"n_near": r.n_near, "near_fraction": r.near_fraction, "n_checked": r.n_checked,
                     "distance_threshold": r.params["near_duplicate_threshold"]}
    if r.n_near and r.near_fraction >= t["near_duplicate_fraction"]:
        out.append(_finding(
            "warn", "near_duplicates",
            f"{r.n_near} of {r.n_checked} test rows checked ({r.near_fraction:.2%}) are near-duplicates "
            f"of training rows (same categories, numeric values within "
            f"{r.params['near_duplicate_threshold']:g} standard deviations RMS).",
            near_evidence,
        ))
    else:
        out.append(_finding(
            "pass", "near_duplicates",
            f"{r.n_near} of {r.n_checked} test rows checked ({r.near_fraction:.2%}) are near-duplicates "
            f"of training rows (below the {t['near_duplicate_fraction']:.0%} warning level).",
            near_evidence,
        ))
    return out


def _leakage_findings(r: PredictivenessResult, t: dict[str, float]) -> list[Finding]:
    table = r.table
    out = []
    for feature, row in table[table["auc"] >= t["leakage_auc"]].iterrows():
        severity = "fail" if row["auc"] >= t["leakage_auc_fail"] else "warn"
        out.append(_finding(
            severity, "leakage",
            f"Feature '{feature}' alone predicts the target with AUC {_fmt(row['auc'])}: check that "
            "it is known before the outcome and not derived from it (possible leakage).",
            {"feature": feature, "auc": row["auc"], "kind": row["kind"]},
        ))
    if not out:
        top = table.index[0] if len(table) else None
        out.append(_finding(
            "pass", "leakage",
            f"No feature alone predicts the target with AUC >= {_fmt(t['leakage_auc'])}"
            + (f" (highest: '{top}', {_fmt(table['auc'].iloc[0])})." if top is not None else "."),
            {"max_auc": float(table["auc"].max()) if len(table) else None, "feature": top},
        ))
    return out


def _proxy_findings(r: ProxyResult, t: dict[str, float]) -> list[Finding]:
    out = []
    if r.sensitive_in_X:
        out.append(_finding(
            "warn", "sensitive_in_features",
            f"The features include the sensitive attribute(s) {', '.join(map(repr, r.sensitive_in_X))}: "
            "a model trained on them can use them directly (drop them if it must not).",
            {"columns": list(r.sensitive_in_X)},
        ))
    for attribute in r.params["sensitive_features"]:
        part = r.table[r.table["sensitive_feature"] == attribute]
        strong = part[part["auc"] >= t["proxy_auc"]]
        if len(strong):
            listed = ", ".join(f"'{f}' (AUC {_fmt(a)})" for f, a in zip(strong["feature"], strong["auc"]))
            out.append(_finding(
                "warn", "proxies",
                f"'{attribute}' can be predicted from single features: {listed}. A model can use "
                f"them as a proxy for '{attribute}' even if '{attribute}' itself is dropped.",
                {"sensitive_feature": attribute,
                 "features": strong[["feature", "auc", "cramers_v"]].to_dict(orient="records")},
            ))
        else:
            top = part.iloc[0] if len(part) else None
            out.append(_finding(
                "pass", "proxies",
                f"No feature alone predicts '{attribute}' with AUC >= {_fmt(t['proxy_auc'])}"
                + (f" (highest: '{top['feature']}', {_fmt(top['auc'])})." if top is not None else "."),
                {"sensitive_feature": attribute,
                 "max_auc": None if top is None else float(top["auc"]),
                 "feature": None if top is None else top["feature"]},
            ))
    return out


def _balance_findings(r: LabelBalanceResult, t: dict[str, float]) -> list[Finding]:
    out = []
    evidence = {"class_counts": r.class_counts.to_dict(), "imbalance_ratio": r.imbalance_ratio,
                "base_rate": r.base_rate, "pos_label": r.pos_label}
    if r.imbalance_ratio >= t["imbalance_ratio"]:
        out.append(_finding(
            "warn", "class_balance",
            f"Classes are imbalanced: the largest is {_fmt(r.imbalance_ratio)} times the smallest "
            f"('{r.minority_label}'); report precision/recall or balanced metrics, not accuracy alone.",
            evidence,
        ))
    else:
        out.append(_finding(
            "pass", "class_balance",
            f"Class ratio {_fmt(r.imbalance_ratio)}:1 (base rate {_fmt(r.base_rate)}).", evidence,
        ))
    if r.by_group is not None:
        table = r.by_group
        reliable = table[table["count"].to_numpy() >= t["min_group_size"]]
        gaps = []
        for feature, part in reliable.groupby("feature", sort=False):
            if len(part) >= 2:
                low = part.loc[part["base_rate"].idxmin()]
                high = part.loc[part["base_rate"].idxmax()]
                gaps.append((feature, float(high["base_rate"] - low["base_rate"]), low, high, part))
        singles = [g for g in gaps if SEPARATOR not in g[0]]
        crossed = sorted((g for g in gaps if SEPARATOR in g[0]), key=lambda g: -g[1])
        # One finding per sensitive feature; the intersections in one finding (the widest gap).
        for feature, gap, low, high, part in singles + crossed[:1]:
            if gap < t["base_rate_difference"]:
                continue
            intro = "Base rates differ across" + (" the intersections" if SEPARATOR in feature else "")
            others = [f"'{f}' ({_fmt(d)})" for f, d, *_ in crossed[1:] if d >= t["base_rate_difference"]]
            out.append(_finding(
                "warn", "base_rates",
                f"{intro} '{feature}' by {_fmt(gap)} ('{low['group']}': {_fmt(low['base_rate'])}, "
                f"'{high['group']}': {_fmt(high['base_rate'])})"
                + (f"; also {', '.join(others)}" if SEPARATOR in feature and others else "")
                + ". Unless a model ignores the target, it cannot have both equal selection rates "
                "(demographic parity) and equal error rates (equalized odds) across these groups.",
                {"feature": feature, "difference": gap,
                 "base_rates": dict(zip(part["group"], part["base_rate"])),
                 "counts": dict(zip(part["group"], part["count"]))},
            ))
        if not any(f.check == "base_rates" for f in out):
            out.append(_finding(
                "pass", "base_rates",
                f"Base rates differ by less than {_fmt(t['base_rate_difference'])} across groups "
                f"with at least {int(t['min_group_size'])} rows.",
                {"differences": {g[0]: g[1] for g in gaps}},
            ))
    return out


def _group_size_findings(r: GroupSizesResult, t: dict[str, float]) -> list[Finding]:
    small = r.table[r.table["count"].to_numpy() < t["min_group_size"]]
    if len(small):
        shown = ", ".join(f"{f} = '{g}' ({c})" for f, g, c in
                          zip(small["feature"].head(5), small["group"].head(5), small["count"].head(5)))
        more = f" and {len(small) - 5} more" if len(small) > 5 else ""
        return [_finding(
            "warn", "group_sizes",
            f"In the training data, {len(small)} group(s) or intersection(s) have fewer than "
            f"{int(t['min_group_size'])} rows, too few to report their metrics reliably: {shown}{more}.",
            {"small_groups": small[["feature", "group", "count"]].to_dict(orient="records")},
        )]
    return [_finding("pass", "group_sizes",
                    f"Every group in the training data has at least {int(t['min_group_size'])} rows"
                    f" (smallest: {_smallest(r)}).",
                    {"smallest": int(r.table["count"].min())})]


def _smallest(r: GroupSizesResult) -> str:
    row = r.table.loc[r.table["count"].idxmin()]
    return f"{row['feature']} = '{row['group']}', {int(row['count'])} rows"


def _missingness_findings(r: MissingnessResult, t: dict[str, float]) -> list[Finding]:
    s = r.summary
    flagged = s[(s["p_value"].to_numpy(np.float64) < t["alpha"])
                & (s["cramers_v"].to_numpy(np.float64) >= t["missing_effect"])]
    out = []
    for _, row in flagged.iterrows():
        out.append(_finding(
            "warn", "missingness",
            f"Missing values of '{row['feature']}' depend on '{row['sensitive_feature']}' "
            f"(missing rate {_fmt(row['group_rate_min'])} to {_fmt(row['group_rate_max'])} across groups, "
            f"{_p(row['p_value'])}, Cramér's V = {_fmt(row['cramers_v'])}): dropping or imputing "
            "them affects groups unequally.",
            {k: row[k] for k in ("feature", "sensitive_feature", "missing_rate", "group_rate_min",
                                 "group_rate_max", "p_value", "cramers_v")},
        ))
    if not out:
        features = r.features_with_missing
        message = ("No feature has missing values." if not features else
                   f"Features with missing values ({', '.join(features)}) show no group-dependent "
                   "missingness above the thresholds.")
        out.append(_finding("pass", "missingness", message,
                           {"missing_rate": r.overall["missing_rate"][r.overall["n_missing"] > 0].to_dict()}))
    return out


def _shift_findings(r: ShiftResult, t: dict[str, float]) -> list[Finding]:
    table = r.table
    by_psi = ((table["psi"].to_numpy(np.float64) >= t["psi"])
              & (table["chi2_pvalue"].to_numpy(np.float64) < t["alpha"]))
    ks_p = table["ks_pvalue"].to_numpy(np.float64)
    ks = table["ks_statistic"].to_numpy(np.float64)
    with np.errstate(invalid="ignore"):
        by_ks = (ks_p < t["alpha"]) & (ks >= t["ks_statistic"])
    drifted = table[by_psi | by_ks].sort_values("psi", ascending=False)
    if len(drifted):
        listed = ", ".join(f"'{f}' (PSI {_fmt(row['psi'])}"
                           + ("" if np.isnan(row["ks_statistic"]) else f", KS {_fmt(row['ks_statistic'])}")
                           + ")" for f, row in drifted.iterrows())
        return [_finding(
            "warn", "distribution_shift",
            f"{len(drifted)} feature(s) are distributed differently in test than in train: {listed}.",
            {"features": drifted[["psi", "chi2_pvalue", "ks_statistic", "ks_pvalue"]]
             .to_dict(orient="index")},
        )]
    top = table["psi"].idxmax() if len(table) else None
    return [_finding(
        "pass", "distribution_shift",
        "No feature shifted between train and test"
        + (f" (largest PSI: '{top}', {_fmt(table.loc[top, 'psi'])})." if top is not None else "."),
        {"max_psi": None if top is None else float(table.loc[top, "psi"]), "feature": top},
    )]


# ---------------------------------------------------------------------------------------------
# run_data_checks
# ---------------------------------------------------------------------------------------------


def run_data_checks(
    train: Any,
    test: Any,
    *,
    target: str | None = None,
    sensitive_features: str | Sequence[str] | None = None,
    thresholds: Mapping[str, Any] | None = None,
    pos_label: Any = None,
    intersections: bool = True,
    cv: int = 5,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    random_state: Any = 0,
    seed: Any = SEED_NOT_GIVEN,
) -> DataReport:
    """Run every data check on a train / test pair.

    Parameters
    ----------
    train, test : DataFrame or Split
        A DataFrame holds the features and, named by ``target`` and ``sensitive_features``,
        the target and sensitive columns (sensitive columns stay among the features, as they
        are in the data; the proxy check leaves them out and reports them). A
        :class:`~assay.datasets.Split` brings its own ``X``, ``y`` and ``sensitive_features``.
    target : str, optional
        Target column of DataFrame inputs (must be None for Splits).
    sensitive_features : str or list of str, optional
        Sensitive columns of DataFrame inputs; for Splits, a subset of their sensitive features
        (default: all).
    thresholds : mapping, optional
        Overrides of :data:`DEFAULT_THRESHOLDS`.
    pos_label : label, optional
        Positive label for base rates (see :func:`label_balance`).
    intersections : bool, default True
        Group sizes and base rates of intersections of sensitive features too.
    cv : int, default 5
        Folds of the out-of-fold encodings (leakage and proxy checks).
    max_rows : int or None, default 20_000
        Test rows searched for near-duplicates.
    random_state : int, Generator or None, default 0
        Seeds every stochastic check. ``seed=`` is a deprecated alias.

    Returns
    -------
    DataReport
        Single-split checks (predictiveness, proxies, missingness) run on train; balance and
        group sizes on both; overlap and shift compare test with train. Checks that need a
        binary target or sensitive features are skipped without them (see ``skipped``).
    """
    random_state = renamed_seed(random_state, seed, owner="run_data_checks", default=0)
    t = _check_thresholds(thresholds)
    sensitive = _names(sensitive_features)
    check_scalar(cv, "cv", owner="run_data_checks", kind=(int, np.integer), low=2)
    # One generator seeds every stochastic check: the same seed gives the same report.
    rng = check_random_state(random_state, name="random_state")
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=3)]
    X_train, y_train, sf_train, y_train_name = _unpack(train, "train", target, sensitive)
    X_test, y_test, sf_test, y_test_name = _unpack(test, "test", target, sensitive)
    X_test = align_columns(X_train, X_test, reference="train", name="test")
    target_name = target if target is not None else getattr(y_train, "name", None)
    skipped: dict[str, str] = {}

    binary = binary_test = False
    if y_train is not None:
        _, train_labels = target_codes(y_train, name=y_train_name, n_samples=len(X_train),
                                       against="train features", binary=False)
        _, test_labels = target_codes(y_test, name=y_test_name, n_samples=len(X_test),
                                      against="test features", binary=False)
        binary = len(train_labels) == 2
        binary_test = binary and len(test_labels) == 2
        if not binary:
            reason = f"the target has {len(train_labels)} labels (these checks are binary-only)"
            skipped["single_feature_predictiveness"] = skipped["label_balance"] = reason
        elif not binary_test:
            skipped["label_balance_test"] = "the test target has a single label"
    else:
        skipped["single_feature_predictiveness"] = skipped["label_balance"] = "no target given"
    if sf_train is None:
        for check in ("proxy_features", "group_sizes"):
            skipped[check] = "no sensitive features given"

    overlap = train_test_overlap(
        X_train, X_test, near_duplicate_threshold=t["near_duplicate_distance"], max_rows=max_rows,
        random_state=seeds[0],
    )
    predictiveness = (
        single_feature_predictiveness(X_train, y_train, cv=cv, random_state=seeds[1], threshold=t["leakage_auc"])
        if binary else None
    )
    proxies = (
        proxy_features(X_train, sf_train, cv=cv, random_state=seeds[2], threshold=t["proxy_auc"])
        if sf_train is not None else None
    )
    min_size = int(t["min_group_size"])
    balance = balance_test = sizes = sizes_test = None
    if binary:
        balance = label_balance(y_train, sf_train, pos_label=pos_label, min_group_size=min_size,
                                intersections=intersections)
        if binary_test:
            balance_test = label_balance(y_test, sf_test, pos_label=balance.pos_label,
                                         min_group_size=min_size, intersections=intersections)
    if sf_train is not None:
        sizes = group_sizes(sf_train, min_group_size=min_size, intersections=intersections)
        sizes_test = group_sizes(sf_test, min_group_size=min_size, intersections=intersections)
    missingness = missingness_by_group(X_train, sf_train, alpha=t["alpha"], min_effect=t["missing_effect"])
    shift = distribution_shift(
        X_train, X_test, psi_threshold=t["psi"], ks_threshold=t["ks_statistic"], alpha=t["alpha"]
    )
    return DataReport(
        n_train=len(X_train),
        n_test=len(X_test),
        n_features=X_train.shape[1],
        feature_kinds=column_kinds(X_train),
        target=None if target_name is None else str(target_name),
        sensitive_features=() if sf_train is None else tuple(str(c) for c in sf_train.columns),
        overlap=overlap,
        predictiveness=predictiveness,
        proxies=proxies,
        label_balance=balance,
        label_balance_test=balance_test,
        group_sizes=sizes,
        group_sizes_test=sizes_test,
        missingness=missingness,
        shift=shift,
        thresholds=t,
        skipped=skipped,
    )
