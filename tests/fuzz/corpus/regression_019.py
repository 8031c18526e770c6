# Found by tests/fuzz (buffer swaps), shrunk by hypothesis.
# Check: crash -- value_and_grad raised "the loop exchanges `u0` and `u1` on some
# iterations only" for a swap on every iteration.
# Cause (reverse mode, rotations): a loop's swap is found by following each array it
# yields back to the array it holds on entry, through writes and inner loops; a `while`
# loop inside it was not followed, so the swap looked conditional. Fixed: `while` loops
# that keep their arrays in their places are followed as `for` loops are.
import numpy as np


def prog(x, y, n, w):
    a = x
    u0 = w.copy()
    u1 = w.copy()
    for i in range(n):
        c0 = 0
        while c0 < n + 2:
            c0 += 1
            u0[0] = a
            u0[0] = np.mean(u0)
        u0, u1 = u1, u0
    return a * y + np.sum(u1) + 0.5 * np.sum(u0 * u0)


POINTS = [
    (1.480553760185963, 0.18485622334401075, 0, [-1.17098965, -0.56993403]),
    (0.4, -0.9, 3, [0.5, 0.25, -0.75]),
]
