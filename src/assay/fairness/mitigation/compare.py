"""Every mitigation fitted on the same split and audited on the same test rows: one table.

:func:`compare_mitigations` trains the baseline and one model per pre-/in-processing
mitigation on the same training rows, fits post-processing on the same validation rows, and
evaluates every model on the same test rows: accuracy, balanced accuracy and ECE with bootstrap
intervals from the grouped table (:func:`assay.metrics.evaluate_groups`), every fairness gap of
:func:`assay.fairness.fairness_report` (per feature and intersection) with its interval, the
per-group rates, and a *paired* bootstrap of each difference from the baseline (the same
resampled test rows for both models), which says whether it is significant.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...core.errors import AssayInputError, AssayWarning, UndefinedMetricWarning
from ...core.result import Result
from ...core.validation import check_random_state, describe
from .adversarial import AdversarialDebiasing
from .cost_sensitive import CostSensitiveThreshold
from .inprocessing import ExponentiatedGradient
from .mindiff import MinDiffClassifier, MinDiffLoss, default_module
from .postprocessing import GroupThresholds
from .preprocessing import DisparateImpactRemover, GroupResampler, Reweighing, SensitiveFeatureRemover
from .reject_option import RejectOptionClassifier

__all__ = ["MitigationComparison", "compare_mitigations"]

DEFAULT_GAPS = ("demographic_parity_difference", "equalized_odds_difference", "equal_opportunity_difference")
_POST = (GroupThresholds, RejectOptionClassifier, CostSensitiveThreshold)
_TORCH = (MinDiffClassifier, MinDiffLoss, AdversarialDebiasing)
_KINDS = (Reweighing, GroupResampler, DisparateImpactRemover, SensitiveFeatureRemover, ExponentiatedGradient,
          *_TORCH, *_POST)


@dataclasses.dataclass(frozen=True, eq=False)
class MitigationComparison(Result):
    """The baseline and every mitigation on the same test rows.

    Attributes
    ----------
    table : DataFrame
        One row per model (``"none"`` = the baseline first, then the mitigations by name).
        Columns: ``stage`` (pre/in/post-processing), ``accuracy``, ``balanced_accuracy``, ``ece``
        (NaN for post-processing: its scores are the baseline's), each with ``_lower``/``_upper``
        interval bounds; ``"<gap>[<feature>]"`` for every gap and feature / intersection, with
        bounds; ``fit_seconds``; ``note`` (what a mitigation warned while fitting, e.g. a
        tolerance out of reach on these data; None otherwise); ``error`` (why a mitigation could
        not be fitted on these data, e.g. a group without positives for a rate constraint; its
        numbers are then NaN).
    differences : DataFrame
        One row per (mitigation, metric): ``difference`` (mitigation - baseline), ``ci_lower``,
        ``ci_upper`` (paired bootstrap), ``significant`` (the interval excludes 0).
    by_group : DataFrame
        Per model, feature and group: ``count``, ``selection_rate``, ``tpr``, ``fpr``.
    params : dict
    """

    table: pd.DataFrame
    differences: pd.DataFrame
    by_group: pd.DataFrame
    params: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _split(data: Any, name: str) -> tuple[Any, np.ndarray, pd.DataFrame] | None:
    if isinstance(data, Mapping):
        part = data.get(name)
    else:
        part = getattr(data, name, None)
    if part is None:
        return None
    if isinstance(part, tuple) and len(part) == 3:
        X, y, sf = part
    elif all(hasattr(part, a) for a in ("X", "y", "sensitive_features")):
        X, y, sf = part.X, part.y, part.sensitive_features
    else:
        raise AssayInputError(
            f"'data' split {name!r} must be a Split (X, y, sensitive_features attributes) or a tuple "
            f"(X, y, sensitive_features). Got {describe(part)}."
        )
    return X, np.asarray(y), sf


def _columns(sf: Any, names: list[str], split: str) -> pd.DataFrame:
    frame = sf if isinstance(sf, pd.DataFrame) else pd.DataFrame(sf)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise AssayInputError(
            f"'sensitive_features' names {missing} that the {split!r} split does not have "
            f"(its sensitive features: {list(frame.columns)})."
        )
    return frame[names].astype(str).reset_index(drop=True)


def _new_model(baseline: Any) -> Any:
    from sklearn.base import clone

    if hasattr(baseline, "fit"):
        return clone(baseline)
    if callable(baseline):
        return baseline()
    raise AssayInputError(f"'baseline' must be an unfitted estimator or a function returning one. Got "
                          f"{describe(baseline)}.")


def _fit(model: Any, X: Any, y: np.ndarray, sample_weight: np.ndarray | None = None) -> Any:
    if sample_weight is None:
        return model.fit(X, y)
    if hasattr(model, "steps"):  # a Pipeline: the weights go to its last step
        return model.fit(X, y, **{f"{model.steps[-1][0]}__sample_weight": sample_weight})
    return model.fit(X, y, sample_weight=sample_weight)


def _stage(m: Any) -> str:
    if isinstance(m, _POST):
        return "post-processing"
    if isinstance(m, (ExponentiatedGradient, *_TORCH)):
        return "in-processing"
    return "pre-processing"


def _numeric(baseline: Any, X: Any, X_test: Any) -> tuple[np.ndarray, np.ndarray]:
    """The inputs of a torch mitigation: the baseline pipeline's steps before its classifier
    (a fresh clone, fitted on the training rows), else ``X`` as it is; float32 arrays."""
    from sklearn.pipeline import Pipeline

    model = _new_model(baseline)
    if hasattr(model, "steps") and len(model.steps) > 1:
        pre = Pipeline(model.steps[:-1])
        X, X_test = pre.fit_transform(X), pre.transform(X_test)
    out = []
    for part in (X, X_test):
        part = part.toarray() if hasattr(part, "toarray") else part
        try:
            out.append(np.asarray(part, dtype=np.float32))
        except (TypeError, ValueError):
            raise AssayInputError(
                "torch mitigations need numeric inputs: pass as 'baseline' a Pipeline whose steps before the "
                "classifier encode X (e.g. assay.models.make_tabular_preprocessor), or numeric X. Got "
                f"{describe(part)}."
            ) from None
    return out[0], out[1]


def _torch_model(m: Any, n_features: int, torch_module: Any, seed: int) -> Any:
    """A fresh copy of a torch mitigation, its network built for ``n_features`` inputs if it has none."""
    from ...core.component import clone

    if isinstance(m, MinDiffLoss):  # the loss's hyper-parameters; its rows are the training split's
        m = MinDiffClassifier(weight=m.weight, kernel=m.kernel, kernel_length=m.kernel_length, label=m.label,
                              random_state=seed)
    m = clone(m)
    if m.module is None:
        module = torch_module(n_features) if torch_module is not None else default_module(n_features, seed)
        m.set_params(module=module)
    return m


def _run_one(m: Any, baseline: Any, fitted: Any, train: tuple, val: tuple, test: tuple, seed: int,
             torch_module: Any = None, scores: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(predictions, scores or None) of one mitigation on the test rows; ``scores()`` gives the
    baseline's (validation, test) scores (computed once for all post-processing)."""
    (X, y, sf), (_, y_val, sf_val), (X_test, _, sf_test) = train, val, test
    if isinstance(m, _POST):
        s_val, s_test = scores()
        if isinstance(m, CostSensitiveThreshold):
            return m.fit(s_val, y_val).predict(s_test), None
        m.fit(s_val, y_val, sensitive_features=sf_val)
        if isinstance(m, GroupThresholds):
            return m.predict(s_test, sensitive_features=sf_test, random_state=seed), None
        return m.predict(s_test, sensitive_features=sf_test), None
    if isinstance(m, _TORCH):
        X_num, X_test_num = _numeric(baseline, X, X_test)
        model = _torch_model(m, X_num.shape[1], torch_module, seed).fit(X_num, y, sensitive_features=sf)
        proba = model.predict_proba(X_test_num)[:, 1]
        return (proba >= 0.5).astype(np.int64), proba
    if isinstance(m, ExponentiatedGradient):
        if m.estimator is None:
            m.set_params(estimator=_new_model(baseline))
        m.fit(X, y, sensitive_features=sf)
        return m.predict(X_test, random_state=seed), m.predict_proba(X_test)[:, 1]
    model = _new_model(baseline)
    if isinstance(m, Reweighing):
        _fit(model, X, y, m.fit(X, y, sensitive_features=sf).sample_weight_)
    elif isinstance(m, GroupResampler):
        X_r, y_r, _ = m.fit_resample(X, y, sensitive_features=sf)
        _fit(model, X_r, y_r)
    elif isinstance(m, DisparateImpactRemover):
        _fit(model, m.fit_transform(X, sensitive_features=sf), y)
        X_test = m.transform(X_test, sensitive_features=sf_test)
    else:  # SensitiveFeatureRemover
        _fit(model, m.fit_transform(X, sensitive_features=sf), y)
        X_test = m.transform(X_test)
    return np.asarray(model.predict(X_test)), model.predict_proba(X_test)[:, 1]


def _paired_gaps(y: np.ndarray, preds: list[np.ndarray], codes: dict[str, np.ndarray], gaps: tuple[str, ...],
                 n_boot: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per metric, an array (models, n_boot) of the statistic on the same resampled test rows.

    Each resample is held as its row multiplicities (a matrix (n_boot, n) of counts), so every
    per-group sum over every resample is one matrix product with the rows' (group x condition)
    indicators: the same integer sums as summing the resampled rows, without materialising them.
    """
    n = len(y)
    idx = rng.integers(0, n, size=(n_boot, n))
    counts = np.bincount((np.arange(n_boot)[:, None] * n + idx).ravel(), minlength=n_boot * n)
    counts = counts.reshape(n_boot, n).astype(np.float64)
    out: dict[str, np.ndarray] = {}
    conditions = {"sel": np.ones(n, dtype=bool), "tpr": y == 1, "fpr": y == 0}
    onehots = {}
    for feature, code in codes.items():
        n_g = int(code.max()) + 1
        onehot = np.zeros((n, n_g))
        onehot[np.arange(n), code] = 1.0
        onehots[feature] = onehot
    den = {(f, c): counts @ (oh * m[:, None]) for f, oh in onehots.items() for c, m in conditions.items()}

    def spread(r: np.ndarray) -> np.ndarray:
        return np.nanmax(r, axis=1) - np.nanmin(r, axis=1)

    for j, pred in enumerate(preds):
        out.setdefault("accuracy", np.empty((len(preds), n_boot)))[j] = counts @ (pred == y).astype(np.float64) / n
        positive = pred == 1
        for feature, onehot in onehots.items():
            rates = {}
            for c, m in conditions.items():
                num = counts @ (onehot * (m & positive)[:, None])
                d = den[(feature, c)]
                with np.errstate(invalid="ignore", divide="ignore"):
                    rates[c] = np.where(d > 0, num / d, np.nan)
            values = {"demographic_parity_difference": spread(rates["sel"]),
                      "equal_opportunity_difference": spread(rates["tpr"]),
                      "equalized_odds_difference": np.maximum(spread(rates["tpr"]), spread(rates["fpr"])),
                      "false_positive_rate_difference": spread(rates["fpr"])}
            for gap in gaps:
                if gap in values:
                    out.setdefault(f"{gap}[{feature}]", np.empty((len(preds), n_boot)))[j] = values[gap]
    return out


def compare_mitigations(baseline: Any, mitigations: Any, data: Any, *, sensitive_features: Any,
                        gaps: tuple[str, ...] = DEFAULT_GAPS, n_boot: int = 200, confidence_level: float = 0.95,
                        val_size: float = 0.25, random_state: Any = 0, torch_module: Any = None,
                        prefit: bool = False) -> MitigationComparison:
    """Fit the baseline and each mitigation on the same split; audit all on the same test rows.

    Parameters
    ----------
    baseline : unfitted scikit-learn classifier (or a function returning one)
        Binary labels {0, 1}; ``predict_proba``. Cloned for every pre-/in-processing mitigation.
    mitigations : dict of name -> mitigation, or a list (named after their classes)
        Pre-processing: ``Reweighing``, ``GroupResampler``, ``DisparateImpactRemover``,
        ``SensitiveFeatureRemover`` (the baseline retrained on what they give). In-processing:
        ``ExponentiatedGradient`` (its ``estimator`` defaults to a clone of the baseline), and the
        torch ones, ``MinDiffClassifier``, ``AdversarialDebiasing`` and ``MinDiffLoss`` (its
        hyper-parameters, trained as a ``MinDiffClassifier`` on the training rows' groups): each
        trains a network (its ``module``, or ``torch_module``) on the baseline pipeline's encoded
        features (its steps before the classifier, fitted on the training rows) and predicts
        ``P(1) >= 0.5``; for the same network without the penalty add
        ``MinDiffClassifier(weight=0)``. Post-processing, fitted on the baseline's validation
        scores: ``GroupThresholds``, ``RejectOptionClassifier``, ``CostSensitiveThreshold``.
    data : an assay Dataset, or a dict of splits
        ``train`` and ``test`` (and optionally ``val``), each a Split or ``(X, y, sensitive_features)``.
        Without ``val``, ``val_size`` of the training rows (seeded) are held out for
        post-processing, and every model trains on the rest.
    sensitive_features : str or list of str
        Columns of each split's sensitive features; the mitigations use their intersection, the
        table reports each feature and the intersection.
    gaps : tuple of str
        The measures of :func:`fairness_report` in the table; the paired differences cover
        ``demographic_parity_difference``, ``equal_opportunity_difference``,
        ``equalized_odds_difference`` and ``false_positive_rate_difference``.
    n_boot, confidence_level, random_state
        Bootstrap resamples (for the intervals and the paired differences), their level, the seed.
    prefit : bool, default False
        True: ``baseline`` is a fitted classifier, used as it is for the baseline row and the
        post-processing scores (nothing retrained for them; pre-/in-processing mitigations still
        train clones of it on the training rows). For auditing a given model, or when only
        post-processing is compared.
    torch_module : callable or None
        ``torch_module(n_features) -> nn.Module`` (logits (n, 2)) for torch mitigations without a
        ``module``; None: :func:`~assay.fairness.mitigation.mindiff.default_module` (a 32-unit MLP,
        seeded).
    """
    from ...metrics import evaluate_groups
    from ..report import fairness_report

    names = [sensitive_features] if isinstance(sensitive_features, str) else list(sensitive_features)
    if not names:
        raise AssayInputError("'sensitive_features' must name at least one column. Got an empty list.")
    if isinstance(mitigations, Mapping):
        items = list(mitigations.items())
    else:
        items = [(type(m).__name__, m) for m in mitigations]
    for name, m in items:
        if not isinstance(m, _KINDS):
            raise AssayInputError(
                f"'mitigations' entry {name!r} must be one of {[k.__name__ for k in _KINDS]}. Got {describe(m)}."
            )
        if name == "none":
            raise AssayInputError("'mitigations' must not use the name 'none' (the baseline's row).")
    rng = check_random_state(random_state, name="random_state")
    seed = int(rng.integers(2**31 - 1))
    train, test, val = _split(data, "train"), _split(data, "test"), _split(data, "val")
    if train is None or test is None:
        raise AssayInputError(f"'data' must have 'train' and 'test' splits. Got {describe(data)}.")
    train = (train[0], train[1], _columns(train[2], names, "train"))
    test = (test[0], test[1], _columns(test[2], names, "test"))
    if val is None:
        X, y, sf = train
        order = rng.permutation(len(y))
        cut = round(len(y) * val_size)
        if cut < 2 or cut > len(y) - 2:
            raise AssayInputError(f"'val_size' must leave rows on both sides of the split. Got {val_size!r}.")
        held, kept = np.sort(order[:cut]), np.sort(order[cut:])

        def take(a: Any, i: np.ndarray) -> Any:
            return a.iloc[i].reset_index(drop=True) if isinstance(a, (pd.DataFrame, pd.Series)) else np.asarray(a)[i]

        val = (take(X, held), y[held], sf.iloc[held].reset_index(drop=True))
        train = (take(X, kept), y[kept], sf.iloc[kept].reset_index(drop=True))
    else:
        val = (val[0], val[1], _columns(val[2], names, "val"))

    start = time.perf_counter()
    if prefit:
        if not hasattr(baseline, "predict_proba"):
            raise AssayInputError(f"'baseline' must be a fitted classifier with predict_proba when prefit=True. Got "
                                  f"{describe(baseline)}.")
        fitted = baseline
    else:
        fitted = _fit(_new_model(baseline), train[0], train[1])
    runs = [("none", "baseline", np.asarray(fitted.predict(test[0])), fitted.predict_proba(test[0])[:, 1],
             time.perf_counter() - start)]
    errors: dict[str, str] = {}
    cache: dict[str, np.ndarray] = {"test": runs[0][3]}

    def scores() -> tuple[np.ndarray, np.ndarray]:
        if "val" not in cache:
            cache["val"] = fitted.predict_proba(val[0])[:, 1]
        return cache["val"], cache["test"]

    notes: dict[str, str] = {}
    for name, m in items:
        start = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:  # e.g. a tolerance out of reach: a note
                warnings.simplefilter("always", AssayWarning)
                pred, score = _run_one(m, baseline, fitted, train, val, test, seed, torch_module, scores)
        except AssayInputError as exc:  # e.g. a cell without positives for a rate constraint
            errors[name] = str(exc)
            continue
        for w in caught:
            if issubclass(w.category, AssayWarning):
                notes[name] = " ".join(filter(None, [notes.get(name), str(w.message)]))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        runs.append((name, _stage(m), pred.astype(np.int64), score, time.perf_counter() - start))

    y_test, sf_test = test[1].astype(np.int64), test[2]
    rows, by_group = [], []
    for k, (name, stage, pred, score, seconds) in enumerate(runs):
        row: dict[str, Any] = {"model": name, "stage": stage}
        table = evaluate_groups(y_test, pred, y_score=score, sensitive_features=sf_test,
                                metrics=["accuracy", "balanced_accuracy"] + (["ece"] if score is not None else []),
                                n_boot=n_boot, confidence_level=confidence_level, random_state=seed + k)
        for metric in ("accuracy", "balanced_accuracy", "ece"):
            if metric in table.overall.index:
                row[metric], row[f"{metric}_lower"], row[f"{metric}_upper"] = _value_ci(table, metric)
            else:
                row[metric] = row[f"{metric}_lower"] = row[f"{metric}_upper"] = np.nan
        with warnings.catch_warnings():  # measures of tiny intersections are NaN in the table
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            report = fairness_report(y_test, pred, sensitive_features=sf_test, n_boot=n_boot,
                                     confidence_level=confidence_level, random_state=seed + k)
        for (feature, measure), r in report.table.iterrows():
            if measure in gaps:
                key = f"{measure}[{feature}]"
                row[key], row[f"{key}_lower"], row[f"{key}_upper"] = r["value"], r["ci_lower"], r["ci_upper"]
        row["fit_seconds"] = seconds
        row["note"] = notes.get(name)
        rows.append(row)
        part = report.by_group[["count", "selection_rate", "tpr", "fpr"]].copy()
        part.insert(0, "model", name)
        by_group.append(part.reset_index())
    rows += [{"model": name, "stage": _stage(m), "error": errors[name]} for name, m in items if name in errors]
    table = pd.DataFrame(rows).set_index("model").reindex(["none", *(name for name, _ in items)])
    for column in ("error", "note"):
        if column not in table.columns:
            table[column] = None

    codes = {c: pd.factorize(sf_test[c], sort=True)[0] for c in names}
    if len(names) > 1:
        codes[" x ".join(names)] = pd.factorize(pd.MultiIndex.from_frame(sf_test), sort=True)[0]
    boot = _paired_gaps(y_test, [r[2] for r in runs], codes, tuple(gaps), n_boot,
                        np.random.default_rng(seed))
    alpha = (1 - confidence_level) / 2
    diffs = []
    for metric, values in boot.items():
        if metric not in table.columns:
            continue
        for j, (name, *_rest) in enumerate(runs[1:], start=1):
            d = values[j] - values[0]
            d = d[np.isfinite(d)]
            lo, hi = (np.quantile(d, [alpha, 1 - alpha]) if len(d) else (np.nan, np.nan))
            point = table.loc[name, metric] - table.loc["none", metric]
            diffs.append((name, metric, point, lo, hi, bool(lo > 0 or hi < 0)))
    differences = pd.DataFrame(diffs, columns=["model", "metric", "difference", "ci_lower", "ci_upper",
                                               "significant"]).set_index(["model", "metric"])
    return MitigationComparison(
        table=table, differences=differences, by_group=pd.concat(by_group, ignore_index=True),
        params={"sensitive_features": names, "gaps": list(gaps), "n_boot": int(n_boot),
                "confidence_level": float(confidence_level), "val_size": float(val_size),
                "n_train": len(train[1]), "n_val": len(val[1]), "n_test": len(y_test), "prefit": bool(prefit),
                "random_state": random_state if isinstance(random_state, (int, type(None))) else "generator"},
    )


def _value_ci(table: Any, metric: str) -> tuple[float, float, float]:
    """The overall value of ``metric`` and its bootstrap interval from a grouped table."""
    ci = table.overall_ci
    return float(table.overall[metric]), float(ci.loc[metric, "lower"]), float(ci.loc[metric, "upper"])
