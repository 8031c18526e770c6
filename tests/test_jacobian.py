"""Jacobians (forward, reverse, auto), Hessians of array functions and
Hessian-vector products, against finite differences and each other."""

import numpy as np
import pytest

import adgen


def layer(x, A):
    return np.tanh(A @ x) * x[0]


def energy(x, A):
    return np.sum(np.tanh(A @ x) ** 2) + x[0] * x[1] * x[1]


def scalar_out(x):
    return np.sum(x * x * x)


def fd_jacobian(f, args, k, h=1e-6):
    x = args[k]
    cols = []
    for e in np.eye(x.size):
        plus, minus = list(args), list(args)
        plus[k] = x + h * e.reshape(x.shape)
        minus[k] = x - h * e.reshape(x.shape)
        cols.append((np.asarray(f(*plus)) - np.asarray(f(*minus))) / (2 * h))
    out = np.stack(cols, axis=-1)
    return out.reshape(np.shape(f(*args)) + x.shape)


@pytest.fixture
def point():
    rng = np.random.default_rng(3)
    return rng.normal(size=3), rng.normal(size=(4, 3))


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("mode", ["fwd", "rev", "auto"])
def test_jacobian_modes_agree_with_fd(point, mode, backend):
    x, A = point
    J = adgen.jacobian(layer, mode=mode, backend=backend)(x, A)
    assert J.shape == (4, 3)
    np.testing.assert_allclose(J, fd_jacobian(layer, (x, A), 0), rtol=1e-7, atol=1e-9)


def test_jacobian_wrt_a_matrix_and_tuple_argnums(point):
    x, A = point
    JA = adgen.jacobian(layer, argnums=1, mode="rev", backend="python")(x, A)
    assert JA.shape == (4, 4, 3)
    np.testing.assert_allclose(JA, fd_jacobian(layer, (x, A), 1), rtol=1e-7, atol=1e-9)
    Jx, JA2 = adgen.jacobian(layer, argnums=(0, 1), mode="fwd", backend="python")(x, A)
    np.testing.assert_allclose(JA2, JA, rtol=1e-12)
    assert Jx.shape == (4, 3)


def test_jacobian_of_a_scalar_function_is_the_gradient():
    x = np.array([0.5, -1.0, 2.0])
    J = adgen.jacobian(scalar_out, backend="python")(x)
    np.testing.assert_allclose(J, 3 * x * x, rtol=1e-14)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_hessian_of_array_function(point, backend):
    x, A = point
    H = adgen.hessian(energy, backend=backend)(x, A)
    assert H.shape == (3, 3)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    g = adgen.grad(energy, backend=backend)
    np.testing.assert_allclose(H, fd_jacobian(g, (x, A), 0), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_hvp_without_forming_the_hessian(point, backend):
    x, A = point
    v = np.array([0.3, -0.7, 1.1])
    H = adgen.hessian(energy, backend="python")(x, A)
    np.testing.assert_allclose(adgen.hvp(energy, backend=backend)(x, A, v), H @ v,
                               rtol=1e-12, atol=1e-14)


def polar(x, y):
    return np.hypot(x, y), np.arctan2(y, x)


@pytest.mark.parametrize("mode", ["fwd", "rev", "auto"])
def test_jacobian_of_a_tuple_function_is_a_tuple_like_jax(mode):
    (dr_dx, dr_dy), (dt_dx, dt_dy) = adgen.jacobian(polar, argnums=(0, 1), mode=mode,
                                                   backend="python")(3.0, 4.0)
    assert (dr_dx, dr_dy) == (pytest.approx(0.6), pytest.approx(0.8))
    assert (dt_dx, dt_dy) == (pytest.approx(-4 / 25), pytest.approx(3 / 25))
