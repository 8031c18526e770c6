"""Small per-sample objectives the CUDA tests differentiate (scalars in, a float out)."""

import math


def logistic(r, x0, n):
    """The logistic map iterated n times from x0 (a loop with a tape)."""
    x = x0
    for i in range(n):
        x = r * x * (1.0 - x)
    return x


def branchy(r, x0, n):
    """A loop with a branch and transcendental functions."""
    x = x0
    for i in range(n):
        if x > 0.5:
            x = r * x * (1.0 - x)
        else:
            x = math.sin(r * x) + 0.1 * math.exp(-x)
    return x


def rhs(u, v, a, b, c, d):
    return a * u - b * u * v, c * u * v - d * v


def rk4(u0, v0, a, b, c, d, dt, steps):
    """Lotka-Volterra integrated by RK4 (the right-hand side of examples/objectives/ode.py),
    for one population: the squared distance of the final state from (1, 1)."""
    u = u0
    v = v0
    for t in range(steps):
        k1u, k1v = rhs(u, v, a, b, c, d)
        k2u, k2v = rhs(u + 0.5 * dt * k1u, v + 0.5 * dt * k1v, a, b, c, d)
        k3u, k3v = rhs(u + 0.5 * dt * k2u, v + 0.5 * dt * k2v, a, b, c, d)
        k4u, k4v = rhs(u + dt * k3u, v + dt * k3v, a, b, c, d)
        u = u + dt / 6.0 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u)
        v = v + dt / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
    return (u - 1.0) ** 2 + (v - 1.0) ** 2


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
