"""Recurrent layers: values against a direct NumPy evaluation, gradients from adgen
against finite differences, on batches of sequences of different lengths."""

import numpy as np
import pytest

import adgen
from adgen.runtime.layers.recurrent import (gru, gru_cell, gru_init, last_state, lstm,
                                            lstm_init, rnn, rnn_init)
from adgen.testing import check_grads, check_vjp


def _sig(z):
    return 1 / (1 + np.exp(-z))


def lstm_reference(Wx, Wh, b, X, lengths):
    n, T, _ = X.shape
    k = Wh.shape[1]
    H = np.zeros((n, T, k))
    for i in range(n):
        h, c = np.zeros(k), np.zeros(k)
        for t in range(lengths[i]):
            z = Wx @ X[i, t] + Wh @ h + b
            i_, f, g, o = _sig(z[:k]), _sig(z[k:2 * k]), np.tanh(z[2 * k:3 * k]), _sig(z[3 * k:])
            c = f * c + i_ * g
            h = o * np.tanh(c)
            H[i, t] = h
    return H


def gru_reference(Wx, Wh, bx, bh, X, lengths):
    n, T, _ = X.shape
    k = Wh.shape[1]
    H = np.zeros((n, T, k))
    for i in range(n):
        h = np.zeros(k)
        for t in range(lengths[i]):
            a, r_h = Wx @ X[i, t] + bx, Wh @ h + bh
            r, u = _sig(a[:k] + r_h[:k]), _sig(a[k:2 * k] + r_h[k:2 * k])
            m = np.tanh(a[2 * k:] + r * r_h[2 * k:])
            h = (1 - u) * m + u * h
            H[i, t] = h
    return H


@pytest.fixture
def batch():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((4, 5, 2))
    lengths = np.array([5, 2, 3, 0])    # an empty sequence too
    R = rng.standard_normal((4, 5, 3))
    return rng, X, lengths, R


def test_values_and_padding(batch):
    rng, X, lengths, _ = batch
    Wx, Wh, b = lstm_init(rng, 2, 3)
    H = lstm(Wx, Wh, b, X, lengths)
    np.testing.assert_allclose(H, lstm_reference(Wx, Wh, b, X, lengths), rtol=1e-14)
    assert np.all(H[1, 2:] == 0.0)     # past the end of sequence 1
    params = gru_init(rng, 2, 3)
    np.testing.assert_allclose(gru(*params, X, lengths), gru_reference(*params, X, lengths),
                               rtol=1e-14)
    last = last_state(H, lengths)
    np.testing.assert_array_equal(last[:3], H[[0, 1, 2], lengths[:3] - 1])
    assert np.all(last[3] == 0.0) and np.all(H[3] == 0.0)


def lstm_objective(Wx, Wh, b, X, lengths, R):
    H = lstm(Wx, Wh, b, X, lengths)
    return np.sum(H * R) + np.sum(last_state(H, lengths) ** 2)


def gru_objective(Wx, Wh, bx, bh, X, lengths, R):
    return np.sum(gru(Wx, Wh, bx, bh, X, lengths) * R)


def rnn_objective(Wx, Wh, b, X, lengths, R):
    return np.sum(rnn(Wx, Wh, b, X, lengths) * R)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_gradients_against_finite_differences(batch, backend):
    rng, X, lengths, R = batch
    # every parameter and the inputs; sequences of lengths 5, 2 and 3
    check_grads(lstm_objective, (*lstm_init(rng, 2, 3), X, lengths, R),
                argnums=(0, 1, 2, 3), backend=backend)
    check_grads(gru_objective, (*gru_init(rng, 2, 3), X, lengths, R),
                argnums=(0, 1, 2, 3, 4), backend=backend)
    check_grads(rnn_objective, (*rnn_init(rng, 2, 3), X, lengths, R),
                argnums=(0, 1, 2, 3), backend=backend)


def test_forward_and_reverse_agree_on_the_lstm(batch):
    rng, X, lengths, R = batch
    check_vjp(lstm_objective, (*lstm_init(rng, 2, 3), X, lengths, R), argnums=(0, 1, 3))


def test_padding_gets_no_gradient(batch):
    rng, X, lengths, R = batch
    g = adgen.grad(lstm_objective, argnums=3)(*lstm_init(rng, 2, 3), X, lengths, R)
    assert np.all(g[1, 2:] == 0.0) and np.all(g[2, 3:] == 0.0) and np.all(g[3] == 0.0)
    assert np.all(g[0] != 0.0)


def test_gru_cell_is_the_one_step_sequence(batch):
    rng, X, _, _ = batch
    params = gru_init(rng, 2, 3)
    h = gru_cell(*params, X[0, 0], np.zeros(3))
    np.testing.assert_allclose(gru(*params, X[:1, :1], np.array([1]))[0, 0], h, rtol=1e-15)
