"""Losses, written in adgen's subset: call them from your own loss function and
adgen inlines them, so the gradient of the whole model is one generated function.

Every differentiable loss returns the **mean** over the examples (a float), so
that a regularization weight does not depend on the number of examples.
`zero_one_loss` is for evaluation only (its derivative is zero almost
everywhere) and is plain NumPy.

    >>> import numpy as np, adgen
    >>> from adgen.runtime.losses import squared_loss
    >>> def loss(w, X, y):
    ...     return squared_loss(X @ w, y)
    >>> X, y = np.eye(2), np.array([1.0, 2.0])
    >>> adgen.grad(loss, backend="python")(np.zeros(2), X, y)
    array([-0.5, -1. ])
"""

import numpy as np

import adgen

__all__ = ["squared_loss", "binary_cross_entropy", "logistic_loss", "softmax_cross_entropy",
           "hinge_loss", "zero_one_loss"]


def squared_loss(pred, y):
    """The mean of 1/2 (pred - y)^2 over all elements.

    >>> float(squared_loss(np.array([1.0, 3.0]), np.array([0.0, 1.0])))
    1.25
    """
    r = pred - y
    return 0.5 * np.mean(r * r)


def binary_cross_entropy(logits, y):
    """The mean of -y log sigmoid(z) - (1 - y) log(1 - sigmoid(z)), y in {0, 1}.

    Evaluated as log(1 + exp(-|z|)) + max(z, 0) - z y, which never overflows
    (the textbook form overflows exp(z) from z ~ 710 on). Its derivative
    sigmoid(z) - y is exact at z = 0 too: adgen's abs'(0) = 0 and max splits
    1/2-1/2 at the tie (docs/CONVENTIONS.md).

    >>> float(binary_cross_entropy(np.array([0.0, 1000.0]), np.array([1.0, 1.0])))
    0.34657359027997264
    """
    return np.mean(np.log1p(np.exp(-np.abs(logits))) + np.maximum(logits, 0.0) - logits * y)


def logistic_loss(margins):
    """The mean of log(1 + exp(-m)) over margins m = y (x . w), y in {-1, +1}.

    The same stable form as `binary_cross_entropy` (softplus(-m)).

    >>> float(logistic_loss(np.array([0.0])))
    0.6931471805599453
    """
    t = -margins
    return np.mean(np.maximum(t, 0.0) + np.log1p(np.exp(-np.abs(t))))


def softmax_cross_entropy(logits, labels):
    """The mean of -log softmax(logits[i])[labels[i]]: logits (n, k), labels (n,)
    integers in [0, k).

    Log-sum-exp with the row maximum subtracted, so large logits do not
    overflow. The maximum is a `stop_gradient`: the loss does not depend on
    the shift, so its exact derivative is zero, and stopping it saves the
    adjoint of np.max (and its tie convention). The subset has no fancy
    indexing, so logits[i, labels[i]] is read in a loop.

    >>> logits = np.array([[0.0, 0.0], [1000.0, 0.0]])
    >>> float(softmax_cross_entropy(logits, np.array([0, 0])))
    0.34657359027997264
    """
    n = logits.shape[0]
    m = adgen.stop_gradient(np.max(logits, axis=1, keepdims=True))
    shifted = logits - m
    lse = np.log(np.sum(np.exp(shifted), axis=1))
    total = 0.0
    for i in range(n):
        total += lse[i] - shifted[i, labels[i]]
    return total / n


def hinge_loss(margins):
    """The mean of max(0, 1 - m) over margins m = y (x . w), y in {-1, +1}.

    Not differentiable at m = 1, where adgen takes the average of the one-sided
    derivatives, -1/2 (max's tie convention).

    >>> float(hinge_loss(np.array([2.0, 0.5, -1.0])))
    0.8333333333333334
    """
    return np.mean(np.maximum(0.0, 1.0 - margins))


def zero_one_loss(pred_labels, labels):
    """The fraction of predictions that differ from the labels (for evaluation,
    not differentiation: plain NumPy).

    >>> zero_one_loss(np.array([1, -1, 1, 1]), np.array([1, 1, 1, -1]))
    0.5
    """
    return float(np.mean(np.asarray(pred_labels) != np.asarray(labels)))
