"""Optimal transport between point clouds: entropic (Sinkhorn) losses in adgen's
subset, for training, and exact OT (assignment, linear program) for evaluation.

The measures are uniform on the rows of X (n, d) and Y (m, d), a = 1/n, b = 1/m,
with the squared Euclidean cost C_ij = |x_i - y_j|^2 (so exact OT is W2^2).

**Sinkhorn** runs a fixed number `n_iter` of log-domain iterations on the dual
potentials f (n,) and g (m,):

    f_i = -eps * logsumexp_j((g_j - C_ij) / eps + log b_j)
    g_j = -eps * logsumexp_i((f_i - C_ij) / eps + log a_i)

with the maximum subtracted inside each logsumexp (a `stop_gradient`: the value
does not depend on the shift), so no exp overflows or underflows to a zero row
whatever C / eps is. The plan is P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps);
g is updated last, so P's column sums are b exactly and its row sums tend to a.
The loop is plain code: adgen differentiates through the iterations (reverse
mode reverses the loop), so the gradient is that of the value actually
computed, converged or not; no implicit-function or envelope formula is
written by hand.

Which value:

- `sinkhorn_loss` returns <P, C>, the transport cost of the regularized plan,
  without the entropy term. It is what POT's `ot.sinkhorn2(a, b, C, reg)`
  returns (POT's plan minimizes <P, C> + reg sum P log P, the same plan as with
  eps KL(P | a b^T) when reg = eps), so the two can be compared directly.
  At convergence W2^2 <= <P, C> <= W2^2 + eps log min(n, m) (P is feasible,
  and KL(P | a b^T) <= log min(n, m)), so it tends to W2^2 as eps -> 0.
- `entropic_ot` returns the regularized optimum OT_eps = <P, C> + eps KL(P | a
  b^T), computed as the dual value <f, a> + <g, b> at the final potentials
  (equal to it at the fixed point; with g updated last the dual's third term,
  eps (1 - sum P), is exactly zero).
- `sinkhorn_divergence` debiases `entropic_ot`: S(X, Y) = OT_eps(X, Y) -
  (OT_eps(X, X) + OT_eps(Y, Y)) / 2 (Genevay et al. 2018, Feydy et al. 2019).
  It uses OT_eps and not <P, C> because Feydy et al.'s theorem (S >= 0, = 0 iff
  the measures are equal, convex in each) is for OT_eps; with <P, C> positivity
  is not guaranteed. S(X, X) is exactly 0 (the three terms run the same code).

eps is in units of the cost: with data in [0, 1]^d, C is at most d and eps =
0.01 is sharp. The number of iterations needed grows quickly as eps shrinks
(10 + 10 points in [0, 1]^2: row sums right to 1e-9 after 100 to 2000
iterations at eps = 0.05; at eps = 0.01 some draws are still off by 1e-4 after
10000), and the guarantees above hold at convergence; `eps_schedule` anneals
eps over training instead.

Example:
    >>> import numpy as np, adgen
    >>> from adgen.runtime.ot import sinkhorn_loss, exact_ot
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]]); Y = X + np.array([0.1, 0.2])
    >>> round(float(sinkhorn_loss(X, Y, 0.01, 50)), 6), round(exact_ot(X, Y), 6)
    (0.05, 0.05)
    >>> adgen.grad(sinkhorn_loss, backend="python")(X, Y, 0.01, 50).round(6)
    array([[-0.1, -0.2],
           [-0.1, -0.2]])
"""

from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse

import adgen

__all__ = ["cost_matrix", "sinkhorn_potentials", "sinkhorn_loss", "entropic_ot",
           "sinkhorn_divergence", "sinkhorn_plan", "eps_schedule", "exact_ot", "exact_ot_dual"]


# Sinkhorn, in adgen's subset ---------------------------------------------------------------
def cost_matrix(X, Y):
    """C_ij = |x_i - y_j|^2 for X (n, d), Y (m, d): shape (n, m).

    Summed from the differences, not as |x|^2 + |y|^2 - 2 x.y, which cancels
    for nearby points (and can go negative). One coordinate at a time with 2-D
    arrays: adgen's subset has no `None` indexing, and its Numba backend
    reduces along an axis of 1-D and 2-D arrays only (no (n, m, d) difference
    tensor).

    >>> cost_matrix(np.array([[0.0, 0.0]]), np.array([[1.0, 2.0], [0.0, 1.0]]))
    array([[5., 1.]])
    """
    n = X.shape[0]
    m = Y.shape[0]
    C = np.zeros((n, m))
    for k in range(X.shape[1]):
        xk = X[:, k]
        yk = Y[:, k]
        D = xk.reshape(n, 1) - yk.reshape(1, m)
        C = C + D * D
    return C


def _logsumexp_rows(Z):
    """log sum_j exp(Z_ij) as a column (n, 1), with the row maximum subtracted."""
    M = adgen.stop_gradient(np.max(Z, axis=1, keepdims=True))
    return np.log(np.sum(np.exp(Z - M), axis=1, keepdims=True)) + M


def sinkhorn_potentials(C, eps, n_iter):
    """The dual potentials (f (n, 1), g (m, 1)) after `n_iter` log-domain Sinkhorn
    iterations on the cost matrix C (n, m), uniform weights, from f = g = 0.

    Columns, so that f + g.T - C broadcasts; the g update works on C.T because
    the subset's reductions take a literal axis.

    >>> f, g = sinkhorn_potentials(np.array([[0.0, 1.0], [1.0, 0.0]]), 0.1, 20)
    >>> round(float(f.mean() + g.mean()), 4)   # eps KL(P | a b^T) = 0.1 log 2, nearly
    0.0693
    """
    n = C.shape[0]
    m = C.shape[1]
    CT = C.T
    f = np.zeros((n, 1))
    g = np.zeros((m, 1))
    for _ in range(n_iter):
        f = -eps * (_logsumexp_rows((g.T - C) / eps) - np.log(m))
        g = -eps * (_logsumexp_rows((f.T - CT) / eps) - np.log(n))
    return f, g


def sinkhorn_loss(X, Y, eps, n_iter):
    """<P, C> for the entropic plan P after `n_iter` Sinkhorn iterations (POT's
    `ot.sinkhorn2` value: transport cost without the entropy term).

    Differentiate with `adgen.grad(sinkhorn_loss, argnums=0)`.

    >>> X = np.array([[0.0], [1.0]])
    >>> round(float(sinkhorn_loss(X, X, 0.05, 100)), 6)
    0.0
    """
    C = cost_matrix(X, Y)
    f, g = sinkhorn_potentials(C, eps, n_iter)
    n = C.shape[0]
    m = C.shape[1]
    P = np.exp((f + g.T - C) / eps) / (n * m)
    return np.sum(P * C)


def entropic_ot(X, Y, eps, n_iter):
    """OT_eps = min_P <P, C> + eps KL(P | a b^T), as the dual value <f, a> + <g, b>
    at the potentials after `n_iter` iterations.

    >>> X = np.array([[0.0], [1.0]])
    >>> float(entropic_ot(X, X, 1e-3, 50)) < 1e-2
    True
    """
    f, g = sinkhorn_potentials(cost_matrix(X, Y), eps, n_iter)
    return np.mean(f) + np.mean(g)


def sinkhorn_divergence(X, Y, eps, n_iter):
    """The debiased Sinkhorn divergence OT_eps(X, Y) - (OT_eps(X, X) + OT_eps(Y, Y)) / 2,
    >= 0 (at convergence) and exactly 0 when the point clouds are equal.

    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> float(sinkhorn_divergence(X, X, 0.1, 20))
    0.0
    >>> float(sinkhorn_divergence(X, X + 0.1, 0.1, 20)) > 0
    True
    """
    return entropic_ot(X, Y, eps, n_iter) - 0.5 * (entropic_ot(X, X, eps, n_iter)
                                                   + entropic_ot(Y, Y, eps, n_iter))


# plain Python / NumPy ----------------------------------------------------------------------
def sinkhorn_plan(X, Y, eps, n_iter):
    """The entropic plan P (n, m) of `sinkhorn_loss` (entries sum to 1), for inspection.

    >>> P = sinkhorn_plan(np.array([[0.0], [1.0]]), np.array([[0.0], [1.0]]), 0.01, 50)
    >>> P.round(6)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    C = cost_matrix(X, Y)
    f, g = sinkhorn_potentials(C, eps, n_iter)
    return np.exp((f + g.T - C) / eps) / C.size


@dataclass(frozen=True)
class eps_schedule:
    """Geometric annealing of eps: eps(step) = eps_start (eps_end / eps_start) **
    (min(step, steps) / steps), from eps_start at step 0 to eps_end at `steps` and
    after. A callable `step -> eps` like the learning-rate schedules
    (`adgen.runtime.schedules`): start blurred, where Sinkhorn converges in few
    iterations and gradients are smooth, and sharpen as the clouds get close.

    >>> s = eps_schedule(1.0, 0.01, 10)
    >>> s(0), round(s(5), 12), s(10), s(99)
    (1.0, 0.1, 0.01, 0.01)
    """
    eps_start: float
    eps_end: float
    steps: int

    def __call__(self, step: int) -> float:
        if step >= self.steps:
            return float(self.eps_end)
        return float(self.eps_start * (self.eps_end / self.eps_start) ** (step / self.steps))


def exact_ot(X, Y):
    """W2^2 between the uniform measures on X (n, d) and Y (n, d): with equal sizes
    and uniform weights an optimal plan is a permutation (Birkhoff), found by
    `scipy.optimize.linear_sum_assignment`; returns the mean cost over it.

    >>> exact_ot(np.array([[0.0], [1.0]]), np.array([[1.0], [0.0]]))
    0.0
    """
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"exact_ot needs as many points in X as in Y, got {X.shape[0]} and "
                         f"{Y.shape[0]}; use exact_ot_dual for different sizes")
    C = cost_matrix(X, Y)
    rows, cols = scipy.optimize.linear_sum_assignment(C)
    return float(C[rows, cols].mean())


def exact_ot_dual(X, Y):
    """Exact OT for any sizes n, m, by the linear program min <P, C> over P >= 0 with
    row sums 1/n and column sums 1/m (HiGHS). Returns (cost, f, g): the optimal
    value and Kantorovich potentials, the LP's equality multipliers, so that
    cost = mean(f) + mean(g) and f_i + g_j <= C_ij (= where P_ij > 0). n m
    variables: for evaluation on small clouds.

    >>> cost, f, g = exact_ot_dual(np.array([[0.0], [2.0]]), np.array([[1.0]]))
    >>> cost, float(f.mean() + g.mean())
    (1.0, 1.0)
    """
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    C = cost_matrix(X, Y)
    n, m = C.shape
    # P flattened row-major: row i's sum is kron(e_i, 1_m), column j's kron(1_n, e_j)
    A_eq = scipy.sparse.vstack([scipy.sparse.kron(scipy.sparse.eye(n), np.ones((1, m))),
                                scipy.sparse.kron(np.ones((1, n)), scipy.sparse.eye(m))])
    b_eq = np.concatenate([np.full(n, 1.0 / n), np.full(m, 1.0 / m)])
    res = scipy.optimize.linprog(C.ravel(), A_eq=A_eq.tocsr(), b_eq=b_eq, bounds=(0, None),
                                 method="highs")
    if res.status != 0:
        raise RuntimeError(f"linprog failed: {res.message}")
    duals = res.eqlin.marginals          # d cost / d b_eq: the potentials
    return float(res.fun), duals[:n].copy(), duals[n:].copy()
