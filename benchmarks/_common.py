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


def median_time(function: Callable[[], object], repeats: int, clock: Callable[[], float] | None = None
                ) -> tuple[float, object]:
    """Median seconds of ``repeats`` calls of ``function``, and the last call's result.

    ``clock``: wall time (``time.perf_counter``) by default; ``time.process_time`` counts this
    process's CPU seconds, which other jobs on a shared machine disturb far less (single-threaded runs).
    """
    import statistics
    import time

    clock = clock or time.perf_counter
    times, result = [], None
    for _ in range(max(1, int(repeats))):
        start = clock()
        result = function()
        times.append(clock() - start)
    return statistics.median(times), result


def median_seconds(function: Callable[[], object], repeats: int, clock: Callable[[], float] | None = None) -> float:
    """Median seconds of ``repeats`` calls of ``function`` (``clock`` as :func:`median_time`)."""
    return median_time(function, repeats, clock)[0]
