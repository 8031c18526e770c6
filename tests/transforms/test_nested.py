"""Transforms called inside differentiated code (adgen/transforms/nested.py): a gradient
inside a loss, differentiated again (reverse over reverse, forward over reverse)."""

import math

import numpy as np
import pytest

import adgen
from adgen.errors import AdgenSyntaxError
from adgen.testing import check_grads, check_jvp, check_vjp

BACKENDS = ("python", "numba")


def f(x, y):
    return x * x * y + math.sin(x * y)


df_dx = adgen.grad(f)
df_both = adgen.grad(f, argnums=(0, 1))
f_vg = adgen.value_and_grad(f)
f_jvp = adgen.jvp(f)
f_hvp = adgen.hvp(f)
f_jit = adgen.jit(f)


def uses_grad(x, y):
    return df_dx(x, y) * y


def uses_tuple_grad(x, y):
    gx, gy = df_both(x, y)
    return gx * gy


def uses_value_and_grad(x, y):
    value, gx = f_vg(x, y)
    return value * gx


def uses_jvp(x, y):
    out, tangent = f_jvp(x, y, 0.5)
    return out + tangent * tangent


def uses_hvp(x, y):
    return f_hvp(x, y, 1.0) * x


def uses_jit(x, y):
    return f_jit(x, y) ** 2


def in_a_loop(x, y, n):
    s = 0.0
    for i in range(n):
        s += df_dx(x + i, y) * s + 1.0
        if s > 4.0:
            s = s * 0.5
    return s


def closed_forms(x, y):
    """d/dx and d/dy of uses_grad = (2xy + y cos(xy)) y."""
    c, s = math.cos(x * y), math.sin(x * y)
    dx = (2 * y - y * y * s) * y
    dy = 4 * x * y + 2 * y * c - x * y * y * s
    return dx, dy


@pytest.mark.parametrize("backend", BACKENDS)
def test_grad_of_a_function_calling_grad_matches_the_closed_form(backend):
    g = adgen.grad(uses_grad, argnums=(0, 1), backend=backend)
    for x, y in [(0.3, 1.7), (-1.2, 0.4), (2.0, -0.9)]:
        got = g(x, y)
        want = closed_forms(x, y)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("fn", [uses_grad, uses_tuple_grad, uses_value_and_grad, uses_jvp,
                                uses_hvp, uses_jit], ids=lambda fn: fn.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_callable_transform_differentiates_in_both_modes(fn, backend):
    for point in [(0.3, 1.7), (-1.2, 0.4)]:
        check_grads(fn, point, argnums=(0, 1), order=1, backend=backend)
    check_grads(fn, (0.7, -0.6), argnums=(0, 1), order=2, backend="python")
    check_vjp(fn, (0.7, -0.6), argnums=(0, 1), backend=backend)


def test_the_value_of_a_function_calling_transforms_is_the_plain_value():
    x, y = 0.8, -1.3
    value, _ = adgen.value_and_grad(uses_tuple_grad, backend="python")(x, y)
    gx = 2 * x * y + y * math.cos(x * y)
    gy = x * x + x * math.cos(x * y)
    assert value == pytest.approx(gx * gy, rel=1e-14)
    assert adgen.jit(uses_hvp, backend="python")(x, y) == pytest.approx(
        (2 * y - y * y * math.sin(x * y)) * x, rel=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_gradient_called_in_a_loop_with_a_branch(backend):
    for point in [(0.3, 0.7, 4), (-0.5, 1.1, 6)]:
        check_grads(in_a_loop, point, argnums=(0, 1), backend=backend)


# a WGAN-GP style gradient penalty: the critic's gradient w.r.t. its input, inside the loss
def critic(W, b, v, x):
    return np.sum(np.tanh(x @ W + b) @ v)


critic_input_grad = adgen.grad(critic, argnums=3)


def gradient_penalty(W, b, v, x):
    g = critic_input_grad(W, b, v, x)
    s = 0.0
    for i in range(x.shape[0]):
        s += (math.sqrt(np.sum(g[i] * g[i])) - 1.0) ** 2
    return s / x.shape[0]


def penalty_by_hand(W, b, v, x):
    h = np.tanh(x @ W + b)
    g = ((1.0 - h * h) * v) @ W.T
    return np.mean((np.sqrt(np.sum(g * g, axis=1)) - 1.0) ** 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_penalty_reverse_over_reverse(backend):
    rng = np.random.default_rng(3)
    W, b, v, x = (rng.normal(size=(2, 5)), rng.normal(size=5), rng.normal(size=5),
                  rng.normal(size=(4, 2)))
    assert adgen.jit(gradient_penalty, backend=backend)(W, b, v, x) == pytest.approx(
        penalty_by_hand(W, b, v, x), rel=1e-12)
    copies = [a.copy() for a in (W, b, v, x)]
    check_grads(gradient_penalty, (W, b, v, x), argnums=(0, 1, 2), backend=backend)
    check_jvp(gradient_penalty, (W, b, v, x), argnums=(0, 1, 2), backend=backend)
    for a, c in zip((W, b, v, x), copies):
        np.testing.assert_array_equal(a, c)


def test_unsupported_transforms_inside_are_syntax_errors():
    hess = adgen.hessian(f)
    static = adgen.grad(f, static_argnums=1)

    def uses_hessian(x, y):
        return hess(x, y)

    def uses_static(x, y):
        return static(x, y)

    def wrong_count(x, y):
        return df_dx(x)

    for fn, words in [(uses_hessian, "adgen.hessian"), (uses_static, "static_argnums"),
                      (wrong_count, r"takes 2 argument\(s\) here, got 1")]:
        with pytest.raises(AdgenSyntaxError, match=words):
            adgen.grad(fn, backend="python")(0.5, 0.5)


def test_trace_of_a_function_calling_grad_shows_the_inner_derivative_code():
    x, y = 0.5, 1.0
    t = adgen.trace(uses_grad, x, y)
    assert t.primal[-1].value == pytest.approx((2 * x * y + y * math.cos(x * y)) * y,
                                               rel=1e-14)
    x_bar = [r for r in t.adjoint if r.target == -1][-1].value
    y_bar = [r for r in t.adjoint if r.target == 0][-1].value
    assert (x_bar, y_bar) == pytest.approx(closed_forms(x, y), rel=1e-12)
    assert t.tangent[-1].value == pytest.approx(closed_forms(x, y)[0], rel=1e-12)
