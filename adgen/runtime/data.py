"""Toy data for generative models, generated in code: 8 Gaussians on a ring, two
moons and a swiss roll (2-D), and scikit-learn's bundled 8x8 digits.

Every sampler takes a `numpy.random.Generator` and returns a float64 array of
shape (n, 2), so that samples drawn during training are reproducible.

    >>> import numpy as np
    >>> gaussian_ring(np.random.default_rng(0), 4).shape
    (4, 2)
"""

import math

import numpy as np

__all__ = ["ring_centres", "gaussian_ring", "two_moons", "swiss_roll", "mode_coverage",
           "load_digits_images"]


def ring_centres(modes=8, radius=2.0):
    """The (modes, 2) centres of the ring mixture, evenly spaced from angle 0.

    >>> np.round(ring_centres(4, 1.0), 12)
    array([[ 1.,  0.],
           [ 0.,  1.],
           [-1.,  0.],
           [-0., -1.]])
    """
    angles = 2.0 * math.pi * np.arange(modes) / modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def gaussian_ring(rng, n, modes=8, radius=2.0, std=0.05):
    """n samples of the equal-weight mixture of isotropic Gaussians (standard
    deviation `std`) centred on `ring_centres(modes, radius)`.

    >>> x = gaussian_ring(np.random.default_rng(1), 1000)
    >>> bool(np.all(np.abs(np.hypot(x[:, 0], x[:, 1]) - 2.0) < 0.3))
    True
    """
    centres = ring_centres(modes, radius)
    return centres[rng.integers(0, modes, size=n)] + std * rng.normal(size=(n, 2))


def two_moons(rng, n, noise=0.05):
    """n samples of two interleaved half circles (scikit-learn's make_moons), with
    Gaussian noise of standard deviation `noise`; centred on the origin.

    >>> two_moons(np.random.default_rng(0), 6).shape
    (6, 2)
    """
    upper = rng.random(n) < 0.5
    t = math.pi * rng.random(n)
    x = np.where(upper, np.cos(t), 1.0 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    points = np.stack([x - 0.5, y - 0.25], axis=1)
    return points + noise * rng.normal(size=(n, 2))


def swiss_roll(rng, n, noise=0.05):
    """n samples of the 2-D swiss roll t (cos t, sin t) / 5, t in [1.5 pi, 4.5 pi],
    with Gaussian noise; about [-2, 2]^2.

    >>> bool(np.all(np.abs(swiss_roll(np.random.default_rng(0), 100)) < 3.0))
    True
    """
    t = 1.5 * math.pi * (1.0 + 2.0 * rng.random(n))
    points = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 5.0
    return points + noise * rng.normal(size=(n, 2))


def mode_coverage(samples, centres):
    """The fraction of `samples` nearest to each centre (a (modes,) array summing to 1):
    a generator covers every mode when no fraction is near 0.

    >>> mode_coverage(np.array([[2.0, 0.1], [0.1, 2.0], [1.9, 0.0]]), ring_centres(4, 2.0))
    array([0.66666667, 0.33333333, 0.        , 0.        ])
    """
    d = np.sum((samples[:, None, :] - centres[None, :, :]) ** 2, axis=2)
    nearest = np.argmin(d, axis=1)
    return np.bincount(nearest, minlength=len(centres)) / len(samples)


def load_digits_images():
    """scikit-learn's bundled 8x8 digits (1797 images) as (n, 64) float64 in [0, 1],
    and their labels. Needs the `runtime` extra (scikit-learn)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / 16.0, digits.target.astype(np.int64)
