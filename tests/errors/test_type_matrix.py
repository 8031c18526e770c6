"""Type and value matrix (issue 5).

Every kind of argument value, under every transform and on both backends, either works
(the value and the derivatives equal an independent reference: closed forms evaluated
on a contiguous float64 copy of the arguments; the caller's arguments, tangents and
cotangents are left as they were, flags and base arrays included, and no result aliases
them) or raises `AdgenTypeError` whose `.argument` names the argument. Known gaps are
rows of the tables too (`Gap`): each asserts what happens today, so that a change shows
up here as a failure, and says why it is a gap. NaN and +-inf inputs propagate as IEEE
arithmetic gives for the same formula evaluated by hand with NumPy, and never raise.

Numba cells are limited to the kinds where the backend matters (dtype, layout,
read-only flag, aliasing): refusals happen before any code is generated, so they run on
both backends at no cost.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import adgen

TRANSFORMS = ("grad", "value_and_grad", "jvp", "vjp", "hessian")
REVERSE_AND_FORWARD = ("value_and_grad", "jvp")
PY = ("python",)
BOTH = ("python", "numba")
F64 = 1e-12  # relative tolerance of a "works" cell in float64
F32 = 2e-6  # in float32 (the derivative code computes in the argument's precision)
COTANGENT = 0.5


# the functions under test ----------------------------------------------------------------
def scalar_fn(x, y):
    return math.sin(x) * y + x * x


def array_fn(a):
    return np.sum(np.sin(a) * a)


def dot_fn(a, b):
    return np.dot(a, b)


def product_fn(a, b):
    return np.sum(a * b)


def loop_fn(x, n):
    for _ in range(n):
        x = 4.0 * x * (1.0 - x)
    return x


def writes_fn(a, x):
    a[0] = a[0] * x
    return np.sum(a * a)


def aliasing_fn(a, b):
    a[0] = 5.0
    return np.sum(a * b)


def scale_fn(a):
    return a * 3.0


# independent references: (value, {argnum: gradient}, {(i, j): Hessian block}) ----------
def _f64(v):
    return np.ascontiguousarray(v, dtype=np.float64) if np.ndim(v) else float(v)


def _diag(h):
    """The Hessian of a sum of element-wise terms: h on the diagonal, shaped a + a."""
    return np.diag(h.ravel()).reshape(h.shape + h.shape)


def ref_scalar(x, y):
    x, y = float(x), float(y)
    return (math.sin(x) * y + x * x, {0: math.cos(x) * y + 2 * x, 1: math.sin(x)},
            {(0, 0): -math.sin(x) * y + 2.0, (0, 1): math.cos(x), (1, 0): math.cos(x),
             (1, 1): 0.0})


def ref_array(a):
    a = _f64(a)
    return (np.sum(np.sin(a) * a), {0: np.cos(a) * a + np.sin(a)},
            {(0, 0): _diag(-np.sin(a) * a + 2 * np.cos(a))})


def ref_dot(a, b):
    a, b = _f64(a), _f64(b)
    eye, zero = np.eye(a.size), np.zeros((a.size, a.size))
    return (np.sum(a * b), {0: b, 1: a},
            {(0, 0): zero, (0, 1): eye, (1, 0): eye, (1, 1): zero})


def ref_loop(x, n):
    x, d, h = float(x), 1.0, 0.0  # x_k, dx_k/dx_0, d2x_k/dx_0^2
    for _ in range(int(n)):
        x, d, h = 4 * x * (1 - x), 4 * (1 - 2 * x) * d, 4 * (1 - 2 * x) * h - 8 * d * d
    return x, {0: d}, {(0, 0): h}


def ref_writes(a, x):
    a, x = _f64(a), float(x)
    after = a.copy()
    after[0] *= x
    ga = 2 * after
    ga[0] = 2 * a[0] * x * x
    gx = 2 * x * np.sum(a[0] ** 2)
    haa = np.full(a.shape, 2.0)
    haa[0] = 2 * x * x
    hax = np.zeros(a.shape)
    hax[0] = 4 * x * a[0]
    return (np.sum(after ** 2), {0: ga, 1: gx},
            {(0, 0): _diag(haa), (0, 1): hax, (1, 0): hax, (1, 1): 2 * np.sum(a[0] ** 2)})


def ref_aliasing(a, b):
    """Arguments are values: f(a, a) is f(a.copy(), a.copy()), the write into `a` is not
    seen through `b` (CPython running aliasing_fn(a, a) in place would see it)."""
    a, b = _f64(a), _f64(b)
    after = a.copy()
    after[0] = 5.0
    ga = b.copy()
    ga[0] = 0.0
    return np.sum(after * b), {0: ga, 1: after}, {}


REFERENCES = {scalar_fn: ref_scalar, array_fn: ref_array, dot_fn: ref_dot,
              product_fn: ref_dot, loop_fn: ref_loop, writes_fn: ref_writes,
              aliasing_fn: ref_aliasing}


# expectations ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Works:
    """Value and derivatives equal the reference (relative tolerance `rtol`)."""

    rtol: float = F64


@dataclass(frozen=True)
class Refused:
    """AdgenTypeError; `.argument` is `argument`, the message matches `words`."""

    argument: str | None
    words: str


@dataclass(frozen=True)
class Raises:
    """Another exception, of exactly this class (not an AdgenError)."""

    error: type
    words: str


@dataclass(frozen=True)
class Returns:
    """No error; `check(out, args, transform)` asserts what comes back."""

    check: Callable


@dataclass(frozen=True)
class Gap:
    """A known gap: `reason` says what is wrong, `now` asserts today's behavior."""

    reason: str
    now: object


@dataclass(frozen=True)
class Row:
    fn: Callable
    argnums: object
    kind: str  # the kind of value under test, for the test id
    make: Callable  # a fresh tuple of arguments
    expect: object
    transforms: tuple = TRANSFORMS
    backends: tuple = BOTH
    tangents: Callable | None = None  # jvp tangents for `args`, when not `direction`


def readonly(a):
    a.flags.writeable = False
    return a


def _matrix(a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix(a)


def vec(n=6):
    return np.linspace(0.1, 1.2, n)


ARRAY_KINDS = {  # kind -> a fresh value
    "float64": vec,
    "float32": lambda: vec().astype(np.float32),
    "float16": lambda: vec().astype(np.float16),
    "complex128": lambda: vec().astype(np.complex128),
    "int64": lambda: np.arange(1, 7),
    "bool": lambda: np.ones(6, dtype=bool),
    "0-d": lambda: np.array(0.5),
    "empty (0,)": lambda: np.zeros(0),
    "a[::2]": lambda: np.linspace(0.1, 2.3, 12)[::2],
    "a[::-1]": lambda: vec()[::-1],
    "Fortran 2-D": lambda: np.asfortranarray(vec().reshape(2, 3)),
    "C 2-D transposed": lambda: vec().reshape(3, 2).T,
    "read-only": lambda: readonly(vec()),
    "list": lambda: list(vec()),
    "tuple": lambda: tuple(vec()),
    "np.matrix": lambda: _matrix(vec().reshape(2, 3)),
    "masked array": lambda: np.ma.array(vec(), mask=[0, 1, 0, 0, 0, 0]),
    "big-endian >f8": lambda: vec().astype(">f8"),
}

ROWS: list[Row] = []

# scalar_fn(x, y) w.r.t. x: the kind of x --------------------------------------------------
for kind, value, expect, backends in [
    ("float", 0.75, Works(), BOTH),
    ("np.float64", np.float64(0.75), Works(), PY),
    ("np.float32", np.float32(0.75), Works(F32), BOTH),
    ("int", 2, Refused("x", "cannot differentiate with respect to argument 'x' of type i64"),
     BOTH),
    ("bool", True, Refused("x", "cannot differentiate .*'x' of type bool"), BOTH),
    ("np.int64", np.int64(2), Refused("x", "cannot differentiate .*'x' of type i64"), BOTH),
    ("complex", 0.75 + 1j, Refused("x", "'x' has type complex"), BOTH),
    ("np.complex128", np.complex128(0.75), Refused("x", "'x' has type complex128"), BOTH),
    ("np.float16", np.float16(0.75), Refused("x", "'x' has type float16"), BOTH),
    ("np.longdouble", np.longdouble(0.75), Refused("x", "'x' has type longdouble"), BOTH),
    ("0-d array", np.array(0.75), Refused("x", "'x' is a 0-d array"), BOTH),
    ("list", [0.75], Refused("x", "'x' is a list"), BOTH),
    ("None", None, Refused("x", "'x' has type NoneType"), BOTH),
]:
    ROWS.append(Row(scalar_fn, 0, f"x={kind}", functools.partial(
        lambda v: (copy.copy(v), 1.5), value), expect, backends=backends))

# scalar_fn(x, y) w.r.t. x: the kind of y (not differentiated) ------------------------
for kind, value, expect, backends, transforms in [
    ("int", 2, Works(), BOTH, REVERSE_AND_FORWARD),
    ("bool", True, Works(), PY, TRANSFORMS),
    ("np.int64", np.int64(2), Works(), PY, TRANSFORMS),
    ("np.int32", np.int32(2), Works(), PY, TRANSFORMS),
    ("np.float32", np.float32(1.5), Works(), PY, TRANSFORMS),
    ("int 2**70", 2 ** 70, Refused("y", "'y' is the integer .* outside the int64 range"), BOTH,
     TRANSFORMS),
    ("complex", 1.5 + 0j, Refused("y", "'y' has type complex"), BOTH, TRANSFORMS),
    ("np.float16", np.float16(1.5), Refused("y", "'y' has type float16"), BOTH, TRANSFORMS),
    ("0-d array", np.array(1.5), Refused("y", "'y' is a 0-d array"), BOTH, TRANSFORMS),
    ("tuple", (1.5,), Refused("y", "'y' is a tuple"), BOTH, TRANSFORMS),
]:
    ROWS.append(Row(scalar_fn, 0, f"y={kind}", functools.partial(
        lambda v: (0.75, copy.copy(v)), value), expect, transforms, backends))

# loop_fn(x, n): n as the loop bound --------------------------------------------------------
_FLOAT_BOUND = Gap("a float loop bound is refused by the type checker, which names the "
                   "line (loop_fn's `for`) but not the argument: .argument is None",
                   Refused(None, r"test_type_matrix.py:\d+: range\(\) arguments must be "
                                 "integers, got f"))
for kind, value, expect, backends in [
    ("int", 3, Works(), BOTH),
    ("bool", True, Works(), BOTH),
    ("np.int64", np.int64(3), Works(), PY),
    ("np.int32", np.int32(3), Works(), PY),
    ("np.uint8", np.uint8(3), Works(), PY),
    ("negative int", -2, Works(), PY),
    ("float", 3.0, _FLOAT_BOUND, BOTH),
    ("np.float32", np.float32(3.0), _FLOAT_BOUND, PY),
    ("int 2**70", 2 ** 70, Refused("n", "'n' is the integer .* outside the int64 range"), BOTH),
    ("np.float16", np.float16(3.0), Refused("n", "'n' has type float16"), BOTH),
    ("complex", 3 + 0j, Refused("n", "'n' has type complex"), BOTH),
    ("list", [3], Refused("n", "'n' is a list"), BOTH),
]:
    ROWS.append(Row(loop_fn, 0, f"n={kind}", functools.partial(
        lambda v: (0.3, copy.copy(v)), value), expect,
        TRANSFORMS if kind == "int" or backends == PY else REVERSE_AND_FORWARD, backends))

# array_fn(a): the kind of a ----------------------------------------------------------------
_ARRAY_EXPECT = {
    "float64": Works(), "float32": Works(F32), "empty (0,)": Works(), "a[::2]": Works(),
    "a[::-1]": Works(), "Fortran 2-D": Works(), "C 2-D transposed": Works(),
    "read-only": Works(),
    "float16": Refused("a", "'a' is an array of float16"),
    "complex128": Refused("a", "'a' is an array of complex128"),
    "int64": Refused("a", r"cannot differentiate .*'a' of type array<i64,1>"),
    "bool": Refused("a", r"cannot differentiate .*'a' of type array<bool,1>"),
    "0-d": Refused("a", "'a' is a 0-d array"),
    "list": Refused("a", "'a' is a list"),
    "tuple": Refused("a", "'a' is a tuple"),
    "np.matrix": Refused("a", "'a' is a numpy.matrix"),
    "masked array": Refused("a", "'a' is a numpy.ma.MaskedArray"),
    "big-endian >f8": Refused("a", "'a' is an array of >f8"),
}
for kind, make in ARRAY_KINDS.items():
    expect = _ARRAY_EXPECT[kind]
    # 2-D compilations cost seconds each: reverse mode only for those on numba.
    numba_transforms = (TRANSFORMS if kind in ("float64", "empty (0,)") else
                        ("grad",) if "2-D" in kind else ("grad", "jvp"))
    make_args = functools.partial(lambda m: (m(),), make)
    if isinstance(expect, Works):
        ROWS.append(Row(array_fn, 0, f"a={kind}", make_args, expect, backends=PY))
        ROWS.append(Row(array_fn, 0, f"a={kind}", make_args, expect, numba_transforms,
                        ("numba",)))
    else:
        ROWS.append(Row(array_fn, 0, f"a={kind}", make_args, expect))

# writes_fn(a, x) writes a[0]: the caller's array must stay as it was -------------------------
_WRITES_EXPECT = {
    "float64": Works(), "float32": Works(F32), "a[::2]": Works(), "a[::-1]": Works(),
    "read-only": Works(),
    "int64": Refused("a", r"cannot differentiate .*'a' of type array<i64,1>"),
    "bool": Refused("a", r"cannot differentiate .*'a' of type array<bool,1>"),
    "0-d": Refused("a", "'a' is a 0-d array"),
    "list": Refused("a", "'a' is a list"),
}
for kind, expect in _WRITES_EXPECT.items():
    make = functools.partial(lambda m: (m(), 2.0), ARRAY_KINDS[kind])
    if isinstance(expect, Works):
        ROWS.append(Row(writes_fn, (0, 1), f"a={kind}", make, expect, backends=PY))
        ROWS.append(Row(writes_fn, (0, 1), f"a={kind}", make, expect,
                        {"float64": ("value_and_grad", "jvp", "vjp"), "float32": (
                            "value_and_grad",)}.get(kind, REVERSE_AND_FORWARD), ("numba",)))
    else:
        ROWS.append(Row(writes_fn, (0, 1), f"a={kind}", make, expect))


for kind in ("Fortran 2-D", "C 2-D"):
    make = functools.partial(lambda m: (m(), 2.0), ARRAY_KINDS.get(
        kind, lambda: vec().reshape(2, 3)))
    # reverse mode reads the row a_bar[0] before zeroing it: a copy, not a view
    ROWS.append(Row(writes_fn, (0, 1), f"a={kind}", make, Works(),
                    ("grad", "value_and_grad", "jvp", "vjp", "hessian"), PY))
    ROWS.append(Row(writes_fn, (0, 1), f"a={kind}", make, Works(), ("value_and_grad",),
                    ("numba",)))
ROWS.append(Row(writes_fn, 1, "a=C 2-D,wrt x", lambda: (vec().reshape(2, 3), 2.0), Works(),
                ("grad", "hessian"), PY))

# a[0] of an empty array: CPython raises IndexError, and so does the python backend
# (numba: see test_writing_past_the_end_of_an_empty_array_on_numba).
ROWS.append(Row(writes_fn, (0, 1), "a=empty (0,)", lambda: (np.zeros(0), 2.0),
                Raises(IndexError, "index 0 is out of bounds"), backends=PY))


# writes_fn(a, x) w.r.t. x only, `a` an int or bool array: a[0] = a[0] * x truncates --------
def _int_store_tangent(expected_value, expected_tangent):
    def check(out, args, kind):
        value, tangent = out
        assert value == expected_value and tangent == expected_tangent
    return Returns(check)


for kind, make, plain_value in [
    ("int64", lambda: (np.array([1, 2, 3]), 2.5), 17),  # [2, 2, 3]: 4 + 4 + 9
    ("bool", lambda: (np.array([True, False, True]), 2.5), 2),  # [True, False, True]
]:
    # a float stored into an int/bool array is truncated: piecewise constant in x
    ROWS.append(Row(writes_fn, 1, f"a={kind},wrt x", make, _int_store_tangent(plain_value, 0),
                    ("jvp",), PY, tangents=lambda a, x: [1.0]))
    ROWS.append(Row(writes_fn, 1, f"a={kind},wrt x", make, Gap(
        "the function returns an int, so grad refuses it, but the message ('returns 1 "
        "value(s)') does not say that the one value is an int",
        Refused(None, "needs a function returning one float; writes_fn returns 1 value")),
        ("grad", "value_and_grad", "hessian")))

# the same array for two arguments -----------------------------------------------------------
def _twice(make):
    a = make()
    return a, a


ROWS.append(Row(dot_fn, (0, 1), "f(a, a)", lambda: _twice(vec), Works()))
for transforms, backends in ((REVERSE_AND_FORWARD, PY), (("value_and_grad",), ("numba",))):
    ROWS.append(Row(product_fn, (0, 1), "f(a, a) read-only",
                    lambda: _twice(lambda: readonly(vec())), Works(), transforms, backends))
for transforms, backends in ((("value_and_grad", "jvp", "vjp"), PY),
                             (("value_and_grad",), ("numba",))):
    ROWS.append(Row(aliasing_fn, (0, 1), "f(a, a) writing a", lambda: _twice(vec), Works(),
                    transforms, backends))

# shapes that do not broadcast -------------------------------------------------------------
# a shape mismatch found by the generated code at run time: AdgenTypeError with the shapes


# running one cell -----------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def transform(fn, kind, argnums, backend):
    """One `Transformed` per cell shape, so that cells share their compilations."""
    return getattr(adgen, kind)(fn, argnums=argnums, backend=backend)


def nums_of(argnums):
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def direction(x):
    """A tangent for an argument like `x` (exact in float32)."""
    if np.ndim(x) == 0:
        return 0.75
    n = int(np.prod(np.shape(x)))
    return (0.5 + 0.25 * (np.arange(n) % 4)).reshape(np.shape(x))


def reference(fn, kind, argnums, args, tangents):
    value, grads, hess = REFERENCES[fn](*args)
    nums, single = nums_of(argnums), isinstance(argnums, int)
    g = tuple(grads[i] for i in nums)
    pick = (lambda t: t[0]) if single else (lambda t: t)
    if kind == "grad":
        return pick(g)
    if kind == "value_and_grad":
        return value, pick(g)
    if kind == "jvp":
        return value, sum(np.sum(gi * _f64(ti)) for gi, ti in zip(g, tangents))
    if kind == "vjp":
        return value, pick(tuple(COTANGENT * gi for gi in g))
    blocks = tuple(tuple(hess[i, j] for j in nums) for i in nums)
    return blocks[0][0] if single else blocks


def assert_close(actual, expected, rtol, where="result"):
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected), (where, actual)
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol, f"{where}[{k}]")
        return
    assert not isinstance(actual, tuple), (where, actual)
    assert np.shape(actual) == np.shape(expected), (where, np.shape(actual))
    assert np.asarray(actual).dtype.kind == "f", (where, np.asarray(actual).dtype)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol,
                               atol=rtol * scale, err_msg=where)


def leaves(out):
    if isinstance(out, tuple):
        return [leaf for part in out for leaf in leaves(part)]
    return [out]


def snapshot(v):
    """What must not change in an argument: its contents, dtype, shape, strides, flags and
    the array it is a view of."""
    if isinstance(v, np.ndarray):
        base = v.base if isinstance(v.base, np.ndarray) else None
        return (v, np.array(v, copy=True), v.dtype, v.shape, v.strides, v.flags.writeable,
                v.flags.c_contiguous, v.flags.f_contiguous, type(v),
                None if base is None else (base, base.copy()))
    return (v, copy.deepcopy(v))


def assert_unchanged(snap):
    if len(snap) == 2:
        v, keep = snap
        assert type(v) is type(keep) and repr(v) == repr(keep), (v, keep)
        return
    v, keep, dtype, shape, strides, writeable, c, f, cls, base = snap
    assert (v.dtype, v.shape, v.strides, type(v)) == (dtype, shape, strides, cls)
    assert (v.flags.writeable, v.flags.c_contiguous, v.flags.f_contiguous) == (writeable, c, f)
    np.testing.assert_array_equal(np.asarray(v), np.asarray(keep), strict=True)
    if base is not None:
        np.testing.assert_array_equal(base[0], base[1], strict=True)


def assert_no_alias(out, inputs):
    arrays = [leaf for leaf in leaves(out) if isinstance(leaf, np.ndarray) and leaf.size]
    given = [x for x in inputs if isinstance(x, np.ndarray) and x.size]
    for k, leaf in enumerate(arrays):
        for x in given:
            assert not np.shares_memory(leaf, x), "a result aliases an argument"
        for other in arrays[k + 1:]:
            assert not np.shares_memory(leaf, other), "two results share memory"


def check(expect, call, fn=None, kind=None, argnums=None, args=(), tangents=()):
    """Run `call()` and assert `expect` (see the expectation classes)."""
    if isinstance(expect, Gap):
        assert expect.reason
        expect = expect.now
    if isinstance(expect, Refused):
        with pytest.raises(adgen.AdgenTypeError) as info:
            call()
        assert info.value.argument == expect.argument, str(info.value)
        assert re.search(expect.words, str(info.value)), str(info.value)
        if expect.argument is not None:  # the message names it too
            assert re.search(rf"\b{expect.argument}\b", str(info.value)), str(info.value)
    elif isinstance(expect, Raises):
        with pytest.raises(expect.error, match=expect.words) as info:
            call()
        assert not isinstance(info.value, adgen.AdgenError)
    elif isinstance(expect, Returns):
        expect.check(call(), args, kind)
    else:
        out = call()
        assert_close(out, reference(fn, kind, argnums, args, tangents), expect.rtol)
        return out
    return None


CELLS = [pytest.param(row, kind, backend, id=f"{row.fn.__name__}[{row.kind}]-{kind}-{backend}")
         for row in ROWS for kind in row.transforms for backend in row.backends]


@pytest.mark.parametrize("row, kind, backend", CELLS)
def test_type_matrix(row, kind, backend):
    args = row.make()
    tangents = [] if kind != "jvp" else row.tangents(*args) if row.tangents else [
        direction(args[i]) for i in nums_of(row.argnums)]
    inputs = list(args) + tangents
    snaps = [snapshot(v) for v in inputs]
    t = transform(row.fn, kind, row.argnums, backend)
    extra = tangents if kind == "jvp" else [COTANGENT] if kind == "vjp" else []
    out = check(row.expect, lambda: t(*args, *extra), row.fn, kind, row.argnums, args,
                tangents)
    for snap in snaps:
        assert_unchanged(snap)
    if out is not None:
        assert_no_alias(out, inputs)


def test_the_table_covers_every_kind_and_transform():
    kinds = {row.kind for row in ROWS}
    assert {f"a={kind}" for kind in ARRAY_KINDS} <= kinds
    for kind in ("int", "bool", "np.int64", "np.float32", "np.float64", "complex",
                 "np.float16"):
        assert f"x={kind}" in kinds
    assert {kind for row in ROWS for kind in row.transforms} == set(TRANSFORMS)
    for backend in ("python", "numba"):
        assert any(isinstance(row.expect, Works) and backend in row.backends for row in ROWS)


# tangents and cotangents (converted by api._like / api._like_type) ----------------------
@dataclass(frozen=True)
class Equals:
    """No error; the result equals `expected(*args, extra)`."""

    expected: Callable
    rtol: float = F64


def _jvp_scalar(x, y, t):
    value, grads, _ = ref_scalar(x, y)
    return value, grads[0] * float(np.asarray(t))


def _vjp_scalar(x, y, c):
    value, grads, _ = ref_scalar(x, y)
    c = c[0] if isinstance(c, (list, tuple)) else c
    return value, float(np.asarray(c)) * grads[0]


def _jvp_array(a, t):
    value, grads, _ = ref_array(a)
    return value, np.sum(grads[0] * _f64(t))


def _vjp_scale(a, c):
    return 3.0 * _f64(a), 3.0 * _f64(c)


_T = "tangent"
_C = "cotangent"
EXTRA_ROWS = [  # (id, transform, fn, make args, make tangent or cotangent, expectation, backends)
    ("int", "jvp", scalar_fn, lambda: (0.75, 1.5), lambda a: 2, Equals(_jvp_scalar), BOTH),
    ("bool", "jvp", scalar_fn, lambda: (0.75, 1.5), lambda a: True, Equals(_jvp_scalar), PY),
    ("np.float32", "jvp", scalar_fn, lambda: (0.75, 1.5), lambda a: np.float32(0.5),
     Equals(_jvp_scalar), PY),
    ("0-d array", "jvp", scalar_fn, lambda: (0.75, 1.5), lambda a: np.array(0.5),
     Equals(_jvp_scalar), PY),
    ("[0.5]", "jvp", scalar_fn, lambda: (0.75, 1.5), lambda a: [0.5],
     Refused(_T, r"tangent has shape \(1,\), expected a scalar"), BOTH),
    ("array", "jvp", scalar_fn, lambda: (0.75, 1.5), lambda a: np.ones(3),
     Refused(_T, r"tangent has shape \(3,\), expected a scalar"), BOTH),
    ("complex", "jvp", scalar_fn, lambda: (0.75, 1.5), lambda a: 0.5 + 1j,
     Refused(_T, "tangent has type complex128; expected real numbers"), BOTH),
    ("None", "jvp", scalar_fn, lambda: (0.75, 1.5), lambda a: None,
     Refused(_T, "tangent has type NoneType"), BOTH),
    ("str", "jvp", scalar_fn, lambda: (0.75, 1.5), lambda a: "0.5",
     Refused(_T, "tangent has type <U3"), PY),
    ("int", "vjp", scalar_fn, lambda: (0.75, 1.5), lambda a: 2, Equals(_vjp_scalar), BOTH),
    ("0-d array", "vjp", scalar_fn, lambda: (0.75, 1.5), lambda a: np.array(0.5),
     Equals(_vjp_scalar), PY),
    ("[0.5]: one per output", "vjp", scalar_fn, lambda: (0.75, 1.5), lambda a: [0.5],
     Equals(_vjp_scalar), PY),
    ("(0.5, 0.5)", "vjp", scalar_fn, lambda: (0.75, 1.5), lambda a: (0.5, 0.5),
     Refused(_C, r"vjp expects 1 cotangent\(s\), got 2"), PY),
    ("array", "vjp", scalar_fn, lambda: (0.75, 1.5), lambda a: np.ones(3),
     Refused(_C, r"cotangent has shape \(3,\), expected a scalar"), BOTH),
    ("complex", "vjp", scalar_fn, lambda: (0.75, 1.5), lambda a: 1j,
     Refused(_C, "cotangent has type complex128"), BOTH),
    ("None", "vjp", scalar_fn, lambda: (0.75, 1.5), lambda a: None,
     Refused(_C, "cotangent has type NoneType"), PY),
    ("list", "jvp", array_fn, lambda: (vec(),), lambda a: [0.5] * 6, Equals(_jvp_array), PY),
    ("int64", "jvp", array_fn, lambda: (vec(),), lambda a: np.arange(6),
     Equals(_jvp_array), BOTH),
    ("read-only", "jvp", array_fn, lambda: (vec(),), lambda a: readonly(np.ones(6)),
     Equals(_jvp_array), BOTH),
    ("t[::-2]", "jvp", array_fn, lambda: (vec(),), lambda a: np.arange(12.0)[::-2],
     Equals(_jvp_array), BOTH),
    ("the primal itself", "jvp", array_fn, lambda: (vec(),), lambda a: a,
     Equals(_jvp_array), BOTH),
    ("shape (4,)", "jvp", array_fn, lambda: (vec(),), lambda a: np.ones(4),
     Refused(_T, r"tangent has shape \(4,\), expected \(6,\)"), BOTH),
    ("scalar", "jvp", array_fn, lambda: (vec(),), lambda a: 1.0,
     Refused(_T, r"tangent has shape \(\), expected \(6,\)"), PY),
    ("complex", "jvp", array_fn, lambda: (vec(),), lambda a: np.ones(6, dtype=complex),
     Refused(_T, "tangent has type complex128"), BOTH),
    ("ragged list", "jvp", array_fn, lambda: (vec(),), lambda a: [[1.0], [1.0, 2.0]],
     Refused(_T, "tangent is not a number or an array of numbers"), PY),
    ("float64", "vjp", scale_fn, lambda: (vec(),), lambda a: np.linspace(1, 2, 6),
     Equals(_vjp_scale), BOTH),
    ("read-only a[::-1]", "vjp", scale_fn, lambda: (vec(),),
     lambda a: readonly(np.linspace(1, 2, 6))[::-1], Equals(_vjp_scale), BOTH),
    ("int64", "vjp", scale_fn, lambda: (vec(),), lambda a: np.arange(6), Equals(_vjp_scale),
     PY),
    ("complex", "vjp", scale_fn, lambda: (vec(),), lambda a: np.ones(6, dtype=complex),
     Refused(_C, "cotangent has type complex128"), BOTH),
    ("rank 0", "vjp", scale_fn, lambda: (vec(),), lambda a: 1.0,
     Refused(_C, "cotangent has rank 0, expected 1"), PY),
    ("rank 2", "vjp", scale_fn, lambda: (vec(),), lambda a: np.ones((6, 1)),
     Refused(_C, "cotangent has rank 2, expected 1"), PY),
    ("list of 6", "vjp", scale_fn, lambda: (vec(),), lambda a: [1.0] * 6,
     Refused(_C, r"vjp expects 1 cotangent\(s\), got 6"), PY),
    ("shape (4,)", "vjp", scale_fn, lambda: (vec(),), lambda a: np.ones(4),
     Refused(_C, r"cotangent has shape \(4,\), the output \(6,\)"), BOTH),
]


@pytest.mark.parametrize("kind, fn, make, make_extra, expect, backend", [
    pytest.param(kind, fn, make, extra, expect, backend, id=f"{kind}-{fn.__name__}-{name}-"
                 f"{backend}")
    for name, kind, fn, make, extra, expect, backends in EXTRA_ROWS for backend in backends])
def test_tangents_and_cotangents(kind, fn, make, make_extra, expect, backend):
    args = make()
    extra = make_extra(args[0])
    inputs = list(args) + [extra]
    snaps = [snapshot(v) for v in inputs]
    t = transform(fn, kind, 0, backend)
    if isinstance(expect, Equals):
        out = t(*args, extra)
        assert_close(out, expect.expected(*args, extra), expect.rtol)
        assert_no_alias(out, inputs)
    else:
        check(expect, lambda: t(*args, extra), kind=kind, args=args)
    for snap in snaps:
        assert_unchanged(snap)


# NaN and infinities: IEEE arithmetic, never an exception ----------------------------------
def nan_sin(x):
    return math.sin(x)


def nan_exp(x):
    return math.exp(x)


def nan_log(x):
    return math.log(x)


def nan_sqrt(x):
    return math.sqrt(x)


def nan_div(x, y):
    return x / y


def nan_loop(x, n):
    for _ in range(n):
        x = x * x
    return x


def nan_max(x, y):
    return max(x, y)


def nan_maximum(x, y):
    return np.maximum(x, y)


def nan_elementwise(a):
    return np.sum(np.sqrt(a) + np.log(a) + np.exp(a) * np.sin(a))


nan, inf = np.nan, np.inf
SPECIAL = (nan, inf, -inf, 0.0, -0.0, -1.0, 1000.0)
PAIRS = ((1.0, 0.0), (-1.0, 0.0), (1.0, -0.0), (0.0, 0.0), (inf, inf), (inf, -inf),
         (-inf, 2.0), (inf, 1.0), (1.0, inf), (nan, 1.0), (1.0, nan), (nan, nan), (2.0, 2.0))


def _hand_loop(x, n):
    d = np.float64(1.0)
    for _ in range(n):
        x, d = x * x, 2 * x * d
    return x, (d,)


def _hand_max(x, y):
    """np.maximum, and the derivative rule of docs/CONVENTIONS.md: 1 to the larger argument,
    1/2 to each at a tie; every comparison with NaN is false, so 0 to each."""
    tie = 0.5 * (x == y)
    return np.maximum(x, y), ((x > y) + tie, (y > x) + tie)


IEEE = [  # function, argnums, arguments, by hand in NumPy float64: (value, partials)
    (nan_sin, 0, [(x,) for x in SPECIAL], lambda x: (np.sin(x), (np.cos(x),))),
    (nan_exp, 0, [(x,) for x in SPECIAL], lambda x: (np.exp(x), (np.exp(x),))),
    (nan_log, 0, [(x,) for x in SPECIAL], lambda x: (np.log(x), (1 / x,))),
    (nan_sqrt, 0, [(x,) for x in SPECIAL], lambda x: (np.sqrt(x), (0.5 / np.sqrt(x),))),
    (nan_div, (0, 1), PAIRS, lambda x, y: (x / y, (1 / y, -x / y ** 2))),
    (nan_loop, 0, [(x, 12) for x in (nan, inf, -inf, 10.0, -10.0, 0.5)], _hand_loop),
    (nan_max, (0, 1), PAIRS, _hand_max),
    (nan_maximum, (0, 1), PAIRS, _hand_max),
]


def _by_hand(formula, args):
    with np.errstate(all="ignore"):
        return formula(*[np.float64(a) if isinstance(a, float) else a for a in args])


def assert_ieee(actual, expected, where):
    """Equal as np.testing.assert_equal compares floats: NaN equals NaN (whatever its sign
    bit), and zeros and infinities must have the same sign (-0.0 is not 0.0)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    np.testing.assert_array_equal(actual, expected, err_msg=where)
    numbers = ~np.isnan(expected)
    np.testing.assert_array_equal(np.signbit(actual[numbers]), np.signbit(expected[numbers]),
                                  err_msg=where + ": the sign of a zero differs")


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("fn, argnums, cases, formula", [
    pytest.param(*case, id=case[0].__name__) for case in IEEE])
def test_nan_and_inf_propagate_as_ieee_says(fn, argnums, cases, formula, backend):
    nums = nums_of(argnums)
    reverse = transform(fn, "value_and_grad", argnums, backend)
    forward = [transform(fn, "jvp", i, backend) for i in nums]
    every = transform(fn, "jvp", argnums, backend) if len(nums) > 1 else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning either
        for args in cases:
            value, partials = _by_hand(formula, args)
            where = f"{fn.__name__}{args}"
            got_value, grads = reverse(*args)
            grads = grads if isinstance(argnums, tuple) else (grads,)
            assert_ieee(got_value, value, where + " value (reverse)")
            for i, (g, p) in enumerate(zip(grads, partials)):
                assert_ieee(g, p, f"{where} d/d{i} (reverse)")
            for i, fj in zip(nums, forward):
                got_value, tangent = fj(*args, 1.0)
                assert_ieee(got_value, value, where + " value (forward)")
                assert_ieee(tangent, partials[nums.index(i)], f"{where} d/d{i} (forward)")
            if every is not None:
                # One tangent 1, the other 0: IEEE gives 0 * inf = NaN in the sum.
                for seeds in ((1.0, 0.0), (0.0, 1.0)):
                    _, tangent = every(*args, *seeds)
                    by_hand = _by_hand(lambda s, t, p, q: s * p + t * q, seeds + partials)
                    assert_ieee(tangent, by_hand, f"{where} tangent {seeds} (forward)")


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_nan_and_inf_in_an_array(backend):
    a = np.array(SPECIAL)
    keep = a.copy()
    with np.errstate(all="ignore"):
        value = np.sum(np.sqrt(a) + np.log(a) + np.exp(a) * np.sin(a))
        partials = 0.5 / np.sqrt(a) + 1 / a + np.exp(a) * np.sin(a) + np.exp(a) * np.cos(a)
        # J t with a one-hot t: 0 * (NaN or inf) at the other elements makes NaN
        by_hand = [np.sum(np.eye(a.size)[k] * partials) for k in range(a.size)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got_value, grad = transform(nan_elementwise, "value_and_grad", 0, backend)(a)
        assert_ieee(got_value, value, "value (reverse)")
        assert_ieee(grad, partials, "gradient (reverse)")
        # forward mode on the python backend only (a numba compilation costs seconds)
        if backend == "python":
            forward = transform(nan_elementwise, "jvp", 0, backend)
            for k in range(a.size):
                got_value, tangent = forward(a, np.eye(a.size)[k])
                assert_ieee(got_value, value, "value (forward)")
                assert_ieee(tangent, by_hand[k], f"tangent {k}")
    np.testing.assert_array_equal(a, keep)


# known gaps outside the type matrix (each asserts today's behavior) ---------------------
def nan_array_max(a):
    return np.max(a)


@pytest.mark.parametrize("backend", ["python"])  # numba: the same (checked by hand)
def test_max_of_an_array_holding_nan_is_attained_at_the_nan(backend):
    """np.max(a) with a NaN in `a` is NaN; both modes put the derivative on the NaN
    element (docs/CONVENTIONS.md), so J v and J^T w agree."""
    a = np.array([1.0, nan, 3.0])
    value, grad = transform(nan_array_max, "value_and_grad", 0, backend)(a)
    assert np.isnan(value)
    np.testing.assert_array_equal(grad, [0.0, 1.0, 0.0])
    value, tangent = transform(nan_array_max, "jvp", 0, backend)(a, np.array([0.5, 2.0, 7.0]))
    assert np.isnan(value) and tangent == 2.0


def test_gap_builtin_max_is_numpy_maximum_not_cpython_max():
    """GAP (documented divergence): CPython's max(1.0, nan) is 1.0 (it keeps the first
    argument unless a later one compares greater), but adgen compiles the builtin max as
    np.maximum, which propagates NaN, on both backends."""
    assert max(1.0, nan) == 1.0 and np.isnan(max(nan, 1.0))
    for backend in ("python", "numba"):
        value, _ = transform(nan_max, "value_and_grad", (0, 1), backend)(1.0, nan)
        assert np.isnan(value)


def nan_column_max(A):
    return np.sum(np.max(A, axis=0))


def test_numba_axis_max_keeps_nan():
    """np.max(A, axis=0) of a 2-D array on the numba backend is NaN where a column holds
    one, as in NumPy, and the gradient goes to the NaN (as for np.max of a whole array)."""
    A = np.array([[nan, 1.0], [2.0, 3.0]])
    assert np.isnan(nan_column_max(A))
    for backend in ("python", "numba"):
        value, grad = transform(nan_column_max, "value_and_grad", 0, backend)(A)
        assert np.isnan(value)
        np.testing.assert_array_equal(grad, [[1.0, 0.0], [0.0, 1.0]])


_OUT_OF_BOUNDS = """
import numpy as np

import adgen


def writes_fn(a, x):
    a[0] = a[0] * x
    return np.sum(a * a)


value, (ga, gx) = adgen.value_and_grad(writes_fn, argnums=(0, 1))(np.zeros(0), 2.0)
print("NO ERROR", value, ga.shape, type(gx).__name__)
"""


def test_gap_writing_past_the_end_of_an_empty_array_on_numba(tmp_path):
    """GAP: writes_fn does a[0] = ... on an empty array: CPython and the python backend
    raise IndexError (see the table), but Numba compiles without bounds checks, so the
    numba backend reads and writes past the end of its private copy and returns (x's
    gradient is then made of whatever it read). Run in a child process, as it touches
    memory it does not own."""
    script = tmp_path / "out_of_bounds.py"  # adgen reads the function's source file
    script.write_text(_OUT_OF_BOUNDS)
    root = Path(adgen.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(root), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=tmp_path)
    assert "IndexError" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("NO ERROR 0.0 (0,) float"), done.stdout
