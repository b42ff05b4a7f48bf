"""Corruption curves: the cost of ``robustness_curve`` vs the model evaluations it needs (issue 16).

    python benchmarks/_bench_corruptions.py               # Adult test (16,281 rows), digits x 5 (1,800 images)
    python benchmarks/_bench_corruptions.py --quick       # 4,000 Adult rows, digits test (360 images)

The ``corruptions`` section of ``bench_robustness.py``; runnable alone.

Per data set, every registered corruption of its kind at severities 1..5 (Adult: the 5 tabular
ones, 25 sweeps; digits: the 15 image ones that change a grey image -- grayscale is the identity
on 1 channel -- 75 sweeps), by sex and race (Adult) or by ink (digits: above/below the mean):

* floors: the model evaluations alone -- the clean inputs and every corrupted copy, corrupted
  beforehand -- (a) through the bare model (``predict_proba`` of the scikit-learn pipeline on the
  whole frame; the CNN in batches of 256 under ``torch.no_grad``) and (b) through the adapter
  (``assay.wrap(model, cache=False).predict_proba``: its batches, checks of every output), the
  path every assay evaluation takes;
* ``robustness_curve(..., n_boot=0)``: corrupting, evaluating through the adapter and the
  grouped table per (corruption, severity);
* the same with ``n_boot=200`` (bootstrap intervals on every row).

Median of ``--repeats`` runs each. Goal (issue 16): the curves within 1.3x of the floor.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, median_seconds, print_machine




def adult_problem(n_rows: int | None = None):
    from assay.datasets import load_adult
    from assay.models import train_sklearn_model

    data = load_adult()
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    rows = slice(None) if n_rows is None else slice(0, n_rows)
    X, y = data.test.X.iloc[rows], data.test.y.iloc[rows].to_numpy()
    groups = data.test.sensitive_features.iloc[rows][["sex", "race"]]
    from assay.robustness import tabular_corruptions

    return model, X, y, groups, tabular_corruptions(), lambda data: model.predict_proba(data)


def digits_problem(tile: int = 5):
    import torch

    from assay.datasets import load_digits_split
    from assay.models import train_digits_cnn
    from assay.robustness import image_corruptions

    data = load_digits_split()
    model = train_digits_cnn(data.train.X, data.train.y, epochs=5, random_state=0)
    X = data.test.X.repeat(tile, 1, 1, 1)
    y = np.tile(np.asarray(data.test.y), tile)
    groups = pd.DataFrame({"ink": np.where(X.mean(dim=(1, 2, 3)).numpy() > float(X.mean()), "heavy", "light")})

    def forward(images):
        with torch.no_grad():
            return torch.cat([model(images[i:i + 256]) for i in range(0, len(images), 256)]).softmax(1).numpy()

    return model, X, y, groups, [c for c in image_corruptions() if c != "grayscale"], forward


def bench_curves(problem, *, repeats: int = 3, severities=(1, 2, 3, 4, 5), clock=None) -> dict[str, float]:
    """Seconds of the floor and of the curves (n_boot 0 and 200) on one problem (``clock``: see median_time)."""
    from assay.robustness import get_corruption, robustness_curve

    model, X, y, groups, names, evaluate = problem
    corrupted = [get_corruption(n)(X, s, random_state=s) for n in names for s in severities]
    from assay import wrap

    floor = median_seconds(lambda: [evaluate(X)] + [evaluate(c) for c in corrupted], repeats, clock)
    adapter = wrap(model, cache=False)
    adapted = median_seconds(lambda: [adapter.predict_proba(X)] + [adapter.predict_proba(c) for c in corrupted],
                             repeats, clock)
    corrupted.clear()
    out = {"sweeps": len(names) * len(severities), "rows": len(y), "floor_s": floor, "adapter_s": adapted}
    for n_boot in (0, 200):
        out[f"curve_boot{n_boot}_s"] = median_seconds(
            lambda n_boot=n_boot: robustness_curve(model, X, y, corruptions=names, severities=severities,
                                                   sensitive_features=groups, n_boot=n_boot, random_state=0,
                                                   progress=False), repeats, clock)
        out[f"ratio_boot{n_boot}"] = out[f"curve_boot{n_boot}_s"] / floor
        out[f"adapter_ratio_boot{n_boot}"] = out[f"curve_boot{n_boot}_s"] / adapted
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpu-time", action="store_true",
                        help="one torch thread and CPU seconds of this process (time.process_time) instead of wall "
                             "time: far less disturbed by other jobs on a shared machine")
    args = parser.parse_args(argv)
    print_machine(machine_info("torch", "scikit-learn", "pandas"))
    clock = None
    if args.cpu_time:
        import time

        import torch

        torch.set_num_threads(1)
        clock = time.process_time
        print("clock: CPU seconds of this process, one torch thread")
    problems = {"Adult test": lambda: adult_problem(4000 if args.quick else None),
                "digits": lambda: digits_problem(1 if args.quick else 5)}
    for name, make in problems.items():
        print_curves(name, bench_curves(make(), repeats=args.repeats, clock=clock))


def print_curves(name: str, r: dict) -> None:
    print(f"{name}: {r['rows']} rows, {r['sweeps']} sweeps | model evaluations alone: bare {r['floor_s']:.3f} s, "
          f"through the adapter {r['adapter_s']:.3f} s | curves n_boot=0 {r['curve_boot0_s']:.3f} s "
          f"({r['ratio_boot0']:.2f}x bare, {r['adapter_ratio_boot0']:.2f}x adapter) | n_boot=200 "
          f"{r['curve_boot200_s']:.3f} s ({r['ratio_boot200']:.2f}x bare, {r['adapter_ratio_boot200']:.2f}x adapter)")

if __name__ == "__main__":
    main()
