"""Ridge regression: the mean squared loss plus an L2 penalty.

Source: A. E. Hoerl, R. W. Kennard, "Ridge regression: biased estimation for
nonorthogonal problems", Technometrics 12(1), 1970; in the penalized form of
T. Hastie, R. Tibshirani, J. Friedman, "The Elements of Statistical Learning",
2nd ed., 2009, eq. (3.41), with an unpenalized intercept:

    L(w, b) = 1/n sum_i (x_i . w + b - y_i)^2 + lam ||w||^2.

Parameters `w` (d,) and `b` (float); data `X` (n, d), `y` (n,), `lam` (float).
"""

import numpy as np


def ridge_vectorized(w, b, X, y, lam):
    residuals = X @ w + b - y
    return np.mean(residuals * residuals) + lam * np.sum(w * w)


def ridge_loops(w, b, X, y, lam):
    n = X.shape[0]
    d = X.shape[1]
    total = 0.0
    for i in range(n):
        r = b - y[i]
        for j in range(d):
            r += X[i, j] * w[j]
        total += r * r
    penalty = 0.0
    for j in range(d):
        penalty += w[j] * w[j]
    return total / n + lam * penalty


def make_data(n, d, seed):
    """(w, b, X, y, lam): targets from a noisy linear model."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    w = rng.normal(size=d)
    b = float(0.1 * rng.normal())
    return w, b, X, y, 0.1
