"""Batch normalization (train and eval modes, running statistics) and group
normalization, over dense (n, d) and convolutional (n, c, h, w) batches.

Train mode normalizes with the batch's own mean and (biased) variance, so the
gradient flows through them; `batch_moments` gives those statistics (NumPy,
not differentiated) for `update_running`, and eval mode uses the running ones
(PyTorch's conventions: momentum 0.1, the running variance unbiased).

Example:
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((8, 3))
    >>> Y = batch_norm(np.ones(3), np.zeros(3), X)
    >>> bool(np.allclose(Y.mean(axis=0), 0.0))
    True
"""

from __future__ import annotations

import numpy as np


def batch_norm(gamma, beta, X, eps=1e-5):
    """Train mode over a dense batch X (n, d): per-feature batch statistics."""
    mean = np.mean(X, axis=0)
    centered = X - mean
    var = np.mean(centered * centered, axis=0)
    return centered / np.sqrt(var + eps) * gamma + beta


def batch_norm_eval(gamma, beta, X, running_mean, running_var, eps=1e-5):
    """Eval mode over a dense batch: the running statistics, a fixed affine map."""
    return (X - running_mean) / np.sqrt(running_var + eps) * gamma + beta


def batch_norm2d(gamma, beta, X, eps=1e-5):
    """Train mode over a convolutional batch X (n, c, h, w): statistics per channel."""
    n, c, h, w = X.shape
    Y = np.zeros((n, c, h, w))
    count = n * h * w
    for k in range(c):
        s = 0.0
        for i in range(n):
            for a in range(h):
                for b in range(w):
                    s += X[i, k, a, b]
        mean = s / count
        v = 0.0
        for i in range(n):
            for a in range(h):
                for b in range(w):
                    v += (X[i, k, a, b] - mean) ** 2
        scale = gamma[k] / np.sqrt(v / count + eps)
        for i in range(n):
            for a in range(h):
                for b in range(w):
                    Y[i, k, a, b] = (X[i, k, a, b] - mean) * scale + beta[k]
    return Y


def batch_norm2d_eval(gamma, beta, X, running_mean, running_var, eps=1e-5):
    """Eval mode over a convolutional batch: per-channel running statistics."""
    n, c, h, w = X.shape
    Y = np.zeros((n, c, h, w))
    for k in range(c):
        scale = gamma[k] / np.sqrt(running_var[k] + eps)
        for i in range(n):
            for a in range(h):
                for b in range(w):
                    Y[i, k, a, b] = (X[i, k, a, b] - running_mean[k]) * scale + beta[k]
    return Y


def group_norm(gamma, beta, X, groups, eps=1e-5):
    """Group normalization of X (n, c, h, w): statistics per sample over each group of
    c // groups channels; gamma, beta per channel (Wu and He, 2018)."""
    n, c, h, w = X.shape
    per = c // groups
    count = per * h * w
    Y = np.zeros((n, c, h, w))
    for i in range(n):
        for g in range(groups):
            s = 0.0
            for k in range(g * per, (g + 1) * per):
                for a in range(h):
                    for b in range(w):
                        s += X[i, k, a, b]
            mean = s / count
            v = 0.0
            for k in range(g * per, (g + 1) * per):
                for a in range(h):
                    for b in range(w):
                        v += (X[i, k, a, b] - mean) ** 2
            inv = 1.0 / np.sqrt(v / count + eps)
            for k in range(g * per, (g + 1) * per):
                for a in range(h):
                    for b in range(w):
                        Y[i, k, a, b] = (X[i, k, a, b] - mean) * inv * gamma[k] + beta[k]
    return Y


# running statistics (NumPy, outside differentiation) -------------------------------------------
def batch_moments(X):
    """(mean, unbiased variance) per feature of X (n, d) or per channel of X (n, c, h, w)."""
    axes = (0,) if X.ndim == 2 else (0, 2, 3)
    return X.mean(axis=axes), X.var(axis=axes, ddof=1)


def update_running(running_mean, running_var, X, momentum=0.1):
    """New running statistics after the batch X (new arrays; the old ones are kept)."""
    mean, var = batch_moments(X)
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var)


def group_norm_check(channels: int, groups: int) -> None:
    """Raise ValueError unless `groups` divides `channels` (call before training)."""
    if groups <= 0 or channels % groups:
        raise ValueError(f"group_norm: {groups} groups do not divide {channels} channels")
