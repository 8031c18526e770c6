"""Activation functions, written in adgen's subset.

Element-wise functions take an array of any rank (or a float, where NumPy
does) and return an array of its shape. `softmax` and `log_softmax` work along
the last axis of a 1-D or 2-D array (a batch is (n, classes)); `maxout` takes
a batch (n, d). None has a hand-written derivative: adgen differentiates these
bodies, inlined into the caller's loss.

At kinks adgen's conventions apply (docs/CONVENTIONS.md): `relu` and
`leaky_relu` use `np.maximum`, whose derivative at a tie is the average of the
two sides (1/2 for relu at 0); `maxout` shares the gradient among tied maxima.

Example:
    >>> import numpy as np
    >>> from adgen.runtime.activations import sigmoid, softmax
    >>> float(sigmoid(np.array([-800.0, 0.0]))[0]), float(sigmoid(0.0))
    (0.0, 0.5)
    >>> softmax(np.array([[1000.0, 1000.0]]))
    array([[0.5, 0.5]])
"""

import numpy as np


def sigmoid(x):
    """1 / (1 + exp(-x)), stable for any |x|: exp is only taken of -|x| (never overflows,
    in either branch, so no inf * 0 in the gradient), and the tail keeps its relative
    accuracy (sigmoid(-40) = 4.2e-18, not 0). -|x| is written as a `where`, not with
    abs, whose derivative 0 at 0 (docs/CONVENTIONS.md) would give sigmoid'(0) = 0.

    Example:
        >>> sigmoid(np.array([0.0, 2.0]))
        array([0.5       , 0.88079708])
    """
    z = np.exp(np.where(x >= 0.0, -x, x))        # exp(-|x|), in (0, 1]
    return np.where(x >= 0.0, 1.0 / (1.0 + z), z / (1.0 + z))


def tanh(x):
    """The hyperbolic tangent (np.tanh), here for a complete set of activations."""
    return np.tanh(x)


def relu(x):
    """max(x, 0) element-wise, with relu'(0) = 0 (docs/CONVENTIONS.md; np.maximum(x, 0.0)
    would split the tie: 1/2).

    Example:
        >>> relu(np.array([-1.0, 2.0]))
        array([0., 2.])
    """
    return np.where(x > 0.0, x, 0.0)


def leaky_relu(x, alpha=0.01):
    """x for x >= 0, alpha * x below (0 <= alpha <= 1).

    Example:
        >>> leaky_relu(np.array([-2.0, 3.0]), 0.1)
        array([-0.2,  3. ])
    """
    return np.maximum(x, alpha * x)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) below. The exponential is taken of min(x, 0) so
    the branch not taken never overflows (an inf there would make its zero gradient NaN).

    Example:
        >>> elu(np.array([-1.0, 2.0]))
        array([-0.63212056,  2.        ])
    """
    return np.where(x > 0.0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def softmax(x):
    """exp(x) / sum(exp(x)) along the last axis of a 1-D or 2-D array, with the maximum
    subtracted first (no overflow).

    Example:
        >>> softmax(np.array([1.0, 1.0, 1.0, 1.0]))
        array([0.25, 0.25, 0.25, 0.25])
    """
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(x):
    """x - logsumexp(x) along the last axis of a 1-D or 2-D array, computed with the
    maximum subtracted: finite for any finite x (log(softmax(x)) is -inf for
    x = [0, -1000]).

    Example:
        >>> log_softmax(np.array([0.0, -1000.0]))
        array([    0., -1000.])
    """
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def maxout(x, k):
    """The maximum over groups of k consecutive features of a batch x (n, d): shape
    (n, d // k), out[i, j] = max(x[i, j*k], ..., x[i, j*k + k - 1]); d must be a
    multiple of k (Goodfellow et al., "Maxout networks", 2013).

    Example:
        >>> maxout(np.array([[1.0, 5.0, -2.0, -3.0]]), 2)
        array([[ 5., -2.]])
    """
    n = x.shape[0]
    m = x.shape[1] // k
    groups = np.max(x.reshape(n * m, k), axis=1)   # one row per group
    return groups.reshape(n, m)
