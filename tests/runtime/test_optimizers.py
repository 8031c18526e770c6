"""Optimizers against their textbook formulas, written out here independently, for three
steps on the quadratic f(x) = 1/2 x^T A x - b^T x (gradient A x - b); schedules,
clipping, the L1-ball projection, purity; and the optimizers example."""

import copy
import math
import runpy
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from adgen.runtime import optimizers as O
from adgen.runtime import schedules as S

A = np.array([[2.0, 1.0], [1.0, 3.0]])  # SPD
B = np.array([1.0, -1.0])
X0 = np.array([1.0, 2.0])
A3 = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -1.0], [0.5, -1.0, 2.0]])  # SPD
B3 = np.array([1.0, 0.0, -2.0])
X03 = np.array([0.5, -1.0, 2.0])


def grad(x, a=A, b=B):
    return a @ x - b


def run(opt, steps=3, x0=X0, a=A, b=B):
    """The parameters and states after each of `steps` updates."""
    params, state = (x0,), opt.init((x0,))
    out = []
    for _ in range(steps):
        params, state = opt.update((grad(params[0], a, b),), state, params)
        out.append((params[0], state))
    return out


# exact rational arithmetic: with dyadic data (eta = 1/8, gamma = 1/2) the float runs are exact
def fgrad(x):
    a = [[Fraction(v) for v in row] for row in A]
    return [sum(a[i][j] * x[j] for j in range(2)) - Fraction(B[i]) for i in range(2)]


def floats(v):
    return np.array([float(c) for c in v])


ETA, GAMMA = Fraction(1, 8), Fraction(1, 2)


def test_sgd_is_exact_gradient_descent():
    x = [Fraction(v) for v in X0]
    for params, state in run(O.sgd(float(ETA))):
        x = [xi - ETA * gi for xi, gi in zip(x, fgrad(x))]
        assert np.array_equal(params, floats(x))
    assert state.count == 3


def test_momentum_is_the_heavy_ball():
    x, v = [Fraction(c) for c in X0], [Fraction(0)] * 2
    for params, state in run(O.momentum(float(ETA), gamma=float(GAMMA))):
        v = [GAMMA * vi + ETA * gi for vi, gi in zip(v, fgrad(x))]
        x = [xi - vi for xi, vi in zip(x, v)]
        assert np.array_equal(params, floats(x))
        assert np.array_equal(state.velocity[0], floats(v))


def test_nesterov_takes_the_gradient_at_the_look_ahead_point():
    # textbook (Sutskever et al. 2013): v' = gamma v + eta grad(x - gamma v); x' = x - v'
    x, v = [Fraction(c) for c in X0], [Fraction(0)] * 2
    for params, state in run(O.nesterov(float(ETA), gamma=float(GAMMA))):
        look_ahead = [xi - GAMMA * vi for xi, vi in zip(x, v)]
        v = [GAMMA * vi + ETA * gi for vi, gi in zip(v, fgrad(look_ahead))]
        x = [xi - vi for xi, vi in zip(x, v)]
        # the optimizer keeps the look-ahead point x - gamma v, and the same velocity
        assert np.array_equal(params, floats([xi - GAMMA * vi for xi, vi in zip(x, v)]))
        assert np.array_equal(state.velocity[0], floats(v))
        assert np.array_equal(params + float(GAMMA) * state.velocity[0], floats(x))


@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_momentum_methods_with_default_like_gamma(gamma):
    eta = 0.1
    x, v = X03.copy(), np.zeros(3)
    for params, state in run(O.momentum(eta, gamma), x0=X03, a=A3, b=B3):
        v = gamma * v + eta * grad(x, A3, B3)
        x = x - v
        np.testing.assert_allclose(params, x, rtol=1e-15)
    x, v = X03.copy(), np.zeros(3)
    for params, state in run(O.nesterov(eta, gamma), x0=X03, a=A3, b=B3):
        v = gamma * v + eta * grad(x - gamma * v, A3, B3)
        x = x - v
        # another rounding order than the reformulation: a few ulps
        np.testing.assert_allclose(params, x - gamma * v, rtol=1e-14)
        np.testing.assert_allclose(state.velocity[0], v, rtol=1e-14)


def test_adagrad():
    eta, eps = 0.5, 1e-7
    x, r = X03.copy(), np.zeros(3)
    for params, state in run(O.adagrad(eta, eps=eps), x0=X03, a=A3, b=B3):
        g = grad(x, A3, B3)
        r = r + g * g
        x = x - eta / (eps + np.sqrt(r)) * g  # Goodfellow et al. (2016), Algorithm 8.4
        np.testing.assert_allclose(params, x, rtol=1e-15)
        np.testing.assert_allclose(state.sum_sq[0], r, rtol=1e-15)


def test_adagrad_first_step_is_eta_times_the_sign():
    (params, _), = run(O.adagrad(0.25, eps=0.0), steps=1)
    assert np.array_equal(params, X0 - 0.25 * np.sign(grad(X0)))


def test_rmsprop():
    eta, rho, eps = 0.01, 0.9, 1e-8
    x, r = X03.copy(), np.zeros(3)
    for params, state in run(O.rmsprop(eta, decay=rho, eps=eps), x0=X03, a=A3, b=B3):
        g = grad(x, A3, B3)
        r = rho * r + (1 - rho) * g ** 2
        x = x - eta * g / (np.sqrt(r) + eps)
        np.testing.assert_allclose(params, x, rtol=1e-15)
        np.testing.assert_allclose(state.mean_sq[0], r, rtol=1e-15)


def test_adam_with_bias_correction():
    alpha, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    theta, m, v = X03.copy(), np.zeros(3), np.zeros(3)
    for t, (params, state) in enumerate(run(O.adam(alpha), x0=X03, a=A3, b=B3), start=1):
        g = grad(theta, A3, B3)  # Kingma & Ba (2015), Algorithm 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        theta = theta - alpha * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(params, theta, rtol=1e-15)
        assert state.count == t
    # bias correction: the first step is alpha in every coordinate, not (1 - b1) alpha
    (first, _), = run(O.adam(alpha), steps=1, x0=X03, a=A3, b=B3)
    np.testing.assert_allclose(X03 - first, alpha * np.sign(grad(X03, A3, B3)), rtol=1e-6)


def test_learning_rate_schedule_is_read_at_the_step_count():
    schedule = S.exponential_decay(0.5, decay_rate=0.5, decay_steps=1)
    x = X0.copy()
    for k, (params, _) in enumerate(run(O.sgd(schedule))):
        x = x - 0.5 * 0.5 ** k * grad(x)
        np.testing.assert_array_equal(params, x)
    v, x = np.zeros(2), X0.copy()
    for k, (params, _) in enumerate(run(O.momentum(schedule, gamma=0.5))):
        v = 0.5 * v + 0.5 * 0.5 ** k * grad(x)
        x = x - v
        np.testing.assert_array_equal(params, x)


def test_float_and_array_leaves():
    params = (np.array([1.0, 2.0]), 3.0)
    for opt in ALL:
        new, state = opt.update((np.array([0.5, -0.5]), 1.0), opt.init(params), params)
        assert isinstance(new[1], float) and isinstance(new[0], np.ndarray)
        assert new[0].shape == (2,) and new[1] < 3.0
    with pytest.raises(ValueError, match="differ in length"):
        O.sgd(0.1).update((1.0,), O.sgd(0.1).init(params), params)


# schedules ----------------------------------------------------------------------------------
def test_schedules():
    assert S.constant(0.3)(0) == S.constant(0.3)(10 ** 6) == 0.3
    assert S.as_schedule(0.3)(5) == 0.3 and S.as_schedule(S.constant(1.0)) == S.constant(1.0)
    e = S.exponential_decay(2.0, 0.5, 4)
    assert (e(0), e(4), e(8)) == (2.0, 1.0, 0.5) and e(2) == 2.0 * 0.5 ** 0.5
    assert S.exponential_decay(2.0, 0.5, 4, staircase=True)(7) == 1.0
    st = S.step_decay(1.0, 0.5, 3)
    assert [st(k) for k in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    it = S.inverse_time_decay(1.0, 0.5, decay_steps=2)
    assert (it(0), it(4), it(12)) == (1.0, 0.5, 0.25)
    c = S.cosine_decay(2.0, 100, alpha=0.1)
    assert c(0) == 2.0 and c(100) == c(1000) == pytest.approx(0.2, rel=1e-15)
    assert c(50) == pytest.approx(2.0 * (0.9 * 0.5 + 0.1), rel=1e-15)
    assert c(25) == pytest.approx(2.0 * (0.9 * 0.5 * (1 + math.cos(math.pi / 4)) + 0.1))
    w = S.warmup_cosine(peak=1.0, warmup_steps=10, decay_steps=110, init=0.1, end=0.01)
    assert w(0) == 0.1 and w(5) == pytest.approx(0.55) and w(10) == 1.0
    assert w(60) == pytest.approx(0.01 + 0.99 * 0.5) and w(110) == w(500) == 0.01
    assert all(w(k) >= w(k + 1) for k in range(10, 120))


# clipping and constraints -------------------------------------------------------------------
def test_clip_by_global_norm():
    opt = O.clip_by_global_norm(O.sgd(1.0), max_norm=1.0)
    params = (np.zeros(2), 0.0)
    new, _ = opt.update((np.array([3.0, 0.0]), 4.0), opt.init(params), params)
    np.testing.assert_allclose(new[0], [-0.6, 0.0], rtol=1e-15)
    assert new[1] == pytest.approx(-0.8, rel=1e-15)
    small = (np.array([0.3, 0.0]), 0.4)  # norm 0.5: untouched
    new, _ = opt.update(small, opt.init(params), params)
    assert np.array_equal(new[0], -small[0]) and new[1] == -0.4
    assert O.global_norm((np.ones((2, 2)), np.full(5, 2.0), 1.0)) == math.sqrt(4 + 20 + 1)


def test_clip_by_value():
    opt = O.clip_by_value(O.momentum(1.0, gamma=0.5), 1.0)
    params = (np.zeros(3),)
    new, state = opt.update((np.array([-5.0, 0.5, 2.0]),), opt.init(params), params)
    assert np.array_equal(state.velocity[0], [-1.0, 0.5, 1.0])
    assert np.array_equal(new[0], [1.0, -0.5, -1.0])


def test_weight_clip_selects_parameters():
    params = (np.zeros((2, 2)), np.zeros(2), 0.0)
    grads = (np.array([[-1.0, 0.005], [1.0, 0.0]]), np.array([-1.0, 1.0]), -1.0)
    opt = O.weight_clip(O.sgd(1.0), 0.01, which=(0, 2))
    new, _ = opt.update(grads, opt.init(params), params)
    assert np.array_equal(new[0], [[0.01, -0.005], [-0.01, 0.0]])
    assert np.array_equal(new[1], [1.0, -1.0]) and new[2] == 0.01
    every = O.weight_clip(O.sgd(1.0), 0.01)
    new, _ = every.update(grads, every.init(params), params)
    assert np.array_equal(new[1], [0.01, -0.01])


def l1_projection_by_bisection(v, radius):
    """The projection as soft-thresholding at the theta where the L1 norm is `radius`
    (found by bisection: the norm decreases with theta), a different algorithm."""
    if np.abs(v).sum() <= radius:
        return v.copy()
    lo, hi = 0.0, np.abs(v).max()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.maximum(np.abs(v) - mid, 0).sum() > radius else (lo, mid)
    return np.sign(v) * np.maximum(np.abs(v) - hi, 0)


def test_l1_ball_projection_small_cases():
    P = O.project_l1_ball
    assert np.array_equal(P(np.array([3.0, 1.0])), [1.0, 0.0])
    np.testing.assert_allclose(P(np.array([0.8, -0.6])), [0.6, -0.4], rtol=1e-15)
    np.testing.assert_allclose(P(np.array([-2.0, 2.0]), radius=1.0), [-0.5, 0.5])
    np.testing.assert_allclose(P(np.array([1.0, 1.0, 1.0]), radius=1.5), [0.5, 0.5, 0.5])
    assert np.array_equal(P(np.array([0.0, 5.0, -0.5]), radius=2.0), [0.0, 2.0, 0.0])
    inside = np.array([[0.25, -0.5], [0.5, 0.5], [0.0, 0.0]])  # the last two: on / in
    out = P(inside)
    assert np.array_equal(out, inside) and out is not inside
    assert P(3.0, radius=2.0) == 2.0 and P(-0.5) == -0.5
    with pytest.raises(ValueError):
        P(np.ones(2), radius=0.0)


def test_l1_ball_projection_random_rows():
    rng = np.random.default_rng(0)
    V = rng.normal(size=(200, 7)) * rng.uniform(0.01, 2.0, size=(200, 1))
    for radius in (1.0, 0.3):
        W = O.project_l1_ball(V, radius)
        norms = np.abs(W).sum(axis=1)
        assert np.all(norms <= radius * (1 + 1e-12))
        inside = np.abs(V).sum(axis=1) <= radius
        assert inside.any() and (~inside).any()
        assert np.array_equal(W[inside], V[inside])
        np.testing.assert_allclose(norms[~inside], radius, rtol=1e-12)
        for v, w in zip(V, W):
            np.testing.assert_allclose(w, l1_projection_by_bisection(v, radius), atol=1e-12)
        # the nearest point: no feasible point sampled is closer
        v = V[np.argmax(np.abs(V).sum(axis=1))]
        w = O.project_l1_ball(v, radius)
        Z = rng.normal(size=(2000, 7))
        Z *= radius * rng.uniform(size=(2000, 1)) / np.abs(Z).sum(axis=1, keepdims=True)
        assert np.linalg.norm(w - v) <= np.linalg.norm(Z - v, axis=1).min()
    # columns: axis=0, and higher ranks
    assert np.array_equal(O.project_l1_ball(V.T, axis=0), O.project_l1_ball(V).T)
    T = rng.normal(size=(3, 4, 5))
    assert np.array_equal(O.project_l1_ball(T)[1], O.project_l1_ball(T[1]))


def test_project_rows_l1_constrains_weight_matrices_only():
    rng = np.random.default_rng(1)
    params = (rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 4)))
    grads = tuple(rng.normal(size=np.shape(p)) * 3 for p in params)
    opt = O.project_rows_l1(O.adam(0.5))
    new, state = opt.update(grads, opt.init(params), params)
    plain, plain_state = O.adam(0.5).update(grads, O.adam(0.5).init(params), params)
    assert all(np.abs(new[i]).sum(axis=1).max() <= 1 + 1e-12 for i in (0, 2))
    assert np.array_equal(new[0], O.project_l1_ball(plain[0]))
    assert np.array_equal(new[1], plain[1])  # a bias: free
    assert np.array_equal(state.mu[0], plain_state.mu[0])
    only = O.project_rows_l1(O.sgd(1.0), radius=0.5, which=1)
    new, _ = only.update(grads, only.init(params), params)
    assert np.abs(new[1]).sum() <= 0.5 + 1e-12 and np.array_equal(new[0], params[0] - grads[0])
    cols = O.project_rows_l1(O.sgd(1.0), axis=0)
    new, _ = cols.update(grads, cols.init(params), params)
    assert np.abs(new[0]).sum(axis=0).max() <= 1 + 1e-12


# purity ---------------------------------------------------------------------------------------
ALL = [O.sgd(0.1), O.momentum(0.1), O.nesterov(0.1), O.adagrad(0.1), O.rmsprop(0.1),
       O.adam(0.1), O.sgd(S.cosine_decay(0.1, 10)),
       O.clip_by_global_norm(O.adam(0.1), 0.5), O.clip_by_value(O.nesterov(0.1), 0.2),
       O.weight_clip(O.rmsprop(0.1), 0.3), O.project_rows_l1(O.momentum(0.1), 0.5)]


def frozen(tree):
    """A deep copy with every array read-only: a write into it raises."""
    tree = copy.deepcopy(tree)
    for leaf in _leaves(tree):
        leaf.flags.writeable = False
    return tree


def _leaves(tree):
    if isinstance(tree, np.ndarray):
        return [tree]
    if isinstance(tree, tuple):
        return [x for t in tree for x in _leaves(t)]
    return []


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(_leaves(a), _leaves(b)))


@pytest.mark.parametrize("opt", ALL, ids=lambda o: o.update.__qualname__.split(".")[0])
def test_updates_are_pure(opt):
    rng = np.random.default_rng(2)
    params = frozen((rng.normal(size=(3, 4)), rng.normal(size=3), 0.7))
    state = frozen(opt.init(params))
    for _ in range(3):
        grads = frozen((rng.normal(size=(3, 4)), rng.normal(size=3), -0.2))
        kept = copy.deepcopy((grads, state, params))
        new, new_state = opt.update(grads, state, params)
        assert same((grads, state, params), kept)
        assert not any(x is y for x in _leaves((new, new_state))
                       for y in _leaves((grads, state, params)))
        params, state = frozen(new), frozen(new_state)


# the example ----------------------------------------------------------------------------------
def test_optimizers_example(tmp_path, monkeypatch, capsys):
    png = tmp_path / "trajectories.png"
    monkeypatch.setattr("sys.argv", ["optimizers.py", str(png)])
    example = Path(__file__).parents[2] / "examples" / "optimizers.py"
    ns = runpy.run_path(str(example), run_name="__main__")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert f"wrote {png}" in capsys.readouterr().out
    valley, saddle = ns["valley"], ns["near_saddle"]
    assert len(valley) == len(saddle) == 7
    for name, path in valley.items():  # every one reaches the minimum (1, 1)
        assert path.shape == (ns["STEPS"] + 1, 2)
        tolerance = 0.1 if name == "SGD" else 0.01  # SGD's noise keeps it jittering
        assert np.hypot(*(path[-1] - 1.0)) < tolerance, name
    # near the saddle, plain GD hardly moves along y; momentum escapes 10x further, and
    # the adaptive methods, which rescale the tiny gradient, 50x
    gd_y = saddle["GD"][-1, 1]
    assert 0 < gd_y < 0.01
    for name in ("momentum", "Nesterov"):
        assert saddle[name][-1, 1] > 10 * gd_y
    for name in ("Adagrad", "RMSprop", "Adam"):
        assert saddle[name][-1, 1] > 50 * gd_y
