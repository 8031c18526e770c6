"""adgen.cuda.device_function: the generated derivative called from a user's kernel."""

import numpy as np
import pytest
from cuda_objectives import LOOP_LINE, branchy, doubling, logistic

import adgen
from adgen.cuda import device_function

# at module level: the simulator swaps the `cuda` global of a kernel's module
from numba import cuda  # noqa: E402  (NUMBA_ENABLE_CUDASIM is set by tests/conftest.py)


def test_device_function_from_a_user_kernel():
    g = adgen.grad(branchy, argnums=(0, 1), static_argnums=2)
    dbranchy = device_function(g, 3.7, 0.5, 5)
    assert "@cuda.jit(device=True)" in dbranchy.adgen_source

    @cuda.jit
    def kernel(r, x0, dr, dx0):
        i = cuda.grid(1)
        if i < r.shape[0]:
            a, b = dbranchy(r[i], x0[i], 5)
            dr[i] = a
            dx0[i] = b

    n = 9
    r = np.linspace(3.5, 3.9, n)
    x0 = np.linspace(0.1, 0.9, n)
    dr, dx0 = np.zeros(n), np.zeros(n)
    kernel[3, 4](r, x0, dr, dx0)
    for i in range(n):
        expected = g(r[i], x0[i], 5)
        assert dr[i] == pytest.approx(expected[0], rel=1e-12, abs=1e-12)
        assert dx0[i] == pytest.approx(expected[1], rel=1e-12, abs=1e-12)


def test_device_function_of_an_hvp_keeps_tangent_tapes_local():
    h = adgen.hvp(logistic, argnums=0, static_argnums=2)
    dev = device_function(h, 3.7, 0.3, 4, 1.0)
    assert "np.zeros_like" not in dev.adgen_source

    @cuda.jit
    def kernel(r, out):
        i = cuda.grid(1)
        if i < r.shape[0]:
            g, hv = dev(r[i], 0.3, 4, 1.0)
            out[i] = hv

    r = np.linspace(3.5, 3.9, 5)
    out = np.zeros(5)
    kernel[1, 5](r, out)
    np.testing.assert_allclose(out, [h(x, 0.3, 4, 1.0) for x in r], rtol=1e-12)


def test_device_function_errors():
    with pytest.raises(adgen.AdgenTypeError, match=f"line {LOOP_LINE} .*static_argnums"):
        device_function(adgen.grad(logistic), 3.7, 0.3, 4)
    with pytest.raises(adgen.AdgenTypeError, match="growable tape"):
        device_function(adgen.grad(doubling), 3.0)
    with pytest.raises(adgen.AdgenTypeError, match="scalar arguments"):
        device_function(adgen.grad(lambda_free_sum), np.ones(3))
    with pytest.raises(adgen.AdgenTypeError, match="adgen transform"):
        device_function(logistic, 3.7, 0.3, 4)


def lambda_free_sum(x):
    return np.sum(x)
