"""Batch and group normalization, dropout: values against NumPy's, gradients from
adgen against finite differences (batch norm in train mode included)."""

import numpy as np
import pytest

import adgen
from adgen.runtime.layers.dropout import dropout, dropout_mask, eval_mask
from adgen.runtime.layers.normalization import (batch_moments, batch_norm, batch_norm2d,
                                                batch_norm2d_eval, batch_norm_eval,
                                                group_norm, group_norm_check,
                                                update_running)
from adgen.testing import check_grads


def reference_norm(X, axes, gamma_shape, gamma, beta, eps=1e-5):
    mean = X.mean(axis=axes, keepdims=True)
    var = X.var(axis=axes, keepdims=True)
    return (X - mean) / np.sqrt(var + eps) * gamma.reshape(gamma_shape) + beta.reshape(
        gamma_shape)


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def test_values(rng):
    X = rng.standard_normal((6, 3)) * 2 + 1
    g, b = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(batch_norm(g, b, X), reference_norm(X, 0, (1, 3), g, b),
                               rtol=1e-13)
    X4 = rng.standard_normal((3, 4, 2, 3))
    g4, b4 = rng.standard_normal(4), rng.standard_normal(4)
    np.testing.assert_allclose(batch_norm2d(g4, b4, X4),
                               reference_norm(X4, (0, 2, 3), (1, 4, 1, 1), g4, b4), rtol=1e-13)
    # group norm with 2 groups of 2 channels: statistics per sample and group
    grouped = X4.reshape(3, 2, 2, 2, 3)
    mean = grouped.mean(axis=(2, 3, 4), keepdims=True)
    var = grouped.var(axis=(2, 3, 4), keepdims=True)
    expected = ((grouped - mean) / np.sqrt(var + 1e-5)).reshape(X4.shape)
    expected = expected * g4.reshape(1, 4, 1, 1) + b4.reshape(1, 4, 1, 1)
    np.testing.assert_allclose(group_norm(g4, b4, X4, 2), expected, rtol=1e-13)
    with pytest.raises(ValueError, match="3 groups"):
        group_norm_check(4, 3)


def test_running_statistics_and_eval_mode(rng):
    X = rng.standard_normal((50, 3)) * 3 + 2
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(200):
        mean, var = update_running(mean, var, X)
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-8)
    np.testing.assert_allclose(var, X.var(axis=0, ddof=1), rtol=1e-8)
    g, b = rng.standard_normal(3), rng.standard_normal(3)
    # eval mode with the batch's own (biased) statistics is train mode
    bm, _ = batch_moments(X)
    np.testing.assert_allclose(batch_norm_eval(g, b, X, bm, X.var(axis=0)),
                               batch_norm(g, b, X), rtol=1e-13)
    X4 = rng.standard_normal((2, 3, 2, 2))
    m4, _ = batch_moments(X4)
    np.testing.assert_allclose(batch_norm2d_eval(g, b, X4, m4, X4.var(axis=(0, 2, 3))),
                               batch_norm2d(g, b, X4), rtol=1e-13)


def bn_objective(gamma, beta, X, R):
    return np.sum(batch_norm(gamma, beta, X) * R)


def bn2d_objective(gamma, beta, X, R):
    return np.sum(batch_norm2d(gamma, beta, X) * R)


def gn_objective(gamma, beta, X, R):
    return np.sum(group_norm(gamma, beta, X, 2) * R)


def dropout_objective(X, W, mask):
    return np.sum(np.tanh(dropout(X, mask) @ W))


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_gradients_against_finite_differences(rng, backend):
    X = rng.standard_normal((5, 3))
    check_grads(bn_objective, (rng.standard_normal(3), rng.standard_normal(3), X,
                               rng.standard_normal((5, 3))), argnums=(0, 1, 2), backend=backend)
    X4 = rng.standard_normal((2, 4, 2, 3))
    R4 = rng.standard_normal((2, 4, 2, 3))
    for objective in (bn2d_objective, gn_objective):
        check_grads(objective, (rng.standard_normal(4), rng.standard_normal(4), X4, R4),
                    argnums=(0, 1, 2), backend=backend)
    mask = dropout_mask(rng, (4, 3), 0.5)
    check_grads(dropout_objective, (rng.standard_normal((4, 3)), rng.standard_normal((3, 2)),
                                    mask), argnums=(0, 1), backend=backend)


def test_dropout_masks(rng):
    mask = dropout_mask(rng, (200, 50), 0.3)
    assert set(np.unique(mask)) == {0.0, 1 / 0.7}
    assert abs((mask == 0).mean() - 0.3) < 0.02
    assert abs(mask.mean() - 1.0) < 0.03            # inverted dropout keeps the mean
    X = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(dropout(X, eval_mask(X.shape)), X)
    # the gradient w.r.t. X is zero exactly where units were dropped
    W = rng.standard_normal((4, 2))
    g = adgen.grad(dropout_objective, backend="python")(X, W, dropout_mask(rng, (3, 4), 0.5))
    m = dropout_mask(np.random.default_rng(5), (3, 4), 0.5)
    g = adgen.grad(dropout_objective, backend="python")(X, W, m)
    assert np.all((g == 0.0) == (m == 0.0))
    with pytest.raises(ValueError):
        dropout_mask(rng, (2,), 1.0)
