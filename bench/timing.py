"""Median wall-clock time of a call, after warm-up, with an adaptive repeat count."""

from __future__ import annotations

import statistics
import time


def first_call(fn, *args) -> tuple[float, object]:
    """(seconds, result) of one call: the compile time of a function not yet compiled."""
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def median_time(fn, *args, budget: float = 1.0, min_runs: int = 3, max_runs: int = 200,
                warmup: int = 1) -> float:
    """Median seconds per call of `fn(*args)` over as many runs as fit in `budget` seconds
    (at least `min_runs`, at most `max_runs`), after `warmup` untimed calls."""
    for _ in range(warmup):
        fn(*args)
    times = []
    spent = 0.0
    while len(times) < min_runs or (spent < budget and len(times) < max_runs):
        start = time.perf_counter()
        fn(*args)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
    return statistics.median(times)
