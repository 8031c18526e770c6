"""Losses and regularizers (adgen/runtime/losses.py, regularizers.py).

* every loss's value against a direct NumPy formula (SciPy's where it is the
  natural reference), also at logits large enough to overflow a naive form;
* every loss's gradient from adgen against finite differences
  (`adgen.testing.check_grads`, forward and reverse mode, Hessians for the
  smooth ones) and the dot-product test (`check_vjp`) on the python backend,
  and reverse mode compiled by Numba, called inside a user's loss function as
  the runtime's users do;
* the derivatives at the kinks follow docs/CONVENTIONS.md;
* the proximal operators against their definition, argmin_z 1/2 ||z - w||^2 +
  t R(z): optimality conditions (stationarity from adgen's gradient where R is
  smooth, subdifferentials otherwise) and no random perturbation doing better.
"""

import math

import numpy as np
import pytest
import scipy.special

import adgen
from adgen.runtime.losses import (binary_cross_entropy, hinge_loss, logistic_loss,
                                  softmax_cross_entropy, squared_loss, zero_one_loss)
from adgen.runtime.regularizers import (l1, l2, nuclear_norm, prox_l1, prox_l2,
                                        prox_nuclear)
from adgen.testing import check_grads, check_vjp

N, K = 7, 4


def data(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "pred": rng.normal(size=N), "y": rng.normal(size=N),
        "logits": 3.0 * rng.normal(size=N), "y01": rng.integers(0, 2, size=N).astype(float),
        # margins away from the hinge's kink at 1
        "margins": np.array([-2.1, -0.4, 0.3, 0.8, 1.2, 2.5, 0.05]),
        "logits2": 2.0 * rng.normal(size=(N, K)), "labels": rng.integers(0, K, size=N),
    }


# Loss functions as users write them: the runtime's losses inlined in their own function.
def f_squared(pred, y):
    return squared_loss(pred, y)


def f_bce(logits, y):
    return binary_cross_entropy(logits, y)


def f_logistic(margins):
    return logistic_loss(margins)


def f_softmax(logits, labels):
    return softmax_cross_entropy(logits, labels)


def f_hinge(margins):
    return hinge_loss(margins)


def f_linear_softmax(W, b, X, labels):
    return softmax_cross_entropy(X @ W + b, labels) + 0.1 * l2(W)


# (function, argument names, argnums, smooth: also check the Hessian)
CASES = {
    "squared": (f_squared, ("pred", "y"), (0, 1), True),
    "bce": (f_bce, ("logits", "y01"), (0, 1), True),
    "logistic": (f_logistic, ("margins",), 0, True),
    "softmax": (f_softmax, ("logits2", "labels"), 0, True),
    "hinge": (f_hinge, ("margins",), 0, False),
}


def args_of(name, seed=0):
    d = data(seed)
    return tuple(d[a] for a in CASES[name][1])


# values ------------------------------------------------------------------------------------
def test_values_match_numpy_formulas():
    d = data()
    assert squared_loss(d["pred"], d["y"]) == pytest.approx(
        np.sum((d["pred"] - d["y"]) ** 2) / (2 * N), rel=1e-14)
    s = scipy.special.expit(d["logits"])
    assert binary_cross_entropy(d["logits"], d["y01"]) == pytest.approx(
        -np.mean(d["y01"] * np.log(s) + (1 - d["y01"]) * np.log(1 - s)), rel=1e-12)
    assert logistic_loss(d["margins"]) == pytest.approx(
        np.mean(np.log(1 + np.exp(-d["margins"]))), rel=1e-14)
    log_p = scipy.special.log_softmax(d["logits2"], axis=1)
    assert softmax_cross_entropy(d["logits2"], d["labels"]) == pytest.approx(
        -np.mean(log_p[np.arange(N), d["labels"]]), rel=1e-14)
    assert hinge_loss(d["margins"]) == pytest.approx(
        np.mean([max(0.0, 1.0 - m) for m in d["margins"]]), rel=1e-14)
    assert zero_one_loss(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2])) == 0.25
    assert zero_one_loss(np.array([1.0, -1.0]), np.array([1.0, -1.0])) == 0.0


def test_values_are_stable_at_large_logits():
    z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is harmless
        assert binary_cross_entropy(z, np.ones(5)) == pytest.approx(
            np.mean(np.logaddexp(0.0, -z)), rel=1e-14)
        assert logistic_loss(z) == pytest.approx(np.mean(np.logaddexp(0.0, -z)), rel=1e-14)
        logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 800.0, 800.0]])
        assert softmax_cross_entropy(logits, np.array([0, 1])) == pytest.approx(
            0.5 * math.log(2.0), rel=1e-14)


# gradients ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_gradients_python_backend(name):
    f, _, argnums, smooth = CASES[name]
    for seed in range(2):
        args = args_of(name, seed)
        check_grads(f, args, argnums=argnums, order=2 if smooth else 1, backend="python")
        check_vjp(f, args, argnums=argnums, backend="python")


@pytest.mark.parametrize("name", CASES)
def test_gradients_numba_backend(name):
    f, _, argnums, _ = CASES[name]
    check_grads(f, args_of(name), argnums=argnums, modes=("rev",), backend="numba")


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_loss_inlined_in_a_model(backend):
    rng = np.random.default_rng(3)
    W, b = rng.normal(size=(3, K)), rng.normal(size=K)
    X, labels = rng.normal(size=(N, 3)), rng.integers(0, K, size=N)
    check_grads(f_linear_softmax, (W, b, X, labels), argnums=(0, 1),
                modes=("rev",) if backend == "numba" else ("fwd", "rev"), backend=backend)


def test_derivatives_at_the_kinks():
    # sigmoid(0) - y exactly: abs'(0) = 0 and max splits 1/2-1/2 at the tie
    g = adgen.grad(f_bce, backend="python")(np.zeros(2), np.array([0.0, 1.0]))
    np.testing.assert_array_equal(g, [0.25, -0.25])
    # hinge at margin 1: the average of the one-sided derivatives (-1/n and 0)
    g = adgen.grad(f_hinge, backend="python")(np.array([1.0, 0.0]))
    np.testing.assert_array_equal(g, [-0.25, -0.5])
    # large logits: the gradient is sigmoid(z) - y, finite
    g = adgen.grad(f_bce, backend="python")(np.array([1000.0, -1000.0]), np.zeros(2))
    np.testing.assert_array_equal(g, [0.5, 0.0])
    # l1 at 0: abs'(0) = 0
    np.testing.assert_array_equal(adgen.grad(l1, backend="python")(np.array([0.0, -2.0])),
                                  [0.0, -1.0])


# regularizers ------------------------------------------------------------------------------
def test_regularizer_values_and_gradients():
    rng = np.random.default_rng(4)
    w, W = rng.normal(size=6), rng.normal(size=(4, 3))
    assert l2(w) == pytest.approx(0.5 * np.dot(w, w), rel=1e-14)
    assert l1(W) == pytest.approx(np.abs(W).sum(), rel=1e-14)
    assert nuclear_norm(W) == pytest.approx(np.linalg.norm(W, "nuc"), rel=1e-12)
    for f in (l1, l2):
        for x in (w, W):
            check_grads(f, (x,), backend="python")
    check_grads(l1, (w,), modes=("rev",), backend="numba")


def prox_objective_l2(z, w, t):
    return 0.5 * np.sum((z - w) * (z - w)) + t * l2(z)


def prox_objective_l1(z, w, t):
    return 0.5 * np.sum((z - w) * (z - w)) + t * l1(z)


def no_perturbation_does_better(objective, z, rng, scale=1e-3, trials=200):
    best = objective(z)
    for _ in range(trials):
        assert objective(z + scale * rng.normal(size=z.shape)) >= best - 1e-12


@pytest.mark.parametrize("t", [0.1, 0.7, 3.0])
def test_prox_l2_is_the_argmin(t):
    rng = np.random.default_rng(5)
    w = rng.normal(size=8)
    z = prox_l2(w, t)
    # the prox objective is smooth: adgen's gradient vanishes at the argmin
    g = adgen.grad(prox_objective_l2, backend="python")(z, w, t)
    np.testing.assert_allclose(g, 0.0, atol=1e-14)
    no_perturbation_does_better(lambda v: prox_objective_l2(v, w, t), z, rng)


@pytest.mark.parametrize("t", [0.1, 0.7, 3.0])
def test_prox_l1_is_the_argmin(t):
    rng = np.random.default_rng(6)
    w = rng.normal(size=12)
    z = prox_l1(w, t)
    nz = z != 0.0
    assert nz.any() or t > np.abs(w).max()
    # nonzero entries: stationarity, with l1 differentiable there (adgen's gradient)
    g = adgen.grad(prox_objective_l1, backend="python")(z, w, t)
    np.testing.assert_allclose(g[nz], 0.0, atol=1e-14)
    # zero entries: 0 in z - w + t [-1, 1], i.e. |w_j| <= t
    assert np.all(np.abs(w[~nz]) <= t)
    no_perturbation_does_better(lambda v: prox_objective_l1(v, w, t), z, rng)
    # the same argmin as a derivative-free minimizer finds, coordinate by coordinate
    grid = np.linspace(-4.0, 4.0, 80001)
    for j in range(3):
        best = grid[np.argmin(0.5 * (grid - w[j]) ** 2 + t * np.abs(grid))]
        assert z[j] == pytest.approx(best, abs=2e-4)


@pytest.mark.parametrize("t", [0.7, 1.5])
def test_prox_nuclear_is_the_argmin(t):
    rng = np.random.default_rng(7)
    Q1, Q2 = np.linalg.qr(rng.normal(size=(6, 4)))[0], np.linalg.qr(rng.normal(size=(4, 4)))[0]
    W = (Q1 * np.array([3.0, 2.0, 1.0, 0.5])) @ Q2.T      # singular values 3, 2, 1, 0.5
    Z = prox_nuclear(W, t)
    # W - Z in t * subdifferential of ||.||_* at Z: t (U V^T + G) with U^T G = 0,
    # G V = 0, ||G||_2 <= 1 (U, V the singular vectors of Z's nonzero values)
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)
    r = int(np.sum(s > 1e-10))
    assert 0 < r < 4                         # some values thresholded, some kept
    U, Vt = U[:, :r], Vt[:r]
    G = (W - Z) / t - U @ Vt
    np.testing.assert_allclose(U.T @ G, 0.0, atol=1e-12)
    np.testing.assert_allclose(G @ Vt.T, 0.0, atol=1e-12)
    assert np.linalg.norm(G, 2) <= 1.0 + 1e-12
    no_perturbation_does_better(
        lambda V: 0.5 * np.sum((V - W) ** 2) + t * nuclear_norm(V), Z, rng)


def test_prox_nuclear_keeps_low_rank_matrices_shrunk():
    rng = np.random.default_rng(8)
    A = rng.normal(size=(5, 2)) @ rng.normal(size=(2, 4))
    s = np.linalg.svd(A, compute_uv=False)
    Z = prox_nuclear(A, 0.5)
    np.testing.assert_allclose(np.linalg.svd(Z, compute_uv=False)[:2], s[:2] - 0.5, rtol=1e-12)
    np.testing.assert_array_equal(prox_nuclear(A, 10.0 * s[0]), np.zeros_like(A))
