"""User functions that adgen must reject, one problem each (a few have two).

The line of every offending construct ends with the marker comment `# ERR`;
tests find expected line numbers by searching a function's source for it, so
nothing here depends on line numbers. The functions are never called.

- `CHECKER_CASES`: one unsupported construct each, found by the subset check.
- `TWO_ERROR_CASES`: two unsupported constructs each; both must be reported.
- `LOWERING_CASES`: valid syntax that only the lowering can reject
  (recursion, unknown callees, closures over mutable state).
"""

# ruff: noqa: E731, F841, B018, F401, PLW0603
# This file is full of deliberately unsupported Python; it is never executed.

import math
import os

import numpy as np

STATE = [1.0]
TABLE = {0: 2.0}
NOT_A_FUNCTION = 3.0
COUNTER = 0.0


# --- the signature --------------------------------------------------------


def star_args(*args):  # ERR
    return args[0] * 2.0


def star_kwargs(x, **options):  # ERR
    return x * 2.0


def keyword_only(x, *, scale=2.0):  # ERR
    return x * scale


# --- definitions inside the function -------------------------------------


def lambda_expr(x):
    square = lambda t: t * t  # ERR
    return square(x)


def nested_def(x):
    def inner(t):  # ERR
        return t * x

    return inner(2.0)


def nested_async_def(x):
    async def inner(t):  # ERR
        async for item in t:
            pass
        async with t:
            pass
        return await t

    return x


def class_def(x):
    class Point:  # ERR
        pass

    return x


async def async_function(x):  # ERR
    return await x


def yield_stmt(x):
    yield x * 2.0  # ERR


def yield_expr(x):
    y = yield x  # ERR
    return y


def yield_from(x):
    yield from range(3)  # ERR


# --- statements -----------------------------------------------------------


def try_except(x):
    try:  # ERR
        y = 1.0 / x
    except ZeroDivisionError:
        y = 0.0
    return y


def try_finally(x):
    y = x * 2.0
    try:  # ERR
        y = y + 1.0
    finally:
        y = y - 1.0
    return y


def with_stmt(x):
    with np.errstate(divide="ignore"):  # ERR
        y = 1.0 / x
    return y


def raise_stmt(x):
    if x < 0.0:
        raise ValueError("negative input")  # ERR
    return x


def assert_stmt(x):
    assert x > 0.0  # ERR
    return np.log(x)


def global_stmt(x):
    global COUNTER  # ERR
    COUNTER = x
    return x


def _make_nonlocal():
    total = 0.0

    def nonlocal_stmt(x):
        nonlocal total  # ERR
        total = total + x
        return total

    return nonlocal_stmt


nonlocal_stmt = _make_nonlocal()


def del_stmt(x):
    y = x * 2.0
    del y  # ERR
    return x


def import_stmt(x):
    import cmath  # ERR

    return x


def from_import(x):
    from math import exp  # ERR

    return exp(x)


def match_stmt(x):
    match x:  # ERR
        case 0.0:
            return 1.0
        case _:
            return x


def for_else(x):
    s = 0.0
    for i in range(3):  # ERR
        s = s + x
    else:
        s = s * 2.0
    return s


def while_else(x):
    s = x
    while s > 1.0:  # ERR
        s = s / 2.0
    else:
        s = s + 1.0
    return s


def print_call(x):
    print(x)  # ERR
    return x


def bare_call(x):
    np.sin(x)  # ERR
    return x


def bare_name(x):
    x  # ERR
    return x


def annotation_only(x):
    y: float  # ERR
    y = x
    return y


def attribute_assign(x):
    x.grad = 1.0  # ERR
    return x


def for_subscript_target(x):
    a = np.zeros(3)
    for a[0] in range(3):  # ERR
        x = x + 1.0
    return x


# --- expressions ----------------------------------------------------------


def list_comp(x):
    ys = [x * i for i in range(3)]  # ERR
    return ys[0]


def set_comp(x):
    ys = {x * i for i in range(3)}  # ERR
    return x


def dict_comp(x):
    ys = {i: x * i for i in range(3)}  # ERR
    return ys[0]


def generator_exp(x):
    return sum(x * i for i in range(3))  # ERR


def list_literal(x):
    v = [x, 2.0 * x]  # ERR
    return v[0] + v[1]


def list_literal_returned(x):
    if x > 0.0:
        return [x]  # ERR
    return (x,)


def dict_literal(x):
    d = {0: x}  # ERR
    return d[0]


def set_literal(x):
    s = {x, 1.0}  # ERR
    return x


def fstring(x):
    label = f"x={x}"  # ERR
    return x


def string_constant(x):
    kind = "relu"  # ERR
    return x


def bytes_constant(x):
    tag = b"raw"  # ERR
    return x


def complex_constant(x):
    z = x * 1j  # ERR
    return z.real


def ellipsis_index(x):
    y = x[..., 0]  # ERR
    return y


def starred_call(x):
    pair = (x, 2.0)
    return np.maximum(*pair)  # ERR


def double_star_call(x):
    options = None
    return np.sum(x, **options)  # ERR


def star_unpack(x):
    a, *rest = (x, x, x)  # ERR
    return a


def walrus(x):
    if (y := x * 2.0) > 1.0:  # ERR
        return y
    return x


def call_of_expression(x):
    return np.sin(x)(x)  # ERR


def bitwise_and(x):
    n = 6
    m = n & 3  # ERR
    return x * m


def bitwise_or_augmented(x):
    n = 6
    n |= 1  # ERR
    return x * n


def bitwise_xor(x):
    n = 6
    return x * (n ^ 3)  # ERR


def shift_left(x):
    n = 1 << 3  # ERR
    return x * n


def shift_right(x):
    n = 16 >> 2  # ERR
    return x * n


def bitwise_invert(x):
    n = ~5  # ERR
    return x * n


def is_compare(x):
    if x is None:  # ERR
        return 0.0
    return x


def is_not_compare(x):
    if x is not None:  # ERR
        return x
    return 0.0


def in_compare(x):
    if x in (1.0, 2.0):  # ERR
        return x
    return 0.0


def not_in_compare(x):
    if x not in (1.0, 2.0):  # ERR
        return x
    return 0.0


# --- two problems in one function (both must be reported) ------------------


def two_statements(x):
    print(x)  # ERR
    y = x * 2.0
    assert y > 0.0  # ERR
    return y


def two_nested(x):
    """A docstring is fine."""
    s = 0.0
    for i in range(3):
        if x > 0.0:
            s = s + [x][0]  # ERR
        else:
            s = s - (x if x is None else 1.0)  # ERR
    return s


def signature_and_body(x, *rest):  # ERR
    g = lambda t: t  # ERR
    return g(x)


# --- detected only by the lowering ----------------------------------------


def fact(x):
    if x <= 1.0:
        return 1.0
    return x * fact(x - 1.0)  # ERR


def unknown_callee(x):
    return x + os.getpid()  # ERR


def call_non_function(x):
    return NOT_A_FUNCTION(x)  # ERR


def mutable_list_closure(x):
    return x * STATE[0]  # ERR


def mutable_dict_closure(x):
    return x * TABLE[0]  # ERR


CHECKER_CASES = (
    star_args,
    star_kwargs,
    keyword_only,
    lambda_expr,
    nested_def,
    nested_async_def,
    class_def,
    async_function,
    yield_stmt,
    yield_expr,
    yield_from,
    try_except,
    try_finally,
    with_stmt,
    raise_stmt,
    assert_stmt,
    global_stmt,
    nonlocal_stmt,
    del_stmt,
    import_stmt,
    from_import,
    match_stmt,
    for_else,
    while_else,
    print_call,
    bare_call,
    bare_name,
    annotation_only,
    attribute_assign,
    for_subscript_target,
    list_comp,
    set_comp,
    dict_comp,
    generator_exp,
    list_literal,
    list_literal_returned,
    dict_literal,
    set_literal,
    fstring,
    string_constant,
    bytes_constant,
    complex_constant,
    ellipsis_index,
    starred_call,
    double_star_call,
    star_unpack,
    walrus,
    call_of_expression,
    bitwise_and,
    bitwise_or_augmented,
    bitwise_xor,
    shift_left,
    shift_right,
    bitwise_invert,
    is_compare,
    is_not_compare,
    in_compare,
    not_in_compare,
)

TWO_ERROR_CASES = (two_statements, two_nested, signature_and_body)

LOWERING_CASES = (
    fact,
    unknown_callee,
    call_non_function,
    mutable_list_closure,
    mutable_dict_closure,
)
