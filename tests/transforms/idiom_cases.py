"""The time-stepping idioms of loop code, as Numba users write them (issue 16): copy-back
element by element or by slice, buffer swaps and rotations, slice updates, arrays rebound,
row and column writes, while loops and early exits that carry arrays."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

# the benchmark's heat equation, in three of its idioms (the fourth, the swap, is below
# with a second output that reads the other buffer)
from objectives.heat import heat_elementwise, heat_slice_copy, heat_slices  # noqa: E402,F401


def heat_swap(u0, r, n):
    u = u0.copy()
    m = u.shape[0]
    u_new = u0.copy()
    for t in range(n):
        for i in range(1, m - 1):
            u_new[i] = u[i] + r * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u, u_new = u_new, u
    return np.sum(u * u) + 0.5 * np.sum(u_new)


def heat_rebound(u0, r, n):
    u = u0.copy()
    for t in range(n):
        lap = np.zeros_like(u)
        lap[1:-1] = u[:-2] - 2.0 * u[1:-1] + u[2:]
        u = u + r * lap
    return np.sum(u * u)


def rotate_three(u0, r, n):
    """Three buffers rotated: a leapfrog-like two-step recurrence."""
    a = u0.copy()
    b = u0 * r
    c = np.zeros_like(u0)
    m = a.shape[0]
    for t in range(n):
        for i in range(m):
            c[i] = 0.5 * a[i] + r * np.sin(b[i])
        a, b, c = b, c, a
    return np.sum(a * b) + np.sum(c)


def rows_and_columns(A, r, n):
    """A row written whole (A[i, :] = row) and a column accumulated (B[:, j] += col)."""
    B = np.zeros_like(A)
    M = A.copy()
    rows, cols = A.shape
    for t in range(n):
        for i in range(rows):
            M[i, :] = np.tanh(r * M[i, :]) + A[i, :]
        for j in range(cols):
            B[:, j] += M[:, j] * M[:, j]
    return np.sum(B * M)


def while_carry(u0, r, tol):
    """A while loop that carries a whole array and stops on its norm."""
    u = u0.copy()
    steps = 0
    while np.sum(u * u) > tol and steps < 50:
        u = u * r + 0.01 * np.sin(u)
        steps += 1
    return np.sum(u)


def while_inplace(u0, r, tol):
    """A while loop that updates an array in place."""
    u = u0.copy()
    m = u.shape[0]
    steps = 0
    while u[0] * u[0] > tol and steps < 40:
        for i in range(m - 1, 0, -1):
            u[i] = r * u[i] + 0.25 * u[i - 1] * u[i - 1]
        u[0] = r * u[0]
        steps += 1
    return np.sum(u * u)


def early_exit(u0, r, n):
    """A for loop with break and an early return, carrying an array updated in place."""
    u = u0.copy()
    m = u.shape[0]
    for t in range(n):
        for i in range(1, m):
            u[i] = u[i] + r * u[i - 1] * u[i - 1]
        if np.max(u) > 50.0:
            return np.sum(u)
        if u[m - 1] > 20.0:
            break
    return np.sum(u * u)


def alias_swap(u0, r, n):
    """u and v are one array: the swap exchanges two names of it (refused, with both names)."""
    u = u0.copy()
    v = u
    m = u.shape[0]
    for t in range(n):
        for i in range(1, m):
            v[i] = u[i - 1] * r + v[i]
        u, v = v, u
    return np.sum(u)


def conditional_swap(u0, r, n):
    """The buffers are swapped on some iterations only (refused, with a clear message)."""
    u = u0.copy()
    v = u0 * r
    for t in range(n):
        for i in range(u.shape[0]):
            v[i] = u[i] * r + v[i]
        if t % 3 == 0:
            continue
        u, v = v, u
    return np.sum(u)
