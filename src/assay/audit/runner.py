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
import pickle
import platform
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xxhash
from tqdm.auto import tqdm

from .. import __version__
from ..core.adapters import ModelAdapter, wrap
from ..core.batching import fingerprint
from ..core.errors import AssayInputError
from ..core.result import Result, to_jsonable
from ..core.validation import check_scalar
from ..data_checks import DEFAULT_THRESHOLDS as DATA_CHECK_THRESHOLDS
from .base import DEFAULT_THRESHOLDS, SEVERITIES, AuditContext, Check, Finding, resolve_checks
from .inputs import audit_inputs

RECORD_VERSION = "0.1"
_OTHER_RUN = (
    "'run_dir' {path} holds an audit of a different model, data or set of checks (its config "
    "fingerprint differs). Use a new directory, or pass resume=False to start over in this one."
)


def _model_fingerprint(adapter: ModelAdapter | None) -> str:
    """A hash of the model's state: torch tensors, else its pickle bytes (dumped, never loaded)."""
    if adapter is None:
        return "no-model"
    digest = xxhash.xxh3_128(type(adapter.model).__qualname__.encode())
    if adapter.kind == "torch":
        for key, tensor in adapter.model.state_dict().items():
            digest.update(key.encode())
            digest.update(fingerprint(tensor).encode())
        return digest.hexdigest()
    try:
        digest.update(pickle.dumps(adapter.model, protocol=4))
    except Exception:  # noqa: BLE001 - unpicklable callables: identity within this process only
        digest.update(repr(id(adapter.model)).encode())
    return digest.hexdigest()


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

    @property
    def worst_severity(self) -> str:
        """The most severe finding ("pass" if there are none); a failed check counts as "fail"."""
        levels = [SEVERITIES.index(f.severity) for f in self.findings]
        if any(r["status"] != "ok" for r in self.records.values()):
            levels.append(SEVERITIES.index("fail"))
        return SEVERITIES[max(levels, default=0)]

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
        ``(X, y, sensitive_features)`` tuple, or ``assay.datasets.Split``. Usual names: "train",
        "test" (the default evaluation split), "val" (where a check fits a threshold), "ood" or
        several "ood:<name>" (out-of-distribution inputs; labels optional).
    target : str, optional
        The label column of DataFrame splits. Labels must be the model's classes.
    sensitive_features : list of str or "a,b", optional
        Sensitive columns (taken from DataFrame splits, or from a Split's sensitive_features;
        default: all of a Split's). A numeric one with more than 20 values is refused unless
        ``bin_sensitive`` is given.
    checks : "auto" or list of check names / Check instances
    seed : int
        Seed of every stochastic check (bootstrap, subsampling).
    eval_split : str
        The split the model is evaluated on.
    thresholds : dict, optional
        Overrides of :data:`~assay.audit.base.DEFAULT_THRESHOLDS` (read when findings are made)
        and of :data:`assay.data_checks.DEFAULT_THRESHOLDS` (used by the data checks while they
        run, so they are part of the run's configuration).
    batch_size, progress : passed to :func:`assay.wrap`.
    features : list of str, optional
        The columns the model takes (DataFrame splits). Default: the model's own
        ``feature_names_in_`` where it has one (scikit-learn), else every column but the target;
        so sensitive columns are not fed to a model not trained on them.
    bin_sensitive : int, optional
        Group numeric sensitive features with many values into this many quantile groups
        (edges from the training split); see :func:`assay.data_checks.bin_by_quantiles`.
    """

    def __init__(self, model: Any, data: Mapping[str, Any], *, target: str | None = None,
                 sensitive_features: Sequence[str] | str | None = None, checks: str | Sequence[str | Check] = "auto",
                 seed: int = 0, eval_split: str = "test", thresholds: Mapping[str, float] | None = None,
                 batch_size: int | None = None, progress: bool | None = None,
                 features: Sequence[str] | str | None = None, bin_sensitive: int | None = None) -> None:
        self.model = model
        self.data = data
        self.target = target
        self.sensitive_features = sensitive_features
        self.checks = checks
        self.seed = seed
        self.eval_split = eval_split
        self.thresholds = thresholds
        self.batch_size = batch_size
        self.progress = progress
        self.features = features
        self.bin_sensitive = bin_sensitive

    # ------------------------------------------------------------------ set-up
    def _context(self) -> AuditContext:
        check_scalar(self.seed, "seed", owner="Audit", kind=(int, np.integer), low=0)
        adapter = None if self.model is None else wrap(self.model, batch_size=self.batch_size, progress=self.progress)
        splits = audit_inputs(self.data, target=self.target, sensitive_features=self.sensitive_features,
                              eval_split=self.eval_split, model=adapter, features=self.features,
                              bin_sensitive=self.bin_sensitive)
        # the audit's own thresholds and those of the data checks (assay.data_checks), one namespace
        thresholds = {**DATA_CHECK_THRESHOLDS, **DEFAULT_THRESHOLDS}
        unknown = set(self.thresholds or {}) - set(thresholds)
        if unknown:
            raise AssayInputError(f"'thresholds' has unknown keys {sorted(unknown)}; known: {sorted(thresholds)}.")
        thresholds.update(self.thresholds or {})
        return AuditContext(adapter, splits, eval_split=self.eval_split, seed=int(self.seed), thresholds=thresholds)

    def _config(self, context: AuditContext, checks: list[Check]) -> dict[str, Any]:
        data_fp = {name: fingerprint(X) + ("" if y is None else fingerprint(np.asarray(y)))
                   + ("" if s is None else fingerprint(s)) for name, (X, y, s) in context.splits.items()}
        config = {
            "model": _model_fingerprint(context.model),
            "data": data_fp,
            "eval_split": context.eval_split,
            "seed": context.seed,
            # thresholds that change what a check computes (the data checks grade while they run)
            "data_thresholds": {k: v for k, v in context.thresholds.items() if k in DATA_CHECK_THRESHOLDS},
            "checks": {c.name: {"class": type(c).__qualname__, "params": to_jsonable(c.get_params())} for c in checks},
        }
        config["fingerprint"] = xxhash.xxh3_128(json.dumps(config, sort_keys=True).encode()).hexdigest()
        return config

    # ------------------------------------------------------------------ run
    def run(self, run_dir: str | Path | None = None, *, resume: bool = True) -> AuditResult:
        """Run the audit; with ``run_dir``, record each check there as it finishes and resume."""
        context = self._context()
        checks, skipped = resolve_checks(self.checks, context)
        config = self._config(context, checks)
        records: dict[str, dict[str, Any]] = {}
        resumed: list[str] = []
        directory = None if run_dir is None else Path(run_dir)
        if directory is not None:
            (directory / "checks").mkdir(parents=True, exist_ok=True)
            manifest = directory / "audit.json"
            if manifest.exists() and resume:
                previous = json.loads(manifest.read_text(encoding="utf-8"))
                if previous.get("config", {}).get("fingerprint") != config["fingerprint"]:
                    raise AssayInputError(_OTHER_RUN.format(path=str(directory)))
                for check in checks:
                    path = directory / "checks" / f"{check.name}.json"
                    if path.exists():
                        record = json.loads(path.read_text(encoding="utf-8"))
                        if record.get("status") == "ok":
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
                                      "seed": context.seed}
            try:
                result = check.run(context)
                record.update(status="ok", result=result.to_dict(), summary=check.summarize(result))
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
                findings.extend(check.findings(record.get("summary", {}), context.thresholds))
            else:
                findings.append(Finding(check.name, "fail", f"The check failed: {record['error']}", "error",
                                        None, None, {}))
        passes = context.model.forward_passes_ if context.model is not None else {}
        by_split = {}
        for name, (X, _, _) in context.splits.items():
            count = passes.get(fingerprint(X), 0) if passes else 0
            if count:
                by_split[name] = int(count)
        ordered = {c.name: records[c.name] for c in checks}
        return AuditResult(config=config, records=ordered, findings=tuple(findings), skipped=skipped,
                           forward_passes=by_split, computed=tuple(computed), resumed=tuple(resumed),
                           run_dir=None if directory is None else str(directory))


def environment() -> dict[str, str]:
    """Versions recorded with every audit."""
    import sklearn
    import torch

    return {"assay": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "scikit-learn": sklearn.__version__, "torch": torch.__version__,
            "platform": platform.platform()}
