"""Slice assignments whose right-hand side is element-wise in slices of the array written
(`u[1:-1] = u[1:-1] + r * (u[:-2] - 2.0 * u[1:-1] + u[2:])`), inside loops, in reverse
mode (`transforms/scalarize.py`): the right-hand side is computed element by element into
one scratch array allocated before the loops (NumPy evaluates it whole before it writes),
then copied into the slice: no array temporaries per iteration.

Values and gradients against the function itself, central differences and forward mode,
on both back ends; what is generated; what is left to the array path.
"""

import re

import numpy as np
import pytest

import adgen
from tests.transforms.test_array_idioms import _fd, _loop_allocations

BACKENDS = ["python", "numba"]


def shifted(u0, r, n):
    """u[2:] reads u[:-2]: element by element in place, the result would differ."""
    u = u0.copy()
    for t in range(n):
        u[2:] = u[2:] + r * u[:-2]
    return np.sum(u * u)


def whole(u0, r, n):
    u = u0.copy()
    for t in range(n):
        u[:] = np.tanh(r * u) + 0.5 * u
    return np.sum(u * u)


def two_levels(u0, r, n):
    """Threaded through two loops; the array read between them."""
    u = u0.copy()
    total = 0.0
    for s in range(2):
        for t in range(n):
            u[1:-1] = u[1:-1] + r * (u[:-2] - 2.0 * u[1:-1] + u[2:])
        total += u[1] * u[2]
    return total


def another_array(u0, r, n):
    """Reads a slice of another array: left to the array path."""
    u = u0.copy()
    v = u0 * r
    for t in range(n):
        u[1:] = u[:-1] * r + v[1:]
    return np.sum(u * u)


U0 = np.sin(np.linspace(0.0, 3.0, 9)) + 0.1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("f", [shifted, whole, two_levels, another_array])
def test_gradients(f, backend):
    args = (U0, 0.3, 4)
    keep = U0.copy()
    value, (gu, gr) = adgen.value_and_grad(f, argnums=(0, 1), backend=backend)(*args)
    np.testing.assert_array_equal(U0, keep)
    assert value == pytest.approx(f(*args), rel=1e-13)
    np.testing.assert_allclose(gu, _fd(f, args, 0), rtol=1e-6, atol=1e-8)
    assert gr == pytest.approx(_fd(f, args, 1), rel=1e-6, abs=1e-8)
    du = np.cos(np.arange(U0.size))
    _, tangent = adgen.jvp(f, argnums=(0, 1), backend=backend)(*args, du, 0.7)
    assert tangent == pytest.approx(float(np.sum(gu * du)) + 0.7 * gr, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("f", [shifted, whole, two_levels])
def test_one_scratch_array_before_the_loops(f):
    source = adgen.source(adgen.grad(f, argnums=(0, 1), backend="python"), U0, 0.3, 4)
    body = source[source.index("def "):]
    assert len(re.findall(r"^    u_next = np\.empty\(\w+, dtype=np\.float64\)$", body,
                          re.M)) == 1, body
    assert _loop_allocations(body) == []


def test_another_array_stays_on_the_array_path():
    source = adgen.source(adgen.grad(another_array, argnums=(0, 1), backend="python"),
                          U0, 0.3, 4)
    assert "u_next" not in source and _loop_allocations(source)


def test_a_loop_that_never_runs():
    value, (gu, gr) = adgen.value_and_grad(shifted, argnums=(0, 1))(U0, 0.3, 0)
    assert value == pytest.approx(np.sum(U0 * U0), rel=1e-14)
    np.testing.assert_allclose(gu, 2 * U0, rtol=1e-14)
    assert gr == 0.0
