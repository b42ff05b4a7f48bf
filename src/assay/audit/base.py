"""What a check is, how checks are registered, and what they see of the model and data.

A check is a small class: it declares what it needs (``needs``, an open vocabulary answered by
:data:`NEEDS`), its thresholds (``thresholds``, each a :class:`Threshold` with its default,
range and meaning), runs on an :class:`AuditContext` and returns a
:class:`~assay.core.result.Result`, summarises that result in a few headline numbers
(:meth:`Check.summarize`, and as tidy rows :meth:`Check.headline`), and turns headline numbers
into findings against thresholds. Adding a check is adding one module to
:mod:`assay.audit.checks` (or registering a class from your own package with
:func:`register_check`, and any need of your own with :func:`register_need`); nothing here or
in the orchestrator is edited.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import ModelAdapter
from ..core.component import Component
from ..core.errors import AssayInputError
from ..core.findings import SEVERITIES, Finding, grade
from ..core.result import Result
from ..core.validation import check_sensitive_features, describe

__all__ = ["AuditContext", "Check", "CHECKS", "HEADLINE_COLUMNS", "NEEDS", "SEVERITIES", "Threshold", "Finding",
           "grade", "known_thresholds", "register_check", "register_need", "threshold_specs"]


# ---------------------------------------------------------------------------------------------
# Thresholds
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Threshold:
    """One threshold a check declares: its default, meaning and valid range.

    ``low``/``high``/``closed`` bound the value (``closed`` as in ``check_scalar``: "both",
    "left", "right", "neither"); ``integer`` asks for an int. ``higher_is_better`` says how
    the judged number reads; a fail threshold names its warn threshold in ``warn`` (default:
    ``<stem>_warn`` for a key ``<stem>_fail``), and the pair must agree with the direction (for
    higher-is-better numbers fail <= warn, else fail >= warn). ``at_run``: ``run()`` reads it
    (so it is part of the run's configuration: a run directory made with another value is
    another run); otherwise only :meth:`Check.findings` reads it and it may change on resume.
    """

    default: float
    doc: str
    low: float = -math.inf
    high: float = math.inf
    closed: str = "both"
    integer: bool = False
    higher_is_better: bool | None = None
    warn: str | None = None
    at_run: bool = False

    def range_text(self) -> str:
        left = "[" if self.closed in ("both", "left") and math.isfinite(self.low) else "("
        right = "]" if self.closed in ("both", "right") and math.isfinite(self.high) else ")"
        return f"{'an int' if self.integer else 'a finite number'} in {left}{self.low:g}, {self.high:g}{right}"

    def check(self, key: str, value: Any) -> float | int:
        """``value`` as a number if it is valid for this threshold, else AssayInputError naming ``key``."""
        ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        if ok and self.integer:
            ok = isinstance(value, numbers.Integral) or (math.isfinite(float(value)) and float(value).is_integer())
        if ok:
            number = float(value)
            ok = math.isfinite(number)
            if ok:
                ok = number >= self.low if self.closed in ("both", "left") else number > self.low
            if ok:
                ok = number <= self.high if self.closed in ("both", "right") else number < self.high
        if not ok:
            raise AssayInputError(f"'thresholds' key {key!r} must be {self.range_text()} ({self.doc}). "
                                  f"Got {value!r}.")
        return int(number) if self.integer else number

    def warn_key(self, key: str) -> str | None:
        """The warn threshold this one is the fail level of, if any."""
        if self.warn is not None:
            return self.warn
        return key[: -len("_fail")] + "_warn" if key.endswith("_fail") else None


def rate(default: float, doc: str, **kwargs: Any) -> Threshold:
    """A threshold on a rate, ratio, difference of rates or AUC: a number in [0, 1]."""
    return Threshold(default, doc, **{"low": 0.0, "high": 1.0, **kwargs})


# ---------------------------------------------------------------------------------------------
# Needs: an open vocabulary, each need answered by a resolver
# ---------------------------------------------------------------------------------------------

#: A need's resolver: ``resolver(context, arg)`` -> True (met), False (unmet: "needs <need>")
#: or a string (unmet, with that reason). ``arg`` is the text after the first ":" of the need
#: ("split:val" -> "val"), or None.
NeedResolver = Callable[["AuditContext", "str | None"], "bool | str"]

#: Resolvers by need name (the part of a need before any ":"); extend with :func:`register_need`.
NEEDS: dict[str, NeedResolver] = {}


def register_need(name: str, resolver: NeedResolver) -> NeedResolver:
    """Teach the audit a need: checks may then declare ``name`` or ``"name:<arg>"`` in ``needs``."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w\-]*", name):
        raise AssayInputError(f"'name' of a need must be an identifier such as 'labels'. Got {name!r}.")
    if not callable(resolver):
        raise AssayInputError(f"'resolver' of need {name!r} must be callable(context, arg). Got {describe(resolver)}.")
    NEEDS[name] = resolver
    return resolver


def _need_parts(need: str) -> tuple[str, str | None]:
    name, sep, arg = need.partition(":")
    return name, (arg if sep else None)


def _eval_split_has(context: AuditContext, predicate) -> bool:
    return predicate(context.splits[context.eval_split])


def _need_layer(context: AuditContext, arg: str | None) -> bool | str:
    if context.model is None or context.model.kind != "torch":
        return "needs a torch model (embeddings of a layer)"
    if arg is None:
        return True
    try:
        context.model._resolve_layers(arg)
    except AssayInputError:
        return f"needs layer {arg!r}, which the model does not have"
    return True


def _need_task(context: AuditContext, arg: str | None) -> bool | str:
    if context.model is None:
        return "needs a model"
    task = getattr(context.model, "task", "classification")
    if arg is None or arg == task:
        return True
    return f"needs a {arg} model; the model is a {task} model"


def _is_text(X: Any) -> bool:
    if isinstance(X, (pd.Series, np.ndarray)) and np.asarray(X).ndim == 1:
        return len(X) > 0 and isinstance(np.asarray(X, dtype=object)[0], str)
    return isinstance(X, (list, tuple)) and len(X) > 0 and all(isinstance(x, str) for x in X[:100])


for _name, _resolver in {
    "model": lambda c, a: c.model is not None,
    "probabilities": lambda c, a: c.model is not None and (
        getattr(c.model, "task", "classification") == "classification" or "needs class probabilities; the model "
                                                                         "is a regression model"),
    "labels": lambda c, a: c.splits[a or c.eval_split][1] is not None if (a or c.eval_split) in c.splits else False,
    "sensitive_features": lambda c, a: (c.sensitive_features() is not None and c.sensitive_features().shape[1] > 0),
    "train": lambda c, a: "train" in c.splits and c.eval_split != "train",
    "split": lambda c, a: (a in c.splits and a != c.eval_split) or f"needs a {a!r} split in 'data'",
    "ood": lambda c, a: bool(c.ood_splits()),
    "torch": lambda c, a: c.model is not None and c.model.kind == "torch",
    "layer": _need_layer,
    "embeddings": _need_layer,
    "task": _need_task,
    "tabular": lambda c, a: isinstance(c.X(), pd.DataFrame),
    "text": lambda c, a: _is_text(c.X()),
    "train_fn": lambda c, a: c.resources.get("train_fn") is not None or "needs a training function "
                             "(AuditContext.resources['train_fn'])",
}.items():
    register_need(_name, _resolver)


def is_ood_split(name: str) -> bool:
    """True for the split names that hold out-of-distribution inputs: "ood" and "ood:<name>"."""
    return name == "ood" or name.startswith("ood:")


@dataclasses.dataclass
class AuditContext:
    """The model and data every check sees; model outputs come from the adapter's cache.

    ``splits`` maps a split name to ``(X, y, sensitive_features)``; ``eval_split`` names the
    split the checks evaluate on (default "test"); ``thresholds`` holds the value of every
    threshold of the selected checks; ``resources`` holds anything else a need may look for
    (e.g. ``"train_fn"``).
    """

    model: ModelAdapter | None
    splits: Mapping[str, tuple[Any, Any, pd.DataFrame | None]]
    eval_split: str = "test"
    random_state: int = 0
    thresholds: Mapping[str, float] = dataclasses.field(default_factory=dict)
    resources: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def seed(self) -> int:
        """Alias of ``random_state`` (read-only), for checks written before the rename."""
        return self.random_state

    # ---- what the audit offers
    def need(self, need: str) -> str | None:
        """None if ``need`` is met here, else the reason it is not ("needs <need>" by default)."""
        name, arg = _need_parts(need)
        resolver = NEEDS.get(name)
        if resolver is None:
            raise AssayInputError(f"Unknown need {need!r}; known needs: {sorted(NEEDS)} (a check from outside "
                                  "assay registers its own with assay.audit.register_need).")
        answer = resolver(self, arg)
        if answer is True or (answer is not False and not isinstance(answer, str) and answer):
            return None
        return answer if isinstance(answer, str) else f"needs {need}"

    def capabilities(self) -> frozenset[str]:
        """The argument-less needs met here (kept for checks written against the closed set)."""
        plain = ("model", "labels", "probabilities", "sensitive_features", "train", "ood", "torch", "tabular")
        return frozenset(n for n in plain if self.need(n) is None)

    def ood_splits(self) -> list[str]:
        """Names of the out-of-distribution splits, in the order given."""
        return [name for name in self.splits if is_ood_split(name)]

    # ---- data and outputs of a split (default: the evaluation split)
    def X(self, split: str | None = None) -> Any:
        return self.splits[split or self.eval_split][0]

    def y(self, split: str | None = None) -> np.ndarray:
        return np.asarray(self.splits[split or self.eval_split][1])

    def sensitive_features(self, split: str | None = None) -> pd.DataFrame:
        return self.splits[split or self.eval_split][2]

    def predict_proba(self, split: str | None = None) -> np.ndarray:
        return self.model.predict_proba(self.X(split))

    def predict(self, split: str | None = None) -> np.ndarray:
        return self.model.predict(self.X(split))

    def positive_score(self, split: str | None = None) -> np.ndarray:
        """P(positive class) for binary models, shape (n,)."""
        proba = self.predict_proba(split)
        if proba.shape[1] != 2:
            raise AssayInputError(f"This check needs a binary model; the model has {proba.shape[1]} classes.")
        return proba[:, 1]


#: Columns of the tidy headline table every check emits (:meth:`Check.headline`). ``feature``
#: is what the number is measured per (a sensitive feature, an OOD set) and names the row with
#: ``metric`` (:func:`headline_key`); ``group`` is the group the number belongs to ("overall",
#: the worst group), a property of the value, not part of its name.
HEADLINE_COLUMNS = ("metric", "feature", "group", "value", "lower", "upper", "direction")
_KEYED = re.compile(r"^(?P<metric>[^\[\]]+)\[(?P<feature>.+)\](?:\.(?P<bound>ci_lower|ci_upper))?$")


def finite_or_none(value: Any) -> float | None:
    """``float(value)``, or None for None, NaN and infinities (what a JSON summary may hold)."""
    return None if value is None or not np.isfinite(float(value)) else float(value)


def headline_row(metric: str, value: Any, *, feature: str | None = None, group: str | None = None,
                 lower: Any = None, upper: Any = None, direction: str | None = None) -> dict[str, Any]:
    """One row of the headline table; NaN becomes None, ``direction`` is "higher", "lower" or None."""
    number = finite_or_none
    return {"metric": metric, "feature": feature, "group": group, "value": number(value), "lower": number(lower),
            "upper": number(upper), "direction": direction}


def headline_key(row: Mapping[str, Any]) -> str:
    """The name of a headline row, in the key format of findings and the card: ``metric`` or
    ``metric[feature]``."""
    return row["metric"] if row.get("feature") is None else f"{row['metric']}[{row['feature']}]"


def find_headline_row(rows: Sequence[Mapping[str, Any]], key: str) -> Mapping[str, Any] | None:
    """The row of ``rows`` named ``key`` (:func:`headline_key`), or None."""
    return next((row for row in rows if headline_key(row) == key), None)


class Check(Component):
    """Base class of audit checks.

    Subclasses set ``name`` (unique, snake_case), ``title``, ``section`` (the report section),
    ``needs`` (needs answered by :data:`NEEDS`, e.g. "labels", "split:val", "layer:fc1",
    "task:classification"), ``thresholds`` (key -> :class:`Threshold`, the defaults of the
    findings; ``Audit(thresholds=...)`` overrides them), take their parameters as keyword
    arguments of ``__init__`` (stored as given, as scikit-learn estimators do), and implement
    :meth:`run`, :meth:`summarize` and :meth:`findings` (and, for other than the generic
    reading of the summary, :meth:`headline`). ``get_params`` (recorded in report.json),
    ``set_params``, ``__repr__`` and the validation of ``_parameter_constraints`` at the start
    of ``run`` come from :class:`~assay.core.component.Component`.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    section: ClassVar[str] = "other"
    needs: ClassVar[frozenset[str]] = frozenset()
    thresholds: ClassVar[Mapping[str, Threshold]] = {}
    #: The order in which checks run and appear (lower first); ties by name.
    order: ClassVar[int] = 100
    #: Whether ``checks="auto"`` selects the check when it applies; False for checks that cost extra
    #: model passes (e.g. on corrupted copies of the data): they run when named in ``checks``.
    auto: ClassVar[bool] = True
    #: Why a warn/fail finding matters and what to do, one line per finding metric (its name
    #: before any "[feature]"); the report and the card print it under the finding.
    advice: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def advice_for(cls, metric: str | None) -> str | None:
        """The advice line for a finding's ``metric`` ("accuracy_gap[sex]" reads "accuracy_gap"), or None."""
        return None if not metric else cls.advice.get(str(metric).split("[", 1)[0])

    def applicable(self, context: AuditContext) -> str | None:
        """None if the check can run, else the reason it cannot (e.g. "needs a torch model")."""
        reasons = [reason for need in sorted(self.needs) if (reason := context.need(need)) is not None]
        plain = [r[len("needs "):] for r in reasons if re.fullmatch(r"needs [\w:\-]+", r)]
        other = [r for r in reasons if not re.fullmatch(r"needs [\w:\-]+", r)]
        parts = ([f"needs {', '.join(plain)}"] if plain else []) + other
        return "; ".join(parts) if parts else None

    def layers(self, context: AuditContext) -> list[str]:
        """Names of the torch model's layers this check reads (embeddings).

        The audit captures them on the first forward pass of each split, whichever check makes
        it, so that every check together costs one pass per split.
        """
        return []

    def run(self, context: AuditContext) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError

    def summarize(self, result: Result) -> dict[str, Any]:
        """Headline numbers of the result (JSON-safe), read by the findings and the model card."""
        return {}

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The headline numbers as tidy rows (:data:`HEADLINE_COLUMNS`).

        The generic reading: each number of the summary is a row; ``"m[f]"`` keys give metric
        ``m`` of feature ``f`` (with ``"m[f].ci_lower"``/``".ci_upper"`` as its bounds); a dict
        of numbers gives one row per key as the feature. Checks override it to add directions.
        """
        rows: dict[tuple, dict[str, Any]] = {}
        for key, value in summary.items():
            items = value.items() if isinstance(value, Mapping) else [(None, value)]
            for sub, number in items:
                if not isinstance(number, numbers.Real) or isinstance(number, bool):
                    continue
                match = _KEYED.match(key) if sub is None else None
                metric, feature = (match["metric"], match["feature"]) if match else (key, sub)
                row = rows.setdefault((metric, feature), headline_row(metric, None, feature=feature))
                bound = match["bound"] if match else None
                field = {"ci_lower": "lower", "ci_upper": "upper"}.get(bound, "value")
                row[field] = None if not np.isfinite(float(number)) else float(number)
        return list(rows.values())

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        """Findings from the headline numbers; thresholds may change without re-running the check."""
        return []



#: Registered checks by name.
CHECKS: dict[str, type[Check]] = {}


def register_check(cls: type[Check]) -> type[Check]:
    """Class decorator: make a :class:`Check` available to ``Audit(checks=[name, ...])`` and "auto".

    Its needs must be known (:func:`register_need` first for a need of your own) and its
    thresholds :class:`Threshold` objects that do not contradict another check's.
    """
    if not (isinstance(cls, type) and issubclass(cls, Check)) or not cls.name:
        raise AssayInputError(f"'cls' must be a Check subclass with a non-empty 'name'. Got {describe(cls)}.")
    if isinstance(cls.needs, str) or not all(isinstance(n, str) for n in cls.needs):
        raise AssayInputError(f"Check {cls.name!r}: 'needs' must be a set of strings. Got {cls.needs!r}.")
    unknown = sorted(n for n in cls.needs if _need_parts(n)[0] not in NEEDS)
    if unknown:
        raise AssayInputError(f"Check {cls.name!r} needs unknown needs {unknown}; known: {sorted(NEEDS)} "
                              "(register a need of your own with assay.audit.register_need first).")
    if not isinstance(cls.advice, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                      for k, v in cls.advice.items()):
        raise AssayInputError(f"Check {cls.name!r}: 'advice' must map finding metric names to one line of text. "
                              f"Got {cls.advice!r:.200}.")
    if not isinstance(cls.thresholds, Mapping) or not all(isinstance(t, Threshold) for t in cls.thresholds.values()):
        raise AssayInputError(f"Check {cls.name!r}: 'thresholds' must map each key to an "
                              f"assay.audit.Threshold. Got {cls.thresholds!r}.")
    registered = registered_checks()  # the built-in checks first, so a clash with one is seen in any order
    for key, spec in cls.thresholds.items():
        spec.check(key, spec.default)
        for other in registered.values():
            if other.name != cls.name and key in other.thresholds and other.thresholds[key] != spec:
                raise AssayInputError(f"Check {cls.name!r} declares threshold {key!r}, which check "
                                      f"{other.name!r} declares differently; use another key.")
    existing = CHECKS.get(cls.name)
    if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
        raise AssayInputError(f"A check named {cls.name!r} is already registered ({existing.__qualname__}).")
    CHECKS[cls.name] = cls
    _check_pairs({k: t.default for k, t in cls.thresholds.items()}, cls.thresholds)
    return cls


def registered_checks() -> dict[str, type[Check]]:
    """Every registered check class by name, the built-in ones included (imported on first use)."""
    from . import checks as _builtin  # noqa: F401 - registers the built-in checks

    return CHECKS


def threshold_specs(checks: Sequence[Check | type[Check]] | None = None) -> dict[str, Threshold]:
    """Every threshold of ``checks`` (default: every registered check) by key."""
    classes = registered_checks().values() if checks is None else [
        c if isinstance(c, type) else type(c) for c in checks]
    return {key: spec for cls in classes for key, spec in cls.thresholds.items()}


def known_thresholds() -> dict[str, float]:
    """``{key: default}`` of every threshold of every registered check (what ``--threshold`` may set)."""
    return {key: spec.default for key, spec in sorted(threshold_specs().items())}


def _check_pairs(values: Mapping[str, float], specs: Mapping[str, Threshold]) -> None:
    for key, spec in specs.items():
        warn = spec.warn_key(key)
        if warn is None or warn not in values or key not in values:
            continue
        fail_value, warn_value = values[key], values[warn]
        if spec.higher_is_better is True and fail_value > warn_value:
            raise AssayInputError(f"'thresholds' {key!r} ({fail_value:g}) must be at most {warn!r} ({warn_value:g}): "
                                  "higher is better, so the fail level lies below the warn level.")
        if spec.higher_is_better is False and fail_value < warn_value:
            raise AssayInputError(f"'thresholds' {key!r} ({fail_value:g}) must be at least {warn!r} ({warn_value:g}): "
                                  "lower is better, so the fail level lies above the warn level.")


def resolve_thresholds(overrides: Mapping[str, Any] | None, checks: Sequence[Check]) -> dict[str, float]:
    """The thresholds of ``checks`` (their defaults, updated with ``overrides``), validated.

    Override keys are checked against every registered check's thresholds (a key of a check
    that does not run here is accepted and unused); each value must lie in its declared range,
    and every warn/fail pair must agree with its direction.
    """
    known = threshold_specs()
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        raise AssayInputError(f"'thresholds' must be a dict of threshold key -> number. Got {describe(overrides)}.")
    unknown = sorted(str(k) for k in overrides if k not in known)
    if unknown:
        raise AssayInputError(f"'thresholds' has unknown keys {unknown}; known: {sorted(known)}.")
    values = {key: spec.default for key, spec in known.items()}
    values.update({key: known[key].check(key, value) for key, value in overrides.items()})
    _check_pairs(values, known)
    selected = threshold_specs(checks)
    return {key: values[key] for key in selected}


def _build(cls: type[Check], params: Mapping[str, Any]) -> Check:
    accepted = inspect.signature(cls.__init__).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in accepted.values()):
        names = [p for p in accepted if p != "self"]
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise AssayInputError(f"'check_params' gives check {cls.name!r} unknown parameter(s) {unknown}; "
                                  f"its parameters: {names}.")
    try:
        return cls(**params)
    except AssayInputError:
        raise
    except (TypeError, ValueError) as exc:
        raise AssayInputError(f"'check_params' for check {cls.name!r}: {exc}") from None


def resolve_checks(checks: str | Sequence[str | Check], context: AuditContext,
                   check_params: Mapping[str, Mapping[str, Any]] | None = None,
                   ) -> tuple[list[Check], dict[str, str]]:
    """The checks to run, in order, and the skipped ones with their reasons.

    ``"auto"`` selects every registered check that applies; a list may hold names or instances,
    and ``"auto"`` as one of its items (``["auto", "robustness"]``: the automatic checks plus the
    opt-in ones named). An explicitly named check that does not apply is an error. ``check_params`` gives keyword
    parameters of the checks built by name.
    """
    registered_checks()
    params = _check_params(check_params)

    skipped: dict[str, str] = {}
    if isinstance(checks, str):
        if checks != "auto":
            raise AssayInputError(f"'checks' must be 'auto' or a list of check names. Got {checks!r}; "
                                  f"available checks: {sorted(CHECKS)}.")
        selected: list[Check] = []
        for name in sorted(CHECKS, key=lambda n: (CHECKS[n].order, n)):
            check = _build(CHECKS[name], params.get(name, {}))
            reason = check.applicable(context) if CHECKS[name].auto else (
                "runs only when named in 'checks' (it costs extra model passes)")
            if reason:
                skipped[name] = reason
            else:
                selected.append(check)
        return selected, skipped
    if not isinstance(checks, Sequence):
        raise AssayInputError(f"'checks' must be 'auto' or a list of check names or Check instances. "
                              f"Got {describe(checks)}.")
    selected = []
    named = {item if isinstance(item, str) else getattr(item, "name", None) for item in checks}
    if "auto" in named:
        automatic, skipped = resolve_checks("auto", context, {k: v for k, v in params.items() if k in CHECKS})
        selected = [c for c in automatic if c.name not in named]
        skipped = {k: v for k, v in skipped.items() if k not in named}
        checks = [item for item in checks if item != "auto"]
    for item in checks:
        if isinstance(item, Check):
            check = item
            if item.name in params:
                raise AssayInputError(f"'check_params' names check {item.name!r}, which 'checks' gives as an "
                                      "instance: set its parameters on the instance.")
        elif isinstance(item, str) and item in CHECKS:
            check = _build(CHECKS[item], params.get(item, {}))
        else:
            raise AssayInputError(f"'checks' names unknown check {item!r}. Available: {sorted(CHECKS)}.")
        reason = check.applicable(context)
        if reason:
            raise AssayInputError(f"'checks' asks for {check.name!r}, which cannot run here: it {reason}.")
        selected.append(check)
    if "auto" in named:
        selected.sort(key=lambda c: (c.order, c.name))
    names = [c.name for c in selected]
    if len(set(names)) != len(names):
        raise AssayInputError(f"'checks' names a check twice: {names}.")
    return selected, skipped


def _check_params(check_params: Any) -> dict[str, dict[str, Any]]:
    if check_params is None:
        return {}
    if not isinstance(check_params, Mapping) or not all(
            isinstance(v, Mapping) and all(isinstance(k, str) for k in v) for v in check_params.values()):
        raise AssayInputError("'check_params' must be a dict of check name -> dict of parameter -> value, e.g. "
                              f"{{'ood': {{'layer': 'fc1'}}}}. Got {describe(check_params)}.")
    unknown = sorted(str(k) for k in check_params if k not in CHECKS)
    if unknown:
        raise AssayInputError(f"'check_params' names unknown check(s) {unknown}. Available: {sorted(CHECKS)}.")
    return {name: dict(values) for name, values in check_params.items()}


def as_sensitive_frame(value: Any, *, n_samples: int, name: str) -> pd.DataFrame | None:
    """Sensitive features of one split as a DataFrame (validated), or None."""
    if value is None:
        return None
    return check_sensitive_features(value, n_samples=n_samples, name=name)


def __getattr__(name: str) -> Any:
    if name == "DEFAULT_THRESHOLDS":  # the central table is gone: each check declares its own
        return known_thresholds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
