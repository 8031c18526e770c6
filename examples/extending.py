"""Extending adgen: the worked example of docs/EXTENDING.md.

1. softplus, an element-wise primitive with a numerically stable implementation,
   given by its partial derivative;
2. logsumexp over an array, given by its adjoint (VJP) rule only: forward mode
   and Hessians come from transposing it;
3. scipy.special.erfcx, a black box adgen cannot read, with its derivative
   (which calls erfcx itself, so every order works) and a Numba implementation;
4. a user's numba.njit kernel with a rule, called in a differentiated loop;
5. stop_gradient and static arguments, and a generated gradient called from
   the user's own njit code.

Run: python examples/extending.py
"""

import ctypes
import math
import warnings

import numba
import numpy as np
import scipy.special
from numba.extending import get_cython_function_address

import adgen
from adgen.testing import check_grads, check_vjp


# 1. softplus: log(1 + e^x) without overflow; its partial derivative is the logistic sigmoid
def softplus_partial(x):
    return 1.0 / (1.0 + math.exp(-x))


@adgen.primitive(partials=softplus_partial)
def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# 2. logsumexp: the adjoint rule is g * softmax(x)
def logsumexp_vjp(x, g):
    return g * np.exp(x - logsumexp(x))


@adgen.primitive(vjp=logsumexp_vjp)
def logsumexp(x):
    m = np.max(x)
    return m + math.log(np.sum(np.exp(x - m)))


def loss(w, x, y):
    """Softmax cross-entropy of a linear model with a softplus penalty."""
    scores = w * x
    penalty = 0.0
    for i in range(len(w)):
        penalty += softplus(w[i] - 1.0)
    return logsumexp(scores) - scores[y] + 0.1 * penalty


# 3. scipy.special.erfcx(x) = exp(x^2) erfc(x): erfcx'(x) = 2 x erfcx(x) - 2 / sqrt(pi)
def erfcx_partial(x):
    return 2.0 * x * scipy.special.erfcx(x) - 2.0 / math.sqrt(math.pi)


def erfcx_for_numba():
    """scipy's C implementation, callable from njit code (Numba cannot call the ufunc)."""
    address = get_cython_function_address("scipy.special.cython_special", "__pyx_fuse_1erfcx")
    erfcx_c = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(address)

    @numba.njit
    def erfcx(x):
        return erfcx_c(x)

    return erfcx


adgen.primitive(scipy.special.erfcx, partials=erfcx_partial, numba_impl=erfcx_for_numba())
# Numba compiles code that calls a ctypes function but cannot cache it on disk
warnings.filterwarnings("ignore", "Cannot cache compiled function", numba.NumbaWarning)


def log_gaussian_tail(x):
    """log P(Z > x) for a standard normal Z, accurate far into the tail."""
    return math.log(0.5 * scipy.special.erfcx(x / math.sqrt(2.0))) - 0.5 * x * x


# 4. a user's Numba kernel: adgen calls it as it is and uses the rule for its derivative
@numba.njit
def bump(x):
    return math.exp(-x * x)


def bump_partial(x):
    return -2.0 * x * bump(x)


adgen.primitive(bump, partials=bump_partial)


def bumps(x, n):
    s = 0.0
    for i in range(n):
        s += bump(x - 0.5 * i)
    return s


# 5. stop_gradient and static arguments
def damped(x, y, n):
    s = 0.0
    for i in range(n):
        s += math.sin(x * i) * adgen.stop_gradient(math.exp(-y * i))
    return s


def main():
    w = np.array([0.5, -1.0, 2.0])
    x = np.array([1.0, 0.3, -0.7])
    g = adgen.grad(loss)(w, x, 2)
    print("d loss / d w =", g)
    check_grads(loss, (w, x, 2), order=2)          # reverse, forward and Hessian vs FD
    check_vjp(loss, (w, x, 2))                     # dot-product test and FD

    print("d/dx log P(Z > 30) =", adgen.grad(log_gaussian_tail)(30.0))
    check_grads(log_gaussian_tail, (3.0,), order=2, backend="numba")

    print("d bumps / dx =", adgen.grad(bumps)(1.2, 5))
    check_grads(bumps, (1.2, 5), order=2, backend="numba")

    dx = adgen.grad(damped, static_argnums=2)
    print(adgen.source(dx, 0.6, 0.3, 4))

    gradient = adgen.grad(softplus).compiled(0.0)   # a Numba dispatcher

    @numba.njit
    def descend(z, steps, rate):
        for _ in range(steps):
            z -= rate * gradient(z * z) * 2.0 * z   # chain rule: d softplus(z^2) / dz
        return z

    print("argmin softplus(z^2) from z = 2:", descend(2.0, 200, 0.5))


if __name__ == "__main__":
    main()
