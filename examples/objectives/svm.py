"""The soft-margin linear support vector machine in its primal, unconstrained
form: the mean hinge loss plus an L2 penalty.

Source: C. Cortes, V. Vapnik, "Support-vector networks", Machine Learning 20(3),
1995; in the regularized-risk form minimized by S. Shalev-Shwartz, Y. Singer,
N. Srebro, A. Cotter, "Pegasos: primal estimated sub-gradient solver for SVM",
Mathematical Programming 127(1), 2011, eq. (1), with an unpenalized bias:

    L(w, b) = 1/n sum_i max(0, 1 - y_i (x_i . w + b)) + lam/2 ||w||^2.

Parameters `w` (d,) and `b` (float); data `X` (n, d), `y` (n,) in {-1, +1},
`lam` (float). The hinge is not differentiable where a margin is exactly 1;
adgen's convention there is the average of the one-sided derivatives
(np.maximum splits 1/2-1/2 at a tie).
"""

import numpy as np


def svm_vectorized(w, b, X, y, lam):
    hinge = np.maximum(0.0, 1.0 - y * (X @ w + b))
    return np.mean(hinge) + 0.5 * lam * np.sum(w * w)


def svm_loops(w, b, X, y, lam):
    n = X.shape[0]
    d = X.shape[1]
    total = 0.0
    for i in range(n):
        z = b
        for j in range(d):
            z += X[i, j] * w[j]
        total += max(0.0, 1.0 - y[i] * z)
    penalty = 0.0
    for j in range(d):
        penalty += w[j] * w[j]
    return total / n + 0.5 * lam * penalty


def make_data(n, d, seed):
    """(w, b, X, y, lam): labels from a noisy linear model; `w` is scaled so that
    some margins are below 1 (active hinges) and some above."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = rng.normal(size=d)
    y = np.where(X @ w_true + 0.5 * rng.normal(size=n) > 0.0, 1.0, -1.0)
    w = 1.5 * w_true + 0.2 * rng.normal(size=d)
    b = float(0.1 * rng.normal())
    return w, b, X, y, 0.1
