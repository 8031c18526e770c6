# Found by tests/fuzz (an array program), minimized by hand.
# Check: [value] -- silently wrong value and derivatives (every transform, both backends).
# At prog(0.5, 0.8, 3, w=[-0.89, -0.35, -1.0, 0.56, -0.5]): prog() = x * sum(w) = -1.09,
# gradient (sum(w), 0, [x] * 5) = (-2.18, 0.0, [0.5, 0.5, 0.5, 0.5, 0.5])
#   value_and_grad = (-0.86404, (-1.72808, -0.9494, [0.5, 0.4, 0.32, 0.256, 0.2048]))
# Cause (frontend, desugaring of `for e in u`): the loop becomes
# `for _k in range(len(u)): e = u[_k]`, reading the variable u, which the body rebinds;
# Python iterates over the array u held when the loop started. (`for e in <expression>`
# binds the expression to _seq first and is right; so is an in-place `u += ...`.)
import numpy as np


def prog(x, y, n, w):
    u = w * x
    s = 0.0
    for e in u:
        u = u * y
        s += e
    return s


POINTS = [
    (0.5, 0.8, 3, [-0.89, -0.35, -1.0, 0.56, -0.5]),
]
