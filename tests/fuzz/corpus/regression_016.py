# Found by tests/fuzz (its array programs had just gained slice writes, swaps and
# array-carrying while loops), reduced by hand.
# Check: reverse vs forward -- grad's derivative in x was wrong, jvp and finite
# differences agreed.
# Cause (reverse mode, one-sweep loop nests): the reverse of `np.dot(u0, u0 + a)` inside an
# `if` read u0 as the reverse iteration had found it, before the write after the `if`
# (u0[0] = ...) was undone: the state of an array the branch does not write was taken from
# the branch's adjoints, where it is not. Fixed: it comes from the scope the branch's
# reverse was entered in.
import math

import numpy as np


def prog(x, y, n, w):
    a = x
    u0 = w.copy()
    u0[0] = a
    for i in range(n):
        if a <= a:
            a += math.tanh(np.dot(u0, u0 + a))
        u0[0] = math.tanh(a)
    return a * y


POINTS = [
    (-1.1073380131027313, 0.5415250994569369, 1, [-0.989344244566276, 0.1925875560563033]),
    (0.3, -0.8, 4, [0.2, -0.4, 0.9]),
]
