"""A 1-D convolution layer followed by tanh and a squared loss.

Source: I. Goodfellow, Y. Bengio, A. Courville, "Deep Learning", MIT Press 2016,
chapter 9 (eq. 9.6: the cross-correlation that deep-learning libraries call
convolution), here in 1-D, "valid" (no padding), 0-based:

    out_i = tanh(sum_j x[i + j] u[j]),   i = 0, ..., n - m,
    L(x, u) = 1/2 sum_i (out_i - target_i)^2.

Data and parameters: input `x` (n,), kernel `u` (m,), `target` (n - m + 1,);
both `x` and `u` are differentiable.

`conv1d_vectorized` writes the convolution as a matrix product T(u) @ x with
the banded Toeplitz matrix T(u)[i, i + j] = u[j], built without a loop: the
vector [u, 0, ..., 0] of length n + 1, repeated n - m + 1 times and cut to
(n - m + 1) * n entries, is T(u) row by row (row i starts at offset -i modulo
n + 1). `conv1d_loops` is the direct double loop.
"""

import math

import numpy as np


def conv1d_vectorized(x, u, target):
    n = x.shape[0]
    m = u.shape[0]
    n_out = n - m + 1
    padded = np.concatenate((u, np.zeros(n_out)))            # (n + 1,)
    repeated = np.ones((n_out, 1)) * padded.reshape(1, n + 1)
    flat = repeated.reshape(n_out * (n + 1))
    band = flat[0:n_out * n]
    toeplitz = band.reshape(n_out, n)                         # T[i, i + j] = u[j]
    out = np.tanh(toeplitz @ x)
    r = out - target
    return 0.5 * np.sum(r * r)


def conv1d_shifted(x, u, target):
    """The same convolution as a sum of m shifted slices of x (no n_out x n matrix):
    how a NumPy user writes a short filter over a long signal."""
    n = x.shape[0]
    m = u.shape[0]
    n_out = n - m + 1
    s = u[0] * x[0:n_out]
    for j in range(1, m):
        s = s + u[j] * x[j:j + n_out]
    r = np.tanh(s) - target
    return 0.5 * np.sum(r * r)


def conv1d_loops(x, u, target):
    n = x.shape[0]
    m = u.shape[0]
    total = 0.0
    for i in range(n - m + 1):
        s = 0.0
        for j in range(m):
            s += x[i + j] * u[j]
        r = math.tanh(s) - target[i]
        total += r * r
    return 0.5 * total


def make_data(n, m, seed):
    """(x, u, target)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    u = 0.5 * rng.normal(size=m)
    target = 0.5 * rng.normal(size=n - m + 1)
    return x, u, target
