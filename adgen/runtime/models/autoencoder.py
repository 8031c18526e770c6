"""Autoencoders: min Σ_i Δ(y_i, f_θ(g_ω(y_i))) with an encoder g_ω and a decoder
f_θ, and the variational autoencoder; all gradients from adgen.

Losses take the parameters then the data, `loss(*params, Y, ...)`, and return
the mean over the examples, so that `adgen.runtime.training.fit` trains them:

* `linear_ae_loss(We, be, Wd, bd, Y)`: code = Y We + be, reconstruction
  code Wd + bd, squared error. At its minimum the decoder's rows span the
  top-k principal subspace of the centred data (Baldi and Hornik 1989):
  `principal_angles` measures it.
* `ae_loss(We1, be1, We2, be2, Wd1, bd1, Wd2, bd2, Y, X, sparsity)`: one
  tanh hidden layer each way, sigmoid output (data in [0, 1]), binary
  cross-entropy reconstruction of Y from the input X: X = Y is the plain
  autoencoder, X = a corrupted Y (`corrupt`) the denoising one; `sparsity`
  weighs an L1 penalty on the codes (a sparse autoencoder).
* `vae_loss(...)` is minus the ELBO per example, with a Gaussian encoder
  q(z|y) = N(μ(y), diag σ²(y)), a standard normal prior and a Bernoulli
  decoder; the sample z = μ + σ ε uses noise ε passed in as data (the
  reparametrization trick), so the loss is a deterministic function of the
  parameters that adgen differentiates.
"""

from __future__ import annotations

import math

import numpy as np

from adgen.runtime.layers.dense import dense_init

__all__ = ["linear_ae_init", "linear_ae_loss", "linear_ae_reconstruct", "principal_angles",
           "ae_init", "ae_encode", "ae_decode", "ae_loss", "corrupt", "vae_init",
           "vae_encode", "vae_decode", "vae_loss", "vae_gaussian_loss", "vae_reconstruct",
           "vae_decode_means", "vae_sample", "VAEBatches",
           "interpolate"]


# linear autoencoder --------------------------------------------------------------------
def linear_ae_init(rng, d, k, scale=0.1):
    """(We (d, k), be (k,), Wd (k, d), bd (d,)) with small random weights.

    >>> [p.shape for p in linear_ae_init(np.random.default_rng(0), 5, 2)]
    [(5, 2), (2,), (2, 5), (5,)]
    """
    return (scale * rng.normal(size=(d, k)), np.zeros(k), scale * rng.normal(size=(k, d)),
            np.zeros(d))


def linear_ae_loss(We, be, Wd, bd, Y):
    """The mean over the rows of Y of 1/2 |y - ((y We + be) Wd + bd)|^2."""
    r = (Y @ We + be) @ Wd + bd - Y
    return 0.5 * np.sum(r * r) / Y.shape[0]


def linear_ae_reconstruct(We, be, Wd, bd, Y):
    """f(g(Y)) for the linear autoencoder.

    >>> p = (np.eye(2), np.zeros(2), np.eye(2), np.zeros(2))
    >>> linear_ae_reconstruct(*p, np.array([[1.0, 2.0]]))
    array([[1., 2.]])
    """
    return (Y @ We + be) @ Wd + bd


def principal_angles(A, B):
    """The principal angles (radians, ascending) between the column spaces of A (d, k)
    and B (d, k), from the sines (singular values of the part of B's orthonormal basis
    outside A's span): accurate for small angles, where arccos of the cosines is not.

    >>> principal_angles(np.eye(3)[:, :2], np.eye(3)[:, [1, 0]])
    array([0., 0.])
    >>> bool(np.isclose(principal_angles(np.eye(2)[:, :1], np.ones((2, 1)))[0], np.pi / 4))
    True
    """
    qa, _ = np.linalg.qr(A)
    qb, _ = np.linalg.qr(B)
    sines = np.linalg.svd(qb - qa @ (qa.T @ qb), compute_uv=False)
    return np.sort(np.arcsin(np.clip(sines, 0.0, 1.0)))


# nonlinear autoencoders --------------------------------------------------------------------
def ae_init(rng, d, hidden, k):
    """(We1, be1, We2, be2, Wd1, bd1, Wd2, bd2): d -> hidden -> k -> hidden -> d.

    >>> len(ae_init(np.random.default_rng(0), 64, 32, 8))
    8
    """
    return (dense_init(rng, d, hidden) + dense_init(rng, hidden, k)
            + dense_init(rng, k, hidden) + dense_init(rng, hidden, d))


def ae_encode(We1, be1, We2, be2, X):
    """The codes of the rows of X (linear code layer)."""
    return np.tanh(X @ We1 + be1) @ We2 + be2


def ae_decode(Wd1, bd1, Wd2, bd2, C):
    """Logits of the reconstruction of codes C (apply a sigmoid for pixels)."""
    return np.tanh(C @ Wd1 + bd1) @ Wd2 + bd2


def _bce_logits(logits, Y):
    """Sum over pixels, mean over examples, of the Bernoulli negative log-likelihood."""
    return np.sum(np.log1p(np.exp(-np.abs(logits))) + np.maximum(logits, 0.0)
                  - logits * Y) / Y.shape[0]


def ae_loss(We1, be1, We2, be2, Wd1, bd1, Wd2, bd2, Y, X, sparsity):
    """Reconstruction of Y from input X (binary cross-entropy on logits), plus
    `sparsity` times the mean L1 norm of the codes."""
    codes = ae_encode(We1, be1, We2, be2, X)
    logits = ae_decode(Wd1, bd1, Wd2, bd2, codes)
    return _bce_logits(logits, Y) + sparsity * np.sum(np.abs(codes)) / X.shape[0]


def corrupt(rng, Y, drop=0.25, noise=0.1):
    """A denoising autoencoder's input: each pixel zeroed with probability `drop`, plus
    Gaussian noise of standard deviation `noise`, clipped to [0, 1]. Y is not modified.

    >>> corrupt(np.random.default_rng(0), np.ones((1, 4)), drop=1.0, noise=0.0)
    array([[0., 0., 0., 0.]])
    """
    kept = rng.random(Y.shape) >= drop
    return np.clip(Y * kept + noise * rng.normal(size=Y.shape), 0.0, 1.0)


# variational autoencoder -----------------------------------------------------------------
def vae_init(rng, d, hidden, k):
    """(We, be, Wmu, bmu, Wlv, blv, Wd1, bd1, Wd2, bd2): encoder d -> hidden -> (μ, log σ²)
    of dimension k each, decoder k -> hidden -> d (Bernoulli logits).

    >>> len(vae_init(np.random.default_rng(0), 64, 32, 4))
    10
    """
    We, be = dense_init(rng, d, hidden)
    Wmu, bmu = dense_init(rng, hidden, k)
    Wlv, blv = dense_init(rng, hidden, k)
    return (We, be, Wmu, bmu, 0.1 * Wlv, blv) + dense_init(rng, k, hidden) + \
        dense_init(rng, hidden, d)


def vae_encode(We, be, Wmu, bmu, Wlv, blv, Y):
    """(μ, log σ²) of q(z | y) for the rows of Y."""
    h = np.tanh(Y @ We + be)
    return h @ Wmu + bmu, h @ Wlv + blv


def vae_decode(Wd1, bd1, Wd2, bd2, Z):
    """Bernoulli logits of p(y | z) for the rows of Z."""
    return np.tanh(Z @ Wd1 + bd1) @ Wd2 + bd2


def vae_loss(We, be, Wmu, bmu, Wlv, blv, Wd1, bd1, Wd2, bd2, Y, E):
    """-ELBO per example: E_q[-log p(y|z)] + KL(q(z|y) || N(0, I)), the expectation
    estimated with one sample z = μ + exp(log σ² / 2) ε per example (ε = rows of E)."""
    mu, logvar = vae_encode(We, be, Wmu, bmu, Wlv, blv, Y)
    Z = mu + np.exp(0.5 * logvar) * E
    reconstruction = _bce_logits(vae_decode(Wd1, bd1, Wd2, bd2, Z), Y)
    kl = 0.5 * np.sum(np.exp(logvar) + mu * mu - 1.0 - logvar) / Y.shape[0]
    return reconstruction + kl


def vae_gaussian_loss(We, be, Wmu, bmu, Wlv, blv, Wd1, bd1, Wd2, bd2, Y, E, sigma):
    """-ELBO per example with a Gaussian decoder p(y|z) = N(sigmoid(logits), sigma^2 I)
    (sigma fixed): sharper reconstructions than the Bernoulli decoder on grey levels,
    the smaller sigma the more the reconstruction outweighs the KL term."""
    mu, logvar = vae_encode(We, be, Wmu, bmu, Wlv, blv, Y)
    Z = mu + np.exp(0.5 * logvar) * E
    means = _sigmoid(vae_decode(Wd1, bd1, Wd2, bd2, Z))
    r = means - Y
    d = Y.shape[1]
    reconstruction = (0.5 * np.sum(r * r) / (sigma * sigma) / Y.shape[0]
                      + d * math.log(sigma * math.sqrt(2.0 * math.pi)))
    kl = 0.5 * np.sum(np.exp(logvar) + mu * mu - 1.0 - logvar) / Y.shape[0]
    return reconstruction + kl


def _sigmoid(t):
    return 0.5 * (1.0 + np.tanh(0.5 * t))


def vae_reconstruct(params, Y):
    """The mean reconstruction sigmoid(decode(μ(y))) of the rows of Y (NumPy)."""
    mu, _ = vae_encode(*params[:6], Y)
    return _sigmoid(vae_decode(*params[6:], mu))


def vae_decode_means(params, Z):
    """The decoder's means sigmoid(decode(z)) for the rows of Z (NumPy): images.

    >>> params = vae_init(np.random.default_rng(0), 4, 3, 2)
    >>> vae_decode_means(params, np.zeros((1, 2))).shape
    (1, 4)
    """
    return _sigmoid(vae_decode(*params[6:], Z))


def vae_sample(params, rng, n, k):
    """n images decoded from z ~ N(0, I) of dimension k."""
    return vae_decode_means(params, rng.normal(size=(n, k)))


def interpolate(decode, z1, z2, steps=8):
    """decode((1 - λ) z1 + λ z2) for λ evenly spaced in [0, 1]: a latent-space strip,
    one row per λ.

    >>> interpolate(lambda Z: Z, np.zeros(2), np.ones(2), steps=3)
    array([[0. , 0. ],
           [0.5, 0.5],
           [1. , 1. ]])
    """
    lam = np.linspace(0.0, 1.0, steps)[:, None]
    return decode((1.0 - lam) * z1[None, :] + lam * z2[None, :])


class VAEBatches:
    """Mini-batches (Y_batch, E_batch) for `fit`: a new order and new noise ε ~ N(0, I)
    every time it is iterated (every epoch), so the ELBO's one-sample estimate is
    resampled at each step.

    >>> batches = VAEBatches(np.zeros((5, 3)), 2, 2, np.random.default_rng(0))
    >>> [tuple(b.shape for b in batch) for batch in batches]
    [((2, 3), (2, 2)), ((2, 3), (2, 2)), ((1, 3), (1, 2))]
    """

    def __init__(self, Y, k, batch_size, rng):
        self.Y, self.k, self.batch_size, self.rng = Y, k, batch_size, rng

    def __iter__(self):
        order = self.rng.permutation(len(self.Y))
        for start in range(0, len(order), self.batch_size):
            Yb = self.Y[order[start:start + self.batch_size]]
            yield Yb, self.rng.normal(size=(len(Yb), self.k))
