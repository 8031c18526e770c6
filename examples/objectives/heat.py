"""The explicit heat equation: forward-time centred-space (FTCS) finite differences.

Source: R. J. LeVeque, "Finite Difference Methods for Ordinary and Partial
Differential Equations", SIAM 2007, chapter 9 (the explicit method for the heat
equation u_t = kappa u_xx). On m cells with fixed end values (Dirichlet
boundaries) each step replaces every interior cell by

    u[i] + r (u[i-1] - 2 u[i] + u[i+1]),    r = kappa dt / dx^2,

stable for r <= 1/2. The objective runs `steps` steps from `u0` and returns the
sum of squares of the final state; it is differentiated w.r.t. the initial
state `u0` (m,) and the ratio `r` (a float).

The same algorithm in the four idioms a user writes a stencil time loop in,
which differ only in how the new state replaces the old:

* `heat_elementwise`: the interior into a second buffer, element by element,
  then copied back element by element;
* `heat_slice_copy`: the same loop, copied back by a slice assignment
  `u[:] = u_new` (u_new starts as a copy of u0, so its end values are u's);
* `heat_swap`: the same loop, then the buffers swapped (`u, u_new = u_new, u`;
  both start as copies of u0, so both hold the end values);
* `heat_slices`: the interior updated by one slice assignment per step, its
  right-hand side evaluated before the write (the vectorized source).

All four compute the same floating-point values, and none writes into `u0`.
"""

import numpy as np


def heat_elementwise(u0, r, steps):
    m = u0.shape[0]
    u = u0.copy()
    u_new = np.zeros(m)
    for t in range(steps):
        for i in range(1, m - 1):
            u_new[i] = u[i] + r * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        for i in range(1, m - 1):
            u[i] = u_new[i]
    return np.sum(u * u)


def heat_slice_copy(u0, r, steps):
    m = u0.shape[0]
    u = u0.copy()
    u_new = u0.copy()
    for t in range(steps):
        for i in range(1, m - 1):
            u_new[i] = u[i] + r * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u[:] = u_new
    return np.sum(u * u)


def heat_swap(u0, r, steps):
    m = u0.shape[0]
    u = u0.copy()
    u_new = u0.copy()
    for t in range(steps):
        for i in range(1, m - 1):
            u_new[i] = u[i] + r * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u, u_new = u_new, u
    return np.sum(u * u)


def heat_slices(u0, r, steps):
    u = u0.copy()
    for t in range(steps):
        u[1:-1] = u[1:-1] + r * (u[:-2] - 2.0 * u[1:-1] + u[2:])
    return np.sum(u * u)


def make_data(m, steps, seed):
    """(u0, r, steps): a random initial state on m cells and a stable r in [0.2, 0.3)."""
    rng = np.random.default_rng(seed)
    u0 = rng.normal(size=m)
    r = 0.2 + 0.1 * float(rng.random())
    return u0, r, steps
