"""The logistic map x_{t+1} = r x_t (1 - x_t), iterated from a batch of starting points.

Source: R. M. May, "Simple mathematical models with very complicated dynamics",
Nature 261, 1976; Baydin et al. (2018) use it to show expression swell. The
objective is the mean of the n orbits' final values after `steps` steps,
differentiated w.r.t. the rate `r` (a float) and the starting points `x0` (n,).
A loop-heavy objective: per step, three floating-point operations per sample.
"""

import numpy as np


def logistic_map_vectorized(r, x0, steps):
    x = x0
    for t in range(steps):
        x = r * x * (1.0 - x)
    return np.sum(x) / x0.shape[0]


def logistic_map_loops(r, x0, steps):
    n = x0.shape[0]
    total = 0.0
    for i in range(n):
        x = x0[i]
        for t in range(steps):
            x = r * x * (1.0 - x)
        total += x
    return total / n


def make_data(n, steps, seed):
    """(r, x0, steps): r in the chaotic band [3.6, 3.7], x0 uniform in (0.1, 0.9)."""
    rng = np.random.default_rng(seed)
    return 3.6 + 0.1 * rng.random(), 0.1 + 0.8 * rng.random(n), steps
