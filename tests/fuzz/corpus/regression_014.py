# Found by tests/fuzz in the long run (seed 1), reduced by deleting statements while the
# bug stayed, then by hand.
# Check: [reverse vs forward] -- a silent wrong gradient: at the first point, <grad_w, v>
# was -6.637 where jvp and finite differences give -2.898.
# Cause (reverse mode, undo log): one branch of an `if` writes into u0 in place (in a loop,
# so u0's lineage has an undo log), the other replaces it by a new array (`u0 += w` on an
# array is `u0 = u0 + w`). The reverse sweep restored "the array before the if" by undoing
# the log on the array after it, which in the replacing branch is the new array: the
# recomputed `u0 + w` read u0 + w + w. Fixed: when a branch replaces a logged array, the
# forward sweep keeps a copy of it before the `if`, and that branch's reverse starts from it.
import numpy as np


def prog(x, y, n, w):
    u0 = np.ones(len(w))
    b = 0.0
    if y < 0.5 * n:
        for i in range(2):
            for j in range(1):
                if x > b:
                    return u0[j + 1]
                u0[i] += 1.0
    else:
        u0 += w
        b = np.sum(u0 * u0)
    return x * b + np.sum(u0 * w)


POINTS = [
    (-1.3252991829456011, 0.7384222087270671, 0, [0.23197088004024335, 1.4897156977433936]),
    (-0.4, 1.2, 3, [0.5, -0.7, 1.1]),
    (0.3, -0.2, 2, [0.9, 0.1]),
]
