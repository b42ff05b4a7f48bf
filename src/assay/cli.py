"""The ``assay`` command line: ``demo``, ``audit``, ``report``, ``card``, ``monitor``.

Errors in what a user typed are one line on stderr (``assay: error: --target: ...``) and exit
status 2; ``assay audit --fail-on warn|fail`` exits 1 when a finding is at least that severe,
so an audit can gate a CI pipeline; ``assay monitor --fail-on warn|fail`` does the same for drift and
control-chart alerts.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

from .core.errors import AssayInputError

#: Severity ranks for --fail-on; a check that raised ("error") counts as at least a fail.
_SEVERITY_RANK = {"pass": 0, "warn": 1, "fail": 2, "error": 3}
#: Python argument of Audit (and its run) -> the flag that sets it, for error messages.
_FLAGS = {"checks": "--checks", "target": "--target", "sensitive_features": "--sensitive", "features": "--features",
          "thresholds": "--threshold", "seed": "--seed", "random_state": "--seed", "run_dir": "--out",
          "out_dir": "--out", "check_params": "--layer", "model": "--model", "card_sections": "--card-sections",
          "task": "--task"}
_RESUME_WORDS = re.compile(r"\bresume=(False|True)\b")
_ARGUMENT_WORD = re.compile(r"'(" + "|".join(_FLAGS) + r")'(?: parameter)?")


def cli_message(message: str) -> str:
    """An error message of the Python API worded for the command line: ``'checks'`` -> ``--checks``,
    ``'sensitive_features'`` -> ``--sensitive``, ``resume=False`` -> ``--no-resume``, ...; one line.

    Only the first argument word is translated (the argument the message is about: a later
    ``'target'`` may be a column name in a list), and a message already worded with a flag
    (``--sensitive: ...``) is kept as it is.
    """
    first = str(message).strip().splitlines()[0] if str(message).strip() else "unknown error"
    if first.startswith("--"):
        return first
    first = _RESUME_WORDS.sub(lambda m: "--no-resume" if m.group(1) == "False" else "resuming (the default)", first)
    return _ARGUMENT_WORD.sub(lambda m: _FLAGS[m.group(1)], first, count=1)


def _threshold_keys() -> list[str]:
    """Every threshold key a check declares."""
    from .audit.base import known_thresholds

    return sorted(known_thresholds())


def _build_parser() -> argparse.ArgumentParser:
    from .io import TRUST_MODEL_FILE_HELP

    parser = argparse.ArgumentParser(
        prog="assay",
        description="Audit machine-learning models beyond test-set accuracy.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo",
        help="audit two bundled reference models (UCI Adult, digits CNN); write reports and model cards",
        description=(
            "Train two reference models offline and run the full audit on each: a pipeline on the bundled "
            "UCI Adult census data (data checks, performance and fairness per sex, race and sex x race with "
            "bootstrap intervals, calibration, out-of-distribution detection against German credit rows) "
            "into --out, and a PyTorch CNN on the 8x8 digits 0-7 (calibration; OOD detection against the "
            "digits 8 and 9, corrupted and rotated digits, noise and letters) into --out/digits. Each gets "
            "report.json, report.html and MODEL_CARD.md (Adult also DATASHEET.md)."
        ),
    )
    demo.add_argument("--out", default="assay-report", help="output directory (default: %(default)s)")
    demo.add_argument("--model", choices=("gbm", "logistic"), default="gbm",
                      help="reference model to train (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    demo.add_argument("--no-digits", action="store_true", help="audit only the Adult model")

    audit = commands.add_parser(
        "audit",
        help="run every check that fits a model and its data; write report.json, report.html, MODEL_CARD.md",
        description=(
            "Run the audit on a model and a data table. The run directory (--out) records each check as it "
            "finishes; running the same command again resumes without redoing finished checks."
        ),
    )
    audit.add_argument("--model", required=True,
                       help="model.pt (TorchScript or state dict), model.safetensors, model.pkl/.joblib "
                            "(needs --trust-model-file), or module:function")
    audit.add_argument("--model-factory", default=None,
                       help="module:function building the torch module a state dict / safetensors file loads into")
    audit.add_argument("--trust-model-file", action="store_true", help=TRUST_MODEL_FILE_HELP)
    audit.add_argument("--data", required=True, help="evaluation table (CSV or Parquet) with the target column")
    audit.add_argument("--train", default=None, help="training table (enables train-vs-test data checks)")
    audit.add_argument("--val", default=None,
                       help="validation table with the target (the OOD check fits its threshold there)")
    audit.add_argument("--ood", action="append", default=[], metavar="[NAME=]PATH",
                       help="out-of-distribution table (target column optional); repeat for several sets. "
                            "Enables the OOD check; NAME defaults to the file name")
    audit.add_argument("--target", required=True, help="name of the label column")
    audit.add_argument("--sensitive", default=None, help="comma-separated sensitive columns, e.g. sex,race")
    audit.add_argument("--features", default=None,
                       help="comma-separated columns the model takes (default: the model's own feature names "
                            "where it has them, else every column but the target)")
    audit.add_argument("--layer", default=None,
                       help="the torch layer the OOD feature detectors read (default: 'penultimate')")
    audit.add_argument("--task", choices=("classification", "regression"), default=None,
                       help="what the model does (default: inferred; scikit-learn regressors are found, a torch "
                            "or callable regressor needs --task regression)")
    audit.add_argument("--checks", default="auto", help="'auto' (default) or comma-separated check names; 'auto,robustness' adds opt-in checks")
    audit.add_argument("--out", default="assay-audit", help="run and output directory (default: %(default)s)")
    audit.add_argument("--seed", type=int, default=0, help="seed of stochastic checks (default: %(default)s)")
    audit.add_argument("--no-resume", action="store_true", help="start over instead of resuming in --out")
    audit.add_argument("--threshold", action="append", default=[], metavar="KEY=VALUE",
                       help="override a finding threshold, e.g. --threshold ood_auroc_warn=0.9 (repeatable); "
                            "keys: " + ", ".join(_threshold_keys()))
    audit.add_argument("--fail-on", choices=("warn", "fail", "never"), default="never",
                       help="exit with status 1 if any finding is at least this severe; a check that raised "
                            "an error counts as a fail (default: %(default)s)")
    card_help = ("YAML or JSON file of the model card's human-written sections (intended_use, "
                 "ethical_considerations, model_details, factors, training_data, caveats_and_recommendations)")
    audit.add_argument("--card-sections", default=None, metavar="FILE", help=card_help)

    for name, what in (("report", "report.html"), ("card", "MODEL_CARD.md")):
        sub = commands.add_parser(name, help=f"rebuild {what} from a run directory's report.json",
                                  description=f"Rebuild {what} from the report.json of a finished audit.")
        sub.add_argument("run_dir", help="directory written by 'assay audit' or 'assay demo'")
        if name == "report":
            sub.add_argument("--pdf", action="store_true",
                             help="also print report.html to report.pdf with a headless Chromium or Chrome")
        if name == "card":
            sub.add_argument("--model-name", default=None, help="model name in the card (default: the record's)")
            sub.add_argument("--card-sections", default=None, metavar="FILE",
                             help=card_help + "; they replace those kept in report.json for this card")
    _monitor_parser(commands)
    return parser


def _monitor_parser(commands: Any) -> None:
    from .io import TRUST_MODEL_FILE_HELP

    monitor = commands.add_parser(
        "monitor",
        help="drift per column and group, drift over time, performance and control charts; "
             "write report.json and report.html",
        description=(
            "Compare a current table with a reference (a table or a profile saved by Profile.to_json): drift "
            "tests per column, group and intersection with multiple-testing correction; with --time-column, "
            "drift per window and, with --model and --target, accuracy per window with control charts (or a "
            "label-free estimate when the current table has no labels). --fail-on gates a CI job."
        ),
    )
    monitor.add_argument("--reference", required=True, help="reference table (CSV or Parquet) or profile JSON")
    monitor.add_argument("--current", required=True, help="current table (CSV or Parquet)")
    monitor.add_argument("--model", default=None, help="optional model (as for 'assay audit'): its outputs are "
                                                        "tested for drift and its accuracy tracked")
    monitor.add_argument("--trust-model-file", action="store_true", help=TRUST_MODEL_FILE_HELP)
    monitor.add_argument("--target", default=None, help="label column (in the current table for measured "
                                                        "accuracy, in the reference for the label-free estimate)")
    monitor.add_argument("--features", default=None, help="comma-separated columns the model takes")
    monitor.add_argument("--time-column", default=None, help="timestamp column of the current table")
    monitor.add_argument("--window", default="1D", help="window length, a pandas frequency (default: %(default)s)")
    monitor.add_argument("--sensitive", default=None, help="comma-separated sensitive columns, e.g. sex,race")
    monitor.add_argument("--alpha", type=float, default=0.05, help="significance level after correction "
                                                                   "(default: %(default)s)")
    monitor.add_argument("--effect-threshold", type=float, default=0.1,
                         help="smallest effect size that counts as drift (default: %(default)s)")
    monitor.add_argument("--correction", choices=("holm", "bh", "none"), default="holm",
                         help="multiple-testing correction (default: %(default)s)")
    monitor.add_argument("--dask", action="store_true",
                         help="read both tables with Dask (data past one machine's memory): drift, drift per "
                              "window and, with --model, --target and --time-column, accuracy per window and group "
                              "with control charts, all from statistics merged over partitions (no label-free "
                              "estimate on this path)")
    monitor.add_argument("--scheduler", default=None,
                         help="with --dask: address of a Dask scheduler (default: the local threaded scheduler)")
    monitor.add_argument("--out", default="assay-monitor", help="output directory (default: %(default)s)")
    monitor.add_argument("--fail-on", choices=("warn", "fail", "never"), default="never",
                         help="exit with status 1 if any finding is at least this severe: drift is a warn, an "
                              "accuracy control-chart alert a fail (default: %(default)s)")


def _run_monitor(args: argparse.Namespace) -> int:
    from .io import load_model, parse_columns, read_table
    from .monitor.documents import write_monitor_report
    from .monitor.profile import Profile
    from .monitor.run import run_monitor

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise AssayInputError(f"--out: {args.out!r} is a file; give a directory.")
    if str(args.reference).lower().endswith(".json"):
        try:
            reference = Profile.from_json(Path(args.reference), name="--reference")
        except AssayInputError as exc:
            raise AssayInputError(str(exc).replace("'--reference'", "--reference:", 1)) from None
    else:
        reference = read_table(args.reference, arg="--reference")
    if args.dask:
        return _run_monitor_dask(args, reference)
    current = read_table(args.current, arg="--current")
    model = None
    if args.model:
        model = load_model(args.model, trust_model_file=args.trust_model_file).model
    names = {"sensitive_features": "--sensitive", "time_column": "--time-column", "target": "--target",
             "window": "--window", "reference": "--reference", "current": "--current", "features": "--features",
             "alpha": "--alpha", "effect_threshold": "--effect-threshold"}
    try:
        result = run_monitor(reference, current, model=model, target=args.target, time_column=args.time_column,
                             window=args.window, alpha=args.alpha, effect_threshold=args.effect_threshold,
                             correction=args.correction,
                             sensitive_features=parse_columns(args.sensitive) if args.sensitive else None,
                             features=parse_columns(args.features, arg="--features") if args.features else None)
    except AssayInputError as exc:
        message = str(exc).strip().splitlines()[0]
        for word, flag in names.items():
            message = message.replace(f"'{word}'", flag)
        raise AssayInputError(message) from None
    meta = {"reference": Path(args.reference).name, "current": Path(args.current).name,
            "model": Path(str(args.model)).name if args.model else "none", "window": args.window}
    paths = write_monitor_report(result, out, meta=meta)
    print(f"assay monitor: {int(result.drift.overall['drifted'].sum())} of {len(result.drift.overall)} column(s) "
          f"drifted; {len(result.charts)} control chart(s); worst finding: {result.worst_severity}")
    for finding in result.findings:
        if finding.severity != "pass":
            print(f"{finding.severity:<5}  {finding.check:<11}  {' '.join(finding.message.split())}")
    print(f"wrote {paths['json']}, {paths['html']}")
    return 1 if args.fail_on != "never" and _SEVERITY_RANK[result.worst_severity] >= _SEVERITY_RANK[args.fail_on] else 0


def _read_dask(path: str, arg: str) -> Any:
    from .io._common import check_readable_file
    from .io.tables import _table_format
    from .metrics.distributed import _import_dask

    _, dd = _import_dask(arg)
    p = Path(path).expanduser()
    fmt = _table_format(p, arg)
    check_readable_file(p, arg=arg, expected="a CSV or Parquet file")
    return dd.read_parquet(str(p)) if fmt == "parquet" else dd.read_csv(str(p))


def _run_monitor_dask(args: argparse.Namespace, reference: Any) -> int:
    from .io import load_model, parse_columns
    from .monitor.distributed import run_monitor_dask
    from .monitor.documents import write_monitor_report
    from .monitor.profile import Profile

    sensitive = parse_columns(args.sensitive) if args.sensitive else None
    model = load_model(args.model, trust_model_file=args.trust_model_file).model if args.model else None
    client = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)
    try:
        if not isinstance(reference, Profile):
            reference = _read_dask(args.reference, "--reference")
        result = run_monitor_dask(reference, _read_dask(args.current, "--current"), model=model,
                                  features=parse_columns(args.features, arg="--features") if args.features else None,
                                  target=args.target, time_column=args.time_column, window=args.window,
                                  sensitive_features=sensitive, alpha=args.alpha,
                                  effect_threshold=args.effect_threshold, correction=args.correction)
    except AssayInputError as exc:
        message = str(exc).strip().splitlines()[0]
        for word, flag in (("'sensitive_features'", "--sensitive"), ("'reference'", "--reference"),
                           ("'current'", "--current"), ("'ddf'", "--current"), ("'time_column'", "--time-column"),
                           ("'target'", "--target"), ("'window'", "--window"), ("'features'", "--features")):
            message = message.replace(word, flag)
        raise AssayInputError(message) from None
    finally:
        if client is not None:
            client.close()
    meta = {"reference": Path(args.reference).name, "current": Path(args.current).name,
            "model": Path(str(args.model)).name if args.model else "none", "window": args.window, "engine": "dask"}
    paths = write_monitor_report(result, Path(args.out), meta=meta)
    print(f"assay monitor (dask): {int(result.drift.overall['drifted'].sum())} of {len(result.drift.overall)} "
          f"column(s) drifted; {len(result.charts)} control chart(s); worst finding: {result.worst_severity}")
    for finding in result.findings:
        if finding.severity != "pass":
            print(f"{finding.severity:<5}  {finding.check:<11}  {' '.join(finding.message.split())}")
    print(f"wrote {paths['json']}, {paths['html']}")
    return 1 if args.fail_on != "never" and _SEVERITY_RANK[result.worst_severity] >= _SEVERITY_RANK[args.fail_on] else 0


def _run_audit(args: argparse.Namespace) -> int:
    from .audit import Audit
    from .audit.documents import audit_record, write_audit_report
    from .audit.runner import environment
    from .io import load_model, load_table, parse_columns

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise AssayInputError(f"--out: {args.out!r} is a file; give a directory (new or from an earlier run).")
    sensitive = parse_columns(args.sensitive) if args.sensitive else None
    loaded = load_model(args.model, trust_model_file=args.trust_model_file, model_factory=args.model_factory)
    data = {"test": tuple(load_table(args.data, target=args.target, sensitive=sensitive))}
    if args.train:
        data["train"] = tuple(load_table(args.train, target=args.target, sensitive=sensitive,
                                         arg_names={"data": "--train", "target": "--target",
                                                    "sensitive": "--sensitive"}))
    if args.val:
        data["val"] = tuple(load_table(args.val, target=args.target, sensitive=sensitive,
                                       arg_names={"data": "--val", "target": "--target", "sensitive": "--sensitive"}))
    for name, path in _ood_tables(args.ood).items():
        data[f"ood:{name}"] = load_table(path, target=args.target, target_optional=True,
                                         arg_names={"data": "--ood", "target": "--target"}).X
    checks = "auto" if args.checks == "auto" else parse_columns(args.checks, arg="--checks")
    thresholds = _thresholds(args.threshold)
    options = {}
    if args.features:  # only when given: Audit(features=...) is new
        options["features"] = parse_columns(args.features, arg="--features")
    if args.layer:
        options["check_params"] = {"ood": {"layer": args.layer}}
    if args.task:
        options["task"] = args.task
    try:
        audit = Audit(loaded.model, data, checks=checks, random_state=args.seed, thresholds=thresholds, **options)
        result = audit.run(args.out, resume=not args.no_resume)
    except AssayInputError as exc:
        raise AssayInputError(cli_message(str(exc))) from None
    except TypeError as exc:  # an Audit without the newer keyword arguments
        if options and "unexpected keyword argument" in str(exc):
            flags = ", ".join(_FLAGS[k] for k in options)
            raise AssayInputError(f"{flags}: not supported by this version of assay's Audit.") from None
        raise
    record = audit_record(result, model_name=Path(str(args.model)).name, dataset_name=Path(args.data).name,
                          environment=environment(), card_sections=args.card_sections)
    paths = write_audit_report(record, args.out)
    for line in _summary_lines(result, shutil.get_terminal_size((100, 24)).columns):
        print(line)
    print(f"wrote {paths['json']}, {paths['html']}, {paths['card']}")
    return 1 if _fails(result, args.fail_on) else 0


def _summary_lines(result, columns: int) -> list[str]:
    """What ``assay audit`` prints: the counts, each skipped check with its reason, then one finding per
    item (severity, check, message), messages wrapped to ``columns`` under their own column."""
    lines = [f"assay audit: {len(result.computed)} check(s) run, {len(result.resumed)} resumed, "
             f"{len(result.skipped)} skipped; worst finding: {result.worst_severity}"]
    lines += [f"  skipped {name}: {reason}" for name, reason in result.skipped.items()]
    frame = result.to_frame()
    if len(frame):
        width = max(len(str(c)) for c in frame["check"])
        indent = " " * (5 + 2 + width + 2)
        for severity, check, message in frame[["severity", "check", "message"]].itertuples(index=False):
            text = " ".join(str(message).split())
            wrapped = textwrap.wrap(text, width=max(40, columns - len(indent))) or [""]
            lines.append(f"{severity:<5}  {check:<{width}}  {wrapped[0]}")
            lines += [indent + part for part in wrapped[1:]]
    return lines


def _fails(result, fail_on: str) -> bool:
    """True when the audit's worst finding is at least ``fail_on``; a check that raised counts as a fail,
    whether the result says "error" or records the check with status "error"."""
    if fail_on == "never":
        return False
    worst = _SEVERITY_RANK.get(str(result.worst_severity), _SEVERITY_RANK["error"])
    if any(r.get("status") != "ok" for r in result.records.values()):
        worst = max(worst, _SEVERITY_RANK["error"])
    return worst >= _SEVERITY_RANK[fail_on]


def _thresholds(values: list[str]) -> dict[str, float]:
    """``--threshold KEY=VALUE`` values -> {key: float}; unknown keys are refused here, by flag."""
    known = set(_threshold_keys())
    out: dict[str, float] = {}
    for value in values:
        key, sep, number = value.partition("=")
        key = key.strip()
        if not sep or not key:
            raise AssayInputError(f"--threshold: expected KEY=VALUE, e.g. ood_auroc_warn=0.9. Got {value!r}.")
        if key not in known:
            raise AssayInputError(f"--threshold: unknown key {key!r}; known: {', '.join(sorted(known))}.")
        try:
            out[key] = float(number)
        except ValueError:
            raise AssayInputError(f"--threshold: {key} must be a number. Got {number!r}.") from None
    return out


def _ood_tables(values: list[str]) -> dict[str, str]:
    """``--ood [NAME=]PATH`` values -> {name: path}; the name defaults to the file name."""
    tables: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or Path(value).exists():
            path = value
            name = Path(value).name.split(".")[0]
        if not name or not path:
            raise AssayInputError(f"--ood: expected PATH or NAME=PATH. Got {value!r}.")
        if name in tables:
            raise AssayInputError(f"--ood: the name {name!r} is given twice; name the sets, e.g. --ood letters={path}.")
        tables[name] = path
    return tables


def _read_record(run_dir: str) -> dict:
    path = Path(run_dir) / "report.json"
    if not path.is_file():
        raise AssayInputError(f"run_dir: no report.json in {run_dir!r}; run 'assay audit --out {run_dir}' first.")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AssayInputError(f"run_dir: {path} is not valid JSON ({exc}).") from None
    if isinstance(record, dict) and "checks" not in record and "schema_version" in record:
        raise AssayInputError(f"run_dir: {run_dir!r} holds a demo report, not an audit record.")
    from .audit.documents import check_record

    try:
        return dict(check_record(record, name=str(path)))
    except AssayInputError as exc:
        raise AssayInputError(f"run_dir: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``assay`` console script; returns the exit code."""
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from .demo import run_demo

            run_demo(out_dir=args.out, model_kind=args.model, random_state=args.seed, digits=not args.no_digits)
        elif args.command == "audit":
            return _run_audit(args)
        elif args.command == "monitor":
            return _run_monitor(args)
        elif args.command in ("report", "card"):
            from .audit.documents import model_card_markdown, render_audit_html

            record = _read_record(args.run_dir)
            try:
                if args.command == "report":
                    target, text = Path(args.run_dir) / "report.html", render_audit_html(record)
                else:
                    target = Path(args.run_dir) / "MODEL_CARD.md"
                    text = model_card_markdown(record, model_name=args.model_name, card_sections=args.card_sections)
            except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
                if isinstance(exc, AssayInputError):
                    raise
                raise AssayInputError(f"run_dir: {Path(args.run_dir) / 'report.json'} does not have the layout "
                                      f"assay writes ({type(exc).__name__}: {exc}); re-run the audit.") from None
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
            if getattr(args, "pdf", False):
                from .report import html_to_pdf

                print(f"wrote {html_to_pdf(target)}")
    except AssayInputError as exc:
        print(f"assay: error: {cli_message(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path that is a file, not writable, ...: one line, not a traceback
        print(f"assay: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("assay: interrupted (finished checks are saved; run the same command to resume)", file=sys.stderr)
        return 130
    return 0
