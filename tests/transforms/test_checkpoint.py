"""Checkpointing under `memory_budget=`: the same gradients, and tapes that fit.

`adgen.grad(f, memory_budget=...)` strip-mines each top-level loop into segments
whose reverse sweep recomputes them from a checkpoint (adgen/transforms/checkpoint.py).
Checked here: gradients equal to the unbudgeted ones (1e-13) and to finite
differences; the tapes the generated code allocates (watched `np.empty`) fit the
budget where the budget is reachable, and `memory_report` says so too.
"""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import adgen
from adgen.transforms.checkpoint import parse_budget

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from objectives import logistic_map, ode  # noqa: E402
from test_memory_report import allocated_tapes  # noqa: E402


def damped(w, x, n):
    """A loop with a branch and an inner loop, carrying an array and a float."""
    h = x
    energy = 0.0
    for i in range(n):
        if i % 3 == 0:
            h = np.tanh(w * h + 0.1 * i)
        else:
            h = 0.9 * h + 0.05 * np.sin(h)
        s = 0.0
        for j in range(2):
            s = s + w * math.cos(s + j)
        energy = energy + s * np.sum(h * h)
    return energy + np.sum(h)


def writes_in_place(x, n):
    y = x.copy()
    for i in range(n):
        y[i % 3] = y[i % 3] * 0.5 + 1.0
    return np.sum(y * y)


CASES = {
    "logistic_map_vectorized": (logistic_map.logistic_map_vectorized,
                                logistic_map.make_data(8, 60, 0), (0, 1)),
    "logistic_map_loops": (logistic_map.logistic_map_loops, logistic_map.make_data(3, 40, 1),
                           (0, 1)),
    "ode_vectorized": (ode.lotka_volterra_vectorized, ode.make_data(4, 50, 0), (0, 1, 2)),
    "damped": (damped, (0.7, np.linspace(-1.0, 1.0, 5), 37), (0, 1)),
}


def _close(got, want):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("budget", [64, 700, 5000, "1MB"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_gradient_under_any_budget(name, budget):
    fn, args, argnums = CASES[name]
    want = adgen.grad(fn, argnums=argnums, backend="python")(*args)
    got = adgen.grad(fn, argnums=argnums, backend="python", memory_budget=budget)(*args)
    _close(got, want)


def test_value_and_grad_and_vjp_on_numba():
    fn, args, argnums = CASES["damped"]
    v0, g0 = adgen.value_and_grad(fn, argnums=argnums, backend="python")(*args)
    v1, g1 = adgen.value_and_grad(fn, argnums=argnums, backend="numba",
                                  memory_budget="2KB")(*args)
    assert v1 == pytest.approx(v0, rel=1e-13)
    _close(g1, g0)
    out, grads = adgen.vjp(fn, argnums=argnums, memory_budget=300, backend="python")(*args,
                                                                                      2.0)
    _close(grads, [2.0 * np.asarray(g) for g in g0])


def test_checkpointed_gradient_matches_finite_differences():
    fn, (r, x0, steps), _ = CASES["logistic_map_vectorized"]
    steps = 12  # the map is chaotic: keep the derivative small enough for differences
    g_r, g_x0 = adgen.grad(fn, argnums=(0, 1), backend="python",
                           memory_budget=200)(r, x0, steps)
    h = 1e-6
    assert g_r == pytest.approx((fn(r + h, x0, steps) - fn(r - h, x0, steps)) / (2 * h),
                                rel=1e-6)
    e = np.zeros_like(x0)
    e[2] = h
    assert g_x0[2] == pytest.approx((fn(r, x0 + e, steps) - fn(r, x0 - e, steps)) / (2 * h),
                                    rel=1e-6)


def test_tapes_fit_the_budget():
    """1000 steps of 50 orbits: 400 KB of tape without a budget; at most 40 KB with."""
    r, x0, steps = logistic_map.make_data(50, 1000, 0)
    fn = logistic_map.logistic_map_vectorized
    plain = adgen.grad(fn, argnums=(0, 1), backend="python")
    assert sum(allocated_tapes(plain, (r, x0, steps))) == 1000 * 50 * 8
    budget = 40_000
    g = adgen.grad(fn, argnums=(0, 1), backend="python", memory_budget=budget)
    report = adgen.memory_report(g, r, x0, steps)
    checkpoints, segment = report.tapes
    assert checkpoints.entries * segment.entries >= 1000      # they cover every step
    assert report.peak_bytes <= budget
    allocations = allocated_tapes(g, (r, x0, steps))
    # the checkpoints once, then one segment tape per segment (one alive at a time)
    assert allocations[0] == checkpoints.bytes and max(allocations[1:]) == segment.bytes
    assert allocations[0] + max(allocations[1:]) <= budget
    assert len(allocations) == 1 + checkpoints.entries


def test_an_unreachable_budget_gets_the_least_memory():
    r, x0, steps = logistic_map.make_data(10, 400, 0)
    g = adgen.grad(logistic_map.logistic_map_vectorized, argnums=(0, 1), backend="python",
                   memory_budget=1)
    checkpoints, segment = adgen.memory_report(g, r, x0, steps).tapes
    assert segment.entries == int(math.sqrt(400)) + 1 and checkpoints.entries == 20


def test_loops_that_write_arrays_in_place_are_left_alone():
    g = adgen.grad(writes_in_place, backend="python", memory_budget=100)
    x = np.array([1.0, 2.0, 3.0])
    assert "segment" not in adgen.source(g, x, 7)
    _close([g(x, 7)], [adgen.grad(writes_in_place, backend="python")(x, 7)])


def test_budget_errors():
    assert parse_budget("200MB") == 200 * 10**6 and parse_budget("64MiB") == 64 * 2**20
    assert parse_budget("1.5GB") == 1_500_000_000 and parse_budget(4096) == 4096
    for bad in ("lots", "12XB", -5, 0, True):
        with pytest.raises(adgen.AdgenTypeError, match="memory_budget"):
            adgen.grad(damped, memory_budget=bad)
    with pytest.raises(ValueError, match="reverse mode"):
        adgen.jvp(damped, memory_budget="1MB")
