"""Linear models: ridge, lasso, logistic regression and the soft-margin linear SVM,
each an objective in adgen's subset minimized by accelerated proximal gradient
(`solver.proximal_gradient`) on gradients from `adgen.value_and_grad`.

No intercept: append a column of ones to X for one (it is then penalized too).
Every model takes X (n, d) and y (n,) and returns (w, FitResult).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.0])
    >>> w, res = ridge(X, y, 1e-3, backend="python")
    >>> np.allclose(w, [1.0, -2.0, 0.0], atol=1e-2), res.converged
    (True, True)
"""

import functools

import numpy as np

import adgen
from adgen.runtime.losses import hinge_loss, logistic_loss, squared_loss
from adgen.runtime.models.solver import proximal_gradient
from adgen.runtime.regularizers import l1, l2, prox_l1

__all__ = ["ridge", "lasso", "logistic_regression", "linear_svm", "ridge_objective",
           "lasso_smooth", "lasso_objective", "logistic_objective", "svm_objective",
           "svm_dual_objective"]


# objectives (adgen's subset) ---------------------------------------------------------------
def ridge_objective(w, X, y, lam):
    """1/(2n) ||X w - y||^2 + lam/2 ||w||^2."""
    return squared_loss(X @ w, y) + lam * l2(w)


def lasso_smooth(w, X, y):
    """The smooth part of the lasso objective, 1/(2n) ||X w - y||^2."""
    return squared_loss(X @ w, y)


def lasso_objective(w, X, y, lam):
    """1/(2n) ||X w - y||^2 + lam ||w||_1 (scikit-learn's Lasso with alpha=lam)."""
    return squared_loss(X @ w, y) + lam * l1(w)


def logistic_objective(w, X, y, lam):
    """1/n sum_i log(1 + exp(-y_i x_i . w)) + lam/2 ||w||^2, y in {-1, +1}."""
    return logistic_loss(y * (X @ w)) + lam * l2(w)


def svm_objective(w, X, y, C):
    """The soft-margin primal 1/2 ||w||^2 + C sum_i max(0, 1 - y_i x_i . w)
    (scikit-learn's LinearSVC with loss="hinge"), y in {-1, +1}."""
    return l2(w) + C * X.shape[0] * hinge_loss(y * (X @ w))


def svm_dual_objective(alpha, X, y):
    """The SVM dual, negated to be minimized over 0 <= alpha <= C:
    1/2 ||X^T (alpha y)||^2 - sum(alpha); the primal solution is w = X^T (alpha y)."""
    w = X.T @ (alpha * y)
    return l2(w) - np.sum(alpha)


# solvers -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _value_and_grad(objective, backend):
    # One transform per objective and backend: adgen caches the compiled code in it.
    return adgen.value_and_grad(objective, backend=backend)


def _data(X, y):
    return (np.ascontiguousarray(X, dtype=np.float64),
            np.ascontiguousarray(y, dtype=np.float64))


def _eig_range(X):
    """The largest and smallest eigenvalues of X^T X (curvature bounds, not gradients)."""
    s = np.linalg.svd(X, compute_uv=False)
    return float(s[0]) ** 2, (float(s[-1]) ** 2 if X.shape[0] >= X.shape[1] else 0.0)


def ridge(X, y, lam, *, tol=1e-10, max_iter=10_000, backend="numba"):
    """Ridge regression: minimize `ridge_objective` by accelerated gradient descent
    with step 1/L, L = lambda_max(X^T X / n) + lam.

    The solution is (X^T X + n lam I)^{-1} X^T y. The objective is
    mu-strongly convex, mu = lambda_min(X^T X / n) + lam, so ||w - w*|| <=
    ||grad|| / mu: it stops when that bound is <= `tol`.

    >>> X, y = np.eye(2), np.array([1.0, 2.0])
    >>> w, res = ridge(X, y, 0.5, backend="python")
    >>> np.round(w, 6)
    array([0.5, 1. ])
    """
    X, y = _data(X, y)
    lam = float(lam)
    vg = _value_and_grad(ridge_objective, backend)
    top, bottom = _eig_range(X)
    step = 1.0 / (top / X.shape[0] + lam)
    mu = bottom / X.shape[0] + lam
    return proximal_gradient(lambda w: vg(w, X, y, lam), np.zeros(X.shape[1]), step,
                             lambda w: ridge_objective(w, X, y, lam), tol=tol * mu,
                             max_iter=max_iter)


def lasso(X, y, lam, *, tol=1e-10, max_iter=20_000, backend="numba"):
    """L1-penalized least squares: minimize `lasso_objective` by FISTA, the
    gradient of the squared loss from adgen and the L1 term by soft thresholding
    (`prox_l1`), step 1/L, L = lambda_max(X^T X / n).

    >>> X, y = np.eye(2), np.array([1.0, 0.1])
    >>> w, res = lasso(X, y, 0.25, backend="python")
    >>> np.round(w, 6)
    array([0.5, 0. ])
    """
    X, y = _data(X, y)
    lam = float(lam)
    vg = _value_and_grad(lasso_smooth, backend)
    step = X.shape[0] / _eig_range(X)[0]
    w, res = proximal_gradient(lambda w: vg(w, X, y), np.zeros(X.shape[1]), step,
                               lambda w: lasso_objective(w, X, y, lam),
                               prox=lambda w, s: prox_l1(w, s * lam), tol=tol,
                               max_iter=max_iter)
    res.info["nonzeros"] = int(np.count_nonzero(w))
    return w, res


def logistic_regression(X, y, lam, *, tol=1e-10, max_iter=10_000, backend="numba"):
    """L2-regularized logistic regression, labels y in {-1, +1}: minimize
    `logistic_objective` by accelerated gradient descent, step 1/L with
    L = lambda_max(X^T X) / (4 n) + lam (the logistic loss has curvature <= 1/4).
    The objective is lam-strongly convex, so ||w - w*|| <= ||grad|| / lam: it
    stops when that bound is <= `tol` (lam > 0).

    >>> X = np.array([[1.0], [-1.0]]); y = np.array([1.0, -1.0])
    >>> w, res = logistic_regression(X, y, 0.1, backend="python")
    >>> round(float(w[0]), 6)
    1.633506
    """
    X, y = _data(X, y)
    lam = float(lam)
    vg = _value_and_grad(logistic_objective, backend)
    step = 1.0 / (_eig_range(X)[0] / (4.0 * X.shape[0]) + lam)
    return proximal_gradient(lambda w: vg(w, X, y, lam), np.zeros(X.shape[1]), step,
                             lambda w: logistic_objective(w, X, y, lam), tol=tol * lam,
                             max_iter=max_iter)


def linear_svm(X, y, C, *, tol=1e-8, max_iter=20_000, backend="numba"):
    """The soft-margin linear SVM, labels y in {-1, +1}: minimize `svm_objective`
    through its dual, by projected accelerated gradient on `svm_dual_objective`
    over the box 0 <= alpha <= C (the hinge is not differentiable, its dual is a
    smooth quadratic; without an intercept there is no equality constraint),
    step 1/L, L = lambda_max(X X^T).

    `history` records the primal objective at w = X^T (alpha y);
    `info["gap"]` is the duality gap at the end (an upper bound on the primal
    suboptimality), `info["support_vectors"]` the number of alpha_i > 0.

    >>> X = np.array([[2.0], [-2.0]]); y = np.array([1.0, -1.0])
    >>> w, res = linear_svm(X, y, 1.0, backend="python")
    >>> round(float(w[0]), 6)
    0.5
    """
    X, y = _data(X, y)
    C = float(C)
    vg = _value_and_grad(svm_dual_objective, backend)
    step = 1.0 / _eig_range(X)[0]

    def primal(alpha):
        return svm_objective(X.T @ (alpha * y), X, y, C)

    alpha, res = proximal_gradient(lambda a: vg(a, X, y), np.zeros(X.shape[0]), step, primal,
                                   prox=lambda a, s: np.clip(a, 0.0, C), tol=tol,
                                   max_iter=max_iter)
    w = X.T @ (alpha * y)
    res.info["gap"] = float(primal(alpha) + svm_dual_objective(alpha, X, y))
    res.info["support_vectors"] = int(np.count_nonzero(alpha))
    return w, res
