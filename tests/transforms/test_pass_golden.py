"""Golden IR before and after each simplification pass (tests/golden/passes/).

One small function, differentiated in reverse mode, shows each pass at work:
fold drops `* 1.0`, `+ 0.0` and constant arithmetic, CSE merges the repeated
`sin(x)` (and its adjoint's repeated `cos(x)`), DCE removes the unused `exp`
and the tape the reverse sweep never reads. The file holds the IR before the
pass, then after it; `pytest --update-golden` rewrites it (review the diff).
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest

from adgen.frontend.lower import lower_function
from adgen.ir.interpret import interpret
from adgen.ir.ops import walk_ops
from adgen.ir.printer import print_function
from adgen.ir.types import F64, I64, ArrayType
from adgen.transforms.reverse import differentiate_reverse
from adgen.transforms.simplify.cse import eliminate_common_subexpressions
from adgen.transforms.simplify.dce import eliminate_dead_code
from adgen.transforms.simplify.fold import fold_constants
from adgen.transforms.specialize import specialize

GOLDEN = Path(__file__).parents[1] / "golden" / "passes"


def showcase(x, y, n):
    unused = math.exp(x)
    a = math.sin(x) * 1.0 + 0.0
    b = math.sin(x) * y
    s = 0.0
    for i in range(n):
        s = s + a * b * (2.0 * 3.0 - 5.0)
    return s


PASSES = {"fold": fold_constants, "cse": eliminate_common_subexpressions,
          "dce": eliminate_dead_code}


def _reverse():
    typed = specialize(lower_function(showcase), (F64, F64, I64))
    return differentiate_reverse(typed, (0, 1), seed_params=False, return_primal=True)


@pytest.mark.parametrize("name", list(PASSES))
def test_pass_before_and_after(name, request):
    before = _reverse()
    after = PASSES[name](before)
    text = (f"# before {name}\n{print_function(before)}\n\n"
            f"# after {name}\n{print_function(after)}\n").replace(__file__, Path(__file__).name)
    golden = GOLDEN / f"{name}.txt"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), "run pytest --update-golden once to create the golden file"
    assert text == golden.read_text()
    for args in ((0.3, 1.7, 3), (-1.1, 0.4, 5)):
        assert interpret(after, *args) == pytest.approx(interpret(before, *args), rel=1e-14)


def _count(fn, opcode):
    from adgen.ir.ops import walk_ops

    return sum(op.opcode == opcode for op in walk_ops(fn.body))


def test_each_pass_removes_what_it_is_for():
    fn = _reverse()
    folded = fold_constants(fn)
    assert _count(folded, "mul") < _count(fn, "mul")          # * 1.0 and 2.0 * 3.0 gone
    merged = eliminate_common_subexpressions(fn)
    assert _count(merged, "sin") < _count(fn, "sin")
    assert _count(eliminate_dead_code(fn), "exp") == 0 < _count(fn, "exp")


# the passes that need arrays or loops of their own -------------------------------------
def logistic_sum(r, x, steps):
    for t in range(steps):
        x = r * x * (1.0 - x)
    return np.sum(x)


def _check_golden(name, text, request):
    golden = GOLDEN / f"{name}.txt"
    text = text.replace(__file__, Path(__file__).name)
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), "run pytest --update-golden once to create the golden file"
    assert text == golden.read_text()


def test_shapes_before_and_after(request):
    """sum_like's shape operands move from `r * x_1`, `1.0 - x_1` to `x_1`."""
    from adgen.ir.types import ArrayType
    from adgen.transforms.simplify.shapes import use_shape_sources

    typed = specialize(lower_function(logistic_sum), (F64, ArrayType(F64, 1), I64))
    before = differentiate_reverse(typed, (0, 1), seed_params=False, return_primal=False)
    after = use_shape_sources(before)
    _check_golden("shapes", f"# before shapes\n{print_function(before)}\n\n"
                  f"# after shapes\n{print_function(after)}\n", request)
    x = np.linspace(0.2, 0.8, 4)
    for got, want in zip(interpret(after, 3.7, x, 5), interpret(before, 3.7, x, 5)):
        np.testing.assert_array_equal(got, want)


def test_checkpoint_before_and_after(request):
    """The loop of the primal, strip-mined into segments (before reverse mode)."""
    from adgen.transforms.checkpoint import checkpoint_loops

    before = specialize(lower_function(showcase), (F64, F64, I64))
    after = checkpoint_loops(before, 4096)
    _check_golden("checkpoint", f"# before checkpoint\n{print_function(before)}\n\n"
                  f"# after checkpoint\n{print_function(after)}\n", request)
    for n in (0, 1, 7, 100):
        assert interpret(after, 0.3, 1.7, n) == interpret(before, 0.3, 1.7, n)


def inactive_parts(x, w, n):
    scale = 2.0 * n            # depends on no differentiated input
    y = x * w
    for i in range(n):
        scale = scale * 0.5
        y = y + math.sin(y) * scale
    return y + scale


def test_activity_marks_only_what_depends_on_the_inputs():
    from adgen.transforms.activity import varied_values

    typed = specialize(lower_function(inactive_parts), (F64, F64, I64))
    active = varied_values(typed, (0,))
    assert {"x", "y"} <= active and "w" not in active and "n" not in active
    assert not any(name.startswith("scale") for name in active)
    reverse = differentiate_reverse(typed, (0,), seed_params=False, return_primal=False)
    defined = {r.name for op in walk_ops(reverse.body) for r in op.results}
    adjoints = {name for name in defined if "_bar" in name}
    assert any(re.match(r"y(_\d+)*_bar", name) for name in adjoints), adjoints
    assert not any(re.match(r"(scale|w|n)(_\d+)*_bar", name) for name in adjoints), adjoints


# hoisting: loop-invariant adjoint work leaves the loops, what may not move stays -------
def sin_weighted_sum(a, x, n):
    s = 0.0
    for i in range(n):
        s += math.sin(a) * x[i]        # the reverse sweep's cos(a) is invariant
    return s


def nested_sum(a, b, x, n):
    s = 0.0
    for i in range(n):
        for j in range(n):             # exp(a * b) leaves both loops, cos(a * i) this one
            s += math.exp(a * b) * math.cos(a * i) * x[j]
    return s


def stays_put(a, x, n, k):
    s = 0.0
    for i in range(n):                 # may run zero times
        t = np.zeros(2)                # a new array on each iteration, written
        t[0] = a * i
        s += x[0] * (n // k) * np.sum(t)   # x[0] may be out of bounds, n // k divide by 0
    for i in range(3):                 # surely runs: x[0] * a leaves it
        s += x[0] * a
    return s


def _tidy(fn):
    """One round of fold, CSE and DCE: what hoisting sees in the pipeline, less noise."""
    return eliminate_dead_code(eliminate_common_subexpressions(fold_constants(fn)))


def _hoist_inputs():
    """(reverse IR of sin_weighted_sum, of nested_sum, primal IR of stays_put), tidied."""
    vec = ArrayType(F64, 1)
    weighted = specialize(lower_function(sin_weighted_sum), (F64, vec, I64))
    nested = specialize(lower_function(nested_sum), (F64, F64, vec, I64))
    yield _tidy(differentiate_reverse(weighted, (0,), seed_params=False, return_primal=False))
    yield _tidy(differentiate_reverse(nested, (0, 1), seed_params=False, return_primal=False))
    yield _tidy(specialize(lower_function(stays_put), (F64, vec, I64, I64)))


def test_hoist_before_and_after(request):
    """The reverse sweeps' invariant cos(a), exp(a * b) move before their loops (out of
    both loops for exp); stays_put's allocation, getitem and // stay in the loop that may
    not run, and x[0] * a leaves the loop over range(3)."""
    from adgen.transforms.simplify.hoist import hoist_loop_invariants

    pairs = [(before, hoist_loop_invariants(before)) for before in _hoist_inputs()]
    _check_golden("hoist", "\n".join(f"# before hoist\n{print_function(before)}\n\n"
                                     f"# after hoist\n{print_function(after)}\n"
                                     for before, after in pairs), request)
    x = np.linspace(-1.0, 2.0, 5)
    calls = ([(0.7, x, n) for n in (0, 5)], [(0.7, -0.4, x, n) for n in (0, 5)],
             [(0.7, x, n, 2) for n in (0, 5)])
    for (before, after), args in zip(pairs, calls):
        for arg in args:
            assert interpret(after, *arg) == interpret(before, *arg)
