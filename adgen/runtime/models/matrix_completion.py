"""Matrix completion with a nuclear-norm regularizer:

    minimize_W  1/2 ||P_Omega(W - M)||_F^2 + lam ||W||_*,

P_Omega keeping the observed entries (a 0/1 mask). Proximal gradient with
singular-value thresholding (`prox_nuclear`) as the proximal step, the gradient
of the smooth part from adgen, step 1 (the gradient, mask * (W - M), is
1-Lipschitz), accelerated (FISTA with restart), and continuation: lam decreases
geometrically from the smallest value for which W = 0 is optimal,
sigma_max(P_Omega M), each stage warm-started from the previous one.

    >>> import numpy as np
    >>> M, mask = low_rank_problem(20, 20, 1, 0.6, seed=0)
    >>> W, res = matrix_completion(M * mask, mask, 1e-3, backend="python")
    >>> bool(relative_error(W, M) < 1e-3)
    True
"""

import functools

import numpy as np

import adgen
from adgen.runtime.models.solver import FitResult, proximal_gradient
from adgen.runtime.regularizers import nuclear_norm, prox_nuclear

__all__ = ["matrix_completion", "completion_loss", "low_rank_problem", "relative_error"]


def completion_loss(W, M, mask):
    """1/2 ||mask * (W - M)||_F^2 (adgen's subset; the mask is an array argument)."""
    R = mask * (W - M)
    return 0.5 * np.sum(R * R)


@functools.lru_cache(maxsize=None)
def _value_and_grad(backend):
    return adgen.value_and_grad(completion_loss, backend=backend)


def matrix_completion(M, mask, lam, *, shrink=0.25, stage_tol=1e-3, tol=1e-6,
                      max_iter=5_000, backend="numba"):
    """Complete M (m, n) from the entries where `mask` (0/1, same shape) is 1.

    Continuation over lam_k = sigma_max(P_Omega M) * shrink^k down to `lam`;
    the intermediate stages stop at a gradient-mapping norm of `stage_tol` times
    their lam, the last one at `tol`. Unobserved entries of M are ignored.
    Returns (W, FitResult) with the objectives of all stages in `history` (each
    with its own lam) and `info["stages"]`, `info["rank"]`.
    """
    mask = np.ascontiguousarray(mask, dtype=np.float64)
    M = np.ascontiguousarray(M, dtype=np.float64) * mask
    vg = _value_and_grad(backend)
    lam_max = float(np.linalg.norm(M, 2))
    lams = [lam_max * shrink]
    while lams[-1] * shrink > lam:
        lams.append(lams[-1] * shrink)
    lams.append(float(lam))

    W = np.zeros_like(M)
    histories, iterations, seconds, setup = [], 0, 0.0, 0.0
    for k, lam_k in enumerate(lams):
        last = k == len(lams) - 1
        W, res = proximal_gradient(
            lambda W: vg(W, M, mask), W, 1.0,
            lambda W: completion_loss(W, M, mask) + lam_k * nuclear_norm(W),
            prox=lambda W, s: prox_nuclear(W, s * lam_k),
            tol=tol if last else stage_tol * lam_k, max_iter=max_iter)
        histories.append(res.history if k == 0 else res.history[1:])
        iterations += res.iterations
        seconds += res.seconds
        setup += res.setup_seconds
    rank = int(np.sum(np.linalg.svd(W, compute_uv=False) > 1e-8 * lam_max))
    return W, FitResult(np.concatenate(histories), iterations, res.converged, seconds, setup,
                        {"stages": len(lams), "lams": lams, "rank": rank})


def low_rank_problem(m, n, rank, fraction, seed=0):
    """A synthetic problem: M = A B^T with standard normal factors A (m, rank),
    B (n, rank), and a 0/1 mask observing round(fraction m n) entries drawn
    uniformly without replacement. Returns (M, mask)."""
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(m, rank)) @ rng.normal(size=(rank, n))
    mask = np.zeros(m * n)
    mask[rng.choice(m * n, size=round(fraction * m * n), replace=False)] = 1.0
    return M, mask.reshape(m, n)


def relative_error(W, M):
    """||W - M||_F / ||M||_F."""
    return float(np.linalg.norm(W - M) / np.linalg.norm(M))
