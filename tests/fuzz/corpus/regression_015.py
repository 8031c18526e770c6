# Found by tests/fuzz in the long run (seed 102), reduced by deleting statements while the
# crash stayed, then by hand.
# Check: crash -- grad, value_and_grad and hvp raised KeyError: '@u1_3'; jvp was right.
# Cause (reverse mode, undo log): an early return before a loop that writes into an array
# created after the return. The desugaring puts the rest of the function in
# `if not _returned:`, so the array is created inside that `if`, written in a loop there
# (its lineage has an undo log) and dead after it. The reversed `if` threaded through its
# branches only the logged arrays that exist after the `if`. Fixed: an array created in a
# branch and written there has its state threaded through that branch's reverse sweep.
import numpy as np


def prog(x, y, n, w):
    if x < 0.0:
        return x
    u1 = np.zeros(w.shape[0])
    for i in range(n):
        u1[i % len(w)] -= y
    return x + np.sum(np.tanh(u1))


POINTS = [
    (1.13, 1.29, 6, [0.07, 0.24, -0.84, 0.28, -0.12]),
    (0.4, -0.7, 3, [0.5, 1.5]),
    (-0.2, 0.3, 4, [0.1, 0.2, 0.3]),
]
