"""Each simplification pass on small IR: what it removes and what it keeps."""

import math

import numpy as np

from adgen.frontend.lower import lower_function
from adgen.ir.interpret import interpret
from adgen.ir.ops import walk_ops
from adgen.ir.types import F64, I64
from adgen.transforms.reverse import differentiate_reverse
from adgen.transforms.simplify.cse import eliminate_common_subexpressions
from adgen.transforms.simplify.dce import eliminate_dead_code
from adgen.transforms.simplify.fold import fold_constants
from adgen.transforms.specialize import specialize


def opcodes(fn):
    return [op.opcode for op in walk_ops(fn.body)]


def typed(f, *types):
    return specialize(lower_function(f), types)


def identities(x):
    return (x * 1.0 + 0.0) / 1.0 - (2.0 * 3.0 - 6.0)


def test_fold_removes_identities_and_constant_arithmetic():
    fn = fold_constants(typed(identities, F64))
    fn = eliminate_dead_code(fn)
    assert opcodes(fn) == []
    assert fn.returns == fn.params


def zero_times(x):
    return 0.0 * x


def test_fold_keeps_zero_times_x():
    fn = eliminate_dead_code(fold_constants(typed(zero_times, F64)))
    assert "mul" in opcodes(fn)
    assert math.isnan(interpret(fn, math.inf))


def repeated(x):
    a = math.sin(x) * x
    b = math.sin(x) * x
    return a + b


def test_cse_merges_repeated_computations():
    fn = typed(repeated, F64)
    assert opcodes(fn).count("sin") == 2
    out = eliminate_dead_code(eliminate_common_subexpressions(fn))
    assert opcodes(out).count("sin") == 1 and opcodes(out).count("mul") == 1
    assert interpret(out, 0.7) == interpret(fn, 0.7)


def unused(x, n):
    t = math.exp(x)
    s = 0.0
    for _ in range(n):
        s = s + 1.0
    return x * 2.0


def test_dce_removes_unused_ops_and_loops():
    fn = eliminate_dead_code(typed(unused, F64, I64))
    assert opcodes(fn) == ["const", "mul"]


def passthrough(x, n):
    y = x
    z = 0.0
    for _ in range(n):
        z = z + y
    return z


def test_fold_replaces_a_loop_invariant_carried_value():
    fn = fold_constants(typed(passthrough, F64, I64))
    (loop,) = [op for op in fn.body.ops if op.opcode == "for"]
    assert len(loop.results) == 2  # z and the loop variable; y passes through unchanged
    assert interpret(eliminate_dead_code(fn), 2.0, 3) == 6.0


def test_dce_removes_unread_tapes():
    def loop(x, n):
        s = x
        for _ in range(n):
            s = 2.0 * s + 1.0  # linear: the reverse sweep reads no s
        return s

    fn = differentiate_reverse(typed(loop, F64, I64), (0,), seed_params=False,
                               return_primal=False)
    assert "setitem" in opcodes(fn)
    out = eliminate_dead_code(fold_constants(fn))
    assert "setitem" not in opcodes(out) and "empty" not in opcodes(out)
    assert interpret(out, 1.0, 4) == (16.0,)


def logistic_step(r, x):
    return np.sum(r * x * (1.0 - x))


def test_shape_sources_point_sum_like_at_the_array():
    from adgen.ir.types import ArrayType as _Array
    from adgen.transforms.simplify.shapes import use_shape_sources

    fn = differentiate_reverse(typed(logistic_step, F64, _Array(F64, 1)), (0, 1),
                               seed_params=False, return_primal=False)
    likes = [op.operands[1].name for op in walk_ops(fn.body) if op.opcode == "sum_like"]
    assert likes and set(likes) != {"x"}          # r * x, 1.0 - x: temporaries
    out = use_shape_sources(fn)
    likes = [op.operands[1].name for op in walk_ops(out.body) if op.opcode == "sum_like"]
    assert set(likes) == {"x"}
    x = np.linspace(0.1, 0.9, 5)
    for got, want in zip(interpret(out, 3.7, x), interpret(fn, 3.7, x)):
        np.testing.assert_array_equal(got, want)
    # DCE then keeps fewer ops: the temporaries read only for their shape are gone or
    # have one use left
    assert len(list(walk_ops(eliminate_dead_code(out).body))) <= len(
        list(walk_ops(eliminate_dead_code(fn).body)))
