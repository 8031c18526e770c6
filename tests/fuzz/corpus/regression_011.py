# Found by tests/fuzz (an array program: `for e0 in u0:` whose body rebinds u0 and has a
# nested loop), minimized by hand.
# Check: crash -- every transform raises
#   AdgenSyntaxError: regression_011.py:..: name '_seq' is not defined
#       for e in w * x:
#       ^
# At prog(0.5, 0.8, 3, w=[-0.89, -0.35, -1.0, 0.56, -0.5]): prog() = n x sum(w) = -3.27,
# gradient (n sum(w), 0, [n x] * 5) = (-6.54, 0.0, [1.5, 1.5, 1.5, 1.5, 1.5]).
# Cause (frontend, desugaring of `for e in <expression>`): the loop becomes
# `_seq = <expression>` then `for _k in range(len(_seq)): e = _seq[_k]`; the assignment to
# _seq waits in `pending` and the nested loop of the body takes it (block() emits the
# pending statements before the loop it desugars), so it lands inside the outer body,
# after the loop header that reads _seq. Also on fd4b574; since 44283a3 (the fix of
# regression_009) `for e in u:` whose body rebinds u goes the same way, e.g.
#     for e in u:
#         u = u * y
#         for j in range(n):
#             s += e
import numpy as np


def prog(x, y, n, w):
    s = 0.0
    for e in w * x:
        for j in range(n):
            s += e
    return s


POINTS = [
    (0.5, 0.8, 3, [-0.89, -0.35, -1.0, 0.56, -0.5]),
]
