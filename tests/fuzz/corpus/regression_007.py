# Found by tests/fuzz (array programs, twice: once with an early return), shrunk by
# hypothesis and minimized by hand.
# Check: crash -- grad, value_and_grad and hvp raise KeyError; jvp is right.
# At prog(0.5, 1.0, 3, w=[-0.89, -0.35, -1.0, 0.56, -0.5]): prog() = 8 x = 4.0, gradient
# (8.0, 0.0, [0, 0, 0, 0, 0]) (= jvp = finite differences);
#   value_and_grad [python] raises KeyError: (140080061608592, 'u_3')
#     in adgen/transforms/reverse.py, reverse_if: _, orig = scope.prev[(id(op), lineage)]
# Cause (reverse mode, undo log): a loop inside an `if` that writes and reads an array (a
# tracked lineage) that is dead after the `if`. With `return x + np.sum(u)` (u live after
# the if) it works. An early return before such a loop hits the same bug: the desugaring
# puts the rest of the function in `if not _returned:`, e.g.
#     u = w * 1.0
#     if y > 2.0:
#         return 0.0
#     for i in range(n):
#         u[1] = u[1] * x + w[0]
#     return np.sum(u * u)
import numpy as np


def prog(x, y, n, w):
    u = w * 1.0
    if y < 2.0:
        for i in range(n):
            u[0] = x
            x += u[0]
    return x


POINTS = [
    (0.5, 1.0, 3, [-0.89, -0.35, -1.0, 0.56, -0.5]),
]
