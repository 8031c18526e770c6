"""The array kernels (tiled matmul and its adjoints, deterministic reductions, generated
element-wise derivative kernels)."""

import math

import numpy as np
import pytest

import adgen
from adgen.cuda import arrays

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, False), (False, True)])
def test_tiled_matmul(trans_a, trans_b):
    A = RNG.normal(size=(7, 5))
    B = RNG.normal(size=(6, 9)) if not trans_a else RNG.normal(size=(7, 9))
    if trans_b:
        B = RNG.normal(size=(3, 5))
    opA = A.T if trans_a else A
    opB = B.T if trans_b else B
    C = arrays.matmul(A, B, trans_a, trans_b).copy_to_host() if opA.shape[1] == opB.shape[0] \
        else None
    if C is None:
        B = RNG.normal(size=(opA.shape[1], 4))
        C = arrays.matmul(A, B, trans_a, False).copy_to_host()
        opB = B
    np.testing.assert_allclose(C, opA @ opB, rtol=1e-12, atol=1e-12)


def test_matmul_adjoints_and_dimension_check():
    A, B, dC = RNG.normal(size=(6, 5)), RNG.normal(size=(5, 3)), RNG.normal(size=(6, 3))
    dA, dB = arrays.matmul_vjp(A, B, dC)
    np.testing.assert_allclose(dA.copy_to_host(), dC @ B.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dB.copy_to_host(), A.T @ dC, rtol=1e-12, atol=1e-12)
    with pytest.raises(adgen.AdgenTypeError, match="inner dimensions"):
        arrays.matmul(A, A)


def test_reductions_are_exact_and_deterministic():
    G = RNG.normal(size=(9, 4))
    np.testing.assert_allclose(arrays.sum_rows(G).copy_to_host(), G.sum(axis=0), rtol=1e-13)
    x = RNG.normal(size=600)
    first = arrays.total(x)
    assert first == pytest.approx(math.fsum(x), rel=1e-12)
    assert arrays.total(x) == first  # bitwise the same, run to run


def _tanh(z):
    return math.tanh(z)


def test_generated_elementwise_derivative_kernels_keep_shapes():
    Z = RNG.normal(size=(3, 4))
    ct = RNG.normal(size=(3, 4))
    value, grad = arrays.elementwise(adgen.vjp(_tanh), Z, ct)
    assert isinstance(value, np.ndarray)  # NumPy in, NumPy out
    assert value.shape == (3, 4)
    np.testing.assert_allclose(value, np.tanh(Z), rtol=1e-14)
    np.testing.assert_allclose(grad, ct * (1 - np.tanh(Z) ** 2), rtol=1e-12, atol=1e-15)
