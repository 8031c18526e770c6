"""np.prod's derivative where elements are zero (found by the fuzzer, regression_010):
the product of the other elements, never prod / x_i = 0 / 0."""

import numpy as np
import pytest

import adgen


def prod_of(x):
    return np.prod(x)


def by_hand(x):
    g = np.array([np.prod(np.delete(x, i)) for i in range(len(x))])
    H = np.array([[0.0 if i == j else np.prod(np.delete(x, [i, j])) for j in range(len(x))]
                  for i in range(len(x))])
    return g, H


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("x", [[0.0, 2.0, 3.0], [0.0, 0.0, 3.0], [0.0, 0.0, 0.0, 5.0],
                               [1.5, -2.0, 3.0]])
def test_gradient_and_hessian_of_prod_with_zeros(x, backend):
    x = np.array(x)
    g, H = by_hand(x)
    np.testing.assert_allclose(adgen.grad(prod_of, backend=backend)(x), g, rtol=1e-15)
    np.testing.assert_allclose(adgen.hessian(prod_of, backend=backend)(x), H, rtol=1e-15)
    v = np.linspace(-1.0, 1.0, len(x))
    assert adgen.jvp(prod_of, backend=backend)(x, v)[1] == pytest.approx(g @ v, abs=1e-15)
