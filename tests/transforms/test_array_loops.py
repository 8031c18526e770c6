"""Reverse mode through loops that write arrays (the undo log): gradients against
finite differences on both backends, inputs and returned arrays intact, memory
linear in the number of writes, and no array copied per iteration."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import adgen

_spec = importlib.util.spec_from_file_location(
    "array_loop_cases", Path(__file__).with_name("array_loop_cases.py"))
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

RNG = np.random.default_rng(11)
A5 = RNG.normal(size=5)
CASES = [
    (cases.fill, (0.7, 5), (0,)),
    (cases.recurrence, (A5, 0.8), (0, 1)),
    (cases.overwrite, (A5, 0.9), (0, 1)),
    (cases.matfill, (RNG.normal(size=(3, 4)), RNG.normal(size=4)), (0, 1)),
    (cases.conv1d, (RNG.normal(size=7), RNG.normal(size=3)), (0, 1)),
    (cases.branchy, (A5, 1.3), (0, 1)),
    (cases.whiley, (A5, 0.3), (0, 1)),
    (cases.inplace_acc, (A5 * 0.1,), (0,)),
    (cases.writes_then_sum, (A5,), (0,)),
    (cases.conv4d, (RNG.normal(size=(2, 2, 4, 3)), RNG.normal(size=(2, 2, 2, 2))), (0, 1)),
    (cases.recurrence4d, (RNG.normal(size=(3, 1, 2, 2)), 0.7), (0, 1)),
    (cases.rows_write_only, (RNG.normal(size=(3, 4)), RNG.normal(size=4)), (0, 1)),
    (cases.scatter_add, (RNG.normal(size=5), RNG.normal(size=3)), (0, 1)),
]


def fd(f, args, k, h=1e-6):
    args = list(args)
    if not isinstance(args[k], np.ndarray):
        plus, minus = list(args), list(args)
        plus[k] += h
        minus[k] -= h
        return (f(*plus) - f(*minus)) / (2 * h)
    g = np.zeros_like(args[k])
    for index in np.ndindex(args[k].shape):
        plus = [v.copy() if isinstance(v, np.ndarray) else v for v in args]
        minus = [v.copy() if isinstance(v, np.ndarray) else v for v in args]
        plus[k][index] += h
        minus[k][index] -= h
        g[index] = (f(*plus) - f(*minus)) / (2 * h)
    return g


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("fn, args, argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradient_through_array_writes(fn, args, argnums, backend):
    keep = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    value, grads = adgen.value_and_grad(fn, argnums=argnums, backend=backend)(*args)
    for a, b in zip(args, keep):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
    assert value == pytest.approx(fn(*args), rel=1e-12)
    for k, g in zip(argnums, grads):
        np.testing.assert_allclose(g, fd(fn, args, k), rtol=1e-6, atol=1e-8)
    # forward mode agrees (dot-product test against the reverse gradient)
    tangents = [RNG.normal(size=np.shape(args[k])) if np.shape(args[k]) else RNG.normal()
                for k in argnums]
    _, tangent = adgen.jvp(fn, argnums=argnums, backend=backend)(*args, *tangents)
    expected = sum(float(np.sum(g * t)) for g, t in zip(grads, tangents))
    assert tangent == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_vjp_of_a_returned_array_keeps_the_value_intact(backend):
    a = RNG.normal(size=6)
    w = RNG.normal(size=6)
    value, (ga, gc) = adgen.vjp(cases.scan_out, argnums=(0, 1), backend=backend)(a, 0.7, w)
    np.testing.assert_allclose(value, cases.scan_out(a, 0.7), rtol=1e-14)

    def weighted(a, c):
        return float(np.dot(cases.scan_out(a, c), w))

    np.testing.assert_allclose(ga, fd(weighted, (a, 0.7), 0), rtol=1e-6, atol=1e-9)
    assert gc == pytest.approx(fd(weighted, (a, 0.7), 1), rel=1e-6)


class _CountingLog(list):
    """An undo log that remembers the most entries it ever held."""

    peak = 0

    def append(self, item):
        super().append(item)
        _CountingLog.peak = max(_CountingLog.peak, len(self))


@pytest.mark.parametrize("n", [50, 100, 200, 400])
def test_overwritten_elements_take_memory_proportional_to_the_writes(n, monkeypatch):
    """h[0] before the loop goes to the undo log (index and old value: 2 entries); the
    loop's writes h[i] put their old element on the loop's tape, one entry per write
    (the index is the reverse loop's own)."""
    import adgen.codegen.support as support

    _CountingLog.peak = 0
    monkeypatch.setattr(support, "log_new", _CountingLog)
    a = np.linspace(-1.0, 1.0, n)
    g = adgen.grad(cases.recurrence, backend="python")
    g(a, 0.5)
    assert _CountingLog.peak == 2
    report = adgen.memory_report(g, a, 0.5)
    old = [t for t in report.tapes if "_old_tape" in t.name]
    assert [(t.entries, t.bytes_per_entry) for t in old] == [(n - 1, 8)]


def test_reverse_loop_copies_no_array():
    source = adgen.source(adgen.grad(cases.recurrence, argnums=(0, 1)), A5, 0.8)
    assert ".copy()" not in source
    # the forward sweep tapes each overwritten element; the reverse loop puts it back
    # (h[0] = a[0] before the loop is the one write the undo log records)
    assert "log_undo_to" not in source and source.count("log_write") == 1
    assert re.search(r"^ *h_\w* = _adgen\.push\(|^ *h_\w*_old_tape\[k\w*\] = ", source, re.M)
    assert re.search(r"^ *h\w*\[\w+\] = old\w*$", source, re.M)


@pytest.mark.parametrize("fn, args", [
    (cases.fill, (0.5, 5)),
    (cases.conv4d, (RNG.normal(size=(1, 1, 3, 3)), RNG.normal(size=(1, 1, 2, 2)))),
    (cases.rows_write_only, (RNG.normal(size=(3, 4)), RNG.normal(size=4))),
    (cases.scatter_add, (RNG.normal(size=5), RNG.normal(size=3)))],
    ids=["fill", "conv4d", "rows_write_only", "scatter_add"])
def test_arrays_a_loop_only_writes_need_no_log_and_no_tape(fn, args):
    """Their old elements are never read, so the reverse sweep reads only their adjoint:
    no undo log, no per-iteration tape of the array, and no recomputation of the loop
    that fills them (conv4d stores its tanh values, one scalar tape: adgen/transforms/store.py)."""
    source = adgen.source(adgen.grad(fn, argnums=0), *args)
    assert "log_" not in source
    assert re.findall(r"\w+_tape\b", source) == (["tmp_13_tape"] * 3 if fn is cases.conv4d
                                                   else [])
    if fn is cases.conv4d:  # the accumulation runs in the forward sweep only (tanh is taped)
        assert len(re.findall(r"^ *acc_\w+ \+= x\[", source, re.M)) == 1


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("fn, args", [(cases.recurrence, (A5, 0.8)), (cases.overwrite, (A5, 0.9)),
                                      (cases.branchy, (A5, 1.3))],
                         ids=["recurrence", "overwrite", "branchy"])
def test_hessian_through_array_writes(fn, args, backend):
    H = adgen.hessian(fn, argnums=1, backend=backend)(*args)
    g = adgen.grad(fn, argnums=1, backend=backend)
    assert H == pytest.approx(fd(g, args, 1), rel=1e-5, abs=1e-8)
    v = RNG.normal(size=5)
    hv = adgen.hvp(fn, argnums=0, backend=backend)(*args, v)
    ga = adgen.grad(fn, argnums=0, backend=backend)
    h = 1e-6
    plus, minus = list(args), list(args)
    plus[0] = args[0] + h * v
    minus[0] = args[0] - h * v
    np.testing.assert_allclose(hv, (ga(*plus) - ga(*minus)) / (2 * h), rtol=1e-5, atol=1e-7)


def test_sum_like_of_rank_4_under_numba():
    """The adjoint of broadcasting, summed back to a 4-D operand's shape (a bias (1, c, 1,
    1) of a (n, c, h, w) tensor), by the Numba overload of the support helper."""
    import numba

    from adgen.codegen.support import sum_like

    g = RNG.normal(size=(2, 3, 4, 5))
    compiled = numba.njit(lambda g, like: sum_like(g, like))
    for shape in [(1, 3, 1, 1), (2, 1, 4, 1), (1, 1, 1, 1), (2, 3, 4, 5)]:
        like = np.zeros(shape)
        expected = g.sum(axis=tuple(a for a in range(4) if shape[a] == 1), keepdims=True)
        np.testing.assert_allclose(compiled(g, like), expected, rtol=1e-13)
        np.testing.assert_allclose(sum_like(g, like), expected, rtol=1e-13)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_hessian_through_a_write_only_loop(backend):
    """Forward over reverse through a loop that only writes its array (no undo log)."""
    x, u = A5, RNG.normal(size=3)
    H = adgen.hessian(cases.scatter_add, argnums=(0, 1), backend=backend)(x, u)
    g = adgen.grad(cases.scatter_add, argnums=(0, 1), backend=backend)
    h = 1e-6
    for col, (arg, size) in enumerate([(0, 5), (1, 3)]):
        for k in range(size):
            plus, minus = [x.copy(), u.copy()], [x.copy(), u.copy()]
            plus[arg][k] += h
            minus[arg][k] -= h
            for row in range(2):
                column = (g(*plus)[row] - g(*minus)[row]) / (2 * h)
                np.testing.assert_allclose(H[row][col][:, k], column, rtol=1e-5, atol=1e-7)
