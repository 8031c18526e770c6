"""Checkpointing under `memory_budget=`: the same gradients, and snapshots that fit.

`adgen.grad(f, memory_budget=...)` marks each top-level loop for binomial checkpointing
(adgen/transforms/checkpoint.py); reverse mode keeps as many snapshots as the budget
holds and recomputes the rest on the revolve schedule (adgen/transforms/revolve.py).
Checked here: gradients equal to the unbudgeted ones (1e-12) and to finite differences;
the split helper against a brute-force optimum; the steps the generated code advances
(its calls of the split helper, watched) against the binomial optimum; the arrays it
allocates (watched `np.empty`) against the budget and `memory_report`.
"""

import math
import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import adgen
import adgen.codegen.support as support
from adgen.transforms.checkpoint import parse_budget

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from objectives import logistic_map, ode  # noqa: E402
from test_memory_report import allocated_tapes, run_watched  # noqa: E402


def logistic_scalar(r, x0, steps):
    x = x0
    for t in range(steps):
        x = r * x * (1.0 - x)
    return x


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


# 1000 steps, each case with the bytes one step of it keeps (its carried values and the
# step's position); r = 3.0 keeps the logistic map's derivatives finite and non-trivial
LONG = {
    "scalar": (logistic_scalar, (3.0, 0.3, 1000), (0, 1), 8 + 8),
    "array": (logistic_map.logistic_map_vectorized, (3.0, np.linspace(0.2, 0.8, 4), 1000),
              (0, 1), 4 * 8 + 8),
    "branch_and_inner_loop": (damped, (0.7, np.linspace(-1.0, 1.0, 3), 1000), (0, 1),
                              3 * 8 + 8 + 8),
}


def _fd_gradient(fn, args, argnums, h=1e-6):
    """Central differences w.r.t. each argument in `argnums` (every element of an array)."""
    grads = []
    for i in argnums:
        def at(delta):
            shifted = list(args)
            shifted[i] = args[i] + delta
            return fn(*shifted)
        if np.ndim(args[i]) == 0:
            grads.append((at(h) - at(-h)) / (2 * h))
            continue
        g = np.zeros_like(args[i])
        for k in range(g.size):
            e = np.zeros_like(args[i])
            e.flat[k] = h
            g.flat[k] = (at(e) - at(-e)) / (2 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize("snapshots", [2, 5, 10, 63])
@pytest.mark.parametrize("name", sorted(LONG))
def test_long_loops_under_budgets_far_below_two_levels(name, snapshots):
    """2 sqrt(1000) = 63 entries is the least two-level checkpointing can do; the binomial
    schedule meets any budget, with the same gradient."""
    fn, args, argnums, step_bytes = LONG[name]
    budget = snapshots * step_bytes
    want = adgen.grad(fn, argnums=argnums, backend="python")(*args)
    g = adgen.grad(fn, argnums=argnums, backend="python", memory_budget=budget)
    for got, expected in zip(g(*args), want):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)
    report = adgen.memory_report(g, *args)
    assert report.peak_bytes <= budget
    assert all(t.entries == snapshots for t in report.tapes if "snapshot" in t.name)
    # every allocation is in the report: the snapshots once, an inner loop's tape once
    # (its size is the same in every reverse step: allocated before the loop) or, inside
    # a loop, once per reverse step
    expected = Counter()
    for t in report.tapes:
        expected[t.bytes] += 1000 if t.loops else 1
    assert Counter(allocated_tapes(g, args)) == expected


@pytest.mark.parametrize("name", sorted(LONG))
def test_long_loops_match_finite_differences(name):
    fn, args, argnums, step_bytes = LONG[name]
    g = adgen.grad(fn, argnums=argnums, backend="python", memory_budget=5 * step_bytes)
    for got, fd in zip(g(*args), _fd_gradient(fn, args, argnums)):
        np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-9)


def test_snapshots_fit_where_the_tape_does_not():
    """1000 steps of 50 orbits: 400 KB of tape without a budget; 8 snapshots in 3.3 KB."""
    r, x0, steps = logistic_map.make_data(50, 1000, 0)
    fn = logistic_map.logistic_map_vectorized
    plain = adgen.grad(fn, argnums=(0, 1), backend="python")
    assert sum(allocated_tapes(plain, (r, x0, steps))) == 1000 * 50 * 8
    budget = 8 * (50 * 8 + 8)
    g = adgen.grad(fn, argnums=(0, 1), backend="python", memory_budget=budget)
    report = adgen.memory_report(g, r, x0, steps)
    assert {t.name: (t.entries, t.entry_shape) for t in report.tapes} == {
        "snapshot_step_tape": (8, ()), "x_snapshot_tape": (8, (50,))}
    allocations = allocated_tapes(g, (r, x0, steps))
    assert sorted(allocations) == sorted(t.bytes for t in report.tapes)
    assert sum(allocations) == report.peak_bytes == budget
    _close(g(r, x0, steps), plain(r, x0, steps))


# the schedule ----------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _fewest_advances(steps, snapshots):
    """Brute force over every split: the least number of steps advanced to reverse
    `steps` steps from a snapshotted start with `snapshots` snapshots (its own included)."""
    if steps == 1:
        return 0
    if snapshots == 0:
        return math.inf
    return min(m + _fewest_advances(steps - m, snapshots - 1) + _fewest_advances(m, snapshots)
               for m in range(1, steps))


def _beta(s, r):
    return math.comb(s + r, s) if s >= 0 and r >= 0 else 0


def _binomial_optimum(steps, snapshots):
    """Griewank and Walther's closed form: r n - beta(s + 1, r - 1), r least with
    beta(s, r) >= n."""
    r = 0
    while _beta(snapshots, r) < steps:
        r += 1
    return r * steps - _beta(snapshots + 1, r - 1)


def test_the_closed_form_is_the_brute_force_optimum():
    for steps in range(1, 50):
        for snapshots in range(1, 7):
            assert _fewest_advances(steps, snapshots) == _binomial_optimum(steps, snapshots)


def test_every_split_is_optimal():
    for steps in range(2, 60):
        for snapshots in range(1, 9):
            m = support.revolve_split(steps, snapshots)
            assert 1 <= m < steps
            assert (m + _fewest_advances(steps - m, snapshots - 1)
                    + _fewest_advances(m, snapshots)) == _fewest_advances(steps, snapshots)


def test_checkpoint_below():
    positions = np.array([0, 4, 9, 12, -1])
    assert [support.checkpoint_below(positions, 3, t) for t in (13, 12, 11, 8, 4, 3, -1)] == [
        3, 3, 2, 1, 1, 0, 0]


class _WatchedSupport:
    """adgen.codegen.support, except that the schedule's splits are recorded."""

    def __init__(self):
        self.splits = []  # (steps, snapshots left, steps advanced)

    def __getattr__(self, name):
        return getattr(support, name)

    def revolve_split(self, steps, snapshots):
        m = support.revolve_split(steps, snapshots)
        self.splits.append((steps, snapshots, m))
        return m


def _splits(transformed, args):
    """The splits the generated code makes (python backend) on `args`."""
    return run_watched(transformed, args, "_adgen", _WatchedSupport()).splits


@pytest.mark.parametrize("steps, snapshots", [(1, 1), (2, 1), (9, 1), (30, 2), (45, 3),
                                              (40, 40), (1000, 5), (1000, 10)])
def test_generated_code_advances_the_binomial_optimum(steps, snapshots):
    """Each split advances that many steps: their sum is the schedule's recomputation."""
    g = adgen.grad(logistic_scalar, argnums=(0, 1), backend="python",
                   memory_budget=snapshots * 16)
    splits = _splits(g, (3.0, 0.3, steps))
    assert all(left >= 1 for _, left, _ in splits)          # never past the last snapshot
    assert sum(m for _, _, m in splits) == _binomial_optimum(steps, snapshots)
    if steps < 50:
        assert sum(m for _, _, m in splits) == _fewest_advances(steps, snapshots)


def test_an_unreachable_budget_gets_one_snapshot():
    r, x0, steps = logistic_map.make_data(10, 40, 0)
    fn = logistic_map.logistic_map_vectorized
    g = adgen.grad(fn, argnums=(0, 1), backend="python", memory_budget=1)
    assert {t.entries for t in adgen.memory_report(g, r, x0, steps).tapes} == {1}
    _close(g(r, x0, steps), adgen.grad(fn, argnums=(0, 1), backend="python")(r, x0, steps))


def test_numba_matches_python_under_a_small_budget():
    fn, args, argnums, step_bytes = LONG["scalar"]
    want = adgen.grad(fn, argnums=argnums, backend="python")(*args)
    got = adgen.grad(fn, argnums=argnums, backend="numba", memory_budget=5 * step_bytes)(*args)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_loops_that_write_arrays_in_place_are_left_alone():
    g = adgen.grad(writes_in_place, backend="python", memory_budget=100)
    x = np.array([1.0, 2.0, 3.0])
    assert "snapshot" not in adgen.source(g, x, 7)
    _close([g(x, 7)], [adgen.grad(writes_in_place, backend="python")(x, 7)])


def test_budget_errors():
    assert parse_budget("200MB") == 200 * 10**6 and parse_budget("64MiB") == 64 * 2**20
    assert parse_budget("1.5GB") == 1_500_000_000 and parse_budget(4096) == 4096
    for bad in ("lots", "12XB", -5, 0, True):
        with pytest.raises(adgen.AdgenTypeError, match="memory_budget"):
            adgen.grad(damped, memory_budget=bad)
    with pytest.raises(ValueError, match="reverse mode"):
        adgen.jvp(damped, memory_budget="1MB")
