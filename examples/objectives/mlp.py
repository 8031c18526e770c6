"""A two-layer perceptron (tanh hidden layer) with the softmax cross-entropy loss.

Source: I. Goodfellow, Y. Bengio, A. Courville, "Deep Learning", MIT Press 2016,
sections 6.2.2.3 (softmax units, with the log-softmax shifted by the maximum
for stability, eq. 6.33 and the remark after it) and 6.3 (tanh hidden units);
C. M. Bishop, "Pattern Recognition and Machine Learning", 2006, eq. (5.24):

    H = tanh(X W1 + b1),   Z = H W2 + b2,
    L = -1/n sum_i sum_c Y[i, c] (Z[i, c] - logsumexp_c' Z[i, c']).

Parameters `W1` (d, h), `b1` (h,), `W2` (h, C), `b2` (C,); data `X` (n, d) and
the integer labels as a one-hot float matrix `Y` (n, C).

`mlp_loops` keeps everything in scalars, with no buffer: each logit
recomputes the hidden units it needs (C times the hidden layer's work), and the
logsumexp over classes is taken in one pass with a running maximum (the
"online softmax" normalizer of M. Milakov, N. Gimelshein, "Online normalizer
calculation for softmax", 2018).
"""

import math

import numpy as np


def mlp_vectorized(W1, b1, W2, b2, X, Y):
    n = X.shape[0]
    pre = X @ W1 + b1
    H = np.tanh(pre)
    Z = H @ W2 + b2
    mx = np.max(Z, axis=1, keepdims=True)
    shifted = Z - mx
    lse = np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * (shifted - lse)) / n


def mlp_logit(W1, b1, W2, b2, X, i, c):
    """Z[i, c], recomputing the hidden layer of example i."""
    d = W1.shape[0]
    h = W1.shape[1]
    z = b2[c]
    for k in range(h):
        a = b1[k]
        for j in range(d):
            a += X[i, j] * W1[j, k]
        z += math.tanh(a) * W2[k, c]
    return z


def mlp_loops(W1, b1, W2, b2, X, Y):
    n = X.shape[0]
    n_classes = W2.shape[1]
    total = 0.0
    for i in range(n):
        z = mlp_logit(W1, b1, W2, b2, X, i, 0)
        mx = z              # running maximum of the logits
        s = 1.0             # sum of exp(logit - mx) so far
        gold = Y[i, 0] * z  # sum_c Y[i, c] Z[i, c]
        weight = Y[i, 0]    # sum_c Y[i, c]
        for c in range(1, n_classes):
            z = mlp_logit(W1, b1, W2, b2, X, i, c)
            if z > mx:
                s = s * math.exp(mx - z) + 1.0
                mx = z
            else:
                s += math.exp(z - mx)
            gold += Y[i, c] * z
            weight += Y[i, c]
        total += gold - weight * (mx + math.log(s))
    return -total / n


def make_data(n, d, h, n_classes, seed):
    """(W1, b1, W2, b2, X, Y) with random labels."""
    rng = np.random.default_rng(seed)
    W1 = rng.normal(size=(d, h)) / math.sqrt(d)
    b1 = 0.1 * rng.normal(size=h)
    W2 = rng.normal(size=(h, n_classes)) / math.sqrt(h)
    b2 = 0.1 * rng.normal(size=n_classes)
    X = rng.normal(size=(n, d))
    Y = np.zeros((n, n_classes))
    Y[np.arange(n), rng.integers(0, n_classes, size=n)] = 1.0
    return W1, b1, W2, b2, X, Y
