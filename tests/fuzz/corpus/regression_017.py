# Found by tests/fuzz, then shrunk by hypothesis.
# Check: crash -- value_and_grad raised AdgenInternalError (invalid IR: an index used
# outside the region defining it).
# Cause (reverse mode, one-sweep loop nests): a write into an array that carries no
# adjoint (u0 does not depend on x or y) is still undone by the reverse sweep, with its
# index; the reverse recomputed only what adjoint rules read, and no rule runs for an
# inactive write. Fixed: a write's index is always recomputed for its undo.
import math

import numpy as np


def prog(x, y, n, w):
    a = x
    b = y
    s = 0.0
    u0 = np.zeros(len(w))
    for i in range(n):
        u0[i % len(w)] = math.tanh(np.sum(u0))
    return s + a * b + np.sum(u0)


POINTS = [
    (0.9643827709700901, 0.07389344856318969, 0, [1.09411058, 0.56964883]),
    (0.5, -0.3, 5, [0.2, 0.7, -0.1]),
]
