"""Loop-invariant code motion (simplify/hoist.py): what leaves a loop, what stays, and
that no number changes (against the IR before hoisting and finite differences)."""

import math

import numpy as np

import adgen
from adgen.frontend.lower import lower_function
from adgen.ir.interpret import interpret
from adgen.ir.types import F64, I64, ArrayType
from adgen.ir.verify import verify
from adgen.transforms.reverse import differentiate_reverse
from adgen.transforms.simplify.cse import eliminate_common_subexpressions
from adgen.transforms.simplify.dce import eliminate_dead_code
from adgen.transforms.simplify.fold import fold_constants
from adgen.transforms.simplify.hoist import hoist_loop_invariants
from adgen.transforms.specialize import specialize

VEC = ArrayType(F64, 1)
X = np.array([0.5, -1.25, 2.0, 0.75])


def _opcodes(region, depth: int, loops: int = 0) -> list[str]:
    """The opcodes of the ops of `region` inside exactly `depth` loops (-1: any loop)."""
    out = []
    for op in region.ops:
        if loops == depth or (depth == -1 and loops > 0):
            out.append(op.opcode)
        for sub in op.regions:
            out += _opcodes(sub, depth, loops + (op.opcode in ("for", "while")))
    return out


def _in_loops(fn) -> list[str]:
    return _opcodes(fn.body, -1)


def _hoisted(fn):
    out = hoist_loop_invariants(fn)
    verify(out)
    return out


def _typed(fn, *types):
    return specialize(lower_function(fn), types)


def _tidy(fn):
    """One round of fold, CSE and DCE (dead carried slots go): hoisting's input."""
    return eliminate_dead_code(eliminate_common_subexpressions(fold_constants(fn)))


def _gradient_ir(fn, types, wrt):
    return differentiate_reverse(_typed(fn, *types), wrt, seed_params=False,
                                 return_primal=False)


def _central_difference(f, args, k, h=1e-6):
    plus, minus = list(args), list(args)
    plus[k] += h
    minus[k] -= h
    return (f(*plus) - f(*minus)) / (2 * h)


def weighted(a, b, x, n):
    s = 0.0
    for i in range(n):
        for j in range(n):
            s += math.sin(a) * math.exp(a * b) * math.cos(b * i) * x[j]
    return s


def test_the_reverse_sweep_computes_invariant_partials_once():
    raw = _gradient_ir(weighted, (F64, F64, VEC, I64), (0, 1))
    before = _tidy(raw)
    after = _hoisted(before)
    assert len(_in_loops(after)) < len(_in_loops(before))
    assert len(_opcodes(after.body, 2)) < len(_opcodes(before.body, 2))
    # sin(a), exp(a * b), cos(a) leave both loops; cos(b * i), sin(b * i) the inner one
    assert not {"sin", "cos", "exp"} & set(_opcodes(after.body, 2))
    assert "exp" not in _in_loops(after) and "cos" in _opcodes(after.body, 1)
    for n in (0, 1, 4):
        args = (0.3, -0.8, X, n)
        np.testing.assert_allclose(interpret(after, *args), interpret(raw, *args), rtol=1e-14)
        fd = [_central_difference(weighted, args, k) for k in (0, 1)]
        np.testing.assert_allclose(interpret(after, *args), fd, rtol=1e-6, atol=1e-9)


def test_generated_code_computes_the_invariants_before_the_loops():
    grad = adgen.grad(weighted, argnums=(0, 1), backend="python")
    source = adgen.source(grad, 0.3, -0.8, X, 4)
    assert "hoist" in source.splitlines()[4]  # the header names the pass
    assert source.index("np.exp(a * b)") < source.index("\n    for ")
    args = (0.3, -0.8, X, 4)
    fd = [_central_difference(weighted, args, k) for k in (0, 1)]
    np.testing.assert_allclose(grad(*args), fd, rtol=1e-6)


def guarded(x, n, k):
    s = 0.0
    for i in range(n):
        s += x[0] + n // k + math.sqrt(k - 1.0)
    return s


def test_what_may_raise_stays_in_a_loop_that_may_not_run():
    after = _hoisted(_typed(guarded, VEC, I64, I64))
    assert {"getitem", "floordiv"} <= set(_in_loops(after))
    assert "sqrt" not in _in_loops(after)  # sqrt(-1.0) is nan, not an error
    assert interpret(after, np.empty(0), 0, 0) == 0.0


def fixed_and_while(a, x):
    s = 0.0
    for i in range(3):
        u = x * a                      # only read: leaves the loop, which surely runs
        t = x * 2.0
        t[i] = 1.0                     # written: a new array on each iteration
        s += np.sum(u) + np.sum(t)
    while s < x[0] * a:                # the condition runs at least once
        s += math.cos(a) + 1.0
    return s


def test_loops_that_surely_run_let_more_go_and_written_arrays_stay():
    before = _tidy(_typed(fixed_and_while, F64, VEC))
    after = _hoisted(before)
    inside = _in_loops(after)
    assert inside.count("mul") == 1 and "setitem" in inside   # t's, not u's
    assert inside.count("reduce") == 1                        # np.sum(t), not np.sum(u)
    assert "getitem" not in inside and "cos" not in inside
    for a in (0.5, -1.0):              # the while loop runs 0 and 5 times
        assert interpret(after, a, X) == interpret(before, a, X)
