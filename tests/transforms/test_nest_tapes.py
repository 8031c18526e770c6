"""What the forward sweep of a loop nest tapes, and what it no longer needs to.

* an inner loop whose bounds change with the loops around it (a triangular loop) is
  counted before the nest: its tapes are allocated at their exact size (no `push`);
* a running index (`t += 1` in an inner loop) is recomputed in reverse, not taped;
* the element a write overwrites is not taped when a loop overwrites the whole array
  before anything reads it again (`needed.unread_restores`); it still is when a read
  comes between;
* a reverse loop that adds into one element at a fixed index accumulates a scalar
  (`simplify/promote.py`).

Each case's gradient is checked against central differences and forward mode.
"""

import math
import re

import numpy as np
import pytest

import adgen


def packed_triangle(q, x, w):
    """Q x for a lower-triangular Q stored packed, column by column, with a scratch
    vector refilled per row of w (the GMM's `qxcentered`), then a sum of squares."""
    d = x.shape[0]
    out = np.empty(d)
    total = 0.0
    for r in range(w.shape[0]):
        for j in range(d):
            out[j] = math.exp(q[j]) * (x[j] - w[r, j])
        t = d
        for col in range(d):
            for row in range(col + 1, d):
                out[row] += q[t] * (x[col] - w[r, col])
                t += 1
        for j in range(d):
            total += out[j] * out[j]
    return total


def read_between(q, x, w):
    """As `packed_triangle`, but the scratch vector is read between the loop that
    overwrites it and the update: that update's old elements must be taped."""
    d = x.shape[0]
    out = np.empty(d)
    total = 0.0
    for r in range(w.shape[0]):
        for j in range(d):
            out[j] = math.exp(q[j]) * (x[j] - w[r, j])
        t = d
        for col in range(d):
            for row in range(col + 1, d):
                out[row] += q[t] * out[col]
                t += 1
        for j in range(d):
            total += out[j] * math.sin(out[j])
    return total


def _data(d=4, rows=3, seed=0):
    rng = np.random.default_rng(seed)
    return (0.3 * rng.normal(size=d * (d + 1) // 2), rng.normal(size=d),
            rng.normal(size=(rows, d)))


def _fd(f, args, i, h=1e-6):
    out = np.zeros_like(args[i])
    for k in np.ndindex(args[i].shape):
        plus = [a.copy() for a in args]
        minus = [a.copy() for a in args]
        plus[i][k] += h
        minus[i][k] -= h
        out[k] = (f(*plus) - f(*minus)) / (2 * h)
    return out


@pytest.mark.parametrize("f", [packed_triangle, read_between])
def test_gradient_against_finite_differences_and_forward_mode(f):
    args = _data()
    grads = adgen.grad(f, argnums=(0, 1, 2), backend="python")(*args)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, _fd(f, args, i), rtol=1e-6, atol=1e-8)
    rng = np.random.default_rng(1)
    tangents = [rng.normal(size=a.shape) for a in args]
    _, dot = adgen.jvp(f, argnums=(0, 1, 2), backend="python")(*args, *tangents)
    assert dot == pytest.approx(sum(float(np.sum(g * t)) for g, t in zip(grads, tangents)),
                                rel=1e-12)


def _tapes(f, *args):
    return {t.name: t for t in adgen.memory_report(
        adgen.grad(f, argnums=(0, 1, 2), backend="python"), *args).tapes}


def test_the_triangular_loop_is_counted_and_its_running_index_not_taped():
    args = _data(d=5, rows=3)
    source = adgen.source(adgen.grad(packed_triangle, argnums=(0, 1, 2), backend="python"),
                          *args)
    assert "push" not in source
    tapes = _tapes(packed_triangle, *args)
    assert not any(t.growable for t in tapes.values())
    # t is taped once per column (where the inner loop starts from), never per row; the
    # loop over the rows sums independent terms, so its tapes hold one row
    # (transforms/eager.py)
    assert [t.entries for name, t in tapes.items() if name.startswith("t_")] == [5]
    assert max(t.entries for t in tapes.values()) == 5


def test_an_update_overwritten_whole_before_any_read_keeps_no_tape():
    args = _data(d=5, rows=3)
    kept = _tapes(packed_triangle, *args)
    # no tape of out's old elements: the update's are overwritten whole before any read,
    # and so are those of the loop that refills it per row (out is scratch space of the
    # loop over rows, whose iterations are reversed one by one: what an iteration finds
    # in out is dead, transforms/eager.py)
    assert [t.entries for name, t in kept.items() if name.startswith("out_")] == []
    # read between: the update's overwritten elements (10 per row) are taped
    read = _tapes(read_between, *args)
    assert sorted(t.entries for name, t in read.items() if name.startswith("out_")) == [10]


def accumulate(a, b):
    """The reverse of the inner loop adds into a_bar[i] at a fixed i."""
    total = 0.0
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            total += a[i] * math.sin(b[j] * a[i])
    return total


def test_a_fixed_element_is_accumulated_in_a_scalar():
    a, b = np.linspace(0.1, 0.9, 4), np.linspace(-0.5, 1.2, 6)
    g = adgen.grad(accumulate, argnums=(0, 1), backend="python")
    source = adgen.source(g, a, b)
    sums = re.findall(r"^ *(\w+_sum) \+= ", source, re.MULTILINE)
    assert sums, source
    assert re.search(rf"^ *\w+\[\w+\] \+= {sums[0]}$", source, re.MULTILINE)
    ga, gb = g(a, b)
    np.testing.assert_allclose(ga, _fd(accumulate, [a, b], 0), rtol=1e-6)
    np.testing.assert_allclose(gb, _fd(accumulate, [a, b], 1), rtol=1e-6)
    # an empty inner loop: the element is not touched
    ga0, gb0 = g(a, b[:0])
    np.testing.assert_array_equal(ga0, np.zeros(4))
    assert gb0.shape == (0,)


def test_numba_agrees_with_the_python_backend():
    args = _data(d=6, rows=4)
    py = adgen.grad(packed_triangle, argnums=(0, 1, 2), backend="python")(*args)
    nb = adgen.grad(packed_triangle, argnums=(0, 1, 2), backend="numba")(*args)
    for p, n in zip(py, nb):
        np.testing.assert_allclose(n, p, rtol=1e-13, atol=1e-14)
