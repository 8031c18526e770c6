"""Models trained on adgen's gradients (adgen/runtime/models/), against independent
references:

* ridge: the closed form (X^T X + n lam I)^{-1} X^T y, to 1e-8;
* lasso: a coordinate-descent solver written here, and scikit-learn's Lasso
  (same scaling, alpha = lam), to 1e-6;
* logistic regression: scipy.optimize.minimize (L-BFGS-B, gradient from a
  NumPy formula written here), objective to 1e-6;
* linear SVM: scikit-learn's LinearSVC (hinge loss, same C, no intercept);
* matrix completion: a rank-3 50x50 matrix from 40 % of its entries to
  relative error < 1e-2;
* the examples run (python backend, into tmp_path) and write their PNGs.

Most fits use the python backend (the same generated source, no compile time);
one runs on Numba. BLAS is limited to one thread: these are small matrices, and
threads only cost time on a shared 2-core machine.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import scipy.special
from threadpoolctl import threadpool_limits

from adgen.runtime.models import proximal_gradient
from adgen.runtime.models.linear import (lasso, lasso_objective, linear_svm, logistic_objective,
                                         logistic_regression, ridge, svm_objective)
from adgen.runtime.models.matrix_completion import (low_rank_problem, matrix_completion,
                                                    relative_error)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def regression_data(n=200, d=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = np.where(np.arange(d) < d // 2, rng.normal(size=d), 0.0)
    return X, X @ w_true + 0.1 * rng.normal(size=n)


def classification_data(n=200, d=10, seed=0, noise=0.5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.where(X @ rng.normal(size=d) + noise * rng.normal(size=n) > 0.0, 1.0, -1.0)


# ridge -------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["python", "numba"])
def test_ridge_matches_closed_form(backend):
    X, y = regression_data()
    n, d = X.shape
    for lam in (1e-3, 0.1, 10.0):
        w, res = ridge(X, y, lam, backend=backend)
        closed = np.linalg.solve(X.T @ X + n * lam * np.eye(d), X.T @ y)
        assert res.converged
        np.testing.assert_allclose(w, closed, rtol=0, atol=1e-8)
        assert len(res.history) == res.iterations + 1


def test_ridge_ill_conditioned():
    X, y = regression_data(n=100, d=30, seed=1)
    X[:, 1] = X[:, 0] + 1e-3 * X[:, 1]               # nearly collinear columns
    w, res = ridge(X, y, 1e-4, backend="python")
    closed = np.linalg.solve(X.T @ X + X.shape[0] * 1e-4 * np.eye(30), X.T @ y)
    assert res.converged
    np.testing.assert_allclose(w, closed, rtol=0, atol=1e-8)


# lasso -------------------------------------------------------------------------------------
def lasso_coordinate_descent(X, y, lam, sweeps=10_000, tol=1e-15):
    """Reference: cyclic coordinate descent on 1/(2n) ||y - X w||^2 + lam ||w||_1,
    each coordinate minimized exactly (a soft threshold of the partial residual)."""
    n, d = X.shape
    w, r = np.zeros(d), y.copy()
    col_sq = (X * X).sum(axis=0) / n
    for _ in range(sweeps):
        largest = 0.0
        for j in range(d):
            rho = X[:, j] @ r / n + col_sq[j] * w[j]
            new = np.sign(rho) * max(abs(rho) - lam, 0.0) / col_sq[j]
            r -= X[:, j] * (new - w[j])
            largest = max(largest, abs(new - w[j]))
            w[j] = new
        if largest < tol:
            break
    return w


@pytest.mark.parametrize("lam", [0.01, 0.1, 0.5])
def test_lasso_matches_coordinate_descent_and_sklearn(lam):
    from sklearn.linear_model import Lasso

    X, y = regression_data()
    w, res = lasso(X, y, lam, backend="python")
    assert res.converged
    reference = lasso_coordinate_descent(X, y, lam)
    np.testing.assert_allclose(w, reference, rtol=0, atol=1e-6)
    sk = Lasso(alpha=lam, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(w, sk.coef_, rtol=0, atol=1e-6)
    # same sparsity pattern: the prox step gives exact zeros
    np.testing.assert_array_equal(w == 0.0, reference == 0.0)
    assert res.info["nonzeros"] == np.count_nonzero(reference)
    assert res.objective <= lasso_objective(reference, X, y, lam) + 1e-12


# logistic regression -----------------------------------------------------------------------
def logistic_reference(X, y, lam):
    """scipy.optimize's L-BFGS-B minimum, with the gradient written out in NumPy."""
    n = X.shape[0]

    def f(w):
        return np.mean(np.logaddexp(0.0, -y * (X @ w))) + 0.5 * lam * w @ w

    def jac(w):
        m = y * (X @ w)
        return -X.T @ (y * scipy.special.expit(-m)) / n + lam * w

    res = scipy.optimize.minimize(f, np.zeros(X.shape[1]), jac=jac, method="L-BFGS-B",
                                  options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000})
    return res.x, res.fun


@pytest.mark.parametrize("lam", [1e-3, 0.01, 1.0])
def test_logistic_regression_reaches_scipy_optimum(lam):
    X, y = classification_data()
    w, res = logistic_regression(X, y, lam, backend="python")
    w_ref, f_ref = logistic_reference(X, y, lam)
    assert res.converged
    assert abs(res.objective - f_ref) <= 1e-6 * max(1.0, abs(f_ref))
    assert res.objective <= f_ref + 1e-12                  # at least as good
    assert res.objective == pytest.approx(logistic_objective(w, X, y, lam), rel=1e-14)
    np.testing.assert_allclose(w, w_ref, atol=1e-4)


# linear SVM --------------------------------------------------------------------------------
@pytest.mark.parametrize("C", [0.01, 1.0])
def test_linear_svm_matches_sklearn(C):
    """Both solve the same strongly convex program (LinearSVC: liblinear's dual
    coordinate descent). Ours certifies its optimality by the duality gap, which
    bounds P(w) - P*; LinearSVC stops at a projected-gradient tolerance with no
    such bound, so it is run at tol=1e-10 and the objectives are compared to
    1e-6 relative, with ours never worse beyond the gap. w is unique (the
    primal is strongly convex), so the predictions agree."""
    from sklearn.svm import LinearSVC

    X, y = classification_data(noise=0.3)
    w, res = linear_svm(X, y, C, backend="python")
    assert res.converged
    P = res.objective
    assert P == pytest.approx(svm_objective(w, X, y, C), rel=1e-12)
    assert 0.0 <= res.info["gap"] <= 1e-6 * P
    sk = LinearSVC(C=C, loss="hinge", fit_intercept=False, tol=1e-10,
                   max_iter=1_000_000).fit(X, y)
    P_sk = svm_objective(sk.coef_.ravel(), X, y, C)
    assert P <= P_sk + res.info["gap"]
    assert P == pytest.approx(P_sk, rel=1e-6)
    assert np.mean(np.sign(X @ w) == y) == sk.score(X, y)
    np.testing.assert_array_equal(np.sign(X @ w), sk.predict(X))


# the solver --------------------------------------------------------------------------------
def test_solver_reports_non_convergence():
    A = np.diag([1.0, 1e-4])

    def vg(x):
        return 0.5 * x @ A @ x, A @ x

    x, res = proximal_gradient(vg, np.ones(2), 1.0, lambda x: 0.5 * x @ A @ x, max_iter=5)
    assert not res.converged and res.iterations == 5 and len(res.history) == 6
    assert res.history[-1] < res.history[0]


# matrix completion -------------------------------------------------------------------------
def test_matrix_completion_recovers_rank_3():
    M, mask = low_rank_problem(50, 50, 3, 0.4, seed=0)
    assert mask.sum() == 1000
    W, res = matrix_completion(M * mask, mask, 1e-2, backend="python")
    assert relative_error(W, M) < 1e-2
    assert res.info["rank"] == 3 and res.converged
    assert res.seconds < 30.0                             # about 0.5 s
    # the unobserved entries played no part: changing them changes nothing
    M2 = M + 100.0 * (1.0 - mask)
    W2, _ = matrix_completion(M2, mask, 1e-2, backend="python")
    np.testing.assert_array_equal(W, W2)


def test_matrix_completion_numba_backend():
    M, mask = low_rank_problem(20, 20, 1, 0.6, seed=0)
    W, res = matrix_completion(M * mask, mask, 1e-3, backend="numba")
    assert relative_error(W, M) < 1e-3
    W_python, res_python = matrix_completion(M * mask, mask, 1e-3, backend="python")
    np.testing.assert_allclose(W, W_python, rtol=0, atol=1e-10)
    assert res.iterations == res_python.iterations


# examples ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["linear_models", "matrix_completion"])
def test_example_writes_png(name, tmp_path):
    out = tmp_path / f"{name}.png"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py"),
                           "--out", str(out), "--backend", "python"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in done.stdout
