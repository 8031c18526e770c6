# Found by tests/fuzz (buffer swaps), shrunk by hypothesis.
# Check: crash -- value_and_grad raised AdgenInternalError (invalid IR: a loop result used
# outside its region).
# Cause (reverse mode, recomputing where first read): an array an inner loop only writes
# stands for the array it starts from, for its shape; that binding was made after the op
# being reversed had got a scope of its own (for a value recomputed only for its shape),
# and missed there. Fixed: every lasting binding goes to both scopes.
import math

import numpy as np


def prog(x, y, n, w):
    a = x
    u0 = w.copy()
    u1 = w.copy()
    for i in range(n):
        for j in range(n):
            u0[0] = a
        u0[0] = math.tanh(a)
        u0, u1 = u1, u0
    u0[0] = a
    return a * y + np.sum(u1) + np.sum(np.tanh(u0))


POINTS = [
    (-0.19297209652686265, 0.6999782831738837, 0, [-1.08655243, 1.37699974]),
    (-0.19297209652686265, 0.6999782831738837, 3, [-1.08655243, 1.37699974]),
    (0.6, 0.2, 2, [0.1, -0.3, 0.8]),
]
