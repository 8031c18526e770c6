"""The digits classifiers of the lecture reach their accuracy targets with fixed
seeds (issue 6). Training time is reported by the examples, not asserted."""

import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import digits_mlp  # noqa: E402

from adgen.testing import check_grads  # noqa: E402


def test_mlp_loss_gradient_against_finite_differences():
    X, y, _, _ = digits_mlp.split_digits()
    rng = np.random.default_rng(1)
    params = digits_mlp.init(rng, (64, 5, 10))
    check_grads(digits_mlp.loss, (*params, X[:6], y[:6], 1e-3), argnums=(0, 1, 2, 3),
                backend="python")


@pytest.mark.slow
def test_mlp_reaches_97_percent(tmp_path):
    # the example's own entry point, as the README runs it
    assert digits_mlp.main(str(tmp_path / "curves.png")) >= 0.97
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


import digits_gru  # noqa: E402


def test_gru_loss_gradient_against_finite_differences():
    X, y, _, _ = digits_mlp.split_digits()
    S, lengths = digits_gru.as_sequences(X[:3])
    lengths = np.array([8, 5, 2])                 # the loss handles ragged batches too
    params = digits_gru.init(np.random.default_rng(2), hidden=3)
    check_grads(digits_gru.loss, (*params, S, y[:3], lengths), argnums=(0, 1, 2, 3, 4, 5),
                backend="python")


@pytest.mark.slow
def test_gru_reaches_97_percent(tmp_path):
    assert digits_gru.main(str(tmp_path / "gru.png")) >= 0.97
    assert (tmp_path / "gru.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


import digits_cnn  # noqa: E402


def test_cnn_loss_gradient_against_finite_differences():
    X, y, _, _ = digits_mlp.split_digits()
    rng = np.random.default_rng(3)
    K, c, W1, b1, W2, b2 = digits_cnn.init(rng)
    # random biases: blank patches would otherwise sit exactly on ReLU's and max's kinks
    params = (K, rng.standard_normal(c.shape), W1, rng.standard_normal(b1.shape), W2, b2)
    # random images too: blank patches of the digits give exactly tied pooling windows
    images = rng.standard_normal((2, 1, 8, 8))
    check_grads(digits_cnn.loss, (*params, images, y[:2], 1e-3),
                argnums=(0, 1), backend="python")


@pytest.mark.slow
def test_cnn_reaches_98_percent(tmp_path):
    assert digits_cnn.main(str(tmp_path / "cnn.png")) >= 0.98
    assert (tmp_path / "cnn.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
