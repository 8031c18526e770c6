# Found by tests/fuzz (a buffer swap after an early return and an `if`), reduced by hand.
# Check: reverse vs forward -- grad's derivative in w was wrong; jvp and finite
# differences agreed.
# Cause (reverse mode, one-sweep loop nests): `u0 = u0 * out` in a branch and `u0` in the
# other join one lineage with the array the swap loop later writes in place; the reverse
# of the loop inside the branch (a nest of its own) read u0 as that lineage's current
# state, the later array. Fixed: a nest reads as states only the arrays it writes itself;
# the others keep their values while it runs.
import math

import numpy as np


def prog(x, y, n, w):
    u0 = w.copy()
    if x < 0.0:
        out = np.zeros(len(u0))
        for i in range(len(u0)):
            out[i] = math.sin(u0[i])
        u0 = u0 * out
    u7 = w.copy()
    for i in range(1, len(w)):
        u7[i - 1] *= y
        u7, u0 = u0, u7
    return np.sum(np.tanh(u0)) + np.sum(np.sin(u7) * w)


POINTS = [
    (-0.717921311386116, -1.433841825737272, 2, [-0.5732622699218753, -0.8790952474108898,
                                                 1.0830923108953328]),
    (0.3, 0.7, 1, [0.2, -0.5, 0.9, 1.1]),
]
