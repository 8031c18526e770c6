"""`adgen.memory_report` against the tapes the generated code really allocates.

The report is computed from the derivative IR without running it; the check runs
the generated code (python backend) with `np.empty` watched, and compares every
tape it allocates, byte for byte, with the report's entries.
"""

import importlib.util
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import adgen

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from objectives import conv1d, logistic_map, lstm, ode  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "idiom_cases", Path(__file__).with_name("idiom_cases.py"))
idioms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(idioms)


def scalar_loop(r, x0, n):
    x = x0
    for i in range(n):
        x = r * x * (1.0 - x)
    return x


def array_loop(w, x, n):
    h = x
    for i in range(n):
        h = np.tanh(w * h + 0.5)
    return np.sum(h * h)


def while_loop(x, tol):
    y = x
    while y > tol:
        y = 0.5 * y * (1.0 + x)
    return y


class _WatchedNumpy:
    """NumPy, except that `empty` records the bytes of what it allocates."""

    def __init__(self):
        self.allocated = []

    def __getattr__(self, name):
        return getattr(np, name)

    def empty(self, shape, dtype=float):
        out = np.empty(shape, dtype=dtype)
        self.allocated.append(out.nbytes)
        return out


def run_watched(transformed, args, module_name, watcher):
    """Runs `transformed(*args)` (python backend) with the generated module's global
    `module_name` (`np`, `_adgen`) replaced by `watcher`; returns the watcher."""
    compiled = transformed.compile(transformed.arg_types(list(args)))
    module_globals = compiled.func.__globals__
    saved = module_globals[module_name]
    module_globals[module_name] = watcher
    try:
        transformed(*args)
    finally:
        module_globals[module_name] = saved
    return watcher


class _WatchedSupport:
    """adgen's support module, except that `tape_array` records the bytes of the tapes it
    hands out (from the tape memory kept between calls, or new)."""

    def __init__(self, support, allocated: list):
        self.support, self.allocated = support, allocated

    def __getattr__(self, name):
        return getattr(self.support, name)

    def tape_array(self, memory, shape, dtype):
        out = self.support.tape_array(memory, shape, dtype)
        self.allocated.append(out.nbytes)
        return out


def allocated_tapes(transformed, args):
    """The bytes of each tape the generated code allocates (`np.empty` or the tape memory),
    in order."""
    compiled = transformed.compile(transformed.arg_types(list(args)))
    watched = _WatchedNumpy()
    support = compiled.func.__globals__["_adgen"]
    run_watched(transformed, args, "_adgen", _WatchedSupport(support, watched.allocated))
    watched.allocated.clear()  # the call above filled the tape memory: now it is reused
    outer = _WatchedSupport(support, watched.allocated)
    module_globals = compiled.func.__globals__
    module_globals["_adgen"] = outer
    try:
        run_watched(transformed, args, "np", watched)
    finally:
        module_globals["_adgen"] = support
    return watched.allocated


CASES = {
    "scalar_loop": (scalar_loop, (3.7, 0.3, 50), 0),
    "array_loop": (array_loop, (0.9, np.linspace(-1.0, 1.0, 7), 12), (0, 1)),
    "logistic_map_vectorized": (logistic_map.logistic_map_vectorized,
                                logistic_map.make_data(9, 15, 0), (0, 1)),
    "logistic_map_loops": (logistic_map.logistic_map_loops, logistic_map.make_data(4, 15, 0),
                           (0, 1)),
    "ode_vectorized": (ode.lotka_volterra_vectorized, ode.make_data(5, 8, 0), (0, 1, 2)),
    "lstm_vectorized": (lstm.lstm_objective_vectorized, lstm.make_data(2, 4, 5, 0), (0, 1, 2)),
    "conv1d_shifted": (conv1d.conv1d_shifted, conv1d.make_data(12, 3, 0), (0, 1)),
    # loop nests: one tape per loop of the nest and per value, allocated before the nest
    "heat_elementwise": (idioms.heat_elementwise, (np.linspace(0.0, 1.0, 8), 0.2, 5), (0, 1)),
    "heat_slice_copy": (idioms.heat_slice_copy, (np.linspace(0.0, 1.0, 8), 0.2, 5), (0, 1)),
    "heat_swap": (idioms.heat_swap, (np.linspace(0.0, 1.0, 8), 0.2, 5), (0, 1)),
}


@pytest.mark.parametrize("budget", [None, 300])
@pytest.mark.parametrize("name", sorted(CASES))
def test_report_matches_the_allocated_tapes(name, budget):
    """Also under `memory_budget=`, where checkpointed loops keep snapshots."""
    fn, args, argnums = CASES[name]
    g = adgen.grad(fn, argnums=argnums, backend="python", memory_budget=budget)
    report = adgen.memory_report(g, *args)
    assert report.tapes, "every case has a loop whose reverse sweep needs a tape"
    expected = Counter()
    for tape in report.tapes:
        assert tape.bytes is not None, f"{tape.name}: size not derived statically"
        assert tape.bytes == tape.entries * tape.bytes_per_entry
        # a tape inside loops is allocated once per iteration of the loops around it
        expected[tape.bytes] += _instances(tape, args, fn)
    assert Counter(allocated_tapes(g, args)) == expected
    assert report.peak_bytes == sum(t.bytes for t in report.tapes)


def _instances(tape, args, fn):
    """How many times the generated code allocates `tape` for these cases."""
    if not tape.loops:
        return 1
    if fn is logistic_map.logistic_map_loops:
        return args[1].shape[0]          # one per orbit
    if fn is lstm.lstm_objective_vectorized:
        return args[3].shape[0] - 1      # one per time step (layers run inside)
    raise AssertionError(f"unexpected nested tape {tape.name}")


def test_report_values_for_a_known_loop():
    """x_tape of the logistic map: one (n,) float64 entry per step."""
    r, x0, steps = logistic_map.make_data(1000, 100, 0)
    report = adgen.memory_report(adgen.grad(logistic_map.logistic_map_vectorized,
                                            argnums=(0, 1), backend="python"), r, x0, steps)
    (tape,) = report.tapes
    assert (tape.name, tape.entry_shape, tape.entries) == ("x_tape", (1000,), 100)
    assert tape.bytes_per_entry == 8000 and tape.bytes == 800_000
    assert report.peak_bytes == 800_000
    assert "x_tape" in str(report) and "800.0 KB" in str(report)


def test_while_loop_tape_is_growable():
    report = adgen.memory_report(adgen.grad(while_loop, backend="python"), 0.9, 0.01)
    assert report.tapes and all(t.growable for t in report.tapes)
    assert all(t.bytes is None and t.bytes_per_entry == 8 for t in report.tapes)
    assert "growable" in str(report)


def test_report_needs_a_transform():
    with pytest.raises(adgen.AdgenTypeError, match="memory_report"):
        adgen.memory_report(scalar_loop, 3.7, 0.3, 5)


def triangle(x, n):
    """An inner loop whose trip count changes with the outer index: counted before the
    nest, its tapes are allocated at their exact size."""
    a = x.copy()
    s = 0.0
    for i in range(n):
        for j in range(i % 3 + 1):
            a[j] = a[j] * 0.9 + math.sin(s)
            s += a[j] * a[j]
    return s


def inner_while(x, n):
    """An inner while loop: its trip count is known only as it runs, so its tapes grow."""
    a = x.copy()
    s = 0.0
    for i in range(n):
        j = 0
        while j < i % 3 + 1:
            a[j] = a[j] * 0.9 + math.sin(s)
            s += a[j] * a[j]
            j += 1
    return s


def _fd(f, x, n):
    h = 1e-6
    return np.array([(f(x + h * e, n) - f(x - h * e, n)) / (2 * h) for e in np.eye(x.size)])


def test_tapes_of_a_triangular_nest_are_counted_exactly():
    g = adgen.grad(triangle, backend="python")
    x = np.linspace(0.1, 0.5, 4)
    report = adgen.memory_report(g, x, 9)
    assert not any(t.growable for t in report.tapes)
    # 9 outer iterations (where each inner loop's entries start) of 1, 2, 3, 1, 2, 3, ...
    # inner ones (s and the element of a it overwrites)
    assert sorted(t.entries for t in report.tapes) == [9, 18, 18]
    assert Counter(allocated_tapes(g, (x, 9))) == Counter(t.bytes for t in report.tapes)
    np.testing.assert_allclose(g(x, 9), _fd(triangle, x, 9), rtol=1e-6, atol=1e-9)


def test_tapes_of_an_inner_while_loop_grow_and_are_reported_growable():
    g = adgen.grad(inner_while, backend="python")
    x = np.linspace(0.1, 0.5, 4)
    report = adgen.memory_report(g, x, 9)
    grown = [t for t in report.tapes if t.growable]
    assert grown and all(t.bytes_per_entry == 8 for t in grown)
    assert "growable" in str(report)
    np.testing.assert_allclose(g(x, 9), _fd(inner_while, x, 9), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(g(x, 9), adgen.grad(triangle, backend="python")(x, 9),
                               rtol=1e-12)
