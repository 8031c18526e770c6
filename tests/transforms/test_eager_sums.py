"""Loops that sum independent terms, reversed one iteration at a time
(`transforms/eager.py`); reverse loops skipped where their seeds are exactly zero
(`transforms/vanish.py`); reverse loops whose iterations only add into adjoints from
outside, run forwards.

* a top-level loop `total += term(i)` gets no tape: each iteration's reverse sweep
  follows its primal code, into partial adjoints that the reverse sweep scales by
  `total_bar` (also where `total_bar` depends on `total`, where `total` starts from an
  active value, for chains of `+=`/`-=`, and under Hessians);
* loops that carry anything else active, or read the sum elsewhere, are taped as before;
* the reverse of `max(mx, term(c))`'s term runs only where its adjoint is non-zero;
* the reverse of an inner sum loop runs forwards; that of a recurrence backwards.

Gradients against central differences, forward mode and the dot-product test, on
both back ends.
"""

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import adgen
from adgen.testing import check_grads, check_vjp

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from objectives.conv1d import conv1d_loops
from objectives.logistic_regression import logistic_regression_loops

BACKENDS = ["python", "numba"]


def log_of_sum(x, w):
    """The sum's adjoint (1 / total) depends on the sum itself."""
    total = 0.0
    for i in range(x.shape[0]):
        total += math.exp(w * x[i])
    return math.log(total)


def chained(x, w):
    """A sum started from an active value, added to and subtracted from twice per
    iteration, with a per-iteration inner loop and branch."""
    total = w * x[0]
    n = x.shape[0]
    for i in range(1, n):
        s = 0.0
        for j in range(i):
            s += x[j] * w
        if s > 0.0:
            term = math.sin(s)
        else:
            term = s * s
        total -= term
        total = total + x[i] * x[i - 1]
    return total * total


def read_elsewhere(x, w):
    """`total` read by the term: a recurrence, not a sum of independent terms."""
    total = 1.0
    for i in range(x.shape[0]):
        total += w * total * x[i]
    return total


def max_of_terms(a, x):
    """max over c of an inner-loop term (the GMM loop source's shape)."""
    k = a.shape[0]
    d = x.shape[0]
    mx = -1e300
    for c in range(k):
        t = 0.0
        for j in range(d):
            t += a[c, j] * x[j] * x[j]
        mx = max(mx, t)
    return mx


def recurrence_inner(x, w):
    total = 0.0
    for i in range(x.shape[0]):
        s = 1.0
        for j in range(x.shape[0]):
            s = s * w + x[j]
        total += s * x[i]
    return total


def _data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(7, 3))
    return rng.normal(size=3), 0.1, X, (rng.random(7) > 0.5).astype(float), 0.01


def _loops(text: str, counter: str) -> list[str]:
    return re.findall(rf"^ *for \w+ in range\(({counter})\):", text, re.M)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sum_over_examples_has_no_tape(backend):
    data = _data()
    check_grads(logistic_regression_loops, data, argnums=(0, 1), backend=backend)
    check_vjp(logistic_regression_loops, data, argnums=(0, 1), backend=backend)
    text = adgen.source(adgen.grad(logistic_regression_loops, argnums=(0, 1),
                                   backend=backend), *data)
    assert "_tape" not in text and "tape_memory" not in text
    # one loop over the examples, whose body runs z's dot product forward, then back
    assert len(_loops(text, "n")) == 1
    body = text[text.index("for i_1 in range(n):"):]
    assert body.index("z_2 += X[i_1, j_2] * w[j_2]") < body.index("w_bar[")
    # the partials are scaled by the sum's adjoint (1 / n) after the loop, in place, by
    # a loop (Numba compiles an array expression into the function, slowly)
    assert re.search(r"^    for (q\w*) in range\(\w+\):\n(?:        .*\n)*?"
                     r"        w_bar\w*\[\1\] \+?= ", text, re.M), text
    assert not re.search(r"^    w_bar\w* = .*\* w_bar", text, re.M)


@pytest.mark.parametrize("backend", BACKENDS)
def test_inner_sum_loops_reverse_forwards(backend):
    rng = np.random.default_rng(0)
    args = (rng.normal(size=12), 0.5 * rng.normal(size=4), 0.5 * rng.normal(size=9))
    check_grads(conv1d_loops, args, argnums=(0, 1), backend=backend)
    check_vjp(conv1d_loops, args, argnums=(0, 1), backend=backend)
    text = adgen.source(adgen.grad(conv1d_loops, argnums=(0, 1), backend=backend), *args)
    assert "_tape" not in text
    # the window's reverse: forwards, as the hand-written adjoint
    assert _loops(text, r"n_\d+") and ", -1, -1)" not in text and "while" not in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_recurrence_reverses_backwards(backend):
    rng = np.random.default_rng(1)
    args = (rng.normal(size=5), 0.7)
    check_grads(recurrence_inner, args, argnums=(0, 1), backend=backend)
    text = adgen.source(adgen.grad(recurrence_inner, argnums=(0, 1), backend=backend), *args)
    assert "_tape" in text  # s of the inner loop, per iteration of the outer one
    assert ", -1, -1)" in text or "while" in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_sum_adjoint_that_depends_on_the_sum(backend):
    rng = np.random.default_rng(2)
    args = (rng.normal(size=6), 0.4)
    check_grads(log_of_sum, args, argnums=(0, 1), backend=backend, order=2)
    check_vjp(log_of_sum, args, argnums=(0, 1), backend=backend)
    assert "_tape" not in adgen.source(adgen.grad(log_of_sum, argnums=(0, 1),
                                                  backend=backend), *args)


@pytest.mark.parametrize("backend", BACKENDS)
def test_chained_sums_started_from_an_active_value(backend):
    rng = np.random.default_rng(4)
    args = (rng.normal(size=6), 0.3)
    check_grads(chained, args, argnums=(0, 1), backend=backend, order=2)
    check_vjp(chained, args, argnums=(0, 1), backend=backend)
    text = adgen.source(adgen.grad(chained, argnums=(0, 1), backend=backend), *args)
    assert len(_loops(text, "1, n")) == 1 and not re.search(r"total\w*_tape", text)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sum_read_by_its_terms_is_taped(backend):
    rng = np.random.default_rng(5)
    args = (0.3 * rng.normal(size=6), 0.8)
    check_grads(read_elsewhere, args, argnums=(0, 1), backend=backend)
    text = adgen.source(adgen.grad(read_elsewhere, argnums=(0, 1), backend=backend), *args)
    assert re.search(r"total\w*_tape", text)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_terms_that_lose_the_max_are_not_reversed(backend):
    rng = np.random.default_rng(6)
    args = (rng.normal(size=(4, 3)), rng.normal(size=3))
    check_grads(max_of_terms, args, argnums=(0, 1), backend=backend)
    check_vjp(max_of_terms, args, argnums=(0, 1), backend=backend)
    text = adgen.source(adgen.grad(max_of_terms, argnums=(0, 1), backend=backend), *args)
    guard = re.search(r"^( *)flows = (\w+) != 0\.0\n\1if flows:\n\1    for ", text, re.M)
    assert guard, text
    # skipped, the loop leaves the adjoints as they were: the losers' rows are exact 0
    grad_a = adgen.grad(max_of_terms, argnums=0, backend=backend)(*args)
    winner = int(np.argmax(args[0] @ (args[1] * args[1])))
    assert np.all(np.delete(grad_a, winner, axis=0) == 0.0)
    np.testing.assert_allclose(grad_a[winner], args[1] * args[1], rtol=1e-14)


def test_tied_terms_share_the_adjoint():
    a = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]])
    x = np.array([0.5, -1.5])
    grad_a = adgen.grad(max_of_terms, argnums=0, backend="python")(a, x)
    np.testing.assert_allclose(grad_a[:2], 0.5 * np.tile(x * x, (2, 1)), rtol=1e-14)
    assert np.all(grad_a[2] == 0.0)


def refilled_scratch(x, w):
    """A scratch vector refilled per iteration, updated in place, then read."""
    n, d = x.shape
    row = np.empty(d)
    total = 0.0
    for i in range(n):
        for j in range(d):
            row[j] = w[j] * x[i, j]
        for j in range(1, d):
            row[j] += row[j - 1] * w[j]
        for j in range(d):
            total += math.sin(row[j])
    return total


def carried_over(x, w):
    """`row` keeps what the previous iteration left: not scratch."""
    n, d = x.shape
    row = np.zeros(d)
    total = 0.0
    for i in range(n):
        for j in range(d):
            row[j] = 0.5 * row[j] + w[j] * x[i, j]
        for j in range(d):
            total += row[j] * row[j]
    return total


def read_after(x, w):
    """`row` is read after the loop: what the last iteration left matters."""
    n, d = x.shape
    row = np.empty(d)
    total = 0.0
    for i in range(n):
        for j in range(d):
            row[j] = w[j] * x[i, j]
        for j in range(d):
            total += row[j] * row[j]
    return total + row[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_scratch_arrays_refilled_per_iteration(backend):
    rng = np.random.default_rng(7)
    args = (rng.normal(size=(5, 4)), rng.normal(size=4))
    check_grads(refilled_scratch, args, argnums=(0, 1), backend=backend, order=2)
    check_vjp(refilled_scratch, args, argnums=(0, 1), backend=backend)
    text = adgen.source(adgen.grad(refilled_scratch, argnums=(0, 1), backend=backend), *args)
    # one loop over the rows, no reverse loop over them; the tapes hold one row
    assert len(_loops(text, "n")) == 1 and "range(n - 1, -1, -1)" not in text
    # (allocated by np.empty, not from the caller's tape memory: small, reused per row)
    sizes = re.findall(r"_tape = np\.empty\((\w+), dtype=np\.float64\)", text)
    assert sizes and all(re.search(rf"^ +{n} = _adgen\.trip_count\(\w+, tmp_1, 1\)$",
                                   text, re.M) for n in sizes)
    # row's adjoint is allocated once, before the loop
    loop = text.index("for i_1 in range(")
    assert "zeros_like(row)" in text[:loop] and "zeros_like" not in text[loop:]


@pytest.mark.parametrize("f", [carried_over, read_after])
def test_arrays_that_outlive_an_iteration_are_taped(f):
    rng = np.random.default_rng(8)
    args = (rng.normal(size=(5, 3)), rng.normal(size=3))
    check_grads(f, args, argnums=(0, 1), backend="python")
    text = adgen.source(adgen.grad(f, argnums=(0, 1), backend="python"), *args)
    assert re.search(r"for \w+ in range\(\w+ - 1, -1, -1\)", text), text


def column_dots(W, x):
    """The inner sum strides down a column of W."""
    total = 0.0
    for k in range(W.shape[1]):
        a = 0.0
        for j in range(W.shape[0]):
            a += W[j, k] * x[j]
        total += math.tanh(a)
    return total


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reverse_loop_down_a_column_runs_backwards(backend):
    """Backwards, it finds in cache the lines its forward loop read last (the MLP's
    loop source: 4.5 against 6.9 s forwards)."""
    rng = np.random.default_rng(9)
    args = (rng.normal(size=(5, 3)), rng.normal(size=5))
    check_grads(column_dots, args, argnums=(0, 1), backend=backend)
    text = adgen.source(adgen.grad(column_dots, argnums=(0, 1), backend=backend), *args)
    assert "_tape" not in text and re.search(r"for \w+ in range\(\w+(?: - 1)?, -1, -1\)", text)


def hinge(w, X, y):
    """A sum added to in one branch only."""
    total = 0.0
    for i in range(X.shape[0]):
        m = 0.0
        for j in range(X.shape[1]):
            m += X[i, j] * w[j]
        m = y[i] * m
        if m < 1.0:
            total += 1.0 - m
    return total / X.shape[0]


def capped(w, X):
    """The branch reads the sum: not a sum of independent terms."""
    total = 0.0
    for i in range(X.shape[0]):
        t = X[i, 0] * w[0] + X[i, 1] * w[1]
        if total < 2.0:
            total += t * t
    return total


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sum_added_to_in_a_branch(backend):
    rng = np.random.default_rng(10)
    X = rng.normal(size=(8, 3))
    y = np.where(rng.random(8) > 0.5, 1.0, -1.0)
    args = (0.3 * rng.normal(size=3), X, y)
    check_grads(hinge, args, argnums=0, backend=backend)
    check_vjp(hinge, args, argnums=0, backend=backend)
    text = adgen.source(adgen.grad(hinge, argnums=0, backend=backend), *args)
    # no tape, no loop backwards over the examples (nor over the features: rows)
    assert "_tape" not in text and ", -1, -1)" not in text and "while" not in text


def test_a_branch_that_reads_the_sum_is_taped():
    rng = np.random.default_rng(11)
    args = (rng.normal(size=2), rng.normal(size=(6, 2)))
    check_grads(capped, args, argnums=(0, 1), backend="python")
    text = adgen.source(adgen.grad(capped, argnums=(0, 1), backend="python"), *args)
    assert re.search(r"total\w*_tape", text), text
