"""The orchestrator: ``Audit(model, data, ...).run(run_dir)``.

It validates the data once, wraps the model once (so each split's forward pass runs once and
every check reuses it), runs the checks that apply with a progress bar, and writes each
check's record to ``run_dir/checks/<name>.json`` as soon as it finishes. A second run with the
same directory, model, data and checks resumes: finished checks are read back, not re-run.
A check that raises is recorded with its error and the audit goes on.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xxhash
from tqdm.auto import tqdm

from .. import __version__
from ..core.adapters import wrap
from ..core.batching import fingerprint
from ..core.errors import AssayInputError, AssayWarning, outside_stacklevel
from ..core.result import Result, to_jsonable
from ..core.validation import SEED_NOT_GIVEN, check_scalar, renamed_seed
from ..datasets import Dataset
from ._fingerprint import model_fingerprint
from .base import SEVERITIES, AuditContext, Check, Finding, resolve_checks, resolve_thresholds, threshold_specs
from .details import dataset_details, dataset_splits, model_details, split_details
from .inputs import audit_inputs

RECORD_VERSION = "0.1"
_OTHER_RUN = (
    "'run_dir' {path} holds an audit of a different model, data or set of checks (its config "
    "fingerprint differs). Use a new directory, or pass resume=False to start over in this one."
)
_BROKEN_MANIFEST = (
    "'run_dir' {path}: its manifest audit.json is unreadable or not an assay audit manifest ({why}). "
    "Use a new directory, or pass resume=False (assay audit --no-resume) to start over in this one."
)
_RECORD_KEYS = {"name": str, "status": str, "result": Mapping, "summary": Mapping, "params": Mapping}


class StaleRecordWarning(AssayWarning):
    """A check's record in a run directory did not validate (truncated or edited): it is recomputed."""


def _read_record(path: Path, name: str) -> dict[str, Any] | None:
    """A finished check's record from disk, or None (with a warning if it is there but broken)."""
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        why = f"it is not valid JSON ({type(exc).__name__})"
    else:
        if not isinstance(record, dict):
            why = f"it holds a {type(record).__name__}, not a record"
        elif record.get("status") == "error":
            return None  # a check that raised last time runs again
        else:
            bad = [k for k, kind in _RECORD_KEYS.items() if not isinstance(record.get(k), kind)]
            why = (f"missing or malformed keys {bad}" if bad else
                   f"it names check {record['name']!r}" if record["name"] != name else
                   f"its status is {record['status']!r}" if record["status"] != "ok" else None)
            if why is None:
                return record
    warnings.warn(f"The record of check {name!r} in {path} is not a valid finished record ({why}); the check is "
                  "run again.", StaleRecordWarning, stacklevel=outside_stacklevel())
    return None


def _read_manifest(path: Path, directory: Path) -> Mapping[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AssayInputError(_BROKEN_MANIFEST.format(path=directory, why=f"{type(exc).__name__}")) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("config"), dict):
        raise AssayInputError(_BROKEN_MANIFEST.format(path=directory, why="no 'config' object"))
    return manifest


def _atomic_write_json(path: Path, payload: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(payload), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@dataclasses.dataclass(frozen=True)
class AuditResult(Result):
    """What an audit measured: one record per check, the findings, and the run's bookkeeping.

    ``records`` maps check name to its record (status "ok" or "error", result, summary,
    params, seconds); ``findings`` holds every finding; ``forward_passes`` counts full forward
    passes of the model per split in this run.
    """

    config: Mapping[str, Any]
    records: Mapping[str, Mapping[str, Any]]
    findings: tuple[Finding, ...]
    skipped: Mapping[str, str]
    forward_passes: Mapping[str, int]
    computed: tuple[str, ...]
    resumed: tuple[str, ...]
    run_dir: str | None
    #: What the audit knows beyond the numbers (:mod:`assay.audit.details`): ``model`` (type,
    #: classes, decision rule, preprocessing), ``splits`` (rows per split), ``dataset`` (name,
    #: source, license, citation of a bundled data set).
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def worst_severity(self) -> str:
        """The most severe finding: "pass" if there are none, "error" (above "fail") if a check raised."""
        levels = [SEVERITIES.index(f.severity) for f in self.findings]
        if self.errors:
            levels.append(SEVERITIES.index("error"))
        return SEVERITIES[max(levels, default=0)]

    @property
    def errors(self) -> dict[str, str]:
        """Checks that raised (in run, summarize or findings) -> the one-line reason."""
        return {name: _one_line(r.get("error")) for name, r in self.records.items() if r.get("status") != "ok"}

    def headline(self) -> pd.DataFrame:
        """Every check's headline numbers as one tidy table: check, metric, feature, group, value,
        lower, upper, direction."""
        from .base import HEADLINE_COLUMNS

        rows = [{"check": name, **row} for name, r in self.records.items() for row in r.get("headline") or []]
        return pd.DataFrame(rows, columns=["check", *HEADLINE_COLUMNS])

    def to_frame(self) -> pd.DataFrame:
        """The findings as a table: check, severity, metric, value, threshold, message."""
        rows = [{"check": f.check, "severity": f.severity, "metric": f.metric, "value": f.value,
                 "threshold": f.threshold, "message": f.message} for f in self.findings]
        return pd.DataFrame(rows, columns=["check", "severity", "metric", "value", "threshold", "message"])


class Audit:
    """Run every check that fits a model and its data; cache outputs; resume after a crash.

    Parameters
    ----------
    model : torch ``nn.Module``, fitted scikit-learn classifier, callable, ``ModelAdapter``, or None
        (data checks only).
    data : dict of split name -> DataFrame (with the ``target`` column), ``(X, y)`` or
        ``(X, y, sensitive_features)`` tuple, or ``assay.datasets.Split``; or a bundled
        ``assay.datasets.Dataset`` (its train, val and test splits; its source, license and citation
        reach the model card). Usual names: "train", "test" (the default evaluation split), "val"
        (where a check fits a threshold), "ood" or several "ood:<name>" (out-of-distribution
        inputs; labels optional).
    target : str, optional
        The label column of DataFrame splits. Labels must be the model's classes.
    sensitive_features : list of str or "a,b", optional
        Sensitive columns (taken from DataFrame splits, or from a Split's sensitive_features;
        default: all of a Split's). A numeric one with more than 20 values is refused unless
        ``bin_sensitive`` is given.
    checks : "auto" or list of check names / Check instances
    random_state : int
        Seed of every stochastic check (bootstrap, subsampling). ``seed=`` is a deprecated alias.
    eval_split : str
        The split the model is evaluated on.
    thresholds : dict, optional
        Overrides of the checks' thresholds (each check's ``thresholds``; every key:
        :func:`assay.audit.known_thresholds`). Each must be a finite number in its declared
        range, and warn/fail pairs must agree. Those a check reads while it runs (``at_run``,
        e.g. the data checks') are part of the run's configuration; the others only change
        findings, also on resume.
    batch_size, progress : passed to :func:`assay.wrap`.
    features : list of str, optional
        The columns the model takes (DataFrame splits). Default: the model's own
        ``feature_names_in_`` where it has one (scikit-learn), else every column but the target;
        so sensitive columns are not fed to a model not trained on them.
    bin_sensitive : int, optional
        Group numeric sensitive features with many values into this many quantile groups
        (edges from the training split); see :func:`assay.data_checks.bin_by_quantiles`.
    check_params : dict of check name -> dict, optional
        Keyword parameters of the checks built by name, e.g. ``{"ood": {"layer": "fc1"}}``.
    task : {None, "classification", "regression"}
        What the model does; None infers it (a scikit-learn regressor is a regressor, anything
        else a classifier; torch modules and callables that predict numbers need "regression").
        On a regressor, labels are numeric targets, ``group_performance`` reports regression
        metrics, and checks that need a classifier (``task:classification``, probabilities) are
        skipped with that reason.
    """

    def __init__(self, model: Any, data: Mapping[str, Any], *, target: str | None = None,
                 sensitive_features: Sequence[str] | str | None = None, checks: str | Sequence[str | Check] = "auto",
                 random_state: int = 0, eval_split: str = "test", thresholds: Mapping[str, float] | None = None,
                 batch_size: int | None = None, progress: bool | None = None,
                 features: Sequence[str] | str | None = None, bin_sensitive: int | None = None,
                 check_params: Mapping[str, Mapping[str, Any]] | None = None, seed: Any = SEED_NOT_GIVEN,
                 task: str | None = None) -> None:
        self.model = model
        self.data = data
        self.target = target
        self.sensitive_features = sensitive_features
        self.checks = checks
        self.random_state = renamed_seed(random_state, seed, owner="Audit", default=0)
        self.eval_split = eval_split
        self.thresholds = thresholds
        self.batch_size = batch_size
        self.progress = progress
        self.features = features
        self.bin_sensitive = bin_sensitive
        self.check_params = check_params
        self.task = task

    # ------------------------------------------------------------------ set-up
    def _context(self) -> AuditContext:
        check_scalar(self.random_state, "random_state", owner="Audit", kind=(int, np.integer), low=0)
        resolve_thresholds(self.thresholds, [])  # keys, values and pairs checked before any data is read
        if self.model is None and self.task is not None:
            raise AssayInputError(f"'task' describes the model; got task={self.task!r} without a model (model=None).")
        adapter = None if self.model is None else wrap(self.model, batch_size=self.batch_size, progress=self.progress,
                                                       task=self.task)
        splits = audit_inputs(dataset_splits(self.data), target=self.target, sensitive_features=self.sensitive_features,
                              eval_split=self.eval_split, model=adapter, features=self.features,
                              bin_sensitive=self.bin_sensitive)
        return AuditContext(adapter, splits, eval_split=self.eval_split,
                            random_state=int(self.random_state))

    def _nothing_ran(self, skipped: Mapping[str, str], describing: Sequence[str]) -> AssayInputError:
        """The error of an audit in which no check that judges (makes findings) can run."""
        hints = []
        labels_missing = any("labels" in why for why in skipped.values())
        frames = any(isinstance(v, pd.DataFrame) for v in dataset_splits(self.data).values())
        if labels_missing and self.target is None and frames:
            hints.append("did you forget target= (the label column of the DataFrame splits)?")
        elif labels_missing:
            hints.append("the evaluation split has no labels")
        if any("sensitive_features" in why for why in skipped.values()) and self.sensitive_features is None:
            hints.append("sensitive_features= names the group columns")
        if self.model is None:
            hints.append("most checks need a model")
        reasons = "; ".join(f"{name} ({why})" for name, why in skipped.items()) or "no check is registered"
        only = f" (only {', '.join(describing)} could run, and it judges nothing)" if describing else ""
        return AssayInputError(f"No check can run on this model and data, so the audit would judge nothing{only}. "
                               f"Skipped: {reasons}." + (" Hint: " + "; ".join(hints) + "." if hints else ""))

    def _config(self, context: AuditContext, checks: list[Check]) -> dict[str, Any]:
        data_fp = {name: fingerprint(X) + ("" if y is None else fingerprint(np.asarray(y)))
                   + ("" if s is None else fingerprint(s)) for name, (X, y, s) in context.splits.items()}
        at_run = sorted(k for k, spec in threshold_specs(checks).items() if spec.at_run)
        config = {
            "model": model_fingerprint(context.model, probe=_probe(context)),
            "data": data_fp,
            "eval_split": context.eval_split,
            "seed": context.random_state,
            # thresholds a check reads while it runs change what it computes (e.g. the data checks')
            "run_thresholds": {k: context.thresholds[k] for k in at_run},
            "checks": {c.name: {"class": type(c).__qualname__, "params": to_jsonable(c.get_params())} for c in checks},
        }
        if context.model is not None and context.model.task != "classification":
            config["task"] = context.model.task  # the same module read as a regressor predicts other things
        config["fingerprint"] = xxhash.xxh3_128(json.dumps(config, sort_keys=True).encode()).hexdigest()
        return config

    # ------------------------------------------------------------------ run
    def run(self, run_dir: str | Path | None = None, *, resume: bool = True) -> AuditResult:
        """Run the audit; with ``run_dir``, record each check there as it finishes and resume."""
        context = self._context()
        checks, skipped = resolve_checks(self.checks, context, self.check_params)
        # "auto" that selects no check that judges (only descriptions, or nothing) is a mistake, not a pass
        if not checks or (isinstance(self.checks, str) and not any(type(c).findings is not Check.findings
                                                                   for c in checks)):
            raise self._nothing_ran(skipped, [c.name for c in checks])
        context.thresholds = resolve_thresholds(self.thresholds, checks)
        config = self._config(context, checks)
        records: dict[str, dict[str, Any]] = {}
        judged: dict[str, list[Finding]] = {}
        resumed: list[str] = []
        directory = None if run_dir is None else Path(run_dir)
        if directory is not None:
            (directory / "checks").mkdir(parents=True, exist_ok=True)
            manifest = directory / "audit.json"
            if manifest.exists() and resume:
                previous = _read_manifest(manifest, directory)
                if previous["config"].get("fingerprint") != config["fingerprint"]:
                    raise AssayInputError(_OTHER_RUN.format(path=str(directory)))
                for check in checks:
                    path = directory / "checks" / f"{check.name}.json"
                    record = _read_record(path, check.name)
                    if record is None:
                        continue
                    try:  # a record whose summary the check cannot read is not a finished record either
                        judged[check.name] = _judge(check, record, context.thresholds)
                    except Exception as exc:  # noqa: BLE001 - recomputed below
                        warnings.warn(f"The record of check {check.name!r} in {path} is not a valid finished record "
                                      f"(its summary gives no findings: {type(exc).__name__}: {exc}); the check is "
                                      "run again.", StaleRecordWarning, stacklevel=outside_stacklevel())
                        continue
                    records[check.name] = record
                    resumed.append(check.name)
            elif not resume:
                for stale in (directory / "checks").glob("*.json"):
                    stale.unlink()
            _atomic_write_json(manifest, {"record_version": RECORD_VERSION, "assay_version": __version__,
                                          "config": config, "started": time.time()})

        computed: list[str] = []
        todo = [c for c in checks if c.name not in records]
        if context.model is not None and context.model.kind == "torch":
            for check in todo:
                try:
                    layers = check.layers(context)
                    if layers:
                        context.model.capture(layers)
                except AssayInputError:
                    pass  # an unknown layer: the check itself fails with this error when it runs
        # progress=None: tqdm shows the bar on a terminal only; False: never.
        bar = tqdm(todo, desc="assay audit", unit="check", disable=True if self.progress is False else None,
                   leave=False)
        for check in bar:
            bar.set_postfix_str(check.name)
            started = time.perf_counter()
            record: dict[str, Any] = {"name": check.name, "title": check.title, "section": check.section,
                                      "class": type(check).__qualname__, "params": check.get_params(),
                                      "seed": context.random_state}
            try:
                result = check.run(context)
                summary = to_jsonable(check.summarize(result))
                record.update(status="ok", result=result.to_dict(), summary=summary,
                              headline=to_jsonable(check.headline(summary)))
            except Exception as exc:  # noqa: BLE001 - a failing check is recorded; the audit goes on
                record.update(status="error", error=f"{type(exc).__name__}: {exc}",
                              traceback=traceback.format_exc(limit=8))
            record["seconds"] = time.perf_counter() - started
            records[check.name] = record
            computed.append(check.name)
            if directory is not None:
                _atomic_write_json(directory / "checks" / f"{check.name}.json", record)

        findings: list[Finding] = []
        for check in checks:
            record = records[check.name]
            if record["status"] == "ok":
                try:
                    findings.extend(judged[check.name] if check.name in judged else
                                    _judge(check, record, context.thresholds))
                    continue
                except Exception as exc:  # noqa: BLE001 - as in run(): recorded, the audit goes on
                    record = records[check.name] = {**record, "status": "error",
                                                    "error": f"{type(exc).__name__}: {exc}",
                                                    "traceback": traceback.format_exc(limit=8)}
            findings.append(Finding(check.name, "error", f"The check raised an error: {_one_line(record['error'])}",
                                    "error", None, None, {}))
        passes = context.model.forward_passes_ if context.model is not None else {}
        by_split = {}
        for name, (X, _, _) in context.splits.items():
            count = passes.get(fingerprint(X), 0) if passes else 0
            if count:
                by_split[name] = int(count)
        ordered = {c.name: records[c.name] for c in checks}
        details = {"model": model_details(context.model), "splits": split_details(context.splits),
                   "dataset": dataset_details(self.data) if isinstance(self.data, Dataset) else {}}
        return AuditResult(config=config, records=ordered, findings=tuple(findings), skipped=skipped,
                           forward_passes=by_split, computed=tuple(computed), resumed=tuple(resumed),
                           run_dir=None if directory is None else str(directory), details=to_jsonable(details))


def _judge(check: Check, record: dict[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
    """The findings of a finished record (its headline rows added where an older record lacks them)."""
    if "headline" not in record:
        record["headline"] = to_jsonable(check.headline(record["summary"]))
    found = list(check.findings(record["summary"], thresholds))
    if not all(isinstance(f, Finding) for f in found):
        raise TypeError(f"findings() must return Finding objects; got {found!r:.200}")
    return found


def _one_line(error: Any) -> str:
    """The first line of an error message (a model's own message may hold newlines)."""
    lines = [line.strip() for line in str(error or "unknown error").splitlines() if line.strip()]
    return (lines[0] + (" ..." if len(lines) > 1 else "")) if lines else "unknown error"


def _probe(context: AuditContext) -> Any:
    """The inputs a plain function is fingerprinted on: the evaluation split, whose outputs the
    checks read anyway from the adapter's cache (so the probe costs no extra forward pass, and
    the adapter's reading of the output, logits or probabilities, is made on the same rows as before)."""
    return context.X()


def environment() -> dict[str, str]:
    """Versions recorded with every audit."""
    import sklearn
    import torch

    return {"assay": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "scikit-learn": sklearn.__version__, "torch": torch.__version__,
            "platform": platform.platform()}
