"""Parallel loops: `for i in prange(n)` (numba's or adgen's) in a differentiated function.

Gradients and tangents of prange loops equal those of the same loops written with
`range` and central differences; the generated code has `numba.prange` where the
iterations are independent (the primal loop, a tangent loop, the reverse loop of
sums and of scatter-adds at the loop variable) and `range` where they are not (a
scatter `w_bar[j] += ...`, `x_bar[idx[i]] += ...`, a `*=` reduction, which needs a
tape). Numba's parallel compiles are slow: three here, the rest on the python backend.
"""

import math

import numpy as np
import pytest
from numba import prange

import adgen
from adgen.ir.parser import parse_function
from adgen.ir.printer import print_function


# --- the functions (each with its `range` twin) --------------------------------------
def least_squares(w, X, y):
    acc = 0.0
    for i in prange(X.shape[0]):
        r = X[i] @ w - y[i]
        acc += r * r
    return acc


def least_squares_serial(w, X, y):
    acc = 0.0
    for i in range(X.shape[0]):
        r = X[i] @ w - y[i]
        acc += r * r
    return acc


def least_squares_features(w, X, y):
    acc = 0.0
    for i in prange(X.shape[0]):
        r = -y[i]
        for j in range(X.shape[1]):
            r += X[i, j] * w[j]  # its adjoint w_bar[j] += ...: the reverse loop is serial
        acc += r * r
    return acc


def least_squares_features_serial(w, X, y):
    acc = 0.0
    for i in range(X.shape[0]):
        r = -y[i]
        for j in range(X.shape[1]):
            r += X[i, j] * w[j]
        acc += r * r
    return acc


def per_sample(x, p):
    out = np.zeros(x.shape[0])
    for i in adgen.prange(x.shape[0]):
        out[i] = p * x[i] * x[i] + math.sin(p * x[i])
    return np.sum(out)


def per_sample_serial(x, p):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = p * x[i] * x[i] + math.sin(p * x[i])
    return np.sum(out)


def gathered(x, w, idx):
    acc = 0.0
    for i in prange(w.shape[0]):
        acc -= x[idx[i]] * w[i]  # its adjoint x_bar[idx[i]] += ...: serial
    return acc


def gathered_serial(x, w, idx):
    acc = 0.0
    for i in range(w.shape[0]):
        acc -= x[idx[i]] * w[i]
    return acc


def product(x, p):
    acc = 1.0
    for i in prange(x.shape[0]):
        acc *= 1.0 + p * x[i]  # d acc_new / d acc reads x[i]: taped, reversed serially
    return acc


def product_serial(x, p):
    acc = 1.0
    for i in range(x.shape[0]):
        acc *= 1.0 + p * x[i]
    return acc


def last_column(X, p):
    out = np.zeros(X.shape[0])
    for i in prange(X.shape[0]):
        for j in range(X.shape[1]):
            t = p * X[i, j]  # private to the iteration of i, assigned in an inner loop
        out[i] = t * t
    return np.sum(out)


def last_column_serial(X, p):
    out = np.zeros(X.shape[0])
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            t = p * X[i, j]
        out[i] = t * t
    return np.sum(out)


def conditional_rows(X, w):
    total = np.zeros(X.shape[1])
    for i in prange(X.shape[0]):
        if X[i, 0] > 0.5:
            total += X[i] * w[i]  # an array reduction, in one branch
    return np.sum(total * total)


def conditional_rows_serial(X, w):
    total = np.zeros(X.shape[1])
    for i in range(X.shape[0]):
        if X[i, 0] > 0.5:
            total += X[i] * w[i]
    return np.sum(total * total)


# --- functions the frontend refuses --------------------------------------------------
def carried_state(r, x, n):
    for i in prange(n):
        x = r * x * (1.0 - x)
    return x


def last_value(x):
    t = 0.0
    for i in prange(x.shape[0]):
        t = 2.0 * x[i]
    return t


def stops_early(x):
    acc = 0.0
    for i in prange(x.shape[0]):
        if x[i] > 1.0:
            break
        acc += x[i]
    return acc


def strided(x):
    acc = 0.0
    for i in prange(0, x.shape[0], 2):
        acc += x[i]
    return acc


# --- data -----------------------------------------------------------------------------
RNG = np.random.default_rng(7)
X = RNG.normal(size=(9, 3))
Y = RNG.normal(size=9)
W = RNG.normal(size=3)
XS = RNG.uniform(0.1, 1.0, size=9)
W9 = RNG.normal(size=9)
IDX = np.array([0, 2, 2, 5, 1, 0, 8, 8, 3])

CASES = [  # (parallel, serial, args, argnums)
    (least_squares, least_squares_serial, (W, X, Y), (0, 1, 2)),
    (least_squares_features, least_squares_features_serial, (W, X, Y), (0, 1, 2)),
    (per_sample, per_sample_serial, (XS, 0.7), (0, 1)),
    (gathered, gathered_serial, (XS, W9, IDX), (0, 1)),
    (product, product_serial, (XS, 0.3), (0, 1)),
    (conditional_rows, conditional_rows_serial, (np.abs(X), W9), (0, 1)),
    (last_column, last_column_serial, (X, 0.4), (0, 1)),
]
IDS = [case[0].__name__ for case in CASES]


def central_difference(f, args, k, h=1e-6):
    args = list(args)
    value = np.asarray(args[k], dtype=float)
    grad = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        step = np.zeros_like(value)
        step[index] = h
        up = f(*args[:k], value + step if value.ndim else float(value + step), *args[k + 1:])
        down = f(*args[:k], value - step if value.ndim else float(value - step), *args[k + 1:])
        grad[index] = (up - down) / (2 * h)
    return grad


def assert_close(got, want, tol=1e-12):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def derivative_code(source: str) -> str:
    """The generated function, without the header and imports."""
    return source[source.index("\ndef "):]


# --- gradients --------------------------------------------------------------------------
@pytest.mark.parametrize("parallel, serial, args, argnums", CASES, ids=IDS)
def test_gradient_equals_range_version_and_finite_differences(parallel, serial, args, argnums):
    got = adgen.grad(parallel, argnums=argnums, backend="python")(*args)
    assert_close(got, adgen.grad(serial, argnums=argnums, backend="python")(*args))
    for grad, k in zip(got, argnums):
        np.testing.assert_allclose(grad, central_difference(parallel, args, k), rtol=1e-6,
                                   atol=1e-6)


@pytest.mark.parametrize("parallel, serial, args, argnums", CASES[:2], ids=IDS[:2])
def test_numba_value_and_grad_is_parallel_and_equal(parallel, serial, args, argnums):
    transformed = adgen.value_and_grad(parallel, argnums=argnums)
    value, grads = transformed(*args)
    want_value, want_grads = adgen.value_and_grad(serial, argnums=argnums,
                                                  backend="python")(*args)
    np.testing.assert_allclose(value, want_value, rtol=1e-12)
    assert_close(grads, want_grads)
    assert transformed.compiled(*args).targetoptions["parallel"]


def test_jvp_of_a_prange_loop_is_parallel():
    transformed = adgen.jvp(least_squares, argnums=0)
    tangent = np.array([0.5, -1.0, 2.0])
    value, dot = transformed(W, X, Y, tangent)
    np.testing.assert_allclose(value, least_squares_serial(W, X, Y), rtol=1e-12)
    np.testing.assert_allclose(dot, central_difference(least_squares, (W, X, Y), 0) @ tangent,
                               rtol=1e-6)
    assert adgen.jvp(least_squares_serial, argnums=0, backend="python")(
        W, X, Y, tangent)[1] == pytest.approx(dot, rel=1e-12)
    code = derivative_code(adgen.source(transformed, W, X, Y, tangent))
    assert code.count("in numba.prange(") == 1
    assert "acc_dot += " in code


def test_hvp_through_a_prange_loop():
    vector = np.array([1.0, 0.0, -2.0])
    got = adgen.hvp(least_squares, backend="python")(W, X, Y, vector)
    np.testing.assert_allclose(got, 2.0 * X.T @ (X @ vector), rtol=1e-12)


# --- where the generated code is parallel ------------------------------------------------
def test_forward_sweep_and_reverse_loop_of_sums_are_prange():
    code = derivative_code(adgen.source(adgen.value_and_grad(least_squares, argnums=(0, 1, 2)),
                                        W, X, Y))
    assert code.count("in numba.prange(") == 2
    assert " in range(" not in code
    assert "_tape" not in code  # a reduction needs no tape: d acc_new / d acc = 1
    assert "acc += " in code
    assert "w_bar += " in code  # an array reduction, in place: Numba's form
    assert "X_bar[i_1_1] += " in code and "y_bar[i_1_1] += " in code


def test_scatter_at_another_index_makes_the_reverse_loop_serial():
    code = derivative_code(adgen.source(adgen.value_and_grad(least_squares_features), W, X, Y))
    forward, reverse = code.split("w_bar = np.zeros_like(w)")
    assert forward.count("in numba.prange(") == 1
    assert "numba.prange" not in reverse
    assert "w_bar[" in reverse  # w_bar[j] += ...: two iterations of i may meet there
    code = derivative_code(adgen.source(adgen.grad(gathered), XS, W9, IDX))
    assert "numba.prange" not in code and "x_bar[" in code


def test_per_sample_outputs_and_python_backend_marks():
    numba_code = derivative_code(adgen.source(adgen.grad(per_sample, argnums=(0, 1)), XS, 0.7))
    assert numba_code.count("in numba.prange(") == 2
    assert "p_bar += " in numba_code  # summed within the iteration, added once
    python_code = adgen.source(adgen.grad(per_sample, argnums=(0, 1), backend="python"), XS, 0.7)
    assert "numba" not in python_code.replace("# numba.prange on the numba backend", "")
    assert python_code.count("# numba.prange on the numba backend") == 2


def test_product_reduction_is_taped_and_serial():
    code = derivative_code(adgen.source(adgen.grad(product, argnums=(0, 1)), XS, 0.3))
    assert "numba.prange" not in code
    assert "acc_tape" in code
    primal = derivative_code(adgen.source(adgen.jit(product), XS, 0.3))
    assert primal.count("in numba.prange(") == 1 and "acc *= " in primal


def test_ir_marks_the_loop_parallel_and_round_trips():
    text = adgen.ir(least_squares, W, X, Y)
    assert "{parallel = True}" in text
    assert print_function(parse_function(text)) == text


def test_adgen_prange_is_range_in_python():
    assert list(adgen.prange(2, 5)) == [2, 3, 4]
    assert per_sample(XS, 0.7) == pytest.approx(per_sample_serial(XS, 0.7), rel=1e-15)
    assert adgen.jit(per_sample, backend="python")(XS, 0.7) == pytest.approx(
        per_sample_serial(XS, 0.7), rel=1e-14)


# --- what the frontend refuses -----------------------------------------------------------
def _error(f, *args):
    with pytest.raises(adgen.AdgenSyntaxError) as info:
        adgen.grad(f, backend="python")(*args)
    return info.value


def test_a_carried_value_that_is_not_a_reduction_is_an_error():
    error = _error(carried_state, 3.7, 0.3, 4)
    assert error.filename == __file__
    assert error.line.strip() == "x = r * x * (1.0 - x)"
    assert error.lineno == carried_state.__code__.co_firstlineno + 2
    assert "`x` is carried from one iteration of this prange loop to the next" in str(error)
    assert "use range(...)" in error.hint
    assert "^" in str(error)


def test_a_private_value_used_after_the_loop_is_an_error():
    error = _error(last_value, XS)
    assert "`t` is assigned in this prange loop and used after it" in str(error)
    assert error.line.strip() == "for i in prange(x.shape[0]):"


def test_break_and_step_are_errors():
    error = _error(stops_early, XS)
    assert "cannot break out of a prange loop" in str(error)
    assert error.line.strip() == "break"
    error = _error(strided, XS)
    assert "step of 1" in str(error)
