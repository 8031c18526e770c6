"""Accelerated proximal gradient (FISTA with adaptive restart), the solver of
the models in this package, and the result object they return.

The gradient comes from the caller (an `adgen.value_and_grad` of a loss
function); the proximal operator is plain NumPy.
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["FitResult", "proximal_gradient"]


@dataclass
class FitResult:
    """What a solver did: the objective after each iteration (`history[0]` at
    the starting point), the number of iterations, whether the stopping test
    was met, the wall time of the iterations in seconds, the time of the first
    gradient call (`setup_seconds`: where adgen generates and compiles the
    gradient, unless cached), and model-specific extras (`info`)."""

    history: np.ndarray
    iterations: int
    converged: bool
    seconds: float
    setup_seconds: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def objective(self) -> float:
        """The final objective value."""
        return float(self.history[-1])


def proximal_gradient(value_and_grad, x0, step, objective, prox=None, *, tol=1e-10,
                      max_iter=10_000):
    """Minimize f(x) + R(x), f smooth with an L-Lipschitz gradient, step <= 1/L.

    `value_and_grad(x) -> (f(x), grad f(x))`; `prox(x, step)` is the proximal
    operator of step * R (None: R = 0, plain accelerated gradient descent);
    `objective(x)` is what `history` records (usually f + R). Stops when the
    gradient mapping (x - prox(x - step g, step)) / step, the gradient itself
    when R = 0, has Euclidean norm <= `tol`.

    FISTA (Beck & Teboulle, 2009) with the gradient restart of O'Donoghue &
    Candes (2015): momentum is reset when it points uphill, which keeps the
    method monotone in practice and linearly convergent on strongly convex
    problems without knowing the modulus.

    Returns (x, FitResult).

    >>> import numpy as np
    >>> vg = lambda x: (0.5 * x @ x, x)
    >>> x, res = proximal_gradient(vg, np.ones(3), 1.0, lambda x: 0.5 * x @ x)
    >>> x, res.iterations, res.converged
    (array([0., 0., 0.]), 2, True)
    """
    x = np.array(x0, dtype=np.float64)
    start = time.perf_counter()
    value_and_grad(x)                   # compiles the gradient, outside the timed loop
    setup = time.perf_counter() - start
    start = time.perf_counter()
    y, t = x.copy(), 1.0
    history = [float(objective(x))]
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):
        _, g = value_and_grad(y)
        x_new = y - step * g
        if prox is not None:
            x_new = prox(x_new, step)
        mapping = (y - x_new) / step
        history.append(float(objective(x_new)))
        if np.linalg.norm(mapping) <= tol:
            x, converged = x_new, True
            break
        if np.vdot(mapping, x_new - x) > 0.0:    # momentum points uphill: restart
            t = 1.0
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        y = x_new + ((t - 1.0) / t_new) * (x_new - x)
        x, t = x_new, t_new
    return x, FitResult(np.array(history), iterations, converged,
                        time.perf_counter() - start, setup)
