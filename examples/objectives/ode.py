"""Lotka-Volterra predator-prey equations integrated by classical Runge-Kutta (RK4).

Source: A. J. Lotka (1925), V. Volterra (1926); RK4 as in Hairer, Norsett and
Wanner, "Solving Ordinary Differential Equations I", section II.1. Prey u and
predators v of a batch of n populations follow

    du/dt = a u - b u v,    dv/dt = c u v - d v,

with theta = (a, b, c, d). The objective integrates `steps` RK4 steps of size
`dt` and returns the mean squared distance of the final states from the
equilibrium-free target (1, 1), differentiated w.r.t. theta (4,) and the
initial states u0, v0 (n,). A loop-heavy objective: a stiff-free ODE
sensitivity problem, the kind adjoint methods are for.
"""

import numpy as np


def lotka_volterra(u, v, a, b, c, d):
    """The right-hand side (du/dt, dv/dt); works on floats and on arrays."""
    return a * u - b * u * v, c * u * v - d * v


def lotka_volterra_vectorized(theta, u0, v0, dt, steps):
    a = theta[0]
    b = theta[1]
    c = theta[2]
    d = theta[3]
    u = u0
    v = v0
    for t in range(steps):
        k1u, k1v = lotka_volterra(u, v, a, b, c, d)
        k2u, k2v = lotka_volterra(u + 0.5 * dt * k1u, v + 0.5 * dt * k1v, a, b, c, d)
        k3u, k3v = lotka_volterra(u + 0.5 * dt * k2u, v + 0.5 * dt * k2v, a, b, c, d)
        k4u, k4v = lotka_volterra(u + dt * k3u, v + dt * k3v, a, b, c, d)
        u = u + dt / 6.0 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u)
        v = v + dt / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
    return np.sum((u - 1.0) ** 2 + (v - 1.0) ** 2) / u0.shape[0]


def lotka_volterra_loops(theta, u0, v0, dt, steps):
    a = theta[0]
    b = theta[1]
    c = theta[2]
    d = theta[3]
    n = u0.shape[0]
    total = 0.0
    for i in range(n):
        u = u0[i]
        v = v0[i]
        for t in range(steps):
            k1u, k1v = lotka_volterra(u, v, a, b, c, d)
            k2u, k2v = lotka_volterra(u + 0.5 * dt * k1u, v + 0.5 * dt * k1v, a, b, c, d)
            k3u, k3v = lotka_volterra(u + 0.5 * dt * k2u, v + 0.5 * dt * k2v, a, b, c, d)
            k4u, k4v = lotka_volterra(u + dt * k3u, v + dt * k3v, a, b, c, d)
            u = u + dt / 6.0 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u)
            v = v + dt / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
        total += (u - 1.0) ** 2 + (v - 1.0) ** 2
    return total / n


def lotka_volterra_orbit(u0, v0, a, b, c, d, dt, steps):
    """One population, scalars in: the squared distance of its final state from (1, 1)
    (the per-sample objective of `adgen.vmap` and bench/gpu.py)."""
    u = u0
    v = v0
    for t in range(steps):
        k1u, k1v = lotka_volterra(u, v, a, b, c, d)
        k2u, k2v = lotka_volterra(u + 0.5 * dt * k1u, v + 0.5 * dt * k1v, a, b, c, d)
        k3u, k3v = lotka_volterra(u + 0.5 * dt * k2u, v + 0.5 * dt * k2v, a, b, c, d)
        k4u, k4v = lotka_volterra(u + dt * k3u, v + dt * k3v, a, b, c, d)
        u = u + dt / 6.0 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u)
        v = v + dt / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
    return (u - 1.0) ** 2 + (v - 1.0) ** 2


def make_data(n, steps, seed, t_end=5.0):
    """(theta, u0, v0, dt, steps): populations near the cycle around (d/c, a/b)."""
    rng = np.random.default_rng(seed)
    theta = np.array([1.1, 0.4, 0.1, 0.4]) * (1.0 + 0.05 * rng.normal(size=4))
    u0 = 4.0 + rng.random(n)
    v0 = 2.0 + rng.random(n)
    return theta, u0, v0, t_end / steps, steps
