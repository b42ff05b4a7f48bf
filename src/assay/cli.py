"""The ``assay`` command line: ``demo``, ``audit``, ``report``, ``card``.

Errors in what a user typed are one line on stderr (``assay: error: --target: ...``) and exit
status 2; ``assay audit --fail-on warn|fail`` exits 1 when a finding is at least that severe,
so an audit can gate a CI pipeline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .core.errors import AssayInputError

_SEVERITY_RANK = {"pass": 0, "warn": 1, "fail": 2}


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
    audit.add_argument("--checks", default="auto", help="'auto' (default) or comma-separated check names")
    audit.add_argument("--out", default="assay-audit", help="run and output directory (default: %(default)s)")
    audit.add_argument("--seed", type=int, default=0, help="seed of stochastic checks (default: %(default)s)")
    audit.add_argument("--no-resume", action="store_true", help="start over instead of resuming in --out")
    audit.add_argument("--threshold", action="append", default=[], metavar="KEY=VALUE",
                       help="override a finding threshold, e.g. --threshold ood_auroc_warn=0.9 (repeatable); "
                            "keys: assay.audit.base.DEFAULT_THRESHOLDS and assay.data_checks.DEFAULT_THRESHOLDS")
    audit.add_argument("--fail-on", choices=("warn", "fail", "never"), default="never",
                       help="exit with status 1 if any finding is at least this severe (default: %(default)s)")

    for name, what in (("report", "report.html"), ("card", "MODEL_CARD.md")):
        sub = commands.add_parser(name, help=f"rebuild {what} from a run directory's report.json",
                                  description=f"Rebuild {what} from the report.json of a finished audit.")
        sub.add_argument("run_dir", help="directory written by 'assay audit' or 'assay demo'")
        if name == "card":
            sub.add_argument("--model-name", default="model", help="model name in the card")
    return parser


def _run_audit(args: argparse.Namespace) -> int:
    from .audit import Audit
    from .audit.runner import environment
    from .io import load_model, load_table, parse_columns
    from .audit.documents import audit_record, write_audit_report

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
    checks = "auto" if args.checks == "auto" else parse_columns(args.checks)
    thresholds = _thresholds(args.threshold)
    result = Audit(loaded.model, data, checks=checks, seed=args.seed, thresholds=thresholds).run(
        args.out, resume=not args.no_resume)
    record = audit_record(result, model_name=str(args.model), dataset_name=Path(args.data).name,
                          environment=environment())
    paths = write_audit_report(record, args.out, model_name=str(args.model))
    print(f"assay audit: {len(result.computed)} check(s) run, {len(result.resumed)} resumed, "
          f"{len(result.skipped)} skipped; worst finding: {result.worst_severity}")
    frame = result.to_frame()
    if len(frame):
        print(frame[["severity", "check", "message"]].to_string(index=False))
    print(f"wrote {paths['json']}, {paths['html']}, {paths['card']}")
    if args.fail_on != "never" and _SEVERITY_RANK[result.worst_severity] >= _SEVERITY_RANK[args.fail_on]:
        return 1
    return 0


def _thresholds(values: list[str]) -> dict[str, float]:
    """``--threshold KEY=VALUE`` values -> {key: float}; unknown keys are refused here, by flag."""
    from .audit.base import DEFAULT_THRESHOLDS
    from .data_checks import DEFAULT_THRESHOLDS as DATA_CHECK_THRESHOLDS

    known = set(DEFAULT_THRESHOLDS) | set(DATA_CHECK_THRESHOLDS)
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
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AssayInputError(f"run_dir: {path} is not valid JSON ({exc}).") from None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``assay`` console script; returns the exit code."""
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from .demo import run_demo

            run_demo(out_dir=args.out, model_kind=args.model, seed=args.seed, digits=not args.no_digits)
        elif args.command == "audit":
            return _run_audit(args)
        elif args.command in ("report", "card"):
            from .audit.documents import check_record, model_card_markdown, render_audit_html

            record = _read_record(args.run_dir)
            if "checks" not in record:
                raise AssayInputError(f"run_dir: {args.run_dir!r} holds a demo report, not an audit record.")
            if args.command == "report":
                target = Path(args.run_dir) / "report.html"
                target.write_text(render_audit_html(record), encoding="utf-8")
            else:
                target = Path(args.run_dir) / "MODEL_CARD.md"
                target.write_text(model_card_markdown(record, model_name=args.model_name), encoding="utf-8")
            print(f"wrote {target}")
    except AssayInputError as exc:
        print(f"assay: error: {str(exc).splitlines()[0] if str(exc) else exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("assay: interrupted (finished checks are saved; run the same command to resume)", file=sys.stderr)
        return 130
    return 0
