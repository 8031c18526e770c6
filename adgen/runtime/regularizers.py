"""Regularizers and their proximal operators.

`l2` and `l1` are in adgen's subset (call them from a loss function that adgen
differentiates). `nuclear_norm` needs an SVD, which is outside the subset: it is
plain NumPy, for values only. The proximal operators are plain NumPy too (they
are not gradients):

    prox_{t R}(w) = argmin_z 1/2 ||z - w||^2 + t R(z),

the step of proximal gradient methods for a smooth loss plus R:
w <- prox_{s R}(w - s grad f(w)) with step s, R = lam * penalty and
t = s * lam.

    >>> import numpy as np
    >>> prox_l1(np.array([3.0, -0.5, -2.0]), 1.0)
    array([ 2., -0., -1.])
"""

import numpy as np

__all__ = ["l2", "l1", "nuclear_norm", "prox_l2", "prox_l1", "prox_nuclear"]


def l2(w):
    """1/2 the squared Euclidean (Frobenius) norm, 1/2 sum w^2; its gradient is w.

    >>> float(l2(np.array([3.0, 4.0])))
    12.5
    """
    return 0.5 * np.sum(w * w)


def l1(w):
    """The sum of |w| over all elements.

    Differentiable away from 0; at w_j = 0 adgen uses abs'(0) = 0
    (docs/CONVENTIONS.md), the subgradient of minimum norm, which is not what
    a solver needs at 0: minimize with `prox_l1` instead of its gradient.

    >>> float(l1(np.array([3.0, -4.0])))
    7.0
    """
    return np.sum(np.abs(w))


def nuclear_norm(W):
    """The sum of the singular values of the matrix W (values only: SVD is
    outside adgen's subset).

    >>> float(nuclear_norm(np.diag([3.0, -4.0])))
    7.0
    """
    return float(np.sum(np.linalg.svd(W, compute_uv=False)))


def prox_l2(w, t):
    """The proximal operator of t * l2: w / (1 + t).

    >>> prox_l2(np.array([2.0, -4.0]), 1.0)
    array([ 1., -2.])
    """
    return w / (1.0 + t)


def prox_l1(w, t):
    """The proximal operator of t * l1: soft thresholding,
    sign(w) max(|w| - t, 0), element-wise.

    >>> prox_l1(np.array([3.0, -0.5, -2.0]), 1.0)
    array([ 2., -0., -1.])
    """
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


def prox_nuclear(W, t):
    """The proximal operator of t * nuclear_norm: singular-value thresholding,
    U diag(max(s - t, 0)) V^T for W = U diag(s) V^T.

    >>> prox_nuclear(np.diag([3.0, 0.5]), 1.0)
    array([[2., 0.],
           [0., 0.]])
    """
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    s = np.maximum(s - t, 0.0)
    keep = s > 0.0                      # drop zeroed directions: a cheaper low-rank product
    return (U[:, keep] * s[keep]) @ Vt[keep]
