"""Reverse loops of stencils: gathered (`simplify/gather.py`) and their scalar
accumulations kept per cell (`simplify/cells.py`).

* the adjoint of a stencil time loop adds into each element once, in a loop of its own
  (no chain of `index_add`s at neighbouring offsets is left in any loop), and the
  parameter's adjoint is summed from one cell per inner iteration;
* the gather is valid at every size, the tiny ones whose loops run 0, 1 or 2 times
  included, for an index that counts down (`n - 1 - k`), one offset by an argument
  (`range(lo, hi)`), and one that wraps (`a[i - 1]` at i = 0 is the last element);
* it is not applied where a term reads an element the loop has already changed (a
  recurrence), and the gradient stays right there;
* the gathered loop's element accesses are printed unsigned (`np.uint64(p - 1)`), from
  where none is negative, and innermost reverse loops that walk arrays along rows count
  down in `while` loops: the two forms in which Numba's generated code vectorizes; a
  reverse loop that strides down columns stays a `for` loop (LLVM unrolls it).

Gradients are checked against central differences, forward mode and the dot-product
test, on both back ends.
"""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import adgen
from adgen.api import argument_type
from adgen.ir.ops import walk_ops
from adgen.testing import check_grads, check_vjp
from adgen.transforms.pipeline import simplify
from adgen.transforms.simplify.gather import _LoopFacts
from adgen.transforms.simplify.loop_rewrite import int_constants

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from objectives.heat import heat_elementwise

# the benchmark's heat equation, element-wise copy-back (examples/objectives/heat.py)
heat_steps = heat_elementwise


def periodic(a, w):
    """A stencil whose first iteration reads a[-1] (the last element)."""
    n = a.shape[0]
    total = 0.0
    for i in range(n - 1):
        total += w * a[i - 1] * a[i] + a[i + 1] * a[i + 1]
    return total


def counting_down(a, w, steps):
    """Cells visited last to first, one buffer rebuilt per step."""
    n = a.shape[0]
    b = a.copy()
    c = np.zeros(n)
    for _ in range(steps):
        for k in range(n - 2):
            i = n - 2 - k
            c[i] = w * b[i - 1] + b[i] * b[i + 1]
        for k in range(1, n - 1):
            b[k] = c[k]
    return np.sum(b * b)


def window(a, w, lo, hi):
    """A stencil over [lo, hi), bounds from the caller."""
    s = 0.0
    for i in range(lo, hi):
        s += w * a[i - 1] * a[i + 2] + a[i] * a[i]
    return s


def recurrence(a, w):
    """Each element from the one the loop wrote just before: nothing to gather."""
    b = a.copy()
    for i in range(1, b.shape[0]):
        b[i] = w * b[i - 1] + b[i]
    return np.sum(b * b)


def _reverse_ir(f, args, argnums, simplified=True):
    """The gradient's IR, after the simplification passes (or before)."""
    g = adgen.grad(f, argnums=argnums, backend="python")
    types = tuple(argument_type(a, f"arg{k}") for k, a in enumerate(args))
    fn = g.transformed_ir(types)
    return simplify(fn) if simplified else fn


def _scatter_loops(fn) -> int:
    """Loops of `fn` that still scatter into one array at two or more offsets."""
    count = 0
    for op in walk_ops(fn.body):
        if op.opcode != "for":
            continue
        facts = _LoopFacts(op, int_constants(fn))
        count += sum(facts.stencil(slot) is not None
                     for slot in range(len(op.regions[0].args) - 1))
    return count


def test_the_heat_adjoint_gathers_and_sums_r_in_cells():
    args = (np.linspace(0.1, 1.0, 9) ** 2, 0.23, 4)
    fn = _reverse_ir(heat_steps, args, (0, 1))
    assert _scatter_loops(fn) == 0
    source = adgen.source(adgen.grad(heat_steps, argnums=(0, 1), backend="numba"), *args)
    assert "r_bar_cells = np.zeros(" in source, source
    assert "np.sum(r_bar_cells)" in source, source
    # the gathered element: three neighbours' adjoints added into one element, in a loop
    # that starts where no index is negative, its indices printed unsigned (Numba then
    # skips the test for a wrapping index, and the loop vectorizes)
    main = source[source.index("for j in range(main_count):"):]
    main = main[:main.index("\n        for ")]
    assert main.count("np.uint64(") == 4, main
    assert "main_from = " in source
    # the inner reverse loops count down in `while` loops on the numba backend (Numba's
    # `range(n - 1, -1, -1)` hides that the counter stays >= 0 from LLVM); the outer
    # one, over time steps, stays a `for`
    assert len(re.findall(r"^ {8}while k_\d+ >= 0:$", source, re.MULTILINE)) == 2, source
    assert len(re.findall(r"^ {4}for k_\d+ in range\(n - 1, -1, -1\):$", source, re.MULTILINE)) == 1


def test_the_same_loop_without_the_passes_scatters():
    """The check above can fail: the reverse sweep before simplification scatters."""
    args = (np.linspace(0.1, 1.0, 9) ** 2, 0.23, 4)
    assert _scatter_loops(_reverse_ir(heat_steps, args, (0, 1), simplified=False)) >= 1


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("m, steps", [(9, 4), (3, 2), (2, 3), (4, 1), (5, 0)])
def test_heat_gradients_at_every_size(backend, m, steps):
    u0 = np.cos(np.arange(m) * 0.7) + 0.2
    check_grads(heat_steps, (u0, 0.21, steps), argnums=(0, 1), backend=backend,
                rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_heat_dot_product(backend):
    u0 = np.sin(np.arange(11) * 0.9)
    check_vjp(heat_steps, (u0, 0.18, 5), argnums=(0, 1), backend=backend)


@pytest.mark.parametrize("f, args", [
    (periodic, (np.array([0.3, -1.2, 0.7, 2.0, 0.4]), 0.8)),
    (periodic, (np.array([0.3, -1.2]), 0.8)),
    (counting_down, (np.array([0.5, -0.3, 1.1, 0.9, -0.8, 0.2]), 0.7, 3)),
    (counting_down, (np.array([0.5, -0.3, 1.1]), 0.7, 2)),
    (window, (np.linspace(-1.0, 1.0, 8), 1.3, 1, 5)),
    (window, (np.linspace(-1.0, 1.0, 8), 1.3, 3, 3)),
    (window, (np.linspace(-1.0, 1.0, 8), 1.3, 2, 3)),
    (recurrence, (np.array([0.2, 0.9, -0.4, 1.5]), 0.6)),
])
@pytest.mark.parametrize("backend", ["python", "numba"])
def test_gathered_gradients(f, args, backend):
    check_grads(f, args, argnums=(0, 1), backend=backend, rtol=1e-6, atol=1e-9)
    check_vjp(f, args, argnums=(0, 1), backend=backend)


@pytest.mark.parametrize("f, args", [
    (periodic, (np.array([0.3, -1.2, 0.7, 2.0, 0.4]), 0.8)),
    (counting_down, (np.array([0.5, -0.3, 1.1, 0.9, -0.8, 0.2]), 0.7, 3)),
    (window, (np.linspace(-1.0, 1.0, 8), 1.3, 1, 5)),
])
def test_these_stencils_are_gathered(f, args):
    assert _scatter_loops(_reverse_ir(f, args, (0, 1), simplified=False)) == 1
    assert _scatter_loops(_reverse_ir(f, args, (0, 1))) == 0


def test_a_recurrence_is_left_alone():
    """Its adjoint reads b_bar at the element the loop writes one iteration later."""
    args = (np.array([0.2, 0.9, -0.4, 1.5]), 0.6)
    source = adgen.source(adgen.grad(recurrence, argnums=(0, 1), backend="python"), *args)
    assert "for p" not in source, source


def test_heat_hessian_vector_product():
    u0 = np.cos(np.arange(7) * 0.5)
    check_grads(heat_steps, (u0, 0.2, 3), argnums=(0, 1), order=2, backend="python",
                rtol=1e-5, atol=1e-7)


def column_recurrences(A, w):
    """The inner loop is a recurrence down a column (A[i, j] over i): its reverse runs
    backwards, striding down the column."""
    total = 0.0
    for j in range(A.shape[1]):
        s = 0.0
        for i in range(A.shape[0]):
            s = s * w[j] + A[i, j] * A[i, j]
        total += s
    return total


def test_only_row_walking_inner_reverse_loops_count_down():
    A = np.arange(12.0).reshape(3, 4) / 7.0
    w = np.linspace(0.5, 1.5, 4)
    source = adgen.source(adgen.grad(column_recurrences, argnums=(0, 1), backend="numba"),
                          A, w)
    assert "while " not in source, source
    assert len(re.findall(r"in range\(\w+(?: - 1)?, -1, -1\):", source)) == 1, source
    check_grads(column_recurrences, (A, w), argnums=(0, 1), backend="numba")


def orbits(r, x0, steps):
    """Each inner loop is a recurrence in x: serial however r_bar is summed."""
    total = 0.0
    for i in range(x0.shape[0]):
        x = x0[i]
        for _ in range(steps):
            x = r * x * (1.0 - x)
        total += x
    return total


def test_cells_only_where_the_sums_are_the_only_chain():
    args = (3.1, np.array([0.2, 0.4, 0.7]), 6)
    source = adgen.source(adgen.grad(orbits, argnums=(0, 1), backend="numba"), *args)
    assert "_cells" not in source, source
    check_grads(orbits, args, argnums=(0, 1), backend="numba")
    heat = adgen.source(adgen.grad(heat_steps, argnums=(0, 1), backend="numba"),
                        np.linspace(0.1, 1.0, 9), 0.23, 4)
    assert "r_bar_cells" in heat
