"""The ``assay`` command line: ``assay demo`` (more commands arrive with the audit)."""

from __future__ import annotations

import argparse
import sys

from .core.errors import AssayInputError


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assay",
        description="Audit machine-learning models beyond test-set accuracy.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo",
        help="train a model on the bundled UCI Adult data, evaluate it per group, write a report",
        description=(
            "Train a reference model on the bundled UCI Adult census data (offline), measure accuracy, "
            "selection rate, TPR, FPR and calibration (ECE) per sex, per race and per sex x race, print "
            "the table and write report.json, report.html and plots into --out."
        ),
    )
    demo.add_argument("--out", default="assay-report", help="output directory (default: %(default)s)")
    demo.add_argument("--model", choices=("gbm", "logistic"), default="gbm",
                      help="reference model to train (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``assay`` console script; returns the exit code."""
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from .demo import run_demo

            run_demo(out_dir=args.out, model_kind=args.model, seed=args.seed)
    except AssayInputError as exc:
        print(f"assay: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("assay: interrupted", file=sys.stderr)
        return 130
    return 0
