# Found by tests/fuzz in the long run (seed 2, twice), reduced by deleting statements
# while the bug stayed, then by hand.
# Check: [codegen vs IR] -- a silent wrong gradient: the generated value_and_grad gave
# w_bar = [-1.074, 0.898, 0.447, 0.074] where the IR (and finite differences) give
# [-1.376, 1.196, 0.613, -0.759] at the point below.
# Cause (printing the IR as Python): `_adgen.sum_like(g, like)` returns g itself when the
# shapes agree, so the adjoints of `u0` and of `out` (both sum_like of u0_1_bar) were one
# NumPy array; the reverse loop of h5 then zeroed `out_bar[k]` in place, and with it the
# adjoint of u0. Fixed: sum_like of equal-rank arrays counts as a view (copied when either
# side is written in place), like getitem and reshape.
import numpy as np


def h5(v, c):
    out = np.zeros(len(v))
    for i in range(len(v)):
        out[i] = v[i] * c
    return out


def prog(x, y, n, w):
    u0 = -w
    u0 += h5(w, y)
    return np.sum(np.sin(u0) * w)


POINTS = [
    (-0.7832248141390765, -0.8128547905033467, 1, [0.5392484689633155, -0.39475907186001225, -0.17493296548544457, -1.2637192615587698]),
    (0.31, 1.2, 2, [1.1, -0.4, 0.25]),
]
