"""The time-stepping idioms of loop code (tests/transforms/idiom_cases.py) in reverse mode,
forward mode, Hessians and HVPs, on both back ends: gradients against central finite
differences, forward against reverse (the dot-product test), the caller's arrays intact;
and the shape of what reverse mode generates for them: one forward sweep and one reverse
sweep of each loop nest, tapes allocated before the loops, nothing allocated in a loop
body that the user's body does not allocate."""

import ast
import importlib.util
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

import adgen

_spec = importlib.util.spec_from_file_location(
    "idiom_cases", Path(__file__).with_name("idiom_cases.py"))
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

RNG = np.random.default_rng(16)
U0 = np.sin(np.linspace(0.0, 3.0, 9))
CASES = {
    "heat_elementwise": (U0, 0.2, 6),
    "heat_slice_copy": (U0, 0.2, 5),
    "heat_swap": (U0, 0.2, 5),
    "heat_slices": (U0, 0.2, 6),
    "heat_rebound": (U0, 0.2, 6),
    "rotate_three": (U0, 0.3, 7),
    "rows_and_columns": (RNG.normal(size=(3, 4)), 0.7, 3),
    "while_carry": (U0 + 1.0, 0.9, 0.5),
    "while_inplace": (U0 + 0.5, 0.8, 0.1),
    "early_exit": (0.3 * U0, 0.4, 6),
}
# every idiom's loop nest runs once in each sweep (transforms/nest.py); these compute
# arrays in their loop bodies (slices, array expressions), which NumPy allocates
COMPUTES_ARRAYS = ["heat_rebound", "rows_and_columns"]


def _fd(f, args, k, h=1e-6):
    def at(x):
        moved = list(args)
        moved[k] = x
        return f(*moved)
    x = args[k]
    if not isinstance(x, np.ndarray):
        return (at(x + h) - at(x - h)) / (2 * h)
    g = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[index] = h
        g[index] = (at(x + e) - at(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_against_finite_differences_and_forward_mode(name, backend):
    fn, args = getattr(cases, name), CASES[name]
    keep = args[0].copy()
    value, (gu, gr) = adgen.value_and_grad(fn, argnums=(0, 1), backend=backend)(*args)
    np.testing.assert_array_equal(args[0], keep)  # the caller's array is not written
    assert value == pytest.approx(fn(*args), rel=1e-13)
    np.testing.assert_allclose(gu, _fd(fn, args, 0), rtol=1e-6, atol=1e-8)
    assert gr == pytest.approx(_fd(fn, args, 1), rel=1e-6, abs=1e-8)
    du, dr = RNG.normal(size=args[0].shape), RNG.normal()
    _, tangent = adgen.jvp(fn, argnums=(0, 1), backend=backend)(*args, du, dr)
    assert tangent == pytest.approx(float(np.sum(gu * du)) + gr * dr, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", ["heat_elementwise", "heat_swap", "heat_slices",
                                  "while_inplace"])
def test_hessian_and_hvp(name):
    fn, args = getattr(cases, name), CASES[name]
    grad_r = adgen.grad(fn, argnums=1, backend="python")
    H = adgen.hessian(fn, argnums=1, backend="python")(*args)
    assert H == pytest.approx(_fd(grad_r, args, 1), rel=1e-5, abs=1e-7)
    v = RNG.normal(size=args[0].shape)
    hv = adgen.hvp(fn, argnums=0, backend="python")(*args, v)
    grad_u = adgen.grad(fn, argnums=0, backend="python")
    h = 1e-6
    plus = (args[0] + h * v,) + args[1:]
    minus = (args[0] - h * v,) + args[1:]
    np.testing.assert_allclose(hv, (grad_u(*plus) - grad_u(*minus)) / (2 * h),
                               rtol=1e-5, atol=1e-7)


def test_hessian_through_a_swap_on_numba():
    fn, args = cases.heat_swap, CASES["heat_swap"]
    H = adgen.hessian(fn, argnums=1)(*args)
    assert H == pytest.approx(adgen.hessian(fn, argnums=1, backend="python")(*args),
                              rel=1e-12)


def _loop_allocations(source: str, calls=("empty", "zeros", "zeros_like", "copy", "push",
                                          "log_new")) -> list:
    """The calls of `calls` inside loop bodies of `source`."""
    found = []

    def visit(node, in_loop):
        for child in ast.iter_child_nodes(node):
            if in_loop and isinstance(child, ast.Call):
                f = child.func
                if (f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")) in calls:
                    found.append(ast.unparse(child))
            visit(child, in_loop or isinstance(child, (ast.For, ast.While)))
    visit(ast.parse(source), False)
    return found


PERIOD = {"heat_swap": 2, "rotate_three": 3}


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_forward_and_one_reverse_sweep(name):
    """No loop of the user's runs again inside the reverse of another: each appears once
    in the forward sweep and once in the reverse sweep (a rotation of p arrays is unrolled:
    p copies of its body in the loop, p - 1 after it); tapes are allocated before the loops
    (a while loop's grow by doubling, `push`); no array goes back to the start of an
    iteration (`log_undo_to`) inside a loop: each write is undone once, as the reverse sweep
    passes it (the iterations a rotation leaves over run in `if`s, reversed as `if`s are)."""
    fn, args = getattr(cases, name), CASES[name]
    source = adgen.source(adgen.grad(fn, argnums=(0, 1), backend="python"), *args)
    body = source[source.index("def "):]
    if name not in COMPUTES_ARRAYS:
        assert [a for a in _loop_allocations(body) if "push" not in a] == []
    # no undo log inside a loop (a rotation's left-over iterations, in `if`s after the
    # unrolled loop, are reversed as `if`s are: their writes are logged, once each)
    looped = body if name not in PERIOD else _top_level_loops(body)
    assert _loop_allocations(looped, ("log_undo_to", "log_write", "log_undo_last")) == []
    # the forward sweep ends where the first adjoint is computed
    first_adjoint = re.search(r"^ *\w+_bar\w* = ", body, re.M).start()
    forward, reverse = body[:first_adjoint], body[first_adjoint:]
    loops_forward = len(re.findall(r"^ *(?:for|while) ", forward, re.M))
    # (a stencil's adjoint is gathered in loops of its own over the elements, `for p` and
    # `for j`: simplify/gather.py; they run no loop body of the user's again)
    loops_reverse = len(re.findall(r"^ *(?:for|while) (?![pj](?:_\d+)? in range)", reverse,
                                   re.M))
    # (a left-over iteration of a rotation is an `if`, whose reverse recomputes its body;
    # the loop that fills `lap` is recomputed, not taped: an array the reverse reads)
    extra = PERIOD.get(name, 1) - 1 + (name == "heat_rebound")
    assert loops_forward <= loops_reverse <= loops_forward + extra, (
        loops_forward, loops_reverse)


def _top_level_loops(source: str) -> str:
    """The loops at the top of the generated function (the unrolled loop of a rotation
    and its reverse; not the left-over iterations, which are in `if`s)."""
    function = ast.parse(textwrap.dedent(source)).body[0]
    return "\n".join(ast.unparse(node) for node in function.body
                     if isinstance(node, (ast.For, ast.While)))


def test_swap_unrolls_by_its_period_and_copies_the_results_once():
    source = adgen.source(adgen.grad(cases.heat_swap, argnums=(0, 1), backend="python"),
                          *CASES["heat_swap"])
    assert re.search(r"rounds\w* = n\w* // 2", source)
    # each of the two results: a copy of one array or the other, by the iterations left over
    select = r"if even\w*:\n *\w+ = \w+\.copy\(\)\n *else:\n *\w+ = \w+\.copy\(\)"
    assert len(re.findall(select, source)) == 2


def test_three_buffers_rotate_with_period_three():
    source = adgen.source(adgen.grad(cases.rotate_three, argnums=(0, 1), backend="python"),
                          *CASES["rotate_three"])
    assert re.search(r"rounds\w* = n\w* // 3", source)


def test_two_names_of_one_array_are_refused_with_both_names():
    with pytest.raises(adgen.AdgenError) as info:
        adgen.grad(cases.alias_swap, argnums=(0, 1), backend="python")(*CASES["heat_swap"])
    message = str(info.value)
    assert "`u`" in message and "`v`" in message and "idiom_cases.py:" in message
    assert "copy()" in message


def test_a_swap_on_some_iterations_only_is_refused_with_both_names():
    with pytest.raises(adgen.AdgenError) as info:
        adgen.grad(cases.conditional_swap, argnums=(0, 1), backend="python")(
            *CASES["heat_swap"])
    message = str(info.value)
    assert "`u`" in message and "`v`" in message and "some iterations only" in message
    assert "idiom_cases.py:" in message
