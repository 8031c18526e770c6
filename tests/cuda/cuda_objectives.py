"""Small per-sample objectives the CUDA tests differentiate (scalars in, a float out)."""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from objectives.ode import lotka_volterra_orbit  # noqa: E402


def logistic(r, x0, n):
    """The logistic map iterated n times from x0 (a loop with a tape)."""
    x = x0
    for i in range(n):
        x = r * x * (1.0 - x)
    return x


LOOP_LINE = logistic.__code__.co_firstlineno + 3  # its `for i in range(n):`


def branchy(r, x0, n):
    """A loop with a branch and transcendental functions."""
    x = x0
    for i in range(n):
        if x > 0.5:
            x = r * x * (1.0 - x)
        else:
            x = math.sin(r * x) + 0.1 * math.exp(-x)
    return x


rk4 = lotka_volterra_orbit  # Lotka-Volterra by RK4, one population


def call_option(s, k, sigma, t, flag):
    """A Black-Scholes price: a call (flag 1) or a put (flag 0), no loop."""
    d1 = (math.log(s / k) + 0.5 * sigma * sigma * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    nd1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
    nd2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
    if flag == 1:
        return s * nd1 - k * nd2
    return k * (1.0 - nd2) - s * (1.0 - nd1)


def two_outputs(x, y):
    return x * y, math.sin(x) + y


def doubling(x):
    """A while loop whose reverse sweep needs a growable tape."""
    while x < 100.0:
        x = x * x + 1.0
    return x
