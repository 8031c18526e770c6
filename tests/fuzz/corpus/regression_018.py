# Found by tests/fuzz, reduced by hand.
# Check: crash -- grad raised "reverse mode through a loop that assigns a slice of an array
# is not supported yet".
# Cause (reverse mode, slice assignments): slice assignments inside loops are written
# element by element before reverse mode, but `u0[:] = a` before the loop, into an array
# the loop then writes in place (its writes are undone by the reverse sweep), was left
# whole. Fixed: a slice assignment outside loops into such an array is written element by
# element too.
import math

import numpy as np


def prog(x, y, n, w):
    a = x
    u0 = w.copy()
    a = a / (1.0 + a * a)
    u0[:] = a
    for i in range(n):
        a += math.tanh(np.dot(u0, u0 + a))
        u0[0] = math.tanh(a)
    return a * y + np.sum(u0)


POINTS = [
    (0.13111861342378495, 0.9190130055654939, 2, [0.88494462, 0.14046652]),
    (-0.5, 1.5, 3, [0.3, -0.2, 0.6]),
]
