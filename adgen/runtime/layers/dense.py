"""The dense (fully connected) layer.

Layout: a batch is a row-major (n, n_in) array X, one example per row, and the
weight matrix is W (n_in, n_out), so the layer is X @ W + b, shape (n, n_out):
the row-vector form of W'x + b with W' = W.T. One body serves a single example
x (n_in,) too (result (n_out,)). The activation is applied by the caller:
`relu(dense(W, b, X))`.
"""

import math

import numpy as np


def dense(W, b, x):
    """x @ W + b for W (n_in, n_out), b (n_out,), x (n, n_in) or (n_in,).

    Example:
        >>> W = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])   # n_in = 2, n_out = 3
        >>> dense(W, np.array([0.5, 0.5, 0.5]), np.array([[1.0, 2.0]]))
        array([[1.5, 2.5, 8.5]])
    """
    return x @ W + b


def dense_init(rng, n_in, n_out, scale="glorot"):
    """(W, b): W (n_in, n_out) float64 drawn from `rng` (a numpy.random.Generator), b zero.

    scale="glorot": uniform on [-a, a], a = sqrt(6 / (n_in + n_out)) (Glorot and Bengio,
    2010; for tanh, sigmoid, softmax outputs); scale="he": normal with standard deviation
    sqrt(2 / n_in) (He et al., 2015; for ReLU).

    Example:
        >>> W, b = dense_init(np.random.default_rng(0), 4, 3, scale="he")
        >>> W.shape, b.shape, W.dtype
        ((4, 3), (3,), dtype('float64'))
    """
    return _weights(rng, (n_in, n_out), n_in, n_out, scale), np.zeros(n_out)


def _weights(rng, shape, fan_in, fan_out, scale):
    """A float64 array of `shape` with the Glorot (uniform) or He (normal) scale."""
    if scale == "glorot":
        a = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-a, a, size=shape)
    if scale == "he":
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
    raise ValueError(f"scale must be 'glorot' or 'he', got {scale!r}")
