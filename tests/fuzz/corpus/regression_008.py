# Found by tests/fuzz (an array program), shrunk by hypothesis and minimized by hand.
# Check: crash -- grad, value_and_grad and hvp fail; jvp is right.
# At prog(0.5, 1.0, 3, w=[-0.89, -0.35, -1.0, 0.56, -0.5]): expected gradient w.r.t. x
# n * w[0] = -2.67 and w.r.t. w [1.5, 0, 0, 0, 0] (= jvp = finite differences);
#   with ADGEN_VERIFY=1: AdgenInternalError: invalid IR in @prog_vjp: %v is used in
#     zeros_like outside the region that defines it (as result of mul)
#   without it, grad [python] raises NameError: name 'v' is not defined (numba: TypingError)
# Cause (reverse mode): an array defined inside an `if` branch (the same inside a loop body)
# and read in a loop nested there. The adjoint accumulator of v, `np.zeros_like(v)`, is
# emitted in the reverse sweep where the primal v is not recomputed (DCE keeps only what
# the adjoints need), so the generated prog_grad reads an undefined v:
#     if y < 2.0:
#         n_1 = _adgen.trip_count(0, n, 1)
#         tmp_2 = np.zeros_like(v)
# The same kind of misplaced zeros_like (of an array written in an `if` branch, used after
# it) also leaves the derivative IR before simplification invalid, though DCE removes it
# before codegen, in e.g.
#     u0 = h5(w, x)
#     if x < x:
#         u0 = np.zeros(len(w))
#     u0[0] = x
#     for i in range(n):
#         x += u0[i % len(w)]
# which the fuzzer's optimized == unoptimized check reports ([invalid unoptimized IR]).
import numpy as np


def prog(x, y, n, w):
    s = 0.0
    if y < 2.0:
        v = w * x
        for i in range(n):
            s += v[0]
    return s


POINTS = [
    (0.5, 1.0, 3, [-0.89, -0.35, -1.0, 0.56, -0.5]),
]
