"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
import tracemalloc
from datetime import date
from typing import Callable


def machine_info(*packages: str) -> dict[str, object]:
    """The date, Python, the given packages' versions (None if not installed) and the machine."""
    info: dict[str, object] = {"date": date.today().isoformat(), "python": sys.version.split()[0]}
    for name in packages:
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info[name] = None
    info.update(platform=platform.platform(), processor=platform.processor() or platform.machine(),
                cpus=os.cpu_count())
    return info


def print_machine(info: dict[str, object]) -> None:
    print("machine:", ", ".join(f"{k} {v}" for k, v in info.items()))


def peak_bytes(function: Callable[[], object]) -> int:
    """Peak of Python-traced allocations (numpy reports its buffers) during ``function()``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    function()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def median_time(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median seconds of ``repeats`` calls of ``function``, and the last call's result."""
    import statistics
    import time

    times, result = [], None
    for _ in range(max(1, int(repeats))):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` calls of ``function``."""
    return median_time(function, repeats)[0]
