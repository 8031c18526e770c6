"""The conventions of docs/CONVENTIONS.md, pinned through the public API, in
forward mode (`adgen.jvp`) and reverse mode (`adgen.grad` / `value_and_grad`),
on both backends.

At these points the Python backend lets NumPy emit RuntimeWarnings (divide by
zero, invalid value); they are expected and filtered.
"""

import math

import numpy as np
import pytest

import adgen

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

BACKENDS = ["python", "numba"]
INF = math.inf

def rev_and_fwd(f, args, backend):
    """(value, gradient) by reverse mode and by forward mode, for every argument."""
    n = len(args)
    argnums = tuple(range(n))
    value_r, grads = adgen.value_and_grad(f, argnums=argnums, backend=backend)(*args)
    fj = adgen.jvp(f, argnums=argnums, backend=backend)
    tangents, values_f = [], []
    for k in range(n):
        value_f, t = fj(*args, *[1.0 if j == k else 0.0 for j in range(n)])
        values_f.append(value_f)
        tangents.append(t)
    return (value_r, tuple(grads)), (values_f, tuple(tangents))


def assert_same(got, expected, what):
    got = tuple(float(g) for g in got)
    expected = tuple(float(e) for e in expected)
    for g, e in zip(got, expected):
        if math.isnan(e):
            assert math.isnan(g), f"{what}: expected nan, got {got}"
        else:
            assert g == e, f"{what}: expected {expected}, got {got}"


def check(f, args, expected, backend, value=None):
    (value_r, rev), (values_f, fwd) = rev_and_fwd(f, args, backend)
    assert_same(rev, expected, f"reverse mode of {f.__name__}{args} ({backend})")
    assert_same(fwd, expected, f"forward mode of {f.__name__}{args} ({backend})")
    if value is not None:
        assert_same([value_r, *values_f], [value] * (1 + len(values_f)),
                    f"value of {f.__name__}{args} ({backend})")


# abs ---------------------------------------------------------------------------------------
def builtin_abs(x):
    return abs(x)


def np_abs(x):
    return np.abs(x)


def math_fabs(x):
    return math.fabs(x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("f", [builtin_abs, np_abs, math_fabs])
def test_abs_has_derivative_zero_at_zero(f, backend):
    check(f, (0.0,), (0.0,), backend, value=0.0)


# max / min at a tie ------------------------------------------------------------------------
def builtin_max(x, y):
    return max(x, y)


def builtin_min(x, y):
    return min(x, y)


def np_maximum(x, y):
    return np.maximum(x, y)


def np_minimum(x, y):
    return np.minimum(x, y)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("f", [builtin_max, builtin_min, np_maximum, np_minimum])
def test_max_and_min_split_the_derivative_at_a_tie(f, backend):
    check(f, (1.5, 1.5), (0.5, 0.5), backend, value=1.5)
    # and away from the tie the winner takes it all
    wins = (1.0, 0.0) if f in (builtin_max, np_maximum) else (0.0, 1.0)
    check(f, (2.0, 1.0), wins, backend)


# one-sided limits: sqrt, log, arcsin, arccos -----------------------------------------------
def math_sqrt(x):
    return math.sqrt(x)


def np_sqrt(x):
    return np.sqrt(x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("f", [math_sqrt, np_sqrt])
def test_sqrt_has_derivative_plus_inf_at_zero(f, backend):
    check(f, (0.0,), (INF,), backend, value=0.0)


def math_log(x):
    return math.log(x)


def np_log(x):
    return np.log(x)


LOG_CASES = [pytest.param(f, backend, id=f"{f.__name__}-{backend}")
             for f in (math_log, np_log) for backend in BACKENDS]


@pytest.mark.parametrize("f, backend", LOG_CASES)
def test_log_has_derivative_plus_inf_and_value_minus_inf_at_zero(f, backend):
    check(f, (0.0,), (INF,), backend, value=-INF)


def math_asin(x):
    return math.asin(x)


def np_arcsin(x):
    return np.arcsin(x)


def math_acos(x):
    return math.acos(x)


def np_arccos(x):
    return np.arccos(x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x", [1.0, -1.0])
@pytest.mark.parametrize("f, expected", [(math_asin, INF), (np_arcsin, INF),
                                         (math_acos, -INF), (np_arccos, -INF)])
def test_arcsin_and_arccos_have_infinite_derivatives_at_plus_minus_one(f, expected, x,
                                                                       backend):
    value = {math_asin: math.asin, np_arcsin: math.asin,
             math_acos: math.acos, np_arccos: math.acos}[f](x)
    check(f, (x,), (expected,), backend, value=value)


# piecewise constant ------------------------------------------------------------------------
def np_floor(x):
    return np.floor(x)


def float_of_math_floor(x):
    return float(math.floor(x))


def floor_div(x, y):
    return x // y


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x", [2.5, 2.0, -0.5])
@pytest.mark.parametrize("f", [np_floor, float_of_math_floor])
def test_floor_has_derivative_zero(f, x, backend):
    check(f, (x,), (0.0,), backend, value=math.floor(x))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("args", [(7.0, 2.0), (6.0, 2.0), (-7.5, 2.0)])
def test_floor_division_has_derivative_zero(args, backend):
    check(floor_div, args, (0.0, 0.0), backend, value=args[0] // args[1])


# NaN ---------------------------------------------------------------------------------------
def math_sin(x):
    return math.sin(x)


def np_exp(x):
    return np.exp(x)


def square_plus_tanh(x):
    return x * x + math.tanh(x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("f", [math_sin, np_exp, math_sqrt, math_log, builtin_abs,
                               square_plus_tanh])
def test_nan_input_propagates_and_never_crashes(f, backend):
    nan = float("nan")
    check(f, (nan,), (nan,), backend, value=nan)
    assert math.isnan(adgen.grad(f, backend=backend)(nan))
