"""Generative models on generated gradients (adgen/runtime/models/gan.py, kantorovich.py,
autoencoder.py): gradients against finite differences, and training that reaches
measured targets with fixed seeds."""

import numpy as np
import pytest

import adgen

from adgen.runtime.data import (gaussian_ring, load_digits_images, mode_coverage, ring_centres,
                                swiss_roll, two_moons)
from adgen.runtime.models import autoencoder as ae
from adgen.runtime.models import gan
from adgen.runtime.models.kantorovich import sinkhorn_generator_loss, train_sinkhorn_generator
from adgen.runtime.optimizers import adam
from adgen.runtime.ot import eps_schedule, exact_ot
from adgen.runtime.training import fit
from adgen.testing import check_grads

GEN = tuple(range(6))
CRITIC = tuple(range(6, 12))


def pre_activations(params, x):
    W1, b1, W2, b2, _, _ = params
    h1 = x @ W1 + b1
    return [h1, np.maximum(h1, 0.2 * h1) @ W2 + b2, np.maximum(h1, 0.0) @ W2 + b2]


def small_players(seed=0, batch=4, hidden=3):
    """Small random networks and batches, drawn again until no hidden unit is within 0.05
    of its kink (finite differences straddling a kink are wrong, not adgen)."""
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        generator = tuple(p + 0.1 * rng.normal(size=p.shape)
                          for p in gan.mlp_init(rng, 2, hidden, 2))
        critic = tuple(p + 0.1 * rng.normal(size=p.shape) for p in gan.mlp_init(rng, 2, hidden, 1))
        Z, Y = rng.normal(size=(batch, 2)), gaussian_ring(rng, batch)
        fake = gan.mlp(*generator, Z)
        units = (pre_activations(generator, Z)[:2] + pre_activations(critic, fake)
                 + pre_activations(critic, Y))
        if min(np.abs(u).min() for u in units) > 0.05:
            return rng, generator, critic, Z, Y
    raise AssertionError("no point away from the kinks: use fewer units or examples")


@pytest.mark.parametrize("loss, argnums", [
    (gan.gan_discriminator_loss, CRITIC), (gan.gan_generator_loss, GEN),
    (gan.gan_value, GEN + CRITIC), (gan.wgan_critic_loss, CRITIC),
    (gan.wgan_generator_loss, GEN)], ids=lambda v: getattr(v, "__name__", "argnums"))
def test_adversarial_losses_gradients_match_finite_differences(loss, argnums):
    for seed in (0, 1):
        _, generator, critic, Z, Y = small_players(seed)
        check_grads(loss, (*generator, *critic, Z, Y), argnums=argnums)


def test_wgan_gp_gradient_penalty_is_reverse_over_reverse_and_matches_fd():
    rng, generator, critic, Z, Y = small_players(2)
    T = rng.random((4, 1))
    args = (*generator, *critic, Z, Y, T, 10.0)
    check_grads(gan.wgan_gp_critic_loss, args, argnums=GEN + CRITIC)
    # the penalty itself, against a NumPy input gradient of the ReLU critic
    x_hat = T * Y + (1 - T) * gan.mlp(*generator, Z)
    V1, c1, V2, c2, V3, c3 = critic
    h1 = x_hat @ V1 + c1
    h2 = np.maximum(h1, 0) @ V2 + c2
    g = (((h2 > 0) * V3[:, 0]) @ V2.T * (h1 > 0)) @ V1.T
    penalty = np.mean((np.sqrt(np.sum(g * g, axis=1) + 1e-12) - 1) ** 2)
    plain = gan.wgan_critic_loss(*generator, *critic, Z, Y)
    assert gan.wgan_gp_critic_loss(*args) == pytest.approx(plain + 10.0 * penalty, rel=1e-12)


def test_sinkhorn_generator_gradient_matches_finite_differences():
    _, generator, _, Z, Y = small_players(3, batch=5)
    check_grads(sinkhorn_generator_loss, (*generator, Z, Y, 0.5, 10), argnums=GEN)


def test_log_sigmoid_is_stable():
    t = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    expected = np.array([-800.0, -30.0 - np.log1p(np.exp(-30.0)), -np.log(2.0),
                         -np.log1p(np.exp(-30.0)), 0.0])
    np.testing.assert_allclose(gan.log_sigmoid(t), expected, rtol=1e-15, atol=1e-300)


# training on the 8-Gaussian ring --------------------------------------------------------
RING_EVAL = np.repeat(ring_centres(), 125, axis=0) + 0.05 * np.random.default_rng(99).normal(
    size=(1000, 2))


def ring_targets(result, rng_seed=0):
    """(W2^2 at initialization, W2^2 after training, mode coverage) with 1,000 samples."""
    init = gan.sample(gan.mlp_init(np.random.default_rng(rng_seed), 2, 64, 2),
                      np.random.default_rng(1), 1000)
    trained = gan.sample(result.generator, np.random.default_rng(1), 1000)
    return (exact_ot(init, RING_EVAL), exact_ot(trained, RING_EVAL),
            mode_coverage(trained, ring_centres()))


def assert_fits_the_ring(result):
    before, after, coverage = ring_targets(result)
    assert after < 0.1 * before, (before, after)
    assert coverage.min() >= 0.05, coverage


def ring(rng, n):
    return gaussian_ring(rng, n)


@pytest.mark.slow
def test_gan_fits_the_ring_and_covers_every_mode():
    result = gan.train_gan(np.random.default_rng(0), ring, steps=6000, backend="python")
    assert_fits_the_ring(result)


@pytest.mark.slow
@pytest.mark.parametrize("lipschitz", ["gp", "l1", "clip"])
def test_wgan_fits_the_ring_and_covers_every_mode(lipschitz):
    result = gan.train_wgan(np.random.default_rng(0), ring, steps=2000, lipschitz=lipschitz,
                            backend="python")
    assert_fits_the_ring(result)
    if lipschitz == "l1":  # the projection keeps every weight column in the L1 ball
        for W in result.critic[0::2]:
            assert np.abs(W).sum(axis=0).max() <= 1.0 + 1e-12
    if lipschitz == "clip":
        assert max(np.abs(p).max() for p in result.critic) <= 0.1


@pytest.mark.slow
def test_sinkhorn_generator_fits_the_ring_and_covers_every_mode():
    result = train_sinkhorn_generator(np.random.default_rng(0), ring, steps=600,
                                      eps=eps_schedule(1.0, 0.05, 300), n_iter=10,
                                      batch_size=96, backend="python")
    assert_fits_the_ring(result)


def test_toy_data_shapes_and_scales():
    rng = np.random.default_rng(0)
    for sampler in (gaussian_ring, two_moons, swiss_roll):
        x = sampler(rng, 500)
        assert x.shape == (500, 2) and x.dtype == np.float64
        assert np.abs(x).max() < 3.5
    coverage = mode_coverage(gaussian_ring(rng, 8000), ring_centres())
    np.testing.assert_allclose(coverage, 1 / 8, atol=0.02)


# autoencoders ------------------------------------------------------------------------------
def test_autoencoder_losses_gradients_match_finite_differences():
    rng = np.random.default_rng(4)
    Y = rng.random((5, 6))
    check_grads(ae.linear_ae_loss, (*ae.linear_ae_init(rng, 6, 2, scale=0.5), Y),
                argnums=(0, 1, 2, 3))
    params = ae.ae_init(rng, 6, 4, 2)
    check_grads(ae.ae_loss, (*params, Y, ae.corrupt(rng, Y), 0.3), argnums=tuple(range(8)))
    params = tuple(p + 0.1 * rng.normal(size=p.shape) for p in ae.vae_init(rng, 6, 4, 2))
    E = rng.normal(size=(5, 2))
    check_grads(ae.vae_loss, (*params, Y, E), argnums=tuple(range(10)))
    check_grads(ae.vae_gaussian_loss, (*params, Y, E, 0.3), argnums=tuple(range(10)))


def test_linear_autoencoder_recovers_the_pca_subspace():
    rng = np.random.default_rng(0)
    n, d, k = 200, 6, 2
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    Y = rng.normal(size=(n, d)) @ np.diag([3.0, 2.0, 0.6, 0.4, 0.3, 0.2]) @ Q.T + rng.normal(
        size=d)
    _, _, Vt = np.linalg.svd(Y - Y.mean(axis=0), full_matrices=False)
    params, history = fit(ae.linear_ae_loss, ae.linear_ae_init(rng, d, k), (Y,), adam(0.02),
                          epochs=3000, progress=False, backend="python")
    angles = ae.principal_angles(params[2].T, Vt[:k].T)
    assert angles.max() < 1e-3, angles
    # and the loss is the PCA residual: half the energy outside the top-k subspace
    s = np.linalg.svd(Y - Y.mean(axis=0), compute_uv=False)
    assert history.loss[-1] == pytest.approx(0.5 * np.sum(s[k:] ** 2) / n, rel=1e-4)


def digits_split():
    X, _ = load_digits_images()
    order = np.random.default_rng(0).permutation(len(X))
    return X[order[:1400]], X[order[1400:]]


def test_denoising_and_sparse_autoencoders_on_digits():
    train, test = digits_split()
    rng = np.random.default_rng(1)
    noisy_test = ae.corrupt(rng, test)

    def train_ae(sparsity, denoising):
        params = ae.ae_init(np.random.default_rng(2), 64, 64, 16)
        X = ae.corrupt(rng, train) if denoising else train
        params, _ = fit(ae.ae_loss, params, (train, X), adam(3e-3), epochs=30, batch_size=64,
                        rng=np.random.default_rng(3), args=(sparsity,), progress=False,
                        backend="python")
        return params

    def reconstruct(params, X):
        logits = ae.ae_decode(*params[4:], ae.ae_encode(*params[:4], X))
        return 1 / (1 + np.exp(-logits))

    denoiser = train_ae(0.0, denoising=True)
    denoised_error = np.mean((reconstruct(denoiser, noisy_test) - test) ** 2)
    assert denoised_error < 0.5 * np.mean((noisy_test - test) ** 2)
    plain, sparse = train_ae(0.0, False), train_ae(0.05, False)
    codes = [np.mean(np.abs(ae.ae_encode(*p[:4], test))) for p in (plain, sparse)]
    assert codes[1] < 0.5 * codes[0], codes


def test_vae_on_digits_improves_the_elbo_and_reconstructs():
    train, test = digits_split()
    rng = np.random.default_rng(0)
    k = 16
    params = ae.vae_init(rng, 64, 128, k)
    params, history = fit(ae.vae_gaussian_loss, params, ae.VAEBatches(train, k, 64, rng),
                          adam(2e-3), args=(0.1,), epochs=60, progress=False, backend="python")
    elbo = -np.array(history.loss)
    blocks = elbo.reshape(12, 5).mean(axis=1)  # "monotonically on average": 5-epoch means
    assert np.all(np.diff(blocks) > 0), blocks
    mse = np.mean((ae.vae_reconstruct(params, test) - test) ** 2)
    mean_image = np.mean((train.mean(axis=0) - test) ** 2)
    assert mean_image >= 3 * mse, (mean_image, mse)
    strip = ae.interpolate(lambda Z: ae.vae_decode_means(params, Z), np.zeros(k),
                           np.ones(k), steps=5)
    assert strip.shape == (5, 64)
    np.testing.assert_allclose(strip[0], ae.vae_decode_means(params, np.zeros((1, k)))[0])


def test_saturating_generator_descends_the_minimax_value():
    """The saturating generator's loss is V itself (a sum of mean log-probabilities, < 0;
    the non-saturating loss is > 0), and a small step along -grad V lowers V."""
    saturating = gan.train_gan(np.random.default_rng(7), ring, steps=3, saturating=True,
                               backend="python", hidden=8)
    plain = gan.train_gan(np.random.default_rng(7), ring, steps=3, backend="python", hidden=8)
    assert max(saturating.generator_loss) < 0 < min(plain.generator_loss)
    _, generator, critic, Z, Y = small_players(4)
    grads = adgen.grad(gan.gan_value, argnums=GEN, backend="python")(*generator, *critic, Z, Y)
    stepped = tuple(p - 1e-3 * g for p, g in zip(generator, grads))
    assert (gan.gan_value(*stepped, *critic, Z, Y)
            < gan.gan_value(*generator, *critic, Z, Y))
