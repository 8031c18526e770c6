"""float32 is kept end to end: arguments, constants, tapes and gradients."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import adgen

_spec = importlib.util.spec_from_file_location(
    "float32_cases", Path(__file__).with_name("float32_cases.py"))
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_float32_gradients_stay_float32_and_agree_with_float64(backend):
    x = np.linspace(-1, 1, 3, dtype=np.float32)
    W = np.linspace(0.1, 0.9, 12, dtype=np.float32).reshape(4, 3)
    gx, gW = adgen.grad(cases.f, argnums=(0, 1), backend=backend)(x, W)
    assert gx.dtype == np.float32 and gW.dtype == np.float32
    gx64, gW64 = adgen.grad(cases.f, argnums=(0, 1), backend=backend)(
        x.astype(np.float64), W.astype(np.float64))
    np.testing.assert_allclose(gx, gx64, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gW, gW64, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_float32_through_a_loop_writing_an_array(backend):
    a = np.linspace(0.5, 1.5, 4, dtype=np.float32)
    g = adgen.grad(cases.g, backend=backend)(a)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, adgen.grad(cases.g, backend=backend)(a.astype(np.float64)),
                               rtol=1e-5)
