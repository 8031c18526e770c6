"""`simplify/linear.py`: carried values a loop updates linearly get their coefficients
first, so the chain from one iteration to the next is one multiplication.

Checked on the generated source (the reverse of the logistic map's recurrence carries
`x_bar` through one product per step) and on values: finite differences, forward mode,
both back ends. Where the rewrite would cost more operations per iteration (many coupled
carried values) or a carried value is read other than linearly, nothing changes.
"""

import math
import re

import numpy as np
import pytest

import adgen
from adgen.frontend.lower import lower_function
from adgen.ir.interpret import interpret
from adgen.ir.types import F64, I64
from adgen.transforms.reverse import differentiate_reverse
from adgen.transforms.simplify.linear import shorten_linear_chains
from adgen.transforms.specialize import specialize


def orbit(r, x0, steps):
    x = x0
    for _ in range(steps):
        x = r * x * (1.0 - x)
    return x


def damped(a, x0, steps):
    """Two carried values coupled linearly in the primal too (a rotation with damping)."""
    x = x0
    y = 0.5 * x0
    for _ in range(steps):
        x, y = a * (x - 0.3 * y), a * (0.3 * x + y)
    return x * x + math.sin(y)


def _fd(f, args, i, h=1e-7):
    plus, minus = list(args), list(args)
    plus[i] += h
    minus[i] -= h
    return (f(*plus) - f(*minus)) / (2 * h)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_the_adjoint_recurrence_is_one_product_per_step(backend):
    g = adgen.grad(orbit, argnums=(0, 1), backend=backend)
    args = (3.2, 0.3, 15)
    source = adgen.source(g, *args)
    # the reverse loop: x's adjoint times its local derivative, computed before it
    assert re.search(r"^ +(\w*x\w*_bar\w*) = (partial\w*) \* (\w*x\w*_bar\w*)$", source,
                     re.MULTILINE), source
    dr, dx0 = g(*args)
    assert dr == pytest.approx(_fd(orbit, args, 0), rel=1e-5)
    assert dx0 == pytest.approx(_fd(orbit, args, 1), rel=1e-5)
    _, tangent = adgen.jvp(orbit, argnums=(0, 1), backend=backend)(*args, 0.4, -1.3)
    assert tangent == pytest.approx(0.4 * dr - 1.3 * dx0, rel=1e-10)


def test_coupled_carried_values_keep_their_values():
    g = adgen.grad(damped, argnums=(0, 1), backend="python")
    args = (0.97, 0.8, 25)
    da, dx0 = g(*args)
    assert da == pytest.approx(_fd(damped, args, 0), rel=1e-6)
    assert dx0 == pytest.approx(_fd(damped, args, 1), rel=1e-6)
    numba_grads = adgen.grad(damped, argnums=(0, 1), backend="numba")(*args)
    np.testing.assert_allclose(numba_grads, (da, dx0), rtol=1e-12)


def _reverse_ir(f, types, wrt=(0, 1)):
    return differentiate_reverse(specialize(lower_function(f), types), wrt,
                                 seed_params=False, return_primal=True)


def test_the_pass_changes_rounding_only():
    fn = _reverse_ir(orbit, (F64, F64, I64))
    rewritten = shorten_linear_chains(fn)
    assert rewritten is not fn
    args = (3.9, 0.21, 60)  # chaotic: 60 steps amplify any rounding by ~1e17 / 2^60
    before, after = interpret(fn, *args), interpret(rewritten, *args)
    np.testing.assert_allclose(after, before, rtol=1e-9)
    assert shorten_linear_chains(rewritten) is rewritten  # nothing more to gain


def counter(a, n):
    """A carried value read by a comparison: not linear, nothing rewritten."""
    s = a
    for _ in range(n):
        s = s * 0.5 if s > 1.0 else s * 3.0 + a
    return s


def test_a_carried_value_read_nonlinearly_is_left_alone():
    fn = _reverse_ir(counter, (F64, I64), wrt=(0,))
    out = shorten_linear_chains(fn)
    args = (0.7, 9)
    np.testing.assert_allclose(interpret(out, *args), interpret(fn, *args), rtol=1e-14)
