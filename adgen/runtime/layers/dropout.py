"""Dropout with an explicit random generator (inverted dropout: kept units are
scaled by 1 / (1 - rate) in training, so eval mode is the identity).

The mask is drawn outside the differentiated function and passed in, so the
loss stays a pure function and its gradient is generated like any other.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.ones((2, 4))
    >>> mask = dropout_mask(rng, X.shape, rate=0.5)
    >>> sorted(set(dropout(X, mask).ravel().tolist())) in ([0.0, 2.0], [2.0], [0.0])
    True
"""

from __future__ import annotations

import numpy as np


def dropout(X, mask):
    """X * mask: `mask` from `dropout_mask` in training, `eval_mask` (ones) in eval."""
    return X * mask


def dropout_mask(rng, shape, rate):
    """A training mask: 0 with probability `rate`, else 1 / (1 - rate)."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    keep = rng.random(shape) >= rate
    return keep / (1.0 - rate)


def eval_mask(shape):
    """The eval-mode mask: ones (dropout is the identity)."""
    return np.ones(shape)
