# Written by hand after fixing regression_008 (the same cause, one level deeper): the
# fuzzer's optimized == unoptimized check had reported [invalid unoptimized IR] for it.
# Check: the derivative IR before simplification must verify (the value_and_grad,
# grad and hvp IR failed: "%v is used in zeros_like outside the region that defines it").
# Cause (reverse mode): an array defined in a loop body and read in an `if` there: in the
# `else` branch of the reversed `if` its zero adjoint `np.zeros_like(v)` named v as the
# forward sweep calls it, not as the reverse iteration recomputes it. DCE removed the zero
# before codegen, so the numbers were right; only the unoptimized IR was invalid.
import numpy as np


def prog(x, y, n, w):
    s = 0.0
    for i in range(n):
        v = w * x
        if y < 1.0:
            s += v[0] * s
        x = x + s
    return s


POINTS = [
    (0.5, 0.3, 3, [-0.89, -0.35, -1.0, 0.56, -0.5]),
    (-0.7, 1.3, 4, [0.2, -1.1, 0.4]),
]
