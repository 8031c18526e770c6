# Found by tests/fuzz (an array program: np.prod of np.tanh of an array whose elements were
# all overwritten with 0), minimized by hand.
# Check: [reverse vs forward] / [reverse vs finite differences] -- NaN derivatives.
# At prog(1.0, 0.0, 0, w=[0.0, 2.0, 3.0]): prog() = x**3 * prod(w) = 0, gradient
# (3 x**2 prod(w), 0, [6 x**3, 0, 0]) = (0.0, 0.0, [6.0, 0.0, 0.0]); jvp along v = [1, 1, 1]
# is 6.0. adgen (both backends):
#   grad = (nan, 0.0, [nan, 0.0, 0.0]), jvp along v = nan, jvp along x = nan,
#   hvp along v = [nan, nan, nan]
# Cause (primitive rule of np.prod, both modes): the partial derivative of prod(x) w.r.t.
# x_i is computed as prod(x) / x_i, i.e. 0 / 0 at an element that is exactly 0; the
# generated jvp is
#     out = np.prod(tmp)
#     tmp_2 = _adgen.spread_axis(out, tmp, None) / tmp
#     out_dot = np.sum(tmp_dot * tmp_2)
# (the array-op table draws prod's arguments away from 0, so it did not show).
import numpy as np


def prog(x, y, n, w):
    return np.prod(w * x)


POINTS = [
    (1.0, 0.0, 0, [0.0, 2.0, 3.0]),
]
