"""L2-regularized logistic regression: the mean logistic loss plus a ridge penalty.

Source: T. Hastie, R. Tibshirani, J. Friedman, "The Elements of Statistical
Learning", 2nd ed., Springer 2009, section 4.4 (logistic regression) with the
quadratic penalty of section 4.4.4; with labels y in {-1, +1} the negative log
likelihood of one example is log(1 + exp(-y (x.w + b))).

    L(w, b) = 1/n sum_i softplus(-y_i (x_i . w + b)) + lam/2 ||w||^2,

softplus(t) = log(1 + exp(t)) evaluated stably as max(t, 0) + log1p(exp(-|t|))
(no overflow for large |t|; its derivative at t = 0 under adgen's conventions,
max' = 1/2 and abs'(0) = 0, is the exact 1/2). Parameters `w` (d,) and `b`
(float); data `X` (n, d), `y` (n,) in {-1, +1}, and `lam` (float).
"""

import math

import numpy as np


def logistic_regression_vectorized(w, b, X, y, lam):
    margins = -y * (X @ w + b)
    losses = np.maximum(margins, 0.0) + np.log1p(np.exp(-np.abs(margins)))
    return np.mean(losses) + 0.5 * lam * np.sum(w * w)


def logistic_regression_loops(w, b, X, y, lam):
    n = X.shape[0]
    d = X.shape[1]
    total = 0.0
    for i in range(n):
        z = b
        for j in range(d):
            z += X[i, j] * w[j]
        t = -y[i] * z
        total += max(t, 0.0) + math.log1p(math.exp(-abs(t)))
    penalty = 0.0
    for j in range(d):
        penalty += w[j] * w[j]
    return total / n + 0.5 * lam * penalty


def make_data(n, d, seed):
    """(w, b, X, y, lam): labels from a noisy linear model."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = rng.normal(size=d)
    y = np.where(X @ w_true + 0.5 * rng.normal(size=n) > 0.0, 1.0, -1.0)
    w = 0.5 * rng.normal(size=d)
    b = float(0.1 * rng.normal())
    return w, b, X, y, 0.1
